"""The case store: sync roll-up and idempotency, the workflow, races, the append-only audit log."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import queries, store
from cases.sync import sync_alerts


def _alerts(rows: list[tuple[str, str, str, float, date]], run_id: str = "r1") -> pl.DataFrame:
    """Alerts from (alert_id, account_id, typology, score, eval_date) tuples."""
    return pl.DataFrame(
        [(a, run_id, acct, typ, score, day, [f"reason of {a}"]) for a, acct, typ, score, day in rows],
        schema={
            "alert_id": pl.String,
            "run_id": pl.String,
            "account_id": pl.String,
            "typology": pl.String,
            "score": pl.Float64,
            "eval_date": pl.Date,
            "reasons": pl.List(pl.String),
        },
        orient="row",
    )


def _cases(path: Path) -> list[dict]:
    with store.connect(path) as con:
        return [
            dict(r)
            for r in con.execute(
                "SELECT subject, period, score, typology, typologies, alert_count, status FROM cases "
                "ORDER BY subject, period"
            )
        ]


@pytest.fixture
def two_cases(tmp_path: Path) -> Path:
    path = tmp_path / "c.sqlite"
    sync_alerts(
        path,
        _alerts(
            [
                ("a1", "A", "fan_in", 0.5, date(2024, 1, 3)),
                ("a2", "A", "cycle", 0.9, date(2024, 1, 20)),
                ("a3", "B", "shell", 0.3, date(2024, 2, 1)),
            ]
        ),
    )
    return path


def test_alerts_of_one_subject_and_month_roll_into_one_case(two_cases: Path) -> None:
    rows = _cases(two_cases)
    assert [(r["subject"], r["period"], r["alert_count"]) for r in rows] == [
        ("A", "2024-01", 2),
        ("B", "2024-02", 1),
    ]
    assert rows[0]["score"] == 0.9 and rows[0]["typology"] == "cycle"
    assert rows[0]["typologies"] == '["cycle","fan_in"]'
    assert {r["status"] for r in rows} == {"new"}


def test_resync_adds_nothing_and_new_alerts_update_the_case(two_cases: Path) -> None:
    again = sync_alerts(two_cases, _alerts([("a1", "A", "fan_in", 0.5, date(2024, 1, 3))]))
    assert (again.alerts_new, again.cases_new, again.cases_updated) == (0, 0, 0)
    more = sync_alerts(two_cases, _alerts([("a4", "A", "structuring", 0.95, date(2024, 1, 25))], "r2"))
    assert (more.alerts_new, more.cases_new, more.cases_updated) == (1, 0, 1)
    case = _cases(two_cases)[0]
    assert (case["alert_count"], case["score"], case["typology"]) == (3, 0.95, "structuring")
    with store.connect(two_cases) as con:
        actions = [a["action"] for a in queries.audit_trail(con, 1)]
    assert actions == ["created", "alerts_added"]


def test_case_key_rolls_accounts_of_one_entity_into_one_case(tmp_path: Path) -> None:
    alerts = _alerts(
        [
            ("a1", "A", "fan_in", 0.5, date(2024, 1, 3)),
            ("a2", "B", "fan_in", 0.6, date(2024, 1, 4)),
            ("a3", "C", "fan_in", 0.7, date(2024, 1, 5)),
        ]
    ).with_columns(pl.Series("case_key", ["A", "A", "C"]))
    sync_alerts(tmp_path / "c.sqlite", alerts)
    assert [(r["subject"], r["alert_count"]) for r in _cases(tmp_path / "c.sqlite")] == [("A", 2), ("C", 1)]


_alert_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "<b>'C"]),
        st.sampled_from(["fan_in", "cycle", "shell"]),
        st.floats(0, 1, allow_nan=False),
        st.integers(0, 90),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_alert_rows, split=st.integers(0, 25))
def test_syncing_in_parts_or_twice_equals_syncing_once(tmp_path_factory, rows, split) -> None:
    """Law: the case table depends on the set of alerts, not on how syncs cut or repeat it."""
    alerts = _alerts(
        [
            (f"x{i}", acct, typ, score, date(2024, 1, 1) + timedelta(days=d))
            for i, (acct, typ, score, d) in enumerate(rows)
        ]
    )
    once, parts = tmp_path_factory.mktemp("once") / "c.sqlite", tmp_path_factory.mktemp("parts") / "c.sqlite"
    sync_alerts(once, alerts)
    sync_alerts(parts, alerts.head(split))
    sync_alerts(parts, alerts)
    sync_alerts(parts, alerts.tail(split))
    left, right = _cases(once), _cases(parts)
    assert [{**r, "typology": None} for r in left] == [{**r, "typology": None} for r in right]
    assert sum(r["alert_count"] for r in left) == alerts.height


def test_workflow_take_note_escalate_close(two_cases: Path) -> None:
    with store.connect(two_cases) as con:
        assert store.apply(con, 1, "take", "ann")["status"] == "in_review"
        store.add_note(con, 1, "ann", "looks like a mule hub")
        assert store.apply(con, 1, "escalate", "ann", "needs a senior")["assignee"] is None
        assert store.apply(con, 1, "take", "sam")["status"] == "escalated"
        after = store.apply(con, 1, "close_reported", "sam", "STR filed")
        trail = queries.audit_trail(con, 1)
    assert after["status"] == "closed_reported" and after["disposition_reason"] == "STR filed"
    assert [(a["actor"], a["action"]) for a in trail] == [
        ("sync", "created"),
        ("ann", "take"),
        ("ann", "note"),
        ("ann", "escalate"),
        ("sam", "take"),
        ("sam", "close_reported"),
    ]
    assert trail[1]["before"]["status"] == "new" and trail[1]["after"]["assignee"] == "ann"


@pytest.mark.parametrize(
    ("setup", "action", "actor", "message"),
    [
        ([("take", "ann")], "take", "bob", "already taken by ann"),
        ([("take", "ann")], "close_reported", "bob", "only the analyst holding the case"),
        ([], "escalate", "ann", "cannot escalate a case that is new"),
        ([("take", "ann"), ("close_false_positive", "ann")], "take", "bob", "closed"),
    ],
)
def test_actions_that_do_not_apply_are_refused(two_cases: Path, setup, action, actor, message) -> None:
    with store.connect(two_cases) as con:
        for step, who in setup:
            store.apply(con, 1, step, who, "because")
        before = queries.audit_trail(con, 1)
        with pytest.raises(store.CaseConflict, match=message):
            store.apply(con, 1, action, actor, "because")
        assert queries.audit_trail(con, 1) == before


def test_closing_needs_a_reason_and_unknown_actions_fail(two_cases: Path) -> None:
    with store.connect(two_cases) as con:
        store.apply(con, 1, "take", "ann")
        with pytest.raises(ValueError, match="needs a reason"):
            store.apply(con, 1, "close_reported", "ann", "   ")
        with pytest.raises(ValueError, match="unknown action"):
            store.apply(con, 1, "delete", "ann")
        with pytest.raises(KeyError):
            store.apply(con, 99, "take", "ann")


def test_only_one_of_many_racing_analysts_takes_a_case(two_cases: Path) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def take(name: str) -> None:
        with store.connect(two_cases) as con:
            barrier.wait()
            try:
                store.apply(con, 1, "take", name)
                winners.append(name)
            except store.CaseConflict:
                pass

    threads = [threading.Thread(target=take, args=(f"analyst{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.connect(two_cases) as con:
        takes = [a for a in queries.audit_trail(con, 1) if a["action"] == "take"]
        assignee = queries.get_case(con, 1)["assignee"]
    assert len(winners) == 1 and len(takes) == 1 and assignee == winners[0]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit SET actor = 'x'", "DELETE FROM audit", "UPDATE notes SET body = 'x'", "DELETE FROM notes"],
)
def test_audit_log_and_notes_are_append_only(two_cases: Path, statement: str) -> None:
    with store.connect(two_cases) as con:
        store.add_note(con, 1, "ann", "first")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(statement)


def test_queue_filters_sorts_and_pages(two_cases: Path) -> None:
    with store.connect(two_cases) as con:
        store.apply(con, 2, "take", "ann")
        everything = queries.queue(con, queries.QueueFilter(per_page=1))
        mine = queries.queue(con, queries.QueueFilter(assignee="ann"))
        nobody = queries.queue(con, queries.QueueFilter(assignee=queries.UNASSIGNED))
        low_first = queries.queue(con, queries.QueueFilter(sort="-score"))
        shell = queries.queue(con, queries.QueueFilter(typology="shell", status="in_review"))
        hostile = queries.queue(
            con, queries.QueueFilter(typology="x' OR '1'='1", sort="score; DROP TABLE cases")
        )
    assert (everything.total, everything.pages, [r["case_id"] for r in everything.rows]) == (2, 2, [1])
    assert [r["case_id"] for r in mine.rows] == [2] and [r["case_id"] for r in nobody.rows] == [1]
    assert [r["case_id"] for r in low_first.rows] == [2, 1]
    assert [r["case_id"] for r in shell.rows] == [2]
    assert hostile.total == 0 and hostile.filter.sort == "score"


def test_default_case_store_sits_beside_the_database() -> None:
    assert store.case_store_path(Path("data/moneytrail.duckdb")) == Path("data/moneytrail.cases.sqlite")


def test_connect_to_a_missing_store_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no case store"), store.connect(tmp_path / "none.sqlite"):
        pass
