"""Scheduling: the nightly deployment and backfills, kept apart from the flow's logic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prefect import flow
from prefect.deployments.runner import RunnerDeployment

from flows.nightly import RunSummary, incremental_flow, nightly_flow

#: 02:00 UTC every day: the previous day's partitions have landed by then in most banks.
DEFAULT_CRON = "0 2 * * *"


@flow(name="moneytrail-scheduled-nightly")
def scheduled_nightly_flow(
    lake: Path, db: Path, config_path: Path | None = None, lag_days: int = 1
) -> list[RunSummary]:
    """What a schedule triggers: score every new date partition up to ``lag_days`` before
    today (UTC), so a missed night is caught up on the next one."""
    until = datetime.now(UTC).date() - timedelta(days=lag_days)
    return incremental_flow(lake=lake, db=db, config_path=config_path, until=until)


@flow(name="moneytrail-backfill")
def backfill_flow(
    lake: Path, db: Path, start: date, end: date, config_path: Path | None = None
) -> list[RunSummary]:
    """Rerun the nightly run for every date from ``start`` to ``end`` inclusive, oldest first.

    Runs are idempotent, so a backfill over dates already scored adds no duplicate alerts.
    """
    return [
        nightly_flow(lake=lake, db=db, as_of=day, config_path=config_path)
        for day in backfill_dates(start, end)
    ]


def backfill_dates(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive, oldest first."""
    if end < start:
        raise ValueError(f"backfill: end {end} is before start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def nightly_deployment(
    lake: Path,
    db: Path,
    config_path: Path | None = None,
    cron: str = DEFAULT_CRON,
    name: str = "moneytrail-nightly",
) -> RunnerDeployment:
    """The scheduled nightly deployment that ``moneytrail serve`` registers (cron in UTC)."""
    parameters = {"lake": str(Path(lake).resolve()), "db": str(Path(db).resolve())}
    if config_path is not None:
        parameters["config_path"] = str(Path(config_path).resolve())
    return scheduled_nightly_flow.to_deployment(
        name=name,
        cron=cron,
        parameters=parameters,
        description="Nightly moneytrail run: every new date partition up to yesterday (UTC).",
        tags=["moneytrail", "nightly"],
    )
