"""A run and the app at the same time: the run's writes never fail because the app is open, and
analysts keep writing while a sync in another process adds cases."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from cases import store, testing
from cases.review_app import ReviewSettings, create_app
from cases.sync import sync_alerts

# Runs in a separate process: like the nightly flow's last two steps, `runs` times over, each
# writing a run to DuckDB and then syncing its alerts (many small chunks) into the case store.
_RUNNER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, date, datetime, timedelta
    from pathlib import Path

    import polars as pl

    from cases.sync import sync_alerts
    from moneytrail import store

    db, cases_path, runs, per_run = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    for r in range(runs):
        run_id = f"run-{r}"
        alerts = pl.DataFrame({
            "alert_id": [f"{run_id}-{i}" for i in range(per_run)],
            "run_id": run_id,
            "account_id": [f"acct{i % 700:04d}" for i in range(per_run)],
            "case_key": [f"acct{i % 700:04d}" for i in range(per_run)],
            "typology": "fan_in",
            "score": [0.5 + i / (2 * per_run) for i in range(per_run)],
            "eval_date": [date(2024, 1, 1) + timedelta(days=(i + 31 * r) % 365) for i in range(per_run)],
            "reasons": [["synthetic"]] * per_run,
        })
        scores = alerts.select("run_id", "account_id", "score", "eval_date",
                               pl.col("typology").alias("top_typology"), "reasons").unique("account_id")
        now = datetime.now(UTC)
        record = store.RunRecord(run_id, now, now, "history", None, "lake", [], "cfg", "code")
        store.write_run(db, record, scores.to_arrow(), alerts.to_arrow())
        sync_alerts(cases_path, alerts, run_id=run_id, chunk=200)
    print("done")
    """
)


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    lake, cases_path, _ = testing.build(tmp_path)
    return lake, cases_path


def _start_runner(db: Path, cases_path: Path, runs: int, per_run: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(db), str(cases_path), str(runs), str(per_run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_runs_and_syncs_succeed_while_analysts_work_in_the_app(built, tmp_path: Path) -> None:
    lake, cases_path = built
    db = tmp_path / "moneytrail.duckdb"
    client = testing.sign_in(TestClient(create_app(ReviewSettings(cases_path, lake))), "ann")
    bob = testing.sign_in(TestClient(client.app), "bob")
    client.get("/cases/1")  # the app is open and has read a case before the run starts
    runner = _start_runner(db, cases_path, runs=2, per_run=2_000)
    statuses: list[int] = []
    notes = taken = 0
    started = time.monotonic()
    while runner.poll() is None and time.monotonic() - started < 120:
        statuses.append(client.get("/", params={"status": ""}).status_code)
        page = client.get("/cases/1")
        statuses.append(page.status_code)
        note = {"body": f"note {notes}", "csrf": testing.csrf_field(page.text)}
        statuses.append(client.post("/cases/1/note", data=note, follow_redirects=False).status_code)
        notes += 1
        # The second analyst takes the cases the sync is adding, as they appear.
        newest = bob.get(f"/cases/{3 + taken}")
        if newest.status_code == 200:
            take = {"action": "take", "csrf": testing.csrf_field(newest.text)}
            statuses.append(
                bob.post(f"/cases/{3 + taken}/action", data=take, follow_redirects=False).status_code
            )
            taken += 1
    _, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, err
    assert notes >= 3 and taken >= 1, "the run ended before the app could act; the test proved nothing"
    assert set(statuses) <= {200, 303}, statuses
    with store.connect(cases_path) as con:
        stored_notes = con.execute("SELECT count(*) FROM notes WHERE case_id = 1").fetchone()[0]
        alerts = con.execute("SELECT count(*) FROM case_alerts").fetchone()[0]
        per_case = con.execute("SELECT sum(alert_count) FROM cases").fetchone()[0]
        duplicates = con.execute(
            "SELECT count(*) FROM (SELECT subject, period FROM cases GROUP BY 1, 2 HAVING count(*) > 1)"
        ).fetchone()[0]
        bobs = con.execute("SELECT count(*) FROM cases WHERE assignee = 'bob'").fetchone()[0]
    assert stored_notes == notes and bobs == taken
    assert alerts == per_case == 3 + 2 * 2_000 and duplicates == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 2


def test_the_app_never_opens_the_run_database(built, tmp_path: Path) -> None:
    """With the app open and serving, another process can take DuckDB's write lock at any time."""
    lake, cases_path = built
    db = tmp_path / "moneytrail.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    client = testing.sign_in(TestClient(create_app(ReviewSettings(cases_path, lake))), "ann")
    assert client.get("/cases/1").status_code == 200
    runner = _start_runner(db, cases_path, runs=1, per_run=10)
    assert client.get("/").status_code == 200
    _, err = runner.communicate(timeout=120)
    assert runner.returncode == 0, err


def test_a_resync_of_the_same_run_adds_no_case(built) -> None:
    _, cases_path = built
    before = sync_alerts(cases_path, testing.hostile_alerts())
    assert (before.alerts_new, before.cases_new) == (0, 0)
    with store.connect(cases_path) as con:
        assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 2
