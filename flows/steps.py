"""The pipeline's steps as plain functions that read and write paths.

The Prefect flow (:mod:`flows.nightly`) wraps each in a task; the CLI calls the ones that must
run without Prefect (``features``). Every step writes its output to a temporary name and
renames it into place, so a killed step never leaves a half-written file behind.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

import detectors
import features
from detectors.config import AlertConfig, DetectorConfig
from features.config import FeatureConfig
from moneytrail import __version__, lake, schemas


@cache
def code_version() -> str:
    """Package version plus the git commit when running from a checkout."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{sha}" if sha else __version__


def new_run_id(now: datetime) -> str:
    """A sortable, unique run id such as ``20261125T031500Z-1a2b3c``."""
    salt = hashlib.sha256(f"{now.isoformat()}{np.random.SeedSequence().entropy}".encode()).hexdigest()
    return f"{now:%Y%m%dT%H%M%SZ}-{salt[:6]}"


def write_parquet_atomically(frame: pl.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` via a synced temporary file and a rename (``lake.write_atomic``)."""
    lake.write_atomic(frame.to_arrow(), path)
    return path


@dataclass(frozen=True)
class FeatureInputs:
    """What a feature computation read: the transactions in scope and their partitions."""

    transactions: pl.LazyFrame
    accounts: pl.LazyFrame
    partitions: list[date]


def feature_inputs(lake_path: Path, as_of: date | None) -> FeatureInputs:
    """Scan the lake up to the end of ``as_of`` (no look-ahead), or all of it."""
    end = None if as_of is None else datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
    partitions = [d for d in lake.lake_partitions(lake_path) if as_of is None or d <= as_of]
    if not partitions:
        where = "" if as_of is None else f" on or before {as_of}"
        raise ValueError(f"{lake_path}: the lake holds no transactions{where}; run `moneytrail ingest` first")
    return FeatureInputs(
        transactions=lake.scan_transactions(lake_path, end=end),
        accounts=lake.scan_accounts(lake_path),
        partitions=partitions,
    )


def build_features(lake_path: Path, out_dir: Path, as_of: date | None, config: FeatureConfig) -> Path:
    """Compute the feature table from the lake and write ``out_dir/features.parquet``."""
    inputs = feature_inputs(lake_path, as_of)
    table = features.compute_features(inputs.transactions, inputs.accounts, config, as_of=as_of)
    return features.write_features(table, out_dir)


def score(
    features_path: Path,
    out_dir: Path,
    config: DetectorConfig,
    seed: int,
    *,
    lake_path: Path | None = None,
    as_of: date | None = None,
) -> Path:
    """Score every (account, eval date) row and write ``out_dir/scores.parquet``.

    With ``lake_path``, a second stage propagates hub scores to the counterparties that fed
    them (:func:`detectors.propagate_scores`), reading only edges up to the end of ``as_of``.
    """
    table = pl.read_parquet(features_path)
    scores = detectors.score_accounts(table, config, np.random.default_rng(seed))
    if lake_path is not None and config.propagation.enabled and scores.height:
        start = scores["eval_date"].min() - timedelta(days=config.propagation.window_days)
        end = None if as_of is None else as_of + timedelta(days=1)
        edges = (
            lake.scan_transactions(lake_path, start=start, end=end)
            .select("src_account", "dst_account", "amount", "timestamp")
            .collect()
        )
        scores = detectors.propagate_scores(scores, edges, config)
    return write_parquet_atomically(scores, out_dir / "scores.parquet")


def best_score_per_account(scores: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """One row per account: the evaluation at which it scored highest (ties: latest date)."""
    return (
        scores.sort(["account_id", "score", "eval_date"], descending=[False, True, True])
        .unique("account_id", keep="first", maintain_order=True)
        .select(
            pl.lit(run_id).alias("run_id"),
            "account_id",
            "score",
            "eval_date",
            "top_typology",
            "reasons",
        )
    )


def alert_id(account_id: str, typology: str, eval_date: date) -> str:
    """Stable id of an alert: the same account, typology and date always give the same id."""
    key = "\x1f".join([account_id, typology, eval_date.isoformat()])
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def select_alerts(scores_path: Path, out_dir: Path, config: AlertConfig, run_id: str) -> Path:
    """Apply the alert budget and write ``out_dir/alerts.parquet`` (schema ``alerts``)."""
    chosen = detectors.select_alerts(pl.read_parquet(scores_path), config)
    ids = [
        alert_id(account, typology, day)
        for account, typology, day in chosen.select("account_id", "typology", "eval_date").iter_rows()
    ]
    alerts = chosen.select(
        pl.Series("alert_id", ids, dtype=pl.String),
        pl.lit(run_id).alias("run_id"),
        "account_id",
        "typology",
        "score",
        "eval_date",
        "reasons",
    )
    table = schemas.conform(alerts.to_arrow(), schemas.ALERTS, where="alerts")
    return write_parquet_atomically(pl.from_arrow(table), out_dir / "alerts.parquet")
