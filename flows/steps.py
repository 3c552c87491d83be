"""The pipeline's steps as plain functions that read and write paths.

The Prefect flow (:mod:`flows.nightly`) wraps each in a task; the CLI calls the ones that must
run without Prefect (``features``). Every step writes its output to a temporary name and
renames it into place, so a killed step never leaves a half-written file behind.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

import detectors
import features
from detectors.config import AlertConfig, DetectorConfig
from detectors.peers import PeerGroupModel
from features.config import FeatureConfig
from flows import history
from moneytrail import __version__, lake, schemas
from moneytrail.config import RUN_CONFIG_FILE, Config


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


def write_config(config: Config, run_dir: Path) -> Path:
    """Keep the resolved configuration of a run as ``run_dir/config.json`` (atomically).

    Evaluation reads it back to sweep and tune the rules the run really used.
    """
    path = run_dir / RUN_CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(config.model_dump_json(indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def write_parquet_atomically(frame: pl.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` via a synced temporary file and a rename (``lake.write_atomic``)."""
    lake.write_atomic(frame.to_arrow(), path)
    return path


@dataclass(frozen=True)
class RunInputs:
    """The lake files a run reads, fixed once when it starts (its lineage).

    ``partitions`` are read transaction by transaction (``files``); with ``digest_file`` the
    older history comes as a digest (:mod:`flows.history`) labelled ``digest``. ``batches`` are
    the ingest batches that loaded the evaluated date (history mode: every batch).
    """

    as_of: date | None
    partitions: list[date]
    files: list[Path]
    digest_file: Path | None = None
    digest: str | None = None
    batches: list[str] = field(default_factory=list)

    def transactions(self, keep: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None) -> pl.LazyFrame:
        """The digest rows the partitions need, then the partitions' transactions
        (TRANSACTIONS columns; see :func:`flows.history.relevant_history`); ``keep`` selects
        from them before anything is loaded (one account shard, :mod:`features.shards`)."""
        raw = history.scan_files(self.files)
        if self.digest_file is not None:
            older = history.relevant_history(history.scan_files([self.digest_file]), raw)
            raw = pl.concat([older, raw])
        if keep is not None:
            raw = keep(raw)
        # collected once: the feature engine scans its input more than once
        return raw if self.digest_file is None and keep is None else raw.collect().lazy()

    def write(self, out_dir: Path) -> Path:
        """Save as ``out_dir/inputs.json`` (atomically) and return the path."""
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "inputs.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(asdict(self), default=str, indent=1))
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, path: Path) -> RunInputs:
        raw = json.loads(Path(path).read_text())
        return cls(
            as_of=date.fromisoformat(raw["as_of"]) if raw["as_of"] else None,
            partitions=[date.fromisoformat(d) for d in raw["partitions"]],
            files=[Path(f) for f in raw["files"]],
            digest_file=Path(raw["digest_file"]) if raw["digest_file"] else None,
            digest=raw["digest"],
            batches=raw["batches"],
        )


def resolve_inputs(
    lake_path: Path, as_of: date | None, config: FeatureConfig, digest_cache: Path | None = None
) -> RunInputs:
    """The committed lake files up to the end of ``as_of`` (no look-ahead), or all of them.

    With a ``digest_cache`` folder and ``as_of`` (an incremental nightly run), only the partitions the
    trailing windows need are listed, and the older history is a cached digest that gives the
    same features as reading the whole lake (:mod:`flows.history`).
    """
    if as_of is not None and digest_cache is not None:
        hist = history.history_inputs(lake_path, as_of, config, digest_cache)
        files, digest = hist.raw_files, (hist.digest_file, hist.digest_label)
    else:
        committed = lake.committed_partition_files(lake_path)
        files = {d: p for d, p in committed.items() if as_of is None or d <= as_of}
        digest = (None, None)
    if not files and digest[0] is None:
        where = "" if as_of is None else f" on or before {as_of}"
        raise ValueError(f"{lake_path}: the lake holds no transactions{where}; run `moneytrail ingest` first")
    evaluated = files if as_of is None else {as_of: files.get(as_of, [])}
    return RunInputs(
        as_of=as_of,
        partitions=sorted(files),
        files=[p for d in sorted(files) for p in files[d]],
        digest_file=digest[0],
        digest=digest[1],
        batches=sorted({lake.batch_of(p) or "" for paths in evaluated.values() for p in paths}),
    )


def features_from_inputs(inputs_path: Path, lake_path: Path, out_dir: Path, config: FeatureConfig) -> Path:
    """Compute the feature table of the inputs in ``inputs_path`` into ``out_dir/features.parquet``."""
    inputs = RunInputs.read(inputs_path)
    table = features.compute_features(
        inputs.transactions(), lake.scan_accounts(lake_path), config, as_of=inputs.as_of
    )
    return features.write_features(table, out_dir)


def build_features(
    lake_path: Path,
    out_dir: Path,
    as_of: date | None,
    config: FeatureConfig,
    digest_cache: Path | None = None,
) -> Path:
    """Resolve the inputs and compute ``out_dir/features.parquet`` in one go (CLI, benchmarks)."""
    inputs_path = resolve_inputs(lake_path, as_of, config, digest_cache).write(out_dir)
    return features_from_inputs(inputs_path, lake_path, out_dir, config)


def score(
    features_path: Path,
    out_dir: Path,
    config: DetectorConfig,
    seed: int,
    *,
    lake_path: Path | None = None,
    as_of: date | None = None,
    fitted: tuple[PeerGroupModel, np.ndarray] | None = None,
) -> Path:
    """Score every (account, eval date) row and write ``out_dir/scores.parquet``.

    With ``lake_path``, a second stage propagates hub scores to the counterparties that fed
    them (:func:`detectors.propagate_scores`), reading only edges up to the end of ``as_of``.
    ``fitted``: the anomaly model and suspicion scores computed elsewhere (see
    :func:`detectors.scoring.score_accounts`).
    """
    table = pl.read_parquet(features_path)
    scores = detectors.score_accounts(table, config, np.random.default_rng(seed), fitted=fitted)
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


def select_alerts(
    scores_path: Path,
    out_dir: Path,
    config: AlertConfig,
    run_id: str,
    *,
    accounts: pl.DataFrame | None = None,
    previous: pl.DataFrame | None = None,
    edges: pl.DataFrame | None = None,
) -> Path:
    """Apply hibernation, case roll-up and the alert budget (:func:`detectors.select_alerts`)
    and write ``out_dir/alerts.parquet`` (schema ``alerts``).

    ``accounts`` (the lake's) give case keys, ``previous`` are alerts already stored, ``edges``
    the transfers of the scored period; each is optional.
    """
    chosen = detectors.select_alerts(
        pl.read_parquet(scores_path),
        config,
        case_keys=None if accounts is None else detectors.case_keys(accounts),
        previous=previous,
        edges=edges,
    )
    ids = [
        alert_id(account, typology, day)
        for account, typology, day in chosen.select("account_id", "typology", "eval_date").iter_rows()
    ]
    alerts = chosen.select(
        pl.Series("alert_id", ids, dtype=pl.String),
        pl.lit(run_id).alias("run_id"),
        "account_id",
        "case_key",
        "typology",
        "score",
        "eval_date",
        "reasons",
    )
    table = schemas.conform(alerts.to_arrow(), schemas.ALERTS, where="alerts")
    return write_parquet_atomically(pl.from_arrow(table), out_dir / "alerts.parquet")
