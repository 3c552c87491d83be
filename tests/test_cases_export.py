"""The export bundle's writers: formula-safe CSV and a well-formed goAML-shaped XML from hostile text."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import polars as pl

from cases import export
from moneytrail.lake import empty_frame
from moneytrail.schemas import ACCOUNTS, TRANSACTIONS


def _transactions(references: list[str]) -> pl.DataFrame:
    n = len(references)
    return pl.DataFrame(
        {
            "tx_id": [f"t{i}" for i in range(n)],
            "timestamp": [datetime(2024, 3, 1, tzinfo=UTC)] * n,
            "src_account": ["CASH", *["ours"] * (n - 1)],
            "dst_account": ["ours", *["theirs"] * (n - 1)],
            "amount": [100.0] * n,
            "orig_amount": [100.0] * n,
            "orig_currency": ["USD"] * n,
            "channel": ["cash_deposit", *["wire"] * (n - 1)],
            "src_country": ["US"] * n,
            "dst_country": [None] * n,
            "region": [None] * n,
            "reference": references,
        },
        schema=pl.Schema(TRANSACTIONS),
    )


CASE = {
    "case_id": 7,
    "subject": "ours",
    "period": "2024-03",
    "typology": "fan_in",
    "typologies": ["fan_in", "cycle"],
    "status": "closed_reported",
    "disposition_reason": "</reason><x>",
}


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    formulas = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "plain"]
    text = export.transactions_csv(_transactions(formulas))
    column = pl.read_csv(io.StringIO(text))["reference"].to_list()
    assert column == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "plain"]


def test_str_xml_is_well_formed_with_hostile_and_control_characters() -> None:
    accounts = pl.concat(
        [empty_frame(ACCOUNTS), pl.DataFrame({"account_id": ["ours"], "name": ["<b>Ours & Co</b>\x00\x1b"]})],
        how="diagonal_relaxed",
    )
    xml = export.str_xml(CASE, _transactions(["cash in", "pay <script>\x07</script>"]), accounts, "ann")
    report = ET.fromstring(xml)
    assert report.findtext("reason").endswith("</reason><x>")
    first, second = report.findall("transaction")
    assert first.find("t_from/from_funds_code").text == "K" and first.find("t_from/from_account") is None
    assert first.findtext("t_to_my_client/to_account/account_name") == "<b>Ours & Co</b>"
    assert second.findtext("transaction_description") == "pay <script></script>"
    assert second.find("t_to/to_account/account").text == "theirs"
    assert [i.text for i in report.iter("indicator")] == ["fan_in", "cycle"]
