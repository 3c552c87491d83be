"""Export a generated data set in the IBM AMLworld CSV layout (``HI-Small_Trans.csv`` style)."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from moneytrail import schemas

HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)
#: ISO 4217 -> the currency names AMLworld uses.
CURRENCY_NAMES: dict[str, str] = {
    "USD": "US Dollar",
    "MXN": "Mexican Peso",
    "EUR": "Euro",
    "GBP": "UK Pound",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "CHF": "Swiss Franc",
    "JPY": "Yen",
    "CNY": "Yuan",
    "INR": "Rupee",
    "RUB": "Ruble",
    "BRL": "Brazil Real",
    "SAR": "Saudi Riyal",
    "ILS": "Shekel",
    "XBT": "Bitcoin",
}
#: Our channels -> AMLworld payment formats.
PAYMENT_FORMATS: dict[str, str] = {
    "wire": "Wire",
    "ach": "ACH",
    "card": "Credit Card",
    "cheque": "Cheque",
    "cash_deposit": "Cash",
    "cash_withdrawal": "Cash",
    "msb_transfer": "Wire",
    "crypto": "Bitcoin",
    "internal": "Reinvestment",
}
#: Bank id by account country (AMLworld banks are numbers); the cash placeholder is bank 0.
BANK_BY_COUNTRY: dict[str, int] = {
    "US": 10,
    "MX": 20,
    "PA": 31,
    "KY": 32,
    "VG": 33,
    "BZ": 34,
    "HK": 35,
    "AE": 36,
    "CN": 37,
    "CO": 38,
    "GT": 39,
}


def write_amlworld_csv(generated_dir: Path, out_csv: Path) -> int:
    """Write ``generated_dir``'s transactions as an AMLworld CSV at ``out_csv``; return the row count.

    ``Is Laundering`` is 1 for transactions of a planted instance. Amounts are the original
    amounts in the original currency on both sides (no conversion happens in transit).
    """
    generated_dir = Path(generated_dir)
    tx = pl.scan_parquet(generated_dir / "transactions.parquet")
    laundering = (
        pl.scan_parquet(generated_dir / "labels" / "transactions.parquet")
        .select("tx_id", pl.lit(1, pl.Int8).alias("is_laundering"))
        .unique("tx_id")
    )

    def bank(account: str, country: str) -> pl.Expr:
        return (
            pl.when(pl.col(account) == schemas.CASH_ACCOUNT)
            .then(0)
            .otherwise(pl.col(country).replace_strict(BANK_BY_COUNTRY, default=99, return_dtype=pl.Int32))
        )

    currency = pl.col("orig_currency").replace_strict(CURRENCY_NAMES, default=pl.col("orig_currency"))
    frame = (
        tx.join(laundering, on="tx_id", how="left", maintain_order="left")
        .select(
            pl.col("timestamp").dt.strftime("%Y/%m/%d %H:%M").alias("Timestamp"),
            bank("src_account", "src_country").alias("From Bank"),
            pl.col("src_account").alias("Account"),
            bank("dst_account", "dst_country").alias("To Bank"),
            pl.col("dst_account").alias("Account.1"),
            pl.col("orig_amount").round(2).alias("Amount Received"),
            currency.alias("Receiving Currency"),
            pl.col("orig_amount").round(2).alias("Amount Paid"),
            currency.alias("Payment Currency"),
            pl.col("channel").replace_strict(PAYMENT_FORMATS, default="Wire").alias("Payment Format"),
            pl.col("is_laundering").fill_null(0).alias("Is Laundering"),
        )
        .collect()
    )
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_csv.with_name(f".{out_csv.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\n")
        frame.write_csv(handle, include_header=False, float_precision=2)
    tmp.replace(out_csv)
    return frame.height
