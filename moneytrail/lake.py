"""The Parquet lake: layout, commit protocol and readers.

Layout (``LAKE`` is a directory)::

    transactions/date=YYYY-MM-DD/part-<batch_id>.parquet   TRANSACTIONS, partitioned by UTC date
    accounts/accounts.parquet                               ACCOUNTS, one row per account_id
    labels/<name>.parquet                                   schemas.LABEL_TABLES
    quarantine/part-<batch_id>.parquet                      QUARANTINE (rejected input rows)
    _manifest/ingests.parquet                               MANIFEST, one row per committed batch

A batch counts only once its row is in the manifest. Partition and quarantine files of a batch
that is not in the manifest are orphans of a crashed ingest: readers ignore them and the next
ingest deletes them. ``accounts.parquet`` and the label tables are replaced through a pending
file (``<table>.parquet.<batch_id>.pending``) that is promoted after the manifest commit; readers
prefer a pending file whose batch is committed (roll forward) and ignore any other.
See ``docs/INGEST.md``.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from moneytrail import schemas

TRANSACTIONS_DIR = "transactions"
ACCOUNTS_FILE = Path("accounts") / "accounts.parquet"
LABELS_DIR = "labels"
QUARANTINE_DIR = "quarantine"
MANIFEST_FILE = Path("_manifest") / "ingests.parquet"
PENDING_SUFFIX = ".pending"
TMP_SUFFIX = ".tmp"

_TS = pa.timestamp("us", tz="UTC")

#: One row per rejected input row. ``line`` is the 1-based line of the row in ``file`` (the
#: header is line 1); for Parquet input it is the 1-based row number.
QUARANTINE = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("field", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),
    ],
    metadata={schemas.SCHEMA_METADATA_KEY: b"quarantine/v1"},
)

#: One row per committed ingest batch.
MANIFEST = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("rows_in", pa.int64(), nullable=False),
        pa.field("rows_loaded", pa.int64(), nullable=False),
        pa.field("rows_quarantined", pa.int64(), nullable=False),
        pa.field("ingested_at", _TS, nullable=False),
    ],
    metadata={schemas.SCHEMA_METADATA_KEY: b"ingest_manifest/v1"},
)


def empty_frame(schema: pa.Schema) -> pl.DataFrame:
    """An empty polars frame with the columns and types of ``schema``."""
    frame = pl.from_arrow(schema.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def to_frame(table: pa.Table) -> pl.DataFrame:
    """A polars frame from an Arrow table (always a DataFrame, even with zero columns)."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


# --------------------------------------------------------------------------- manifest


def read_manifest(lake: Path) -> pl.DataFrame:
    """The committed batches (MANIFEST columns); empty when the lake has none."""
    path = Path(lake) / MANIFEST_FILE
    if not path.exists():
        return empty_frame(MANIFEST)
    return to_frame(schemas.conform(pq.read_table(path), MANIFEST, where=str(path)))


def committed_batches(lake: Path) -> set[str]:
    """Ids of the batches in the manifest."""
    return set(read_manifest(lake)["batch_id"].to_list())


def batch_of(path: Path) -> str | None:
    """The batch id in ``part-<batch_id>.parquet`` or ``<name>.parquet.<batch_id>.pending``."""
    name = path.name
    if name.startswith("part-") and name.endswith(".parquet"):
        return name[len("part-") : -len(".parquet")]
    if name.endswith(PENDING_SUFFIX):
        stem = name[: -len(PENDING_SUFFIX)]
        _, sep, batch = stem.partition(".parquet.")
        return batch if sep else None
    return None


# --------------------------------------------------------------------------- table files


def pending_path(final: Path, batch_id: str) -> Path:
    """Where a batch stages the new version of a merged table (accounts, labels)."""
    return final.with_name(f"{final.name}.{batch_id}{PENDING_SUFFIX}")


def resolve_table(final: Path, committed: set[str] | None) -> Path | None:
    """The current version of a merged table: a pending file of a committed batch if one
    exists (the ingest crashed after its commit), else ``final``; ``None`` when absent."""
    if committed:
        pending = [
            p for p in final.parent.glob(f"{final.name}.*{PENDING_SUFFIX}") if batch_of(p) in committed
        ]
        if pending:
            return max(pending, key=lambda p: p.stat().st_mtime_ns)
    return final if final.exists() else None


def _is_lake(path: Path) -> bool:
    return (path / MANIFEST_FILE).exists()


def read_table(final: Path, schema: pa.Schema, committed: set[str] | None) -> pl.DataFrame:
    """The current version of a merged table (accounts, a label table), read into memory.

    Read eagerly: an ingest may rename a pending file over ``final`` at any time, so a lazy
    scan could open a file that is gone. A rename between resolving and reading is retried.
    """
    for attempt in range(3):
        path = resolve_table(final, committed)
        if path is None:
            return empty_frame(schema)
        try:
            return to_frame(schemas.conform(pq.read_table(path), schema, where=str(path)))
        except FileNotFoundError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def scan_accounts(lake: Path) -> pl.LazyFrame:
    """All accounts in the lake (ACCOUNTS columns); empty when none were loaded."""
    lake = Path(lake)
    return read_table(lake / ACCOUNTS_FILE, schemas.ACCOUNTS, committed_batches(lake)).lazy()


def read_labels(path: Path) -> dict[str, pl.DataFrame]:
    """Label tables under ``path/labels`` (a lake or a generator output folder).

    Returns one frame per name in ``schemas.LABEL_TABLES``; a missing table is an empty frame
    with the right schema.
    """
    path = Path(path)
    committed = committed_batches(path) if _is_lake(path) else None
    return {
        name: read_table(path / LABELS_DIR / f"{name}.parquet", schema, committed)
        for name, schema in schemas.LABEL_TABLES.items()
    }


# --------------------------------------------------------------------------- partitions


def _partition_date(directory: Path) -> date | None:
    key, sep, value = directory.name.partition("=")
    if key != "date" or not sep:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def committed_partition_files(lake: Path) -> dict[date, list[Path]]:
    """Committed transaction files by partition date."""
    lake = Path(lake)
    committed = committed_batches(lake)
    out: dict[date, list[Path]] = {}
    root = lake / TRANSACTIONS_DIR
    if not root.is_dir():
        return out
    for directory in sorted(root.iterdir()):
        day = _partition_date(directory)
        if day is None or not directory.is_dir():
            continue
        files = sorted(p for p in directory.glob("part-*.parquet") if batch_of(p) in committed)
        if files:
            out[day] = files
    return out


def lake_partitions(lake: Path) -> list[date]:
    """Dates that hold committed transactions, ascending."""
    return sorted(committed_partition_files(lake))


def _as_utc(moment: datetime | date) -> datetime:
    """A datetime in UTC (naive = UTC; a plain date = its midnight UTC)."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), tzinfo=UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def scan_transactions(lake: Path, start: datetime | None = None, end: datetime | None = None) -> pl.LazyFrame:
    """Committed transactions with ``start <= timestamp < end`` (naive datetimes are UTC; a
    ``date`` means its midnight UTC).

    Only the date partitions that can hold such rows are opened.
    """
    start_utc = _as_utc(start) if start is not None else None
    end_utc = _as_utc(end) if end is not None else None
    files: list[Path] = []
    for day, paths in committed_partition_files(lake).items():
        if start_utc is not None and day < start_utc.date():
            continue
        if end_utc is not None and datetime.combine(day, time(), tzinfo=UTC) >= end_utc:
            continue
        files.extend(paths)
    if not files:
        return empty_frame(schemas.TRANSACTIONS).lazy()
    frame = pl.scan_parquet(files, hive_partitioning=False).select(schemas.TRANSACTIONS.names)
    if start_utc is not None:
        frame = frame.filter(pl.col("timestamp") >= start_utc)
    if end_utc is not None:
        frame = frame.filter(pl.col("timestamp") < end_utc)
    return frame


def scan_quarantine(lake: Path) -> pl.LazyFrame:
    """Quarantined rows of committed batches (QUARANTINE columns)."""
    lake = Path(lake)
    committed = committed_batches(lake)
    root = lake / QUARANTINE_DIR
    files = (
        sorted(p for p in root.glob("part-*.parquet") if batch_of(p) in committed) if root.is_dir() else []
    )
    if not files:
        return empty_frame(QUARANTINE).lazy()
    return pl.scan_parquet(files, hive_partitioning=False).select(QUARANTINE.names)


# --------------------------------------------------------------------------- atomic writes


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to a temporary name beside ``path``, fsync it, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    pq.write_table(table, tmp)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
