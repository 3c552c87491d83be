"""The nightly monitoring flow: features -> detectors -> alerts -> results store.

Tasks pass paths, never DataFrames. Only the store write retries (it is the one I/O step
that can meet a transient lock); the computing steps are deterministic and fail fast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows import steps
from moneytrail import store
from moneytrail.config import Config, load_config


@dataclass
class RunSummary:
    """What a run did, for the log, the ``runs`` table and the Prefect artifact."""

    run_id: str
    mode: str
    as_of: date | None
    run_dir: Path
    transactions_in_scope: int = 0
    rows_scored: int = 0
    accounts_scored: int = 0
    alerts_by_typology: dict[str, int] = field(default_factory=dict)
    seconds_by_step: dict[str, float] = field(default_factory=dict)

    @property
    def alerts(self) -> int:
        return sum(self.alerts_by_typology.values())

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "transactions_in_scope": self.transactions_in_scope,
            "rows_scored": self.rows_scored,
            "accounts_scored": self.accounts_scored,
            "alerts": self.alerts,
            "alerts_by_typology": self.alerts_by_typology,
            "seconds_by_step": self.seconds_by_step,
        }

    def markdown(self) -> str:
        lines = [
            f"# moneytrail run `{self.run_id}`",
            "",
            f"- mode: **{self.mode}**" + (f", as of {self.as_of}" if self.as_of else ""),
            f"- transactions in scope: {self.transactions_in_scope:,}",
            f"- rows scored (account x evaluation date): {self.rows_scored:,}",
            f"- accounts scored: {self.accounts_scored:,}",
            f"- alerts: {self.alerts:,}",
            "",
            "| typology | alerts |",
            "|---|---:|",
            *(f"| {name} | {count} |" for name, count in sorted(self.alerts_by_typology.items())),
            "",
            "| step | seconds |",
            "|---|---:|",
            *(f"| {name} | {secs:.2f} |" for name, secs in self.seconds_by_step.items()),
        ]
        return "\n".join(lines)


@task(name="features")
def features_task(lake: Path, run_dir: Path, as_of: date | None, config: Config) -> Path:
    return steps.build_features(lake, run_dir, as_of, config.features)


@task(name="score")
def score_task(features_path: Path, run_dir: Path, config: Config, lake: Path, as_of: date | None) -> Path:
    return steps.score(features_path, run_dir, config.detectors, config.seed, lake_path=lake, as_of=as_of)


@task(name="alerts")
def alerts_task(scores_path: Path, run_dir: Path, config: Config, run_id: str) -> Path:
    return steps.select_alerts(scores_path, run_dir, config.alerts, run_id)


@task(name="store", retries=3, retry_delay_seconds=[1, 4, 16])
def store_task(db: Path, record: store.RunRecord, best_scores_path: Path, alerts_path: Path) -> None:
    store.write_run(
        db,
        record,
        pl.read_parquet(best_scores_path).to_arrow(),
        pl.read_parquet(alerts_path).to_arrow(),
    )


def _timed(summary: RunSummary, name: str, started: float) -> None:
    summary.seconds_by_step[name] = round(time.perf_counter() - started, 3)


@flow(name="moneytrail-nightly", log_prints=False)
def nightly_flow(
    lake: Path,
    db: Path,
    as_of: date | None = None,
    config_path: Path | None = None,
) -> RunSummary:
    """Score the lake's accounts and store scores and alerts in ``db``.

    With ``as_of`` this is the nightly run (trailing windows ending that date); without it,
    the whole history is scored in one vectorised pass.
    """
    logger = get_run_logger()
    config = load_config(config_path)
    started_at = datetime.now(UTC)
    run_id = steps.new_run_id(started_at)
    run_dir = Path(db).parent / "runs" / run_id
    summary = RunSummary(run_id, "nightly" if as_of else "history", as_of, run_dir)
    logger.info(
        "run %s (%s) config %s code %s", run_id, summary.mode, config.fingerprint(), steps.code_version()
    )

    inputs = steps.feature_inputs(Path(lake), as_of)
    summary.transactions_in_scope = inputs.transactions.select(pl.len()).collect().item()

    t = time.perf_counter()
    features_path = features_task(Path(lake), run_dir, as_of, config)
    _timed(summary, "features", t)

    t = time.perf_counter()
    scores_path = score_task(features_path, run_dir, config, Path(lake), as_of)
    scores = pl.read_parquet(scores_path)
    best = steps.best_score_per_account(scores, run_id)
    best_path = steps.write_parquet_atomically(best, run_dir / "account_scores.parquet")
    summary.rows_scored = scores.height
    summary.accounts_scored = best.height
    _timed(summary, "score", t)

    t = time.perf_counter()
    alerts_path = alerts_task(scores_path, run_dir, config, run_id)
    alerts = pl.read_parquet(alerts_path)
    summary.alerts_by_typology = dict(alerts.group_by("typology").len().sort("typology").iter_rows())
    _timed(summary, "alerts", t)

    t = time.perf_counter()
    record = store.RunRecord(
        run_id=run_id,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        mode=summary.mode,
        as_of=as_of,
        lake=str(lake),
        input_partitions=inputs.partitions,
        config_hash=config.fingerprint(),
        code_version=steps.code_version(),
        summary=summary.as_dict(),
    )
    store_task(Path(db), record, best_path, alerts_path)
    _timed(summary, "store", t)

    logger.info(
        "run %s scored %d accounts and raised %d alerts %s",
        run_id,
        summary.accounts_scored,
        summary.alerts,
        summary.alerts_by_typology,
    )
    create_markdown_artifact(summary.markdown(), key="moneytrail-run-summary", description="Run summary")
    top = alerts.head(25).with_columns(pl.col("reasons").list.join("; "), pl.col("eval_date").cast(pl.String))
    create_table_artifact(top.to_dicts(), key="moneytrail-top-alerts", description="Top alerts of the run")
    return summary
