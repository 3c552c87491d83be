"""The case store: one SQLite file (WAL) with cases, their alerts, notes and an append-only audit log.

The nightly run's DuckDB file is never opened here: DuckDB admits one writing process per file and
a reader in another process blocks the writer, so analysts work on this separate file. SQLite in
WAL mode lets readers work while one writer commits; writers wait for each other up to
``BUSY_TIMEOUT_MS`` and every write transaction is short (``BEGIN IMMEDIATE`` ... ``COMMIT``).

Every workflow action is one conditional ``UPDATE`` plus one audit row in the same transaction,
so two analysts racing for a case cannot both win. ``audit`` and ``notes`` reject ``UPDATE`` and
``DELETE`` through triggers. Every value is bound as a parameter.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BUSY_TIMEOUT_MS = 10_000

STATUSES = ("new", "in_review", "escalated", "closed_false_positive", "closed_reported")
OPEN_STATUSES = ("new", "in_review", "escalated")
CLOSED_STATUSES = ("closed_false_positive", "closed_reported")

_DDL = """
CREATE TABLE IF NOT EXISTS cases (
    case_id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    period TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'in_review', 'escalated', 'closed_false_positive', 'closed_reported')),
    assignee TEXT,
    score REAL NOT NULL,
    typology TEXT NOT NULL,
    typologies TEXT NOT NULL,
    alert_count INTEGER NOT NULL,
    first_eval_date TEXT NOT NULL,
    last_eval_date TEXT NOT NULL,
    lake TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    disposition_reason TEXT,
    decided_by TEXT,
    decided_at TEXT,
    UNIQUE (subject, period)
);
-- The queue: each sort order has an index that also covers the filter columns, so a page is an
-- ordered index walk without table lookups; single-value filters have their own ordered index.
CREATE INDEX IF NOT EXISTS queue_by_score ON cases (score DESC, case_id DESC, status, typology, assignee);
CREATE INDEX IF NOT EXISTS queue_by_update
    ON cases (updated_at DESC, case_id DESC, status, typology, assignee);
CREATE INDEX IF NOT EXISTS cases_by_status ON cases (status, score DESC, case_id DESC);
CREATE INDEX IF NOT EXISTS cases_by_typology ON cases (typology, score DESC, case_id DESC);
CREATE INDEX IF NOT EXISTS cases_by_assignee ON cases (assignee, score DESC, case_id DESC);
CREATE TABLE IF NOT EXISTS case_alerts (
    alert_id TEXT PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (case_id),
    run_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    typology TEXT NOT NULL,
    score REAL NOT NULL,
    eval_date TEXT NOT NULL,
    reasons TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_alerts_by_case ON case_alerts (case_id, score DESC);
CREATE INDEX IF NOT EXISTS case_alerts_by_account ON case_alerts (account_id);
CREATE TABLE IF NOT EXISTS notes (
    note_id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (case_id),
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_case ON notes (case_id, note_id);
CREATE TABLE IF NOT EXISTS audit (
    audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id INTEGER NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_case ON audit (case_id, audit_id);
CREATE TABLE IF NOT EXISTS syncs (
    sync_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    run_id TEXT,
    lake TEXT,
    alerts_in INTEGER NOT NULL,
    alerts_new INTEGER NOT NULL,
    cases_new INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS notes_are_append_only_update BEFORE UPDATE ON notes
BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS notes_are_append_only_delete BEFORE DELETE ON notes
BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
"""


class CaseConflict(RuntimeError):
    """An action does not apply to the case as it is now (taken by someone else, wrong status)."""


@dataclass(frozen=True)
class Transition:
    """A workflow action: the statuses it starts from, the one it leads to, who may do it.

    ``to`` of ``None`` keeps the status; ``by_assignee`` requires the actor to hold the case,
    otherwise the case must be unassigned (taking it); ``assign`` is the assignee afterwards
    (``"actor"`` or ``None``).
    """

    sources: tuple[str, ...]
    to: str | None
    by_assignee: bool
    assign: str | None
    needs_reason: bool = False


#: The workflow as data: new -> in_review -> escalated -> closed_false_positive / closed_reported.
TRANSITIONS: dict[str, Transition] = {
    "take": Transition(("new", "escalated"), None, by_assignee=False, assign="actor"),
    "escalate": Transition(("in_review",), "escalated", by_assignee=True, assign=None, needs_reason=True),
    "close_false_positive": Transition(
        ("in_review", "escalated"),
        "closed_false_positive",
        by_assignee=True,
        assign="actor",
        needs_reason=True,
    ),
    "close_reported": Transition(
        ("in_review", "escalated"), "closed_reported", by_assignee=True, assign="actor", needs_reason=True
    ),
}


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string (microseconds)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def case_store_path(db: Path) -> Path:
    """The default case store beside a results database (``m.duckdb`` -> ``m.cases.sqlite``)."""
    db = Path(db)
    return db.with_name(f"{db.stem}.cases.sqlite")


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("PRAGMA synchronous = NORMAL")
    return con


def init(path: Path) -> None:
    """Create the case store (WAL mode, tables, indexes, append-only triggers) if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        con.executescript(_DDL)
    finally:
        con.close()


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to an existing case store in autocommit mode; use :func:`write` for changes."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no case store here (run a sync or `moneytrail review --sync`)")
    con = _open(path)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def write(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A short write transaction: ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to
    the busy timeout), so a read-then-write inside it cannot be overtaken by another writer."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def audit(
    con: sqlite3.Connection, case_id: int, actor: str, action: str, *, before: dict | None, after: dict | None
) -> None:
    """Append one audit row (inside the caller's transaction)."""
    con.execute(
        "INSERT INTO audit (case_id, actor, at, action, before, after) VALUES (?, ?, ?, ?, ?, ?)",
        [
            case_id,
            actor,
            now_iso(),
            action,
            None if before is None else json.dumps(before, sort_keys=True),
            None if after is None else json.dumps(after, sort_keys=True),
        ],
    )


def _state(con: sqlite3.Connection, case_id: int) -> dict:
    row = con.execute(
        "SELECT status, assignee, disposition_reason FROM cases WHERE case_id = ?", [case_id]
    ).fetchone()
    if row is None:
        raise KeyError(f"case {case_id} does not exist")
    return dict(row)


def apply(con: sqlite3.Connection, case_id: int, action: str, actor: str, reason: str = "") -> dict:
    """Apply a workflow action for ``actor``; return the case's new state.

    Raises
    ------
    CaseConflict
        The case is not in a status the action starts from, or is held by someone else.
    ValueError
        Unknown action, or a missing reason where one is required.
    """
    if action not in TRANSITIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {sorted(TRANSITIONS)}")
    rule = TRANSITIONS[action]
    reason = reason.strip()
    if rule.needs_reason and not reason:
        raise ValueError(f"{action} needs a reason")
    placeholders = ", ".join("?" for _ in rule.sources)
    holder = "assignee = ?" if rule.by_assignee else "assignee IS NULL"
    decided = rule.to in CLOSED_STATUSES
    with write(con):
        before = _state(con, case_id)
        changed = con.execute(
            f"UPDATE cases SET status = CASE WHEN status = 'new' AND ? IS NULL THEN 'in_review' "
            f"ELSE coalesce(?, status) END, assignee = ?, updated_at = ?, "
            f"disposition_reason = CASE WHEN ? THEN ? ELSE disposition_reason END, "
            f"decided_by = CASE WHEN ? THEN ? ELSE decided_by END, "
            f"decided_at = CASE WHEN ? THEN ? ELSE decided_at END "
            f"WHERE case_id = ? AND status IN ({placeholders}) AND {holder}",
            [
                rule.to,
                rule.to,
                actor if rule.assign == "actor" else None,
                now_iso(),
                decided,
                reason or None,
                decided,
                actor,
                decided,
                now_iso(),
                case_id,
                *rule.sources,
                *([actor] if rule.by_assignee else []),
            ],
        ).rowcount
        if changed != 1:
            raise CaseConflict(_conflict_message(action, before, actor))
        after = _state(con, case_id)
        if reason:
            after["reason"] = reason
        audit(con, case_id, actor, action, before=before, after=after)
    return after


def _conflict_message(action: str, state: dict, actor: str) -> str:
    rule = TRANSITIONS[action]
    if not rule.by_assignee and state["assignee"] and state["status"] not in CLOSED_STATUSES:
        return f"the case is already taken by {state['assignee']}"
    if state["status"] not in rule.sources:
        return f"cannot {action.replace('_', ' ')} a case that is {state['status'].replace('_', ' ')}"
    if rule.by_assignee:
        holder = state["assignee"] or "nobody"
        return f"only the analyst holding the case can {action.replace('_', ' ')} it (held by {holder})"
    return f"cannot {action.replace('_', ' ')} the case"


def add_note(con: sqlite3.Connection, case_id: int, author: str, body: str) -> None:
    """Append a note (and its audit row)."""
    body = body.strip()
    if not body:
        raise ValueError("a note cannot be empty")
    with write(con):
        _state(con, case_id)
        con.execute(
            "INSERT INTO notes (case_id, author, created_at, body) VALUES (?, ?, ?, ?)",
            [case_id, author, now_iso(), body],
        )
        con.execute("UPDATE cases SET updated_at = ? WHERE case_id = ?", [now_iso(), case_id])
        audit(con, case_id, author, "note", before=None, after={"note": body})


def record_export(con: sqlite3.Connection, case_id: int, actor: str) -> None:
    """Audit that ``actor`` exported the case bundle."""
    with write(con):
        audit(
            con,
            case_id,
            actor,
            "export",
            before=None,
            after={"bundle": "case.json, transactions.csv, str.xml"},
        )
