"""Crash safety: kill -9 a process that ingests a day and scores the pending dates, at random
(seeded) moments, and check that the lake and the database are each as before or as after every
step (never in between), and that the next run completes normally and agrees with a run that
was never killed.

The subprocess (``tests/crash_worker.py``) runs the flow's steps without Prefect
(``flows.pipeline.PLAIN``), so a kill costs no ~12 s temporary-server start. Two kills run in the
default tier; ``-m slow`` runs 24.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from crash_worker import CONFIG, main  # tests/ is on sys.path under pytest's default import mode
from polars.testing import assert_frame_equal

import synthetic_data
from flows import pipeline, steps
from moneytrail import lake as lk
from moneytrail.ingest import ingest

WORKER = Path(__file__).with_name("crash_worker.py")


@dataclass(frozen=True)
class World:
    lake: Path
    db: Path
    day_files: list[Path]


def _make_world(root: Path, history_days: int, crash_days: int) -> World:
    """A lake holding ``history_days`` days and one canonical Parquet file per later day."""
    gen = root / "gen"
    synthetic_data.generate("tiny", 5, gen, {"days": history_days + crash_days, "n_transactions": 3000})
    tx = pl.read_parquet(gen / "transactions.parquet").with_columns(_day=pl.col("timestamp").dt.date())
    days = sorted(tx["_day"].unique())
    base = root / "base"
    base.mkdir()
    tx.filter(pl.col("_day") < days[history_days]).drop("_day").write_parquet(base / "transactions.parquet")
    shutil.copy(gen / "accounts.parquet", base / "accounts.parquet")
    ingest(base, "canonical", root / "lake", CONFIG.currency)
    files = []
    for day in days[history_days:]:
        files.append(root / f"day-{day}.parquet")
        tx.filter(pl.col("_day") == day).drop("_day").write_parquet(files[-1])
    db = root / "m.duckdb"
    pipeline.run_monitoring(root / "lake", db, days[history_days - 1], CONFIG)
    return World(root / "lake", db, files)


# --------------------------------------------------------------------------- state snapshots


def lake_state(lake: Path) -> tuple[frozenset[str], int]:
    """Committed batches (by source file) and committed rows, after checking that what readers
    see is exactly what the manifest promises (no half-committed batch is visible)."""
    manifest = lk.read_manifest(lake)
    assert lk.scan_transactions(lake).select(pl.len()).collect().item() == manifest["rows_loaded"].sum()
    assert lk.scan_quarantine(lake).select(pl.len()).collect().item() == manifest["rows_quarantined"].sum()
    assert lk.scan_accounts(lake).select(pl.len()).collect().item() > 0
    return frozenset(manifest["source"]), int(manifest["rows_loaded"].sum())


def db_state(db: Path) -> dict[date, tuple[int, int]]:
    """Per scored date: (accounts scored, alerts raised), after checking that every stored row
    belongs to a whole, successful run (no partial run is visible)."""
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.sql(
            "SELECT run_id, as_of, accounts_scored, alerts FROM runs WHERE status = 'succeeded'"
        ).pl()
        scores = con.sql("SELECT run_id, count(*) AS n FROM account_scores GROUP BY run_id").pl()
        links = con.sql("SELECT run_id, count(*) AS n FROM run_alerts GROUP BY run_id").pl()
        orphans = con.execute(
            "SELECT count(*) FROM alerts WHERE alert_id NOT IN (SELECT alert_id FROM run_alerts)"
        ).fetchone()
    assert orphans == (0,)
    counted = runs.join(scores, on="run_id", how="full", coalesce=True).join(
        links, on="run_id", how="left", coalesce=True, suffix="_alerts"
    )
    assert (counted["accounts_scored"] == counted["n"]).all(), counted
    assert (counted["alerts"] == counted["n_alerts"].fill_null(0)).all(), counted
    return {row["as_of"]: (row["accounts_scored"], row["alerts"]) for row in runs.iter_rows(named=True)}


def _check_between(before: dict, after: dict, lake: Path, reference: dict | None) -> None:
    """``after`` = ``before`` plus whole runs of the next pending dates, in date order (each
    with the counts a never-killed run gives, when there is a ``reference``)."""
    assert before.items() <= after.items()
    added = sorted(set(after) - set(before))
    later = [d for d in lk.lake_partitions(lake) if d > max(before)]
    assert added == later[: len(added)], (added, later)
    for day in added:
        assert reference is None or after[day] == reference[day], day


# --------------------------------------------------------------------------- the worker


def _start() -> subprocess.Popen:
    """Start a worker; it imports, then waits for :func:`_go`."""
    return subprocess.Popen(
        [sys.executable, str(WORKER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=WORKER.parent.parent,
    )


def _go(proc: subprocess.Popen, world: World, upto: int) -> None:
    """Let the worker ingest day files ``0..upto`` and score the pending dates."""
    line = proc.stdout.readline()
    assert line.strip() == "READY", line + proc.stderr.read()
    proc.stdin.write("\t".join(map(str, [world.lake, world.db, *world.day_files[: upto + 1]])) + "\n")
    proc.stdin.flush()


def _where(stdout: str) -> str:
    """Where a killed worker was, from its progress lines."""
    lines = stdout.splitlines()
    ingested = sum(line == "ingested" for line in lines)
    started = sum(line.startswith("run ") and "(nightly)" in line for line in lines)
    scored = sum(" accounts scored" in line for line in lines)
    if any(line.startswith("DONE") for line in lines):
        return "after the work"
    if started > scored:
        return f"in run {started} (after {ingested} ingest(s))"
    return f"after {ingested} ingest(s) and {scored} run(s)"


def _reference(tmp: Path, world: World) -> dict[date, tuple[int, int]]:
    """Per-date counts of a run that is never killed; the world is restored afterwards (the
    runs table names the lake by its path, so the reference runs in place)."""
    backup = tmp / "backup"
    shutil.copytree(world.lake, backup / "lake")
    shutil.copy(world.db, backup / "m.duckdb")
    main(world.lake, world.db, world.day_files)
    reference = db_state(world.db)
    shutil.rmtree(world.lake)
    shutil.copytree(backup / "lake", world.lake)
    shutil.copy(backup / "m.duckdb", world.db)
    return reference


def crash_loop(tmp: Path, kills: int, seed: int, *, thorough: bool) -> None:
    """``kills`` workers killed at random moments, then a normal run. ``thorough``: also compare
    every date with a never-killed run, and the last date's scores with a full read."""
    upcoming = _start()  # workers import while the test prepares (imports take seconds)
    world = _make_world(tmp, history_days=33, crash_days=kills + 1)
    reference = _reference(tmp, world) if thorough else None
    rng = np.random.default_rng(seed)
    landed: list[str] = []
    work = main(world.lake, world.db, world.day_files[:1])  # how long one day's work takes
    for i in range(1, kills + 1):
        lake_before, db_before = lake_state(world.lake), db_state(world.db)
        proc = upcoming
        _go(proc, world, i)
        if i < kills:
            upcoming = _start()
        time.sleep(rng.uniform(0.0, 1.2 * work))
        os.kill(proc.pid, signal.SIGKILL)
        landed.append(_where(proc.communicate()[0]))
        lake_after, db_after = lake_state(world.lake), db_state(world.db)
        # whole batches only, in the worker's order: the day files not loaded yet, a prefix of them
        todo = [str(f) for f in world.day_files[: i + 1] if str(f) not in lake_before[0]]
        assert lake_before[0] <= lake_after[0]
        assert sorted(lake_after[0] - lake_before[0]) == todo[: len(lake_after[0] - lake_before[0])]
        _check_between(db_before, db_after, world.lake, reference)
    print("kills landed:", {where: landed.count(where) for where in sorted(set(landed))})
    if kills >= 10:  # random moments spread over the work, not all before or after it
        assert len(set(landed)) >= 3, landed
    before = db_state(world.db)
    main(world.lake, world.db, world.day_files)  # the next run completes normally and catches up
    after = db_state(world.db)
    _check_between(before, after, world.lake, reference)
    assert max(after) == lk.lake_partitions(world.lake)[-1] == max(reference or after)
    assert pipeline.pending_dates(world.lake, world.db) == []
    if thorough:
        assert after == reference
        _check_scores_match_a_full_read(tmp, world)


def _check_scores_match_a_full_read(tmp: Path, world: World) -> None:
    final = lk.lake_partitions(world.lake)[-1]
    with duckdb.connect(str(world.db), read_only=True) as con:
        stored = con.sql(
            "SELECT account_id, score FROM account_scores JOIN runs USING (run_id) "
            "WHERE as_of = ? AND status = 'succeeded' ORDER BY account_id",
            params=[final],
        ).pl()
    scratch = tmp / "scratch"
    feats = steps.build_features(world.lake, scratch, final, CONFIG.features)
    scores = steps.score(feats, scratch, CONFIG.detectors, CONFIG.seed, lake_path=world.lake, as_of=final)
    expected = steps.best_score_per_account(pl.read_parquet(scores), "x").sort("account_id")
    assert_frame_equal(stored, expected.select("account_id", "score"))


def test_kill_9_twice_leaves_lake_and_store_whole(tmp_path: Path) -> None:
    crash_loop(tmp_path, kills=2, seed=8, thorough=False)


@pytest.mark.slow
def test_kill_9_at_24_random_moments(tmp_path: Path) -> None:
    crash_loop(tmp_path, kills=24, seed=20261125, thorough=True)
