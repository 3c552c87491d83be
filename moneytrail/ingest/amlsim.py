"""IBM AMLSim output folder, as written by its converter (``scripts/convert_logs.py``).

Files (column names from ``paramFiles/*/schema.json``; extra columns are ignored):

* ``transactions.csv`` (required) and ``cash_tx.csv`` (optional, same layout): ``tran_id``,
  ``orig_acct``, ``bene_acct``, ``tx_type``, ``base_amt``, ``tran_timestamp`` required;
  ``is_sar`` (or ``is_fraud``) and ``alert_id`` optional, label-only.
* ``accounts.csv`` (optional): ``acct_id`` required; ``dsply_nm``, ``type``, ``acct_rptng_crncy``,
  ``open_dt``, ``country`` used when present. ``prior_sar_count`` and personal data (names,
  addresses, ssn, ...) are not stored.
* ``alert_accounts.csv`` (optional): ``alert_id``, ``alert_type``, ``acct_id``, ``is_sar``.
  SAR alerts become label instances (typology = ``alert_type``), non-SAR alerts benign
  behaviours.

Timestamps are ISO 8601 (``2017-01-01T00:00:00Z``), ``YYYYMMDD``, or a day number counted from
the simulation's default base date 2017-01-01. The amount's currency is the originator
account's ``acct_rptng_crncy`` when known, else USD.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from moneytrail.ingest.csvfile import META_COLUMNS, read_csv
from moneytrail.ingest.labelling import roles, span, typology_name
from moneytrail.ingest.report import IngestError
from moneytrail.ingest.validate import ISO_AWARE, ISO_NAIVE, Staged, missing, parse_timestamps

TX_REQUIRED = ("tran_id", "orig_acct", "bene_acct", "tx_type", "base_amt", "tran_timestamp")
ACCOUNT_REQUIRED = ("acct_id",)
ALERT_REQUIRED = ("alert_id", "alert_type", "acct_id")
SAR_FLAGS = ("is_sar", "is_fraud")
FILES = {
    "transactions": "transactions.csv",
    "cash_transactions": "cash_tx.csv",
    "accounts": "accounts.csv",
    "alert_accounts": "alert_accounts.csv",
}
#: AMLSim tx_type -> schemas.CHANNELS.
CHANNELS = {
    "TRANSFER": "wire",
    "WIRE": "wire",
    "CREDIT": "ach",
    "PAYMENT": "ach",
    "CHECK": "cheque",
    "CHEQUE": "cheque",
    "DEPOSIT": "cash_deposit",
    "CASH-IN": "cash_deposit",
    "CASH-OUT": "cash_withdrawal",
}
BUSINESS_TYPES = ("O", "ORG", "ORGANIZATION", "B", "BUSINESS", "BIZ")
BASE_DATE = datetime(2017, 1, 1, tzinfo=UTC)
DEFAULT_CURRENCY = "USD"
FIELDS = {
    "tx_id": "tran_id",
    "timestamp_raw": "tran_timestamp",
    "src_account": "orig_acct",
    "dst_account": "bene_acct",
    "orig_amount_raw": "base_amt",
    "orig_currency": "acct_rptng_crncy",
    "channel": "tx_type",
}
_TRUE = ("true", "1", "yes", "t", "y")


def input_files(path: Path) -> dict[str, Path]:
    """The converter's files present in the folder (``path`` may be its transactions.csv)."""
    folder = path if path.is_dir() else path.parent
    files = {role: folder / name for role, name in FILES.items() if (folder / name).is_file()}
    if "transactions" not in files:
        raise IngestError(f"{folder}: not an AMLSim output folder (no transactions.csv)")
    return files


def _require(path: Path, required: tuple[str, ...]):
    def check(header: list[str]) -> None:
        absent = [name for name in required if name not in header]
        if absent:
            raise IngestError(f"{path}, line 1: header lacks required column(s) {absent}; found {header}")

    return check


def _optional(rows: pl.DataFrame, *names: str) -> pl.Expr:
    present = [pl.col(n) for n in names if n in rows.columns]
    return pl.coalesce(present) if present else pl.lit(None, pl.String)


def _flag(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase().is_in(list(_TRUE)).fill_null(False)


def _timestamps(raw: pl.Series) -> pl.Series:
    """ISO 8601 or YYYYMMDD strings, or day numbers from BASE_DATE, as Datetime(us, UTC)."""
    utc = pl.Datetime("us", "UTC")
    frame = pl.DataFrame({"raw": raw, "parsed": parse_timestamps(raw, (*ISO_NAIVE, "%Y%m%d"), ISO_AWARE)})
    text = pl.col("raw").str.strip_chars()
    days = pl.when(text.str.len_chars() <= 6).then(text.str.to_integer(strict=False))
    from_days = (pl.lit(BASE_DATE) + pl.duration(days=days)).cast(utc)
    return frame.select(pl.coalesce(pl.col("parsed"), from_days).cast(utc).alias(raw.name)).to_series()


def read_transactions(path: Path, currencies: pl.DataFrame | None) -> pl.DataFrame:
    """Staged transactions plus ``label_alert_id`` and ``label_is_sar``."""
    _, rows = read_csv(path, _require(path, TX_REQUIRED))
    alert = _optional(rows, "alert_id").str.strip_chars()
    staged = rows.select(
        *META_COLUMNS,
        pl.col("tran_id").alias("tx_id"),
        pl.col("tran_timestamp").alias("timestamp_raw"),
        _timestamps(rows["tran_timestamp"]).alias("timestamp"),
        pl.col("orig_acct").alias("src_account"),
        pl.col("bene_acct").alias("dst_account"),
        pl.col("base_amt").alias("orig_amount_raw"),
        pl.col("tx_type").str.strip_chars().str.to_uppercase().replace(CHANNELS).alias("channel"),
        *[pl.lit(None, pl.String).alias(c) for c in ("src_country", "dst_country", "region", "reference")],
        pl.when(missing(alert) | alert.str.starts_with("-"))
        .then(None)
        .otherwise(alert)
        .alias("label_alert_id"),
        _flag(_optional(rows, *SAR_FLAGS)).alias("label_is_sar"),
    )
    if currencies is None:
        return staged.with_columns(orig_currency=pl.lit(DEFAULT_CURRENCY))
    return staged.join(
        currencies, left_on="src_account", right_on="acct_id", how="left", maintain_order="left"
    )


def read_accounts(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ACCOUNTS + META columns, and (acct_id, orig_currency) for the transactions."""
    _, rows = read_csv(path, _require(path, ACCOUNT_REQUIRED))
    kind = _optional(rows, "type").str.strip_chars().str.to_uppercase()
    none = pl.lit(None, pl.String)
    accounts = rows.select(
        pl.col("acct_id").alias("account_id"),
        pl.col("acct_id").alias("customer_id"),
        _optional(rows, "dsply_nm").alias("name"),
        pl.when(kind.is_in(list(BUSINESS_TYPES)))
        .then(pl.lit("business"))
        .otherwise(pl.lit("individual"))
        .alias("kind"),
        none.alias("sector"),
        _optional(rows, "country").alias("country"),
        none.alias("region"),
        (
            _timestamps(rows["open_dt"])
            if "open_dt" in rows.columns
            else pl.lit(None, pl.Datetime("us", "UTC"))
        ).alias("opened_at"),
        pl.lit(None, pl.Float64).alias("declared_monthly_income"),
        pl.lit(False).alias("is_pep"),
        none.alias("phone_hash"),
        none.alias("address_hash"),
        none.alias("device_hash"),
        *META_COLUMNS,
    )
    currency = _optional(rows, "acct_rptng_crncy").str.strip_chars().str.to_uppercase()
    currencies = (
        rows.filter(pl.col("_reason").is_null())
        .select(
            "acct_id",
            pl.when(missing(currency))
            .then(pl.lit(DEFAULT_CURRENCY))
            .otherwise(currency)
            .alias("orig_currency"),
        )
        .unique("acct_id", keep="first", maintain_order=True)
    )
    return accounts, currencies


def read_alerts(path: Path) -> pl.DataFrame:
    """(alert_id, typology, account_id, is_sar) from alert_accounts.csv."""
    _, rows = read_csv(path, _require(path, ALERT_REQUIRED))
    has_flag = any(name in rows.columns for name in SAR_FLAGS)
    return rows.filter(pl.col("_reason").is_null() & ~missing("alert_id") & ~missing("acct_id")).select(
        pl.col("alert_id").str.strip_chars(),
        typology_name(pl.col("alert_type")).fill_null("unknown").alias("typology"),
        pl.col("acct_id").alias("account_id"),
        (_flag(_optional(rows, *SAR_FLAGS)) if has_flag else pl.lit(True)).alias("is_sar"),
    )


def _roles(loaded: pl.DataFrame) -> pl.DataFrame:
    """(alert_id, account_id, role) from the alert's transactions."""
    return roles(loaded.rename({"label_alert_id": "alert_id"}), "alert_id")


def build_labels(loaded: pl.DataFrame, alerts: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
    """Label tables from the loaded transactions and the alert members."""
    if alerts is None:  # no alert_accounts.csv: SAR transactions' alert ids, members from txs
        roles = _roles(loaded)
        sar_ids = loaded.filter(pl.col("label_is_sar") & pl.col("label_alert_id").is_not_null())
        alerts = roles.join(sar_ids.select(alert_id="label_alert_id").unique(), on="alert_id").select(
            "alert_id", typology=pl.lit("unknown"), account_id="account_id", is_sar=pl.lit(True)
        )
    per_alert = alerts.group_by("alert_id", maintain_order=True).agg(
        pl.col("typology").first(), pl.col("is_sar").any()
    )
    sar = per_alert.filter(pl.col("is_sar"))
    times = span(loaded.rename({"label_alert_id": "alert_id"}), "alert_id")
    instance_id = pl.concat_str([pl.lit("amlsim:"), pl.col("alert_id")]).alias("instance_id")
    instances = sar.join(times, on="alert_id", how="left").select(instance_id, "typology", "start", "end")
    members = alerts.join(sar.select("alert_id"), on="alert_id", how="semi").unique(
        ["alert_id", "account_id"]
    )
    instance_accounts = members.join(_roles(loaded), on=["alert_id", "account_id"], how="left").select(
        instance_id, "account_id", pl.col("role").fill_null("intermediary")
    )
    transactions = loaded.join(
        sar.select("alert_id"), left_on="label_alert_id", right_on="alert_id", how="semi"
    )
    benign = alerts.join(per_alert.filter(~pl.col("is_sar")).select("alert_id"), on="alert_id", how="semi")
    return {
        "instances": instances,
        "instance_accounts": instance_accounts,
        "transactions": transactions.select(
            "tx_id", pl.concat_str([pl.lit("amlsim:"), pl.col("label_alert_id")]).alias("instance_id")
        ),
        "benign_behaviours": benign.select(
            pl.concat_str([pl.lit("amlsim:"), pl.col("alert_id")]).alias("behaviour_id"),
            pl.col("typology").alias("behaviour"),
            "account_id",
        ),
    }


def stage(files: dict[str, Path], shas: dict[str, str]) -> Staged:
    """Read an AMLSim output folder into a :class:`Staged` batch."""
    accounts, currencies = read_accounts(files["accounts"]) if "accounts" in files else (None, None)
    parts = [
        read_transactions(files[role], currencies)
        for role in ("transactions", "cash_transactions")
        if role in files
    ]
    transactions = pl.concat(parts, how="diagonal_relaxed").with_columns(
        pl.col("orig_currency").fill_null(DEFAULT_CURRENCY)
    )
    alerts = read_alerts(files["alert_accounts"]) if "alert_accounts" in files else None
    return Staged(
        transactions=transactions,
        fields=FIELDS,
        accounts=accounts,
        labels=lambda loaded: build_labels(loaded, alerts),
    )
