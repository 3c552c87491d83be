from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from moneytrail import schemas, store

HOSTILE = "x'); DROP TABLE alerts; --"


def _record(run_id: str) -> store.RunRecord:
    now = datetime(2026, 1, 2, 3, tzinfo=UTC)
    return store.RunRecord(
        run_id, now, now, "nightly", date(2026, 1, 1), "lake", [date(2026, 1, 1)], "cfg", "0.1"
    )


def _scores(run_id: str, accounts: list[str]) -> pa.Table:
    n = len(accounts)
    return pa.table(
        {
            "run_id": [run_id] * n,
            "account_id": accounts,
            "score": [float(i) for i in range(n)],
            "eval_date": [date(2026, 1, 1)] * n,
            "top_typology": ["structuring"] * n,
            "reasons": [["why"]] * n,
        }
    )


def _alerts(run_id: str, ids: list[str], accounts: list[str]) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "alert_id": ids,
            "run_id": [run_id] * n,
            "account_id": accounts,
            "case_key": accounts,
            "typology": ["structuring"] * n,
            "score": [0.5 + i for i in range(n)],
            "eval_date": [date(2026, 1, 1)] * n,
            "reasons": [["9 cash deposits"]] * n,
        }
    )


def test_run_round_trips_hostile_strings(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    store.write_run(
        db, _record("r1"), _scores("r1", ["A", HOSTILE]), _alerts("r1", ["a1", "a2"], ["A", HOSTILE])
    )
    alerts = store.read_alerts(db)
    assert alerts["account_id"].to_list() == [HOSTILE, "A"]  # highest score first
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM account_scores WHERE config_hash = 'cfg'").fetchone() == (2,)
        assert con.execute("SELECT rows_scored, alerts FROM runs").fetchone() == (0, 2)


def test_latest_run_is_the_default_and_limit_applies(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    store.write_run(db, _record("r1"), _scores("r1", ["A"]), _alerts("r1", ["a1"], ["A"]))
    later = store.RunRecord(**{**_record("r2").__dict__, "finished_at": datetime(2026, 1, 3, tzinfo=UTC)})
    store.write_run(db, later, _scores("r2", ["B", "C"]), _alerts("r2", ["b1", "b2"], ["B", "C"]))
    assert store.read_alerts(db)["run_id"].unique().to_list() == ["r2"]
    assert store.read_alerts(db, run_id="r1")["account_id"].to_list() == ["A"]
    assert store.read_alerts(db, limit=1).height == 1


def test_failed_write_leaves_store_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    store.write_run(db, _record("r1"), _scores("r1", ["A"]), _alerts("r1", ["a1"], ["A"]))
    # The run row comes last; a clashing run id fails after scores and alerts were inserted.
    with pytest.raises(duckdb.ConstraintException):
        store.write_run(db, _record("r1"), _scores("r2", ["B"]), _alerts("r2", ["b"], ["B"]))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM account_scores").fetchone() == (1,)
        assert con.execute("SELECT list(alert_id) FROM alerts").fetchone() == (["a1"],)
        assert con.execute("SELECT count(*) FROM run_alerts").fetchone() == (1,)
        assert con.execute("SELECT list(run_id) FROM runs").fetchone() == (["r1"],)


def test_rerunning_adds_no_duplicate_alert(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    store.write_run(db, _record("r1"), _scores("r1", ["A"]), _alerts("r1", ["a1"], ["A"]))
    again = store.RunRecord(**{**_record("r2").__dict__, "finished_at": datetime(2026, 1, 3, tzinfo=UTC)})
    store.write_run(db, again, _scores("r2", ["A"]), _alerts("r2", ["a1"], ["A"]))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), min(run_id) FROM alerts").fetchone() == (1, "r1")
    latest = store.read_alerts(db)
    assert latest["alert_id"].to_list() == ["a1"] and latest["run_id"].to_list() == ["r1"]


def test_bad_table_is_refused_before_writing(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    with pytest.raises(schemas.SchemaError, match="alerts: missing column"):
        store.write_run(db, _record("r1"), _scores("r1", ["A"]), _scores("r1", ["A"]))


def test_reading_a_missing_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no moneytrail database"):
        store.read_alerts(tmp_path / "absent.duckdb")
