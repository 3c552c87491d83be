"""The workbench on an inline store: comparison by hand, outputs on disk, hostile strings escaped."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluation.svg import Series, bar_chart, line_chart
from evaluation.workbench import compare_runs, evaluate_store, write_outputs
from moneytrail import schemas, store

HOSTILE = '<script>alert("x")</script>&amp;'
D = date(2026, 1, 5)


def _write_labels(folder: Path) -> None:
    tables = {
        "instances": {
            "instance_id": ["i1", "i2", "i3"],
            "typology": ["fan_in", "fan_in", HOSTILE],
            "start": [None] * 3,
            "end": [None] * 3,
        },
        "instance_accounts": {
            "instance_id": ["i1", "i2", "i3"],
            "account_id": ["a", "c", "e"],
            "role": ["originator", "intermediary", "originator"],
        },
        "transactions": {"tx_id": ["t1"], "instance_id": ["i1"]},
        "benign_behaviours": {"behaviour_id": ["b1"], "behaviour": [HOSTILE], "account_id": ["p"]},
    }
    (folder / "labels").mkdir(parents=True)
    for name, columns in tables.items():
        schema = schemas.LABEL_TABLES[name]
        table = pa.table({f.name: pa.array(columns[f.name], type=f.type) for f in schema}, schema=schema)
        pq.write_table(table, folder / "labels" / f"{name}.parquet")


def _write_run(db: Path, run_id: str, alerted: list[str]) -> None:
    accounts = ["a", "c", "e", "p", "q", "r"]
    scores = pl.DataFrame(
        {
            "run_id": run_id,
            "account_id": accounts,
            "score": [0.9 if a in alerted else 0.1 * i for i, a in enumerate(accounts)],
            "eval_date": D,
            "top_typology": "fan_in",
            "reasons": [[HOSTILE]] * len(accounts),
        }
    )
    alerts = pl.DataFrame(
        {
            "alert_id": [f"{run_id}-{a}" for a in alerted],
            "run_id": run_id,
            "account_id": alerted,
            "case_key": alerted,
            "typology": "fan_in",
            "score": 0.9,
            "eval_date": D,
            "reasons": [[HOSTILE]] * len(alerted),
        },
        schema_overrides={"account_id": pl.String},
    )
    now = datetime(2026, 1, 6, tzinfo=UTC) if run_id == "r1" else datetime(2026, 1, 7, tzinfo=UTC)
    record = store.RunRecord(run_id, now, now, "history", None, str(db.parent / "no-lake"), [], "cfg", "v")
    store.write_run(db, record, scores.to_arrow(), alerts.to_arrow())


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "m.duckdb"
    _write_labels(tmp_path / "gen")
    _write_run(db, "r1", ["a", "p"])  # catches i1; p is a false alert (hostile behaviour)
    _write_run(db, "r2", ["c", "e"])  # catches i2 and i3
    return db, tmp_path / "gen"


def test_comparison_counts_gained_and_lost_instances(world) -> None:
    from evaluation.inputs import load_labels, load_run

    db, gen = world
    table = compare_runs(load_run(db, "r1"), load_run(db, "r2"), load_labels(gen / "labels"))
    rows = {r["typology"]: r for r in table.to_dicts()}
    assert (rows["fan_in"]["caught_baseline"], rows["fan_in"]["caught_other"]) == (1, 1)
    assert (rows["fan_in"]["gained"], rows["fan_in"]["lost"]) == (1, 1)
    assert rows[HOSTILE]["recall_change"] == 1.0
    assert (rows["fan_in"]["alerts_baseline"], rows["fan_in"]["alerts_other"]) == (2, 2)


def test_outputs_are_written_and_data_strings_are_escaped(world, tmp_path: Path) -> None:
    db, gen = world
    evaluation = evaluate_store(db, gen, ["r1", "r2"])
    out = tmp_path / "out"
    page = write_outputs(evaluation, out)
    facts = json.loads((out / "metrics.json").read_text())
    assert [r["run_id"] for r in facts["runs"]] == ["r1", "r2"]
    assert any("no transaction-level F1" in n for n in facts["notes"])
    assert any("no features.parquet" in n for n in facts["notes"])
    for name in ("summary", "recall_at_budgets", "comparison", "false_alerts_by_behaviour"):
        assert pl.read_parquet(out / "tables" / f"{name}.parquet").equals(
            pl.read_csv(
                out / "tables" / f"{name}.csv",
                schema=pl.read_parquet(out / "tables" / f"{name}.parquet").schema,
            )
        )
    html = page.read_text()
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 4
    for svg in svgs:
        ET.fromstring(svg)  # well-formed: every data string inside is escaped


def test_charts_escape_every_label_and_survive_empty_data() -> None:
    chart = line_chart([Series(HOSTILE, [1, 2], [0.5, 0.7])], title=HOSTILE, x_label="x", y_label="y")
    bars = bar_chart([HOSTILE], {HOSTILE: [0.3]}, title="t", x_label="x")
    for svg in (chart, bars, line_chart([], title="empty", x_label="x", y_label="y")):
        ET.fromstring(str(svg))
        assert "<script" not in str(svg)


def test_unknown_run_names_what_the_store_holds(world) -> None:
    db, gen = world
    with pytest.raises(ValueError, match="r1"):
        evaluate_store(db, gen, ["nope"])


def test_missing_labels_fail_loudly(world, tmp_path: Path) -> None:
    db, _ = world
    with pytest.raises(FileNotFoundError, match=r"instances\.parquet"):
        evaluate_store(db, tmp_path / "nowhere")


def test_analysts_dispositions_serve_as_labels(world, tmp_path: Path) -> None:
    from evaluation.inputs import ANALYST_FALSE_POSITIVE, load_labels

    db, _ = world
    dispositions = tmp_path / "case_labels.parquet"
    pl.DataFrame(
        {
            "account_id": ["a", "b", "p", "c"],
            "case_id": [1, 1, 2, 3],
            "typology": ["fan_in", "fan_in", "fan_in", HOSTILE],
            "label": [1, 1, 0, 1],
        }
    ).write_parquet(dispositions)
    labels = load_labels(dispositions)
    assert labels["instances"].rows() == [("case-1", "fan_in", None, None), ("case-3", HOSTILE, None, None)]
    assert labels["benign_behaviours"].rows() == [("case-2", ANALYST_FALSE_POSITIVE, "p")]
    # r1 alerted a (case 1, reported) and p (case 2, a false positive).
    facts = evaluate_store(db, dispositions, ["r1"], sweep=False).runs[0].detection
    assert (facts.instance_recall, facts.alert_precision) == (0.5, 0.5)
    assert facts.false_alerts_by_behaviour.rows() == [(ANALYST_FALSE_POSITIVE, 1)]


def test_dispositions_without_a_label_column_fail_loudly(tmp_path: Path) -> None:
    from evaluation.inputs import load_labels

    path = tmp_path / "x.parquet"
    pl.DataFrame({"account_id": ["a"], "case_id": [1], "typology": ["t"]}).write_parquet(path)
    with pytest.raises(schemas.SchemaError, match="label"):
        load_labels(path)
