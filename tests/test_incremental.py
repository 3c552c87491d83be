"""Incremental nightly runs: reading only the trailing windows' partitions plus a digest of older
history gives the same features and scores as reading the whole lake; pending dates, failures,
lineage. Runs the plain pipeline (no Prefect server)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import features
import synthetic_data
from evaluation.inputs import load_run
from flows import history, pipeline, steps
from moneytrail import lake as lk
from moneytrail.config import Config
from moneytrail.ingest import ingest

#: Fewer isolation-forest trees than the default keep each run around a second.
CONFIG = Config.model_validate({"detectors": {"isolation_forest_trees": 20}})


@pytest.fixture(scope="module")
def long_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """75 days of the tiny preset: long enough that a nightly run leaves older history out."""
    root = tmp_path_factory.mktemp("long")
    synthetic_data.generate("tiny", 11, root / "gen", {"days": 75, "n_transactions": 5000})
    ingest(root / "gen", "canonical", root / "lake", CONFIG.currency)
    return root / "lake"


def _features(
    lake: Path, as_of: date, config: Config, cache: Path | None
) -> tuple[pl.DataFrame, steps.RunInputs]:
    inputs = steps.resolve_inputs(lake, as_of, config.features, cache)
    table = features.compute_features(
        inputs.transactions(), lk.scan_accounts(lake), config.features, as_of=as_of
    )
    return table, inputs


@pytest.mark.parametrize("windows", [(1, 7, 30), (3, 45)])
def test_incremental_features_equal_a_full_read(long_lake: Path, tmp_path: Path, windows: tuple) -> None:
    config = Config.model_validate({"features": {"windows_days": windows}})
    last = lk.lake_partitions(long_lake)[-1]
    for as_of in (last - timedelta(days=9), last):
        full, _ = _features(long_lake, as_of, config, None)
        incremental, inputs = _features(long_lake, as_of, config, tmp_path / "cache")
        assert_frame_equal(full, incremental)
        assert full.height > 100
        # it really left history out: fewer partitions read, the rest came as a digest
        assert min(inputs.partitions) == as_of - timedelta(days=history.raw_days(config.features))
        assert inputs.digest is not None and inputs.digest_file is not None


def test_digest_folds_forward_and_a_late_batch_invalidates_it(long_lake: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lk_copy = __import__("shutil").copytree(long_lake, lake)
    cache = tmp_path / "cache"
    days = lk.lake_partitions(lk_copy)
    _, first = _features(lake, days[-2], CONFIG, cache)
    _, second = _features(lake, days[-1], CONFIG, cache)
    assert len(list(cache.glob("pairs-*.parquet"))) == 2
    assert first.digest != second.digest
    # a late batch for an old date: the digest key changes and features still match a full read
    old = days[5]
    late = tmp_path / "late.csv"
    late.write_text(
        "tx_id,timestamp,src_account,dst_account,amount,currency,channel,reference\n"
        f"LATE1,{old}T12:00:00Z,NEWCOMER,{pl.read_parquet(first.files[0])['dst_account'][0]},50,USD,wire,\n"
    )
    ingest(late, "canonical", lake, CONFIG.currency)
    full, _ = _features(lake, days[-1], CONFIG, None)
    again, third = _features(lake, days[-1], CONFIG, cache)
    assert third.digest != second.digest
    assert_frame_equal(full, again)


def test_incremental_scores_equal_a_from_scratch_run(long_lake: Path, tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    as_of = lk.lake_partitions(long_lake)[-1]
    summary = pipeline.run_monitoring(long_lake, db, as_of, CONFIG)
    scratch = tmp_path / "scratch"
    features_path = steps.build_features(long_lake, scratch, as_of, CONFIG.features)
    scores_path = steps.score(
        features_path, scratch, CONFIG.detectors, CONFIG.seed, lake_path=long_lake, as_of=as_of
    )
    assert_frame_equal(pl.read_parquet(summary.run_dir / "scores.parquet"), pl.read_parquet(scores_path))
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.sql(
            "SELECT account_id, score FROM account_scores WHERE run_id = ? ORDER BY account_id",
            params=[summary.run_id],
        ).pl()
    best = steps.best_score_per_account(pl.read_parquet(scores_path), "x").sort("account_id")
    assert_frame_equal(stored, best.select("account_id", "score"))
    # The run keeps the (non-default) configuration it used; evaluation sweeps those rules.
    kept = load_run(db, summary.run_id).config
    assert kept == CONFIG and kept.fingerprint() == CONFIG.fingerprint() != Config().fingerprint()


def test_pending_dates_are_the_new_partitions_and_reruns_are_idempotent(
    long_lake: Path, tmp_path: Path
) -> None:
    db = tmp_path / "m.duckdb"
    days = lk.lake_partitions(long_lake)
    assert pipeline.pending_dates(long_lake, db) == days[-1:]  # empty store: the latest date only
    pipeline.run_monitoring(long_lake, db, days[-3], CONFIG)
    assert pipeline.pending_dates(long_lake, db) == days[-2:]
    ran = pipeline.run_pending(long_lake, db, CONFIG, until=days[-2])
    assert [s.as_of for s in ran] == days[-2:-1]
    assert pipeline.pending_dates(long_lake, db) == days[-1:]
    again = pipeline.run_monitoring(long_lake, db, days[-2], CONFIG)  # same date twice
    with duckdb.connect(str(db), read_only=True) as con:
        first, second = (
            con.sql(
                "SELECT account_id, score, eval_date, top_typology, reasons FROM account_scores "
                "WHERE run_id = ? ORDER BY account_id",
                params=[run_id],
            ).pl()
            for run_id in (ran[-1].run_id, again.run_id)
        )
        alerts = con.execute("SELECT count(*), count(DISTINCT alert_id) FROM alerts").fetchone()
        linked = con.execute("SELECT count(*) FROM run_alerts WHERE run_id = ?", [again.run_id]).fetchone()
    assert first.equals(second)
    assert alerts[0] == alerts[1] and linked == (again.alerts,)


def test_alerts_carry_case_keys_and_hibernate_against_stored_ones(long_lake: Path, tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    days = lk.lake_partitions(long_lake)
    earlier = pipeline.run_monitoring(long_lake, db, days[-2], CONFIG)
    later = pipeline.run_monitoring(long_lake, db, days[-1], CONFIG)
    with duckdb.connect(str(db), read_only=True) as con:
        raised = con.sql(
            "SELECT ra.run_id, a.account_id, a.case_key, a.typology, a.score FROM run_alerts ra "
            "JOIN alerts a USING (alert_id)"
        ).pl()
    assert raised["case_key"].null_count() == 0 and earlier.alerts > 0 and later.alerts > 0
    first = raised.filter(pl.col("run_id") == earlier.run_id)
    second = raised.filter(pl.col("run_id") == later.run_id)
    repeated = second.join(first, on=["account_id", "typology"], suffix="_before")
    margin = CONFIG.alerts.hibernation_margin
    assert (repeated["score"] >= repeated["score_before"] + margin).all(), repeated
    # without the earlier alerts in the store, the later date alone raises those repeats too
    alone = pipeline.run_monitoring(long_lake, tmp_path / "fresh" / "m.duckdb", days[-1], CONFIG)
    assert alone.alerts >= later.alerts


def test_every_score_and_alert_has_lineage(long_lake: Path, tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    summary = pipeline.run_monitoring(long_lake, db, lk.lake_partitions(long_lake)[-1], CONFIG)
    with duckdb.connect(str(db), read_only=True) as con:
        scores = con.sql("SELECT * FROM score_lineage").pl()
        alerts = con.sql("SELECT * FROM alert_lineage").pl()
    assert scores.height == summary.accounts_scored and alerts.height == summary.alerts > 0
    for frame in (scores, alerts):
        assert frame["config_hash"].unique().to_list() == [CONFIG.fingerprint()]
        assert frame["code_version"].unique().to_list() == [steps.code_version()]
        assert frame["input_partitions"].list.len().min() == history.raw_days(CONFIG.features) + 1
        assert frame["history_digest"].str.starts_with("pairs<=").all()
        assert frame["input_batches"].list.len().min() >= 1
    assert scores["run_id"].unique().to_list() == [summary.run_id]
    assert alerts["raised_by"].unique().to_list() == [summary.run_id]


def test_a_failed_step_is_named_and_recorded(long_lake: Path, tmp_path: Path) -> None:
    def broken_score(*args: object) -> Path:
        raise OSError("disk on fire\nsecond line")

    runners = dataclasses.replace(pipeline.PLAIN, score=broken_score)
    db = tmp_path / "m.duckdb"
    with pytest.raises(
        pipeline.RunFailed, match=r"failed in step 'score': OSError: disk on fire second line"
    ):
        pipeline.run_monitoring(long_lake, db, lk.lake_partitions(long_lake)[-1], CONFIG, runners=runners)
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT status, failed_step, error, summary FROM runs").fetchone()
        assert con.execute("SELECT count(*) FROM account_scores").fetchone() == (0,)
    assert row[:2] == ("failed", "score") and "disk on fire" in row[2]
    assert "features" in json.loads(row[3])["seconds_by_step"]
    assert pipeline.pending_dates(long_lake, db) == lk.lake_partitions(long_lake)[-1:]  # still to do
