"""The case bundle: ``case.json``, ``transactions.csv`` and ``str.xml`` (a goAML-shaped suspicious
transaction report) in one zip.

The XML is built with :mod:`xml.etree.ElementTree` (text is escaped by the library, characters
XML 1.0 cannot carry are dropped); CSV cells that a spreadsheet would run as a formula get a
leading apostrophe.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, date, datetime

import polars as pl

from moneytrail.schemas import CASH_ACCOUNT, CASH_CHANNELS

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FORMULA_START = r"^[=+\-@\t\r]"
#: goAML funds codes used here: K cash, E electronic transfer.
_FUNDS_CASH, _FUNDS_TRANSFER = "K", "E"


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def case_json(bundle: dict) -> str:
    """The whole case (case row, alerts, subjects, linked accounts, notes, audit) as JSON."""
    return json.dumps(bundle, default=_json_default, indent=2, ensure_ascii=False)


def transactions_csv(transactions: pl.DataFrame) -> str:
    """Transactions as CSV; string cells that start like a spreadsheet formula are prefixed ``'``."""
    text_columns = [name for name, dtype in transactions.schema.items() if dtype == pl.String]
    safe = transactions.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_columns
    )
    return safe.write_csv()


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}"
    return _XML_INVALID.sub("", "" if value is None else str(value))


def _add(parent: ET.Element, tag: str, value: object = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if value is not None:
        child.text = _text(value)
    return child


def _party(
    tx: ET.Element, side: str, account: str, *, names: dict[str, str | None], country: str | None, cash: bool
) -> None:
    """``t_from``/``t_to`` (``_my_client`` when the account is ours) with funds code and account."""
    ours = account in names
    party = _add(tx, f"t_{side}_my_client" if ours else f"t_{side}")
    if side == "from":
        _add(party, "from_funds_code", _FUNDS_CASH if cash else _FUNDS_TRANSFER)
    if account != CASH_ACCOUNT:
        acct = _add(party, f"{side}_account")
        _add(acct, "account", account)
        if ours and names[account]:
            _add(acct, "account_name", names[account])
    elif side == "to":
        _add(party, "to_funds_code", _FUNDS_CASH)
    if country:
        _add(party, f"{side}_country", country)


def str_xml(
    case: dict, transactions: pl.DataFrame, accounts: pl.DataFrame, analyst: str, currency: str = "USD"
) -> bytes:
    """A goAML-shaped STR: report header, reason, one ``transaction`` per row, indicators."""
    names = dict(accounts.select("account_id", "name").iter_rows())
    report = ET.Element("report")
    _add(report, "rentity_id", "moneytrail")
    _add(report, "submission_code", "E")
    _add(report, "report_code", "STR")
    _add(report, "entity_reference", f"case-{case['case_id']}")
    _add(report, "submission_date", datetime.now(UTC))
    _add(report, "currency_code_local", currency)
    person = _add(report, "reporting_person")
    _add(person, "last_name", analyst)
    _add(
        report,
        "reason",
        f"{case['typology']} pattern on {case['subject']} in {case['period']}: "
        + (case.get("disposition_reason") or "under review"),
    )
    _add(report, "action", case["status"])
    for row in transactions.iter_rows(named=True):
        tx = _add(report, "transaction")
        _add(tx, "transactionnumber", row["tx_id"])
        _add(tx, "transaction_location", row["region"] or "")
        _add(tx, "transaction_description", row["reference"] or "")
        _add(tx, "date_transaction", row["timestamp"])
        _add(tx, "transmode_code", row["channel"])
        _add(tx, "amount_local", row["amount"])
        cash = row["channel"] in CASH_CHANNELS
        _party(tx, "from", row["src_account"], names=names, country=row["src_country"], cash=cash)
        _party(tx, "to", row["dst_account"], names=names, country=row["dst_country"], cash=cash)
    indicators = _add(report, "report_indicators")
    for typology in case["typologies"]:
        _add(indicators, "indicator", typology)
    ET.indent(report)
    return ET.tostring(report, encoding="utf-8", xml_declaration=True)


def bundle_zip(case_document: str, csv_text: str, xml_bytes: bytes) -> bytes:
    """The three files zipped in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("case.json", case_document)
        archive.writestr("transactions.csv", csv_text)
        archive.writestr("str.xml", xml_bytes)
    return buffer.getvalue()
