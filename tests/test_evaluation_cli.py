"""`moneytrail evaluate` end to end: two tiny runs, the Prefect flow, every output on disk."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _store_runs(lake: Path, db: Path, budgets: dict[str, float]) -> None:
    """History runs through the pipeline's steps, scored once (a small forest, to stay fast) and
    alerted at different budgets, stored in ``db`` with their run files."""
    from detectors.config import AlertConfig, DetectorConfig
    from features.config import FeatureConfig
    from flows import steps
    from moneytrail import store

    first = db.parent / "runs" / next(iter(budgets))
    features = steps.build_features(lake, first, None, FeatureConfig())
    scores = steps.score(features, first, DetectorConfig(isolation_forest_trees=20), 7, lake_path=lake)
    for run_id, share in budgets.items():
        run_dir = db.parent / "runs" / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        if run_dir != first:
            shutil.copy(features, run_dir / features.name)
        alerts = steps.select_alerts(scores, run_dir, AlertConfig(budget_share=share), run_id)
        best = steps.best_score_per_account(pl.read_parquet(scores), run_id)
        now = datetime.now(UTC)
        record = store.RunRecord(run_id, now, now, "history", None, str(lake), [], "test-config", "test")
        store.write_run(db, record, best.to_arrow(), pl.read_parquet(alerts).to_arrow())


@pytest.fixture(scope="module")
def two_runs(tiny_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("evaluate") / "m.duckdb"
    _store_runs(tiny_lake, db, {"run-1pc": 0.01, "run-5pc": 0.05})
    return db


def _evaluate(db: Path, labels: Path, out: Path, *extra: str) -> str:
    from moneytrail.cli import app

    args = ["evaluate", "--db", str(db), "--labels", str(labels), "--out", str(out), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_evaluate_compares_two_runs_side_by_side(two_runs: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    output = _evaluate(
        two_runs, tiny_dataset / "labels", out, "--run", "run-1pc", "--run", "run-5pc", "--no-sweep"
    )
    assert "run-5pc" in output

    facts = json.loads((out / "metrics.json").read_text())
    runs = {r["run_id"]: r for r in facts["runs"]}
    assert runs["run-5pc"]["alerts"] > runs["run-1pc"]["alerts"] > 0
    assert 0.0 < runs["run-1pc"]["transaction_f1"] <= 1.0
    comparison = pl.read_parquet(out / "tables" / "comparison.parquet")
    assert (comparison["lost"] == 0).all()  # a larger budget alerts a superset of accounts
    assert (comparison["caught_other"] >= comparison["caught_baseline"]).all()
    assert (
        pl.read_csv(out / "tables" / "recall_at_budgets.csv").height
        == pl.read_parquet(out / "tables" / "recall_at_budgets.parquet").height
    )
    assert "<svg" in (out / "report.html").read_text()
    assert not (out / "tables" / "threshold_sweeps.parquet").exists()


@pytest.mark.slow
def test_evaluate_sweeps_and_tunes_into_a_config_moneytrail_run_accepts(
    two_runs: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    from moneytrail.config import load_config

    out = tmp_path / "eval"
    _evaluate(two_runs, tiny_dataset, out, "--tune")
    facts = json.loads((out / "metrics.json").read_text())
    assert [r["run_id"] for r in facts["runs"]] == ["run-5pc"]  # the latest run by default
    assert facts["tuning"]["cutoff"] < facts["tuning"]["validate_dates"][0]
    for name in ("threshold_sweeps", "chosen_thresholds", "tuning_changes", "tuning_validation"):
        assert (out / "tables" / f"{name}.parquet").exists() and (out / "tables" / f"{name}.csv").exists()
    assert load_config(out / "tuned_config.toml").detectors.active_rules()


def test_evaluate_an_unknown_run_is_one_line(two_runs: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    from moneytrail.cli import app

    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--db",
            str(two_runs),
            "--labels",
            str(tiny_dataset),
            "--out",
            str(tmp_path),
            "--run",
            "x",
        ],
    )
    assert result.exit_code == 2
    # Prefect logs the failed flow run; the command ends with the one-line error.
    assert "no run 'x'" in result.output and "run-1pc" in result.output.split("error:")[-1]
