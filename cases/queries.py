"""Read queries on the case store: the queue, one case with its alerts, notes and audit trail.

Filters are bound parameters; the sort column comes from a fixed table (:data:`SORTS`), never
from the request text.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, replace

from cases.store import STATUSES

#: Sort keys the queue accepts, mapped to SQL (fixed text, never built from input).
SORTS: dict[str, str] = {
    "score": "score DESC, case_id DESC",
    "-score": "score ASC, case_id ASC",
    "newest": "case_id DESC",
    "oldest": "case_id ASC",
    "updated": "updated_at DESC, case_id DESC",
}
UNASSIGNED = "(unassigned)"


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: empty strings mean "any"."""

    status: str = ""
    typology: str = ""
    assignee: str = ""
    sort: str = "score"
    page: int = 1
    per_page: int = 50

    def normalised(self) -> QueueFilter:
        """The same filter with unknown values replaced by defaults and the page clamped to >= 1."""
        return QueueFilter(
            status=self.status if self.status in STATUSES or self.status == "open" else "",
            typology=self.typology,
            assignee=self.assignee,
            sort=self.sort if self.sort in SORTS else "score",
            page=max(1, self.page),
            per_page=min(max(1, self.per_page), 200),
        )


@dataclass
class QueuePage:
    """One page of the queue and the numbers to page through it."""

    rows: list[dict]
    total: int
    filter: QueueFilter
    typologies: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.per_page))


def _where(f: QueueFilter) -> tuple[str, list]:
    clauses: list[str] = []
    params: list = []
    if f.status == "open":
        # Written as NOT IN so the planner walks the sort order's covering index and stops at a page.
        clauses.append("status NOT IN ('closed_false_positive', 'closed_reported')")
    elif f.status:
        clauses.append("status = ?")
        params.append(f.status)
    if f.typology:
        clauses.append("typology = ?")
        params.append(f.typology)
    if f.assignee == UNASSIGNED:
        clauses.append("assignee IS NULL")
    elif f.assignee:
        clauses.append("assignee = ?")
        params.append(f.assignee)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def queue(con: sqlite3.Connection, f: QueueFilter) -> QueuePage:
    """One page of cases matching ``f``."""
    f = f.normalised()
    where, params = _where(f)
    total = con.execute(f"SELECT count(*) FROM cases{where}", params).fetchone()[0]
    f = replace(f, page=min(f.page, max(1, -(-total // f.per_page))))
    # Page through ids on the index alone, then read the page's rows (a deep page stays cheap).
    rows = con.execute(
        "SELECT case_id, subject, period, status, assignee, score, typology, typologies, alert_count, "
        "first_eval_date, last_eval_date, updated_at FROM cases WHERE case_id IN "
        f"(SELECT case_id FROM cases{where} ORDER BY {SORTS[f.sort]} LIMIT ? OFFSET ?) "
        f"ORDER BY {SORTS[f.sort]}",
        [*params, f.per_page, (f.page - 1) * f.per_page],
    ).fetchall()
    return QueuePage(
        [_case_row(r) for r in rows], total, f, _distinct(con, "typology"), _distinct(con, "assignee")
    )


#: Distinct values of an indexed column by hopping through its index (one seek per value).
_DISTINCT = {
    column: (
        f"WITH RECURSIVE v(x) AS (SELECT min({column}) FROM cases UNION ALL "
        f"SELECT (SELECT min({column}) FROM cases WHERE {column} > x) FROM v WHERE x IS NOT NULL) "
        "SELECT x FROM v WHERE x IS NOT NULL"
    )
    for column in ("typology", "assignee")
}


def _distinct(con: sqlite3.Connection, column: str) -> list[str]:
    return [r[0] for r in con.execute(_DISTINCT[column])]


def _case_row(row: sqlite3.Row) -> dict:
    out = dict(row)
    out["typologies"] = json.loads(out["typologies"])
    return out


def get_case(con: sqlite3.Connection, case_id: int) -> dict | None:
    """The case row, or ``None``."""
    row = con.execute("SELECT * FROM cases WHERE case_id = ?", [case_id]).fetchone()
    return None if row is None else _case_row(row)


def case_alerts(con: sqlite3.Connection, case_id: int) -> list[dict]:
    """The case's alerts, highest score first, with their reason codes as lists."""
    rows = con.execute(
        "SELECT alert_id, run_id, account_id, typology, score, eval_date, reasons FROM case_alerts "
        "WHERE case_id = ? ORDER BY score DESC, alert_id",
        [case_id],
    ).fetchall()
    return [{**dict(r), "reasons": json.loads(r["reasons"])} for r in rows]


def notes(con: sqlite3.Connection, case_id: int) -> list[dict]:
    """The case's notes, oldest first."""
    rows = con.execute(
        "SELECT note_id, author, created_at, body FROM notes WHERE case_id = ? ORDER BY note_id", [case_id]
    ).fetchall()
    return [dict(r) for r in rows]


def audit_trail(con: sqlite3.Connection, case_id: int) -> list[dict]:
    """The case's audit rows, oldest first, with ``before``/``after`` decoded."""
    rows = con.execute(
        "SELECT audit_id, actor, at, action, before, after FROM audit WHERE case_id = ? ORDER BY audit_id",
        [case_id],
    ).fetchall()
    return [
        {**dict(r), "before": json.loads(r["before"] or "null"), "after": json.loads(r["after"] or "null")}
        for r in rows
    ]


def flagged_accounts(con: sqlite3.Connection, account_ids: list[str]) -> set[str]:
    """Which of ``account_ids`` carry an alert in any case (bound as one JSON parameter)."""
    rows = con.execute(
        "SELECT DISTINCT account_id FROM case_alerts WHERE account_id IN (SELECT value FROM json_each(?))",
        [json.dumps(account_ids)],
    ).fetchall()
    return {r[0] for r in rows}


def latest_lake(con: sqlite3.Connection) -> str | None:
    """The lake of the most recent sync that named one."""
    row = con.execute(
        "SELECT lake FROM syncs WHERE lake IS NOT NULL ORDER BY sync_id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else row[0]
