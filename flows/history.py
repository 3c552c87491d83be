"""Incremental inputs for a nightly run: the raw partitions its trailing windows need, plus a
compact digest of everything older.

A nightly evaluation on date ``D`` reads transactions in trailing windows (at most
:func:`raw_days` days back); the older history only tells it whether an account met a
counterparty before and when it was last active. For that, the last transaction of every
``(src_account, dst_account)`` pair is enough: the digest holds exactly those rows, so feature
values equal a computation over the whole lake (``tests/test_incremental.py`` checks this).

The digest is cached under ``<cache>/`` as ``pairs-<through>-<key>.parquet``. Its ``key``
chains the names of the committed partition files up to ``through``, so a late batch for an
old date changes the key and the digest is rebuilt from the newest still-valid one. Each run
folds in only the partitions added since that digest (one day on an ordinary night). Cache
files are written atomically and are disposable: deleting them costs one full rebuild.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from features.config import FeatureConfig
from moneytrail import lake as lk
from moneytrail import schemas

PAIR_KEY = ["src_account", "dst_account"]
#: Digest files kept per cache folder (the most recently written); older ones are deleted.
KEEP_DIGESTS = 3
#: Days of look-back the engine uses besides ``windows_days``: the 30-day features (income
#: ratio, new counterparties, spikes) and one day for midnight instants that a right-closed
#: window counts on the day before.
_MONTH = 30
_SLACK = 1


def raw_days(config: FeatureConfig) -> int:
    """How many days before ``D`` a nightly run on ``D`` must read transaction by transaction."""
    chain_days = int(config.max_cycle_length * config.pass_through_hours // 24) + 1
    pattern_days = 2 * config.pattern_window_days + chain_days
    return max(*config.windows_days, _MONTH, pattern_days) + _SLACK


@dataclass(frozen=True)
class HistoryInputs:
    """What a nightly run reads: raw partition files from ``first_raw`` on and a digest file of
    the partitions before it (dated up to ``digest_through``, content key ``digest_key``)."""

    raw_files: dict[date, list[Path]]
    digest_file: Path | None
    digest_through: date | None
    digest_key: str | None

    @property
    def digest_label(self) -> str | None:
        """``pairs<=YYYY-MM-DD#key`` for the run record, ``None`` without older history."""
        return None if self.digest_through is None else f"pairs<={self.digest_through}#{self.digest_key}"


def _chain_keys(lake: Path, files: dict[date, list[Path]]) -> dict[date, str]:
    """Chained content key per partition date: it changes when any file up to that date does."""
    keys, key = {}, hashlib.sha256(str(Path(lake).resolve()).encode()).hexdigest()
    for day in sorted(files):
        names = ",".join(p.name for p in files[day])
        key = hashlib.sha256(f"{key}|{day}|{names}".encode()).hexdigest()
        keys[day] = key[:16]
    return keys


def _digest_path(cache: Path, day: date, key: str) -> Path:
    return cache / f"pairs-{day.isoformat()}-{key}.parquet"


def last_per_pair(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The last transaction (by timestamp, then tx_id) of each (src_account, dst_account)."""
    return frame.sort([*PAIR_KEY, "timestamp", "tx_id"]).unique(PAIR_KEY, keep="last", maintain_order=True)


def _prune(cache: Path) -> None:
    """Keep the :data:`KEEP_DIGESTS` most recently written digests (a backfill walking forward
    from an old date keeps the one it folds from next)."""
    written = []
    for path in cache.glob("pairs-*.parquet"):
        with contextlib.suppress(FileNotFoundError):  # another run pruned it meanwhile
            written.append((path.stat().st_mtime_ns, path))
    for _, old in sorted(written)[:-KEEP_DIGESTS]:
        old.unlink(missing_ok=True)


def pair_digest(
    lake: Path, files: dict[date, list[Path]], cache: Path
) -> tuple[Path | None, date | None, str | None]:
    """Last transaction per pair over the partition ``files`` (committed files by date).

    Starts from the newest cached digest whose key is still valid and folds in the partitions
    after it; writes the result to ``cache``. Returns the digest file, its last date and its key
    (all ``None`` when ``files`` is empty).
    """
    if not files:
        return None, None, None
    keys = _chain_keys(lake, files)
    days = sorted(files)
    last = days[-1]
    target = _digest_path(cache, last, keys[last])
    if target.exists():
        return target, last, keys[last]
    base, todo = scan_files([]), days
    for i in range(len(days) - 2, -1, -1):
        cached = _digest_path(cache, days[i], keys[days[i]])
        if cached.exists():
            base, todo = pl.scan_parquet(cached), days[i + 1 :]
            break
    digest = last_per_pair(pl.concat([base, scan_files([p for day in todo for p in files[day]])])).collect()
    table = schemas.conform(digest.to_arrow(), schemas.TRANSACTIONS, where="pair digest")
    lk.write_atomic(table, target)
    _prune(cache)
    return target, last, keys[last]


def history_inputs(lake: Path, as_of: date, config: FeatureConfig, cache: Path) -> HistoryInputs:
    """Raw partitions for the trailing windows of ``as_of`` and the digest of what precedes them.

    The committed files are listed once, so a batch committed meanwhile is either wholly in
    the inputs or wholly absent.
    """
    first_raw = as_of - timedelta(days=raw_days(config))
    files = lk.committed_partition_files(lake)
    raw = {d: p for d, p in files.items() if first_raw <= d <= as_of}
    digest, through, key = pair_digest(lake, {d: p for d, p in files.items() if d < first_raw}, cache)
    return HistoryInputs(raw, digest, through, key)


def scan_files(paths: list[Path]) -> pl.LazyFrame:
    """Transactions (TRANSACTIONS columns) of the given lake or digest files."""
    if not paths:
        return lk.empty_frame(schemas.TRANSACTIONS).lazy()
    return pl.scan_parquet(paths, hive_partitioning=False).select(schemas.TRANSACTIONS.names)


def relevant_history(digest: pl.LazyFrame, raw: pl.LazyFrame) -> pl.LazyFrame:
    """The digest rows a run over ``raw`` needs: those of pairs (either direction) that trade
    again in ``raw``, and each account's latest row among the accounts in ``raw``.

    Older history only answers "did these two meet before, and when" and "when was this account
    last active"; both questions are asked only of what the run's window holds.
    """
    row = "_digest_row"
    rows = digest.with_row_index(row)
    lo, hi = pl.min_horizontal("src_account", "dst_account"), pl.max_horizontal("src_account", "dst_account")
    pairs = raw.select(lo.alias("_lo"), hi.alias("_hi")).unique()
    met_again = rows.with_columns(lo.alias("_lo"), hi.alias("_hi")).join(pairs, on=["_lo", "_hi"], how="semi")
    accounts = pl.concat([raw.select(account=pl.col(c)) for c in PAIR_KEY]).unique()
    legs = pl.concat([rows.select(row, "timestamp", account=pl.col(c)) for c in PAIR_KEY])
    latest = (
        legs.join(accounts, on="account", how="semi")
        .filter(pl.col("timestamp") == pl.col("timestamp").max().over("account"))
        .group_by("account")
        .agg(pl.col(row).min())  # ties on the last instant: the first row, deterministically
    )
    keep = pl.concat([met_again.select(row), latest.select(row)]).unique()
    return rows.join(keep, on=row, how="semi", maintain_order="left").drop(row)
