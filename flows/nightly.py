"""The nightly monitoring flow: inputs -> features -> detectors -> alerts -> results store.

The run itself is :func:`flows.pipeline.run_monitoring`; this module wraps its steps in Prefect
tasks and publishes artifacts. Tasks pass paths, never DataFrames. Only the I/O steps retry,
with exponential backoff (fixing the lake files a run reads, reading earlier alerts from the
store, writing the store, which can meet a transient lock); the computing steps are
deterministic and fail fast.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.tasks import exponential_backoff

from cases.store import case_store_path
from cases.sync import sync_alerts_file
from flows import pipeline, scaleout
from flows.pipeline import RunSummary
from moneytrail.config import Config, load_config

__all__ = ["RunSummary", "incremental_flow", "nightly_flow"]

#: I/O retries: 3 more attempts after about 2, 4 and 8 seconds (+-50% jitter).
IO_RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
}

inputs_task = task(name="inputs", **IO_RETRIES)(pipeline.resolve_inputs)
features_task = task(name="features")(pipeline.build_features)
score_task = task(name="score")(pipeline.score)
previous_task = task(name="previous alerts", **IO_RETRIES)(pipeline.previous_alerts)
alerts_task = task(name="alerts")(pipeline.select_alerts)
store_task = task(name="store", **IO_RETRIES)(pipeline.write_store)

TASKS = pipeline.StepRunners(inputs_task, features_task, score_task, previous_task, alerts_task, store_task)
#: Last step: the run's new alerts into the analysts' case store (idempotent; see docs/REVIEW.md).
cases_task = task(name="cases", **IO_RETRIES)(sync_alerts_file)


def publish_artifacts(summary: RunSummary) -> None:
    """The markdown summary and a table of the run's top alerts."""
    create_markdown_artifact(summary.markdown(), key="moneytrail-run-summary", description="Run summary")
    alerts = pl.read_parquet(summary.run_dir / "alerts.parquet")
    top = alerts.head(25).with_columns(pl.col("reasons").list.join("; "), pl.col("eval_date").cast(pl.String))
    create_table_artifact(top.to_dicts(), key="moneytrail-top-alerts", description="Top alerts of the run")


def with_dask(config: Config, dask: str | None) -> Config:
    """``config`` with ``scaleout.dask`` set to ``dask`` (unchanged when ``dask`` is None)."""
    if dask is None:
        return config
    scale = type(config.scaleout).model_validate(config.scaleout.model_dump() | {"dask": dask})
    return config.model_copy(update={"scaleout": scale})


@flow(name="moneytrail-nightly", log_prints=False)
def nightly_flow(
    lake: Path,
    db: Path,
    as_of: date | None = None,
    config_path: Path | None = None,
    cases_path: Path | None = None,
    *,
    dask: str | None = None,
) -> RunSummary:
    """Score the lake's accounts and store scores and alerts in ``db``, then add the new alerts
    to the case store (``cases_path``, default ``<db stem>.cases.sqlite`` beside ``db``).

    With ``as_of`` this is the nightly run (trailing windows ending that date, reading only the
    partitions they need plus a digest of older history); without it, the whole history is
    scored in one vectorised pass. ``dask`` (``local:N`` or ``tcp://HOST:PORT``, overriding
    ``scaleout.dask``) computes the features as account shards on a Dask cluster
    (:mod:`flows.scaleout`), with the same results.
    """
    logger = get_run_logger()
    config = with_dask(load_config(config_path), dask)
    runners = scaleout.with_scaleout(TASKS, config)
    summary = pipeline.run_monitoring(lake, db, as_of, config, runners=runners, log=logger.info)
    cases_task(cases_path or case_store_path(Path(db)), summary.run_dir / "alerts.parquet", lake=Path(lake))
    publish_artifacts(summary)
    return summary


@flow(name="moneytrail-incremental")
def incremental_flow(
    lake: Path, db: Path, config_path: Path | None = None, until: date | None = None, dask: str | None = None
) -> list[RunSummary]:
    """Score every date partition not scored yet (up to ``until``), oldest first, one nightly
    run each (see :func:`flows.pipeline.pending_dates`)."""
    days = pipeline.pending_dates(Path(lake), Path(db), until)
    get_run_logger().info("pending dates: %s", ", ".join(map(str, days)) or "none")
    return [nightly_flow(lake=lake, db=db, as_of=day, config_path=config_path, dask=dask) for day in days]
