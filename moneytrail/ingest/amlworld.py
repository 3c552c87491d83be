"""IBM AMLworld ("Realistic Synthetic Financial Transactions for AML") CSV as published.

Transactions file header, exactly::

    Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,
    Amount Paid,Payment Currency,Payment Format,Is Laundering

* account id = ``<bank>:<account>`` exactly as written (``From Bank`` + first ``Account``,
  ``To Bank`` + second ``Account``);
* ``orig_amount``/``orig_currency`` = ``Amount Paid``/``Payment Currency`` (what left the payer);
  the received side is not stored;
* the file has no tx id: ``tx_id = aw-<first 16 hex of the file's SHA-256>-<line>``;
* ``Is Laundering`` (0/1) goes only to the label tables (see ``amlworld_labels``).

An accounts file (``<prefix>_accounts.csv`` beside ``<prefix>_Trans.csv``, or the only
``*_accounts.csv`` in the folder) and a patterns file (``<prefix>_Patterns.txt``, same rule) are
read too when present.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from moneytrail import schemas
from moneytrail.ingest.amlworld_labels import build_labels, read_patterns
from moneytrail.ingest.csvfile import META_COLUMNS, read_csv
from moneytrail.ingest.report import IngestError
from moneytrail.ingest.validate import Staged, missing, parse_timestamps, shown

HEADER = [
    "Timestamp",
    "From Bank",
    "Account",
    "To Bank",
    "Account",
    "Amount Received",
    "Receiving Currency",
    "Amount Paid",
    "Payment Currency",
    "Payment Format",
    "Is Laundering",
]
ACCOUNTS_HEADER = ["Bank Name", "Bank ID", "Account Number", "Entity ID", "Entity Name"]

#: AMLworld currency names -> ISO 4217 (XBT for bitcoin).
CURRENCIES = {
    "US Dollar": "USD",
    "Euro": "EUR",
    "Yuan": "CNY",
    "Yen": "JPY",
    "Rupee": "INR",
    "Ruble": "RUB",
    "UK Pound": "GBP",
    "Canadian Dollar": "CAD",
    "Australian Dollar": "AUD",
    "Swiss Franc": "CHF",
    "Mexican Peso": "MXN",
    "Brazil Real": "BRL",
    "Shekel": "ILS",
    "Saudi Riyal": "SAR",
    "Bitcoin": "XBT",
}
#: AMLworld payment formats -> schemas.CHANNELS.
CHANNELS = {
    "Reinvestment": "internal",
    "Cheque": "cheque",
    "Credit Card": "card",
    "ACH": "ach",
    "Cash": "cash_deposit",
    "Wire": "wire",
    "Bitcoin": "crypto",
}
TIMESTAMP_FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")
FIELDS = {
    "tx_id": "tx_id (derived)",
    "timestamp_raw": "Timestamp",
    "src_account": "From Bank/Account",
    "dst_account": "To Bank/Account",
    "orig_amount_raw": "Amount Paid",
    "orig_currency": "Payment Currency",
    "channel": "Payment Format",
}
_BUSINESS_PREFIXES = ("Corporation", "Partnership", "Sole Proprietorship")


def companion(path: Path, suffix: str) -> Path | None:
    """The file that belongs to transactions file ``path``: ``<prefix>_<suffix>`` beside
    ``<prefix>_Trans.csv``, else the only ``*_<suffix>`` in its folder."""
    stem = path.stem
    for ending in ("_Trans", "_trans"):
        if stem.endswith(ending):
            candidate = path.with_name(f"{stem[: -len(ending)]}_{suffix}")
            if candidate.is_file():
                return candidate
    candidates = sorted(path.parent.glob(f"*_{suffix}"))
    return candidates[0] if len(candidates) == 1 else None


def input_files(path: Path) -> dict[str, Path]:
    """The transactions file and, when present, its accounts and patterns files."""
    if path.is_dir():
        raise IngestError(
            f"{path}: is a folder; give the AMLworld transactions CSV (e.g. HI-Small_Trans.csv)"
        )
    files = {"transactions": path}
    for role, suffix in (("accounts", "accounts.csv"), ("patterns", "Patterns.txt")):
        found = companion(path, suffix)
        if found is not None:
            files[role] = found
    return files


def _expect(path: Path, expected: list[str]):
    def check(header: list[str]) -> None:
        if header != expected:
            raise IngestError(
                f"{path}, line 1: not an AMLworld header; expected {','.join(expected)!r}, "
                f"found {','.join(header)!r}"
            )

    return check


def _account(bank: str, account: str) -> pl.Expr:
    return (
        pl.when(missing(bank) | missing(account))
        .then(None)
        .otherwise(pl.concat_str([pl.col(bank), pl.lit(":"), pl.col(account)]))
    )


def read_transactions(path: Path, content_sha256: str) -> pl.DataFrame:
    """Staged transactions (plus ``label_is_laundering``) from an AMLworld transactions CSV."""
    _, rows = read_csv(path, _expect(path, HEADER))
    label = pl.col("Is Laundering").str.strip_chars()
    bad_label = ~label.is_in(["0", "1"]) & pl.col("_reason").is_null()
    return rows.select(
        pl.col("_file"),
        pl.col("_line"),
        pl.col("_raw"),
        pl.when(bad_label).then(pl.lit("Is Laundering")).otherwise(pl.col("_field")).alias("_field"),
        pl.when(bad_label)
        .then(pl.concat_str([pl.lit("expected 0 or 1, found "), shown("Is Laundering")]))
        .otherwise(pl.col("_reason"))
        .alias("_reason"),
        pl.concat_str([pl.lit(f"aw-{content_sha256[:16]}-"), pl.col("_line").cast(pl.String)]).alias("tx_id"),
        pl.col("Timestamp").alias("timestamp_raw"),
        parse_timestamps(rows["Timestamp"], TIMESTAMP_FORMATS, ()).alias("timestamp"),
        _account("From Bank", "Account").alias("src_account"),
        _account("To Bank", "Account#2").alias("dst_account"),
        pl.col("Amount Paid").alias("orig_amount_raw"),
        pl.col("Payment Currency").str.strip_chars().replace(CURRENCIES).alias("orig_currency"),
        pl.col("Payment Format").str.strip_chars().replace(CHANNELS).alias("channel"),
        *[pl.lit(None, pl.String).alias(c) for c in ("src_country", "dst_country", "region", "reference")],
        label.alias("label_is_laundering"),
    )


def read_accounts(path: Path) -> pl.DataFrame:
    """ACCOUNTS columns plus META columns from an AMLworld ``*_accounts.csv``."""
    _, rows = read_csv(path, _expect(path, ACCOUNTS_HEADER))
    name = pl.col("Entity Name")
    business = pl.any_horizontal([name.str.starts_with(p) for p in _BUSINESS_PREFIXES]).fill_null(False)
    none = pl.lit(None, pl.String)
    return rows.select(
        _account("Bank ID", "Account Number").alias("account_id"),
        pl.when(missing("Entity ID")).then(None).otherwise(pl.col("Entity ID")).alias("customer_id"),
        name.alias("name"),
        pl.when(business).then(pl.lit("business")).otherwise(pl.lit("individual")).alias("kind"),
        none.alias("sector"),
        none.alias("country"),
        none.alias("region"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("opened_at"),
        pl.lit(None, pl.Float64).alias("declared_monthly_income"),
        pl.lit(False).alias("is_pep"),
        none.alias("phone_hash"),
        none.alias("address_hash"),
        none.alias("device_hash"),
        *META_COLUMNS,
    )


def stage(files: dict[str, Path], shas: dict[str, str]) -> Staged:
    """Read an AMLworld transactions CSV (and its accounts and patterns files) into a batch."""
    transactions = read_transactions(files["transactions"], shas["transactions"])
    accounts = read_accounts(files["accounts"]) if "accounts" in files else None
    patterns = read_patterns(files["patterns"], shas["patterns"]) if "patterns" in files else None
    return Staged(
        transactions=transactions,
        fields=FIELDS,
        accounts=accounts,
        labels=lambda loaded: build_labels(loaded, patterns),
    )


assert set(CHANNELS.values()) <= set(schemas.CHANNELS)
