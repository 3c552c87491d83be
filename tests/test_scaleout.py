"""Scale-out: account shards give the single-process features; a run on a 2-worker Dask cluster
gives the single-process features, scores and alerts."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features import FeatureConfig, compute_features, shards
from flows import steps
from moneytrail.config import Config, ScaleOutConfig

#: Window totals are differences of running sums over every leg in key order; a shard's sums see
#: fewer legs, so the last bits of a float feature can differ (measured: relative 7e-8 at most).
TOLERANCE = {"check_exact": False, "rel_tol": 1e-6, "abs_tol": 1e-9}


def _inputs(dataset: Path) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    return pl.scan_parquet(dataset / "transactions.parquet"), pl.scan_parquet(dataset / "accounts.parquet")


@pytest.mark.parametrize(("mode", "n"), [("nightly", 3), ("history", 2)])
def test_union_of_account_shards_equals_the_unsharded_features(tiny_dataset: Path, mode: str, n: int) -> None:
    tx, accounts = _inputs(tiny_dataset)
    config = FeatureConfig()
    as_of = tx.select(pl.col("timestamp").max()).collect().item().date() if mode == "nightly" else None
    roots = shards.component_roots(accounts, config)
    parts = [shards.shard_features(tx, accounts, config, as_of, roots=roots, n=n, shard=k) for k in range(n)]
    assert all(p.height for p in parts)
    ids = [set(p["account_id"]) for p in parts]
    assert not set.intersection(*ids)  # each account in one shard
    expected = compute_features(tx, accounts, config, as_of)
    assert_frame_equal(shards.reduce_shards(parts, config), expected, **TOLERANCE)


def test_an_entity_component_never_spans_shards(tiny_dataset: Path) -> None:
    _, accounts = _inputs(tiny_dataset)
    roots = shards.component_roots(accounts, FeatureConfig())
    assert roots.height and (roots["root"] <= roots["account_id"]).all()
    placed = roots.lazy().pipe(shards.shard_of("account_id", roots, 4, "shard")).collect()
    assert placed.group_by("root").agg(pl.col("shard").n_unique())["shard"].max() == 1


def test_a_shard_reads_all_legs_of_its_accounts_and_broadcast_edges_only_recently() -> None:
    at = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    tx = pl.LazyFrame(
        {
            "src_account": ["a", "b", "CASH", "b", "b"],
            "dst_account": ["b", "c", "a", "c", "CASH"],
            "channel": ["ach", "wire", "cash_deposit", "ach", "cash_withdrawal"],
            "timestamp": [at, at, at, at - dt.timedelta(days=60), at],
        }
    ).with_columns(
        amount=pl.lit(100.0), src_country=pl.lit("US"), dst_country=pl.lit("US"), region=pl.lit(None)
    )
    roots = pl.DataFrame(schema={"account_id": pl.String, "root": pl.String})
    ids = pl.LazyFrame({"account_id": ["a", "b", "c"]}).pipe(shards.shard_of("account_id", roots, 8, "s"))
    shard_of = dict(ids.collect().iter_rows())
    k = shard_of["a"]
    got = shards.shard_transactions(tx, roots, 8, k, config=FeatureConfig(), as_of=at.date()).collect()
    rows = set(zip(got["src_account"], got["dst_account"], got["channel"], strict=True))
    assert ("a", "b", "ach") in rows and ("CASH", "a", "cash_deposit") in rows  # a's own legs
    assert ("b", "c", "wire") in rows  # a recent pattern edge, broadcast
    if k not in (shard_of["b"], shard_of["c"]):
        assert ("b", "c", "ach") not in rows and ("b", "CASH", "cash_withdrawal") not in rows


def test_dask_target_is_checked_and_does_not_change_the_config_hash() -> None:
    assert ScaleOutConfig(dask="local:2").dask == "local:2"
    assert ScaleOutConfig(dask="tcp://10.0.0.5:8786").dask == "tcp://10.0.0.5:8786"
    for bad in ("local:0", "local", "http://x:1", "tcp://host"):
        with pytest.raises(ValueError, match="local:N"):
            ScaleOutConfig(dask=bad)
    scaled = Config(scaleout=ScaleOutConfig(dask="local:2"))
    assert scaled.fingerprint() == Config().fingerprint()


def _population(n: int, seed: int) -> pl.DataFrame:
    """Individuals and businesses at different scales, rows in no particular order."""
    from detectors.testing import feature_frame, feature_row

    rng = np.random.default_rng(seed)
    business = rng.random(n) < 0.3
    scale = np.where(business, 300_000.0, 3_000.0) * rng.lognormal(0, 0.5, n)
    rows = [
        feature_row(
            f"A{i:04d}",
            kind="business" if b else "individual",
            in_amount_30d=float(x),
            out_amount_30d=float(x * rng.uniform(0.3, 1.1)),
            in_count_30d=float(rng.poisson(8)),
        )
        for i, (b, x) in enumerate(zip(business, scale, strict=True))
    ]
    return feature_frame(rows).sample(fraction=1.0, shuffle=True, seed=seed)


@pytest.mark.parametrize("method", ["isolation_forest", "ensemble"])
def test_a_model_fitted_once_scores_slices_exactly_as_the_single_process_fit(method: str) -> None:
    """Fit once, score the key-ordered rows in three slices: the same suspicion as the fit's own
    scores, and score_accounts given them returns exactly the single-process scores."""
    from detectors import DetectorConfig, score_accounts
    from detectors.scoring import fit_anomaly_model, key_order

    features = _population(700, seed=3)
    # businesses (~210 rows) fall back to the pooled model; the fit draws a subsample
    config = DetectorConfig(
        anomaly_method=method,
        isolation_forest_trees=30,
        anomaly_min_group_rows=300,
        anomaly_max_fit_rows=400,
        anomaly_ensemble_fit_rows=300,
    )
    model = fit_anomaly_model(features, config, np.random.default_rng(7))
    rows = key_order(features)
    suspicion = np.concatenate([model.suspicion_score(part) for part in rows.iter_slices(250)])
    np.testing.assert_array_equal(suspicion, model.decision_scores_)
    expected = score_accounts(features, config, np.random.default_rng(7))
    got = score_accounts(features, config, np.random.default_rng(0), fitted=(model, suspicion))
    assert_frame_equal(got, expected, check_exact=True)
    with pytest.raises(ValueError, match="shape"):
        score_accounts(features, config, np.random.default_rng(0), fitted=(model, suspicion[1:]))


def _assert_cluster_run_equals_single_process_run(lake: Path, out: Path, as_of: dt.date | None) -> None:
    from flows.nightly import nightly_flow

    single = nightly_flow(lake=lake, db=out / "one" / "mt.duckdb", as_of=as_of)
    scaled = nightly_flow(lake=lake, db=out / "two" / "mt.duckdb", as_of=as_of, dask="local:2")

    def read(summary: object, name: str) -> pl.DataFrame:
        return pl.read_parquet(summary.run_dir / name)

    assert_frame_equal(read(scaled, "features.parquet"), read(single, "features.parquet"), **TOLERANCE)
    one, two = read(single, "scores.parquet"), read(scaled, "scores.parquet")
    assert_frame_equal(two.drop("score"), one.drop("score"), **TOLERANCE)
    assert_frame_equal(two.select("score"), one.select("score"), **TOLERANCE)
    keys = ["account_id", "typology", "eval_date", "case_key", "reasons"]
    assert read(scaled, "alerts.parquet").height > 0
    assert_frame_equal(
        read(scaled, "alerts.parquet").select(keys), read(single, "alerts.parquet").select(keys)
    )
    shard_rows = pl.read_json(scaled.run_dir / "shards.json")
    assert shard_rows.height == 2 and shard_rows["rows"].sum() == read(single, "features.parquet").height
    # The score step (model fitted once, rows scored by two shard tasks) equals, bit for bit, the
    # single-process score step on the same feature table.
    suspicion = sorted((scaled.run_dir / "shards").glob("suspicion-*.parquet"))
    rows = sum(pl.read_parquet(f).height for f in suspicion)  # scores also hold propagated rows
    assert len(suspicion) == 2 and rows == read(scaled, "features.parquet").height
    config = Config()
    plain = steps.score(
        scaled.run_dir / "features.parquet", out, config.detectors, config.seed, lake_path=lake, as_of=as_of
    )
    assert_frame_equal(two, pl.read_parquet(plain), check_exact=True)


@pytest.mark.usefixtures("prefect_harness")
def test_two_worker_cluster_run_equals_the_single_process_run(
    tiny_lake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History run; the two workers are threads of this process (a process cluster takes
    tens of seconds to start on a loaded machine: the slow test below)."""
    from flows import scaleout

    monkeypatch.setattr(scaleout, "task_runner", partial(scaleout.task_runner, processes=False))
    _assert_cluster_run_equals_single_process_run(tiny_lake, tmp_path, None)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_two_worker_process_cluster_nightly_run_equals_the_single_process_run(
    tiny_lake: Path, tmp_path: Path
) -> None:
    from moneytrail.lake import lake_partitions

    _assert_cluster_run_equals_single_process_run(tiny_lake, tmp_path, lake_partitions(tiny_lake)[-1])


def test_shard_files_round_trip_through_an_fsspec_url() -> None:
    from flows.scaleout import read_frame, write_frame

    frame = pl.DataFrame({"account_id": ["a", "b"], "x": [1.5, 2.0]})
    url = "memory://moneytrail-test/run-1/features-0000.parquet"
    assert write_frame(frame, url) == url
    assert_frame_equal(read_frame(url), frame)


def test_run_rejects_a_bad_dask_target_before_starting(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from moneytrail.cli import app

    result = CliRunner().invoke(
        app, ["run", "--lake", str(tmp_path), "--db", str(tmp_path / "x"), "--dask", "local"]
    )
    assert result.exit_code == 2 and "local:N or tcp://HOST:PORT" in result.output
