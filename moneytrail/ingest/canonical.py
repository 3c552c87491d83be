"""Canonical input: a ``moneytrail generate`` folder, or one transactions file (CSV or Parquet).

Transactions carry the TRANSACTIONS column names. The amount is ``orig_amount`` +
``orig_currency`` or, failing those, ``amount`` + ``currency`` (an amount in that currency);
``amount`` is always recomputed with the configured rates. ``src_country``, ``dst_country``,
``region`` and ``reference`` may be absent. Other columns (labels such as ``is_laundering``)
are ignored. A folder may also hold ``accounts.parquet`` and ``labels/<name>.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moneytrail import schemas
from moneytrail.ingest.csvfile import META_COLUMNS, read_csv
from moneytrail.ingest.report import IngestError
from moneytrail.ingest.validate import Staged, blank_to_null, parse_timestamps

REQUIRED = ("tx_id", "timestamp", "src_account", "dst_account", "channel")
OPTIONAL = ("src_country", "dst_country", "region", "reference")
AMOUNT_PAIRS = (("orig_amount", "orig_currency"), ("amount", "currency"))


def input_files(path: Path) -> dict[str, Path]:
    """The files that make up the batch, by role."""
    if not path.is_dir():
        return {"transactions": path}
    for name in ("transactions.parquet", "transactions.csv"):
        if (path / name).is_file():
            files = {"transactions": path / name}
            break
    else:
        raise IngestError(f"{path}: folder has no transactions.parquet or transactions.csv")
    if (path / "accounts.parquet").is_file():
        files["accounts"] = path / "accounts.parquet"
    for name in schemas.LABEL_TABLES:
        label = path / "labels" / f"{name}.parquet"
        if label.is_file():
            files[f"labels/{name}"] = label
    return files


def _check_columns(path: Path, names: list[str]) -> tuple[str, str]:
    missing = [name for name in REQUIRED if name not in names]
    pair = next((p for p in AMOUNT_PAIRS if p[0] in names and p[1] in names), None)
    if pair is None:
        missing.append("orig_amount+orig_currency (or amount+currency)")
    if missing:
        raise IngestError(f"{path}: header lacks required column(s) {missing}; found {names}")
    return pair  # type: ignore[return-value]


def _read_parquet(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The file as read, and as strings with META columns.

    ``_raw`` is a struct of the row's values (cheap: it shares the columns' buffers); it is
    encoded as JSON only for the rows that end in quarantine (``validate.rejects``).
    """
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file: {exc}") from exc
    if frame.width == 0:
        raise IngestError(f"{path}: empty file (no columns)")
    as_text = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            column = _utc(column, dtype).dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ")
        as_text.append(column.cast(pl.String).alias(name))
    text = frame.select(as_text)
    meta = text.select(
        pl.lit(str(path)).alias("_file"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("_line"),
        pl.struct(pl.all()).alias("_raw"),
        pl.lit(None, pl.String).alias("_field"),
        pl.lit(None, pl.String).alias("_reason"),
    )
    return frame, pl.concat([text, meta], how="horizontal")


def _utc(column: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    """A Datetime column in UTC (naive values are taken as UTC)."""
    utc = (
        column.dt.replace_time_zone("UTC") if dtype.time_zone is None else column.dt.convert_time_zone("UTC")
    )
    return utc.cast(pl.Datetime("us", "UTC"))


def read_transactions(path: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """Staged transactions and field names from a canonical CSV or Parquet file."""
    if path.suffix.lower() == ".parquet":
        typed, rows = _read_parquet(path)
        names = typed.columns
        pair = _check_columns(path, names)
        dtype = typed.schema["timestamp"]
        if isinstance(dtype, pl.Datetime):
            timestamps = typed.select(_utc(pl.col("timestamp"), dtype))["timestamp"]
        else:
            timestamps = parse_timestamps(rows["timestamp"])
    else:
        found: list[tuple[str, str]] = []
        names, rows = read_csv(path, lambda header: found.append(_check_columns(path, header)))
        pair = found[0]
        timestamps = parse_timestamps(rows["timestamp"])
    amount_col, currency_col = pair
    staged = rows.with_columns(timestamps.alias("_parsed_timestamp")).select(
        *META_COLUMNS,
        pl.col("tx_id"),
        pl.col("timestamp").alias("timestamp_raw"),
        pl.col("_parsed_timestamp").alias("timestamp"),
        pl.col("src_account"),
        pl.col("dst_account"),
        pl.col(amount_col).alias("orig_amount_raw"),
        pl.col(currency_col).str.strip_chars().str.to_uppercase().alias("orig_currency"),
        pl.col("channel").str.strip_chars().str.to_lowercase().alias("channel"),
        *[pl.col(c) if c in names else pl.lit(None, pl.String).alias(c) for c in OPTIONAL],
    )
    if path.suffix.lower() != ".parquet":  # an empty CSV field means absent; Parquet keeps ""
        staged = staged.with_columns(blank_to_null(c) for c in OPTIONAL)
    fields = {"timestamp_raw": "timestamp", "orig_amount_raw": amount_col, "orig_currency": currency_col}
    return staged, fields


def read_accounts(path: Path) -> pl.DataFrame:
    """ACCOUNTS columns (missing optional ones null) plus META columns from a Parquet file."""
    source, rows = _read_parquet(path)
    if "account_id" not in source.columns:
        raise IngestError(f"{path}: lacks required column 'account_id'; found {source.columns}")
    columns = []
    for fld in schemas.ACCOUNTS:
        if fld.name in source.columns:
            columns.append(source[fld.name])
        else:
            columns.append(pl.Series(fld.name, [None] * source.height))
    accounts = pl.DataFrame(columns).with_columns(
        pl.col("opened_at").cast(pl.Datetime("us", "UTC"), strict=False),
        pl.col("is_pep").cast(pl.Boolean, strict=False),
        pl.col("declared_monthly_income").cast(pl.Float64, strict=False),
        *[pl.col(f.name).cast(pl.String) for f in schemas.ACCOUNTS if pa.types.is_string(f.type)],
    )
    return pl.concat([accounts, rows.select(META_COLUMNS)], how="horizontal")


def read_label_tables(files: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """Label tables found in the folder, conformed to their schemas."""
    out = {}
    for name, schema in schemas.LABEL_TABLES.items():
        path = files.get(f"labels/{name}")
        if path is None:
            continue
        try:
            table = schemas.conform(pq.read_table(path), schema, where=str(path))
        except (schemas.SchemaError, OSError, ValueError) as exc:
            raise IngestError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from exc
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        out[name] = frame
    return out


def stage(files: dict[str, Path], shas: dict[str, str]) -> Staged:
    """Read a canonical folder or file into a :class:`Staged` batch."""
    transactions, fields = read_transactions(files["transactions"])
    accounts = read_accounts(files["accounts"]) if "accounts" in files else None
    labels = read_label_tables(files)
    return Staged(transactions=transactions, fields=fields, accounts=accounts, labels=lambda loaded: labels)
