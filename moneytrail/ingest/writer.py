"""Write one batch into the lake so that a crash at any point leaves the previous state.

Order of one batch (see ``docs/INGEST.md``):

1. take the lake lock, then :func:`recover` from any earlier crash;
2. :func:`write_partitions` and :func:`write_quarantine` (temp file + rename; invisible until
   committed because readers only trust batch ids in the manifest);
3. :func:`stage_merged` writes the merged accounts / label tables as ``*.pending`` files;
4. :func:`commit_manifest` replaces the manifest with one more row: **the commit point**;
5. :func:`promote` renames the pending files over the live tables (readers already prefer a
   committed pending file, and :func:`recover` finishes this step after a crash).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from moneytrail import lake as lk
from moneytrail import schemas

#: Keys the merged tables are upserted on (a new row replaces an old one with the same key).
MERGE_KEYS: dict[str, list[str]] = {
    "accounts": ["account_id"],
    "instances": ["instance_id"],
    "instance_accounts": ["instance_id", "account_id", "role"],
    "transactions": ["tx_id", "instance_id"],
    "benign_behaviours": ["behaviour_id", "account_id"],
}
LOCK_FILE = Path("_manifest") / ".lock"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def batch_content_sha256(shas: dict[str, str]) -> str:
    """One hash for a batch: the file's own hash for one file, else a hash over (role, hash)."""
    if len(shas) == 1:
        return next(iter(shas.values()))
    text = "".join(f"{role}\0{sha}\n" for role, sha in sorted(shas.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def new_batch_id(content_sha256: str, now: datetime | None = None) -> str:
    """``<UTC time>-<hash prefix>``: sorts by time, unique per content."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{moment}-{content_sha256[:12]}"


@contextlib.contextmanager
def locked(lake: Path) -> Iterator[None]:
    """Hold an exclusive lock on the lake (one writer at a time)."""
    path = lake / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _merged_paths(lake: Path) -> dict[str, Path]:
    paths = {"accounts": lake / lk.ACCOUNTS_FILE}
    paths.update({name: lake / lk.LABELS_DIR / f"{name}.parquet" for name in schemas.LABEL_TABLES})
    return paths


def recover(lake: Path) -> list[Path]:
    """Finish or undo what a crashed ingest left; returns the files removed.

    Pending tables of committed batches are promoted; partition, quarantine and pending files
    of uncommitted batches and stray temp files are deleted.
    """
    committed = lk.committed_batches(lake)
    for final in _merged_paths(lake).values():
        current = lk.resolve_table(final, committed)
        if current is not None and current != final:
            os.replace(current, final)
    removed = []
    patterns = [
        f"{lk.TRANSACTIONS_DIR}/*/part-*.parquet",
        f"{lk.QUARANTINE_DIR}/part-*.parquet",
        f"accounts/*{lk.PENDING_SUFFIX}",
        f"{lk.LABELS_DIR}/*{lk.PENDING_SUFFIX}",
    ]
    for pattern in patterns:
        for path in lake.glob(pattern):
            if lk.batch_of(path) not in committed or path.name.endswith(lk.PENDING_SUFFIX):
                path.unlink()
                removed.append(path)
    for path in lake.rglob(f".*{lk.TMP_SUFFIX}"):
        path.unlink()
        removed.append(path)
    return removed


def write_partitions(lake: Path, batch_id: str, loaded: pl.DataFrame) -> list[date]:
    """Write the batch's transactions, one file per UTC date; returns the dates written."""
    table = schemas.conform(
        loaded.select(schemas.TRANSACTIONS.names).to_arrow(), schemas.TRANSACTIONS, where=f"batch {batch_id}"
    )
    frame = lk.to_frame(table).with_columns(_date=pl.col("timestamp").dt.date())
    written = []
    for (day,), part in frame.partition_by("_date", as_dict=True, maintain_order=True).items():
        path = lake / lk.TRANSACTIONS_DIR / f"date={day.isoformat()}" / f"part-{batch_id}.parquet"
        part_table = schemas.conform(part.drop("_date").to_arrow(), schemas.TRANSACTIONS, where=str(path))
        lk.write_atomic(part_table, path)
        written.append(day)
    return sorted(written)


def write_quarantine(lake: Path, batch_id: str, rejected: pl.DataFrame) -> None:
    """Write the batch's quarantine rows (nothing when there are none)."""
    if rejected.height == 0:
        return
    frame = rejected.with_columns(batch_id=pl.lit(batch_id))
    path = lake / lk.QUARANTINE_DIR / f"part-{batch_id}.parquet"
    lk.write_atomic(schemas.conform(frame.to_arrow(), lk.QUARANTINE, where=str(path)), path)


def stage_merged(lake: Path, batch_id: str, new: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Upsert each non-empty new table into its live version, written as a pending file.

    Returns the number of new rows per table.
    """
    schema_of = {"accounts": schemas.ACCOUNTS, **schemas.LABEL_TABLES}
    counts = {}
    for name, rows in new.items():
        if rows.height == 0:
            continue
        final = _merged_paths(lake)[name]
        schema = schema_of[name]
        incoming = lk.to_frame(schemas.conform(rows.to_arrow(), schema, where=f"{name} of batch {batch_id}"))
        merged = pl.concat([lk.read_table(final, schema, None), incoming]).unique(
            MERGE_KEYS[name], keep="last", maintain_order=True
        )
        table = schemas.conform(merged.to_arrow(), schema, where=str(final))
        lk.write_atomic(table, lk.pending_path(final, batch_id))
        counts[name] = incoming.height
    return counts


def commit_manifest(lake: Path, row: dict[str, object]) -> None:
    """Append ``row`` to the manifest by rewriting it atomically. This is the commit point."""
    manifest = lk.read_manifest(lake)
    new = pl.DataFrame([row], schema=manifest.schema)
    table = schemas.conform(pl.concat([manifest, new]).to_arrow(), lk.MANIFEST, where="manifest")
    lk.write_atomic(table, lake / lk.MANIFEST_FILE)


def promote(lake: Path, batch_id: str) -> None:
    """Rename the batch's pending tables over the live ones (after the commit)."""
    for final in _merged_paths(lake).values():
        pending = lk.pending_path(final, batch_id)
        if pending.exists():
            os.replace(pending, final)
