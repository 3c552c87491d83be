"""Scheduling lives apart from the flow: check the deployment and the backfill's range."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.schedule import backfill_flow, nightly_deployment
from moneytrail.cli import app


def test_nightly_deployment_carries_cron_and_absolute_paths(tmp_path: Path) -> None:
    deployment = nightly_deployment(tmp_path / "lake", tmp_path / "m.duckdb", cron="30 3 * * *")
    assert deployment.name == "moneytrail-nightly"
    assert [s.schedule.cron for s in deployment.schedules] == ["30 3 * * *"]
    assert deployment.parameters == {"lake": str(tmp_path / "lake"), "db": str(tmp_path / "m.duckdb")}
    assert deployment.entrypoint.endswith("flows/schedule.py:scheduled_nightly_flow")


def test_backfill_refuses_a_reversed_range(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="before start"):
        backfill_flow.fn(tmp_path, tmp_path / "m.duckdb", date(2026, 1, 5), date(2026, 1, 1))


@pytest.mark.usefixtures("prefect_harness")
def test_backfill_scores_each_date_once(tiny_lake: Path, tmp_path: Path) -> None:
    days = sorted(p.name.removeprefix("date=") for p in (tiny_lake / "transactions").glob("date=*"))
    start, end = days[-2], days[-1]
    db = tmp_path / "m.duckdb"
    result = CliRunner().invoke(
        app, ["backfill", "--start", start, "--end", end, "--lake", str(tiny_lake), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("accounts scored") == 2
    assert f"{start}:" in result.output and f"{end}:" in result.output


def test_only_io_tasks_retry_with_backoff() -> None:
    from flows import nightly

    io = {"inputs": nightly.inputs_task, "previous": nightly.previous_task, "store": nightly.store_task}
    compute = {"features": nightly.features_task, "score": nightly.score_task, "alerts": nightly.alerts_task}
    for task in io.values():
        assert task.retries == 3 and task.retry_delay_seconds == [2, 4, 8] and task.retry_jitter_factor
    assert all(task.retries == 0 for task in compute.values())
