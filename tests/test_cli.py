"""The CLI contract: commands, options, outputs and one-line errors (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from moneytrail.cli import app

runner = CliRunner()


def test_generate_ingest_features(tmp_path: Path) -> None:
    out, lake, feats = tmp_path / "gen", tmp_path / "lake", tmp_path / "features"
    amlworld = tmp_path / "HI-Tiny_Trans.csv"
    result = runner.invoke(
        app,
        ["generate", "--preset", "tiny", "--seed", "3", "--out", str(out), "--amlworld-csv", str(amlworld)],
    )
    assert result.exit_code == 0, result.output
    assert (out / "transactions.parquet").exists() and (out / "labels").is_dir()
    rows = pl.read_parquet(out / "transactions.parquet").height
    assert amlworld.read_text().splitlines()[0].startswith("Timestamp,From Bank,Account,To Bank,Account")
    assert len(amlworld.read_text().splitlines()) == rows + 1

    result = runner.invoke(app, ["ingest", str(out), "--format", "canonical", "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    assert f"{rows:,}" in result.output or str(rows) in result.output

    result = runner.invoke(app, ["features", "--lake", str(lake), "--out", str(feats)])
    assert result.exit_code == 0, result.output
    table = pl.read_parquet(feats / "features.parquet")
    assert table.height > 0 and {"account_id", "eval_date"} <= set(table.columns)


def test_unknown_format_is_refused() -> None:
    result = runner.invoke(app, ["ingest", "x.csv", "--format", "excel"])
    assert result.exit_code == 2
    assert "excel" in result.output


def test_missing_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.csv"), "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 2
    assert "nope.csv" in result.output and "Traceback" not in result.output


def test_alerts_without_a_store_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["alerts", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "moneytrail run" in result.output


def test_bad_as_of_date_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["features", "--lake", str(tmp_path), "--as-of", "31/12/2024"])
    assert result.exit_code == 2
    assert "31/12/2024" in result.output


def test_alerts_formats(tmp_path: Path) -> None:
    from datetime import UTC, date, datetime

    import pyarrow as pa

    from moneytrail import store

    db = tmp_path / "m.duckdb"
    now = datetime(2026, 1, 2, tzinfo=UTC)
    record = store.RunRecord("r1", now, now, "history", None, "lake", [], "cfg", "v")
    hostile = "[bold red]<script>alert(1)</script>"
    alerts = pa.table(
        {
            "alert_id": ["a1"],
            "run_id": ["r1"],
            "account_id": [hostile],
            "typology": ["structuring"],
            "score": [0.9],
            "eval_date": [date(2026, 1, 1)],
            "reasons": [["9 cash deposits of USD 9,000-9,990 within 7 days"]],
        }
    )
    scores = alerts.select(
        ["run_id", "account_id", "score", "eval_date", "typology", "reasons"]
    ).rename_columns(["run_id", "account_id", "score", "eval_date", "top_typology", "reasons"])
    store.write_run(db, record, scores, alerts)

    as_json = runner.invoke(app, ["alerts", "--db", str(db), "--format", "json"])
    assert json.loads(as_json.output)[0]["account_id"] == hostile
    as_csv = runner.invoke(app, ["alerts", "--db", str(db), "--format", "csv"])
    assert "9 cash deposits of USD 9,000-9,990 within 7 days" in as_csv.output
    as_table = runner.invoke(app, ["alerts", "--db", str(db)], terminal_width=200)
    assert "[bold red]" in as_table.output  # shown literally, not interpreted as markup
