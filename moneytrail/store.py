"""The DuckDB results store: runs, account scores and alerts.

A run's rows are written in one transaction, so a failed or killed run leaves the database as
it was. Alerts are idempotent: an alert's id derives from its account, typology and date, the
``alerts`` table keeps each alert once (with the run that first raised it), and ``run_alerts``
records every run that raised it, so rerunning a date adds no duplicate. Every value is bound
as a parameter or registered as an Arrow view; no data value is ever formatted into SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from moneytrail import schemas

_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,
    mode VARCHAR NOT NULL,
    as_of DATE,
    lake VARCHAR NOT NULL,
    input_partitions DATE[],
    config_hash VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    rows_scored BIGINT NOT NULL,
    accounts_scored BIGINT NOT NULL,
    alerts BIGINT NOT NULL,
    summary JSON
);
CREATE TABLE IF NOT EXISTS account_scores (
    run_id VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    eval_date DATE NOT NULL,
    top_typology VARCHAR,
    reasons VARCHAR[],
    config_hash VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    PRIMARY KEY (run_id, account_id)
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id VARCHAR PRIMARY KEY,
    run_id VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL,
    typology VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    eval_date DATE NOT NULL,
    reasons VARCHAR[],
    config_hash VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS run_alerts (
    run_id VARCHAR NOT NULL,
    alert_id VARCHAR NOT NULL,
    PRIMARY KEY (run_id, alert_id)
);
-- added after the first release: ALTER keeps older stores readable and writable
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS case_key VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS failed_step VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS error VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS rows_in BIGINT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS rows_quarantined BIGINT;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS input_batches VARCHAR[];
ALTER TABLE runs ADD COLUMN IF NOT EXISTS history_digest VARCHAR;
CREATE OR REPLACE VIEW score_lineage AS
SELECT s.*, r.as_of, r.lake, r.input_partitions, r.input_batches, r.history_digest
FROM account_scores s JOIN runs r USING (run_id);
CREATE OR REPLACE VIEW alert_lineage AS
SELECT ra.run_id AS raised_by, a.*, r.as_of, r.lake, r.input_partitions, r.input_batches, r.history_digest
FROM run_alerts ra JOIN alerts a USING (alert_id) JOIN runs r ON r.run_id = ra.run_id;
"""

#: Columns of ``runs`` that :func:`write_run` and :func:`record_failure` fill.
_RUN_COLUMNS = (
    "run_id, started_at, finished_at, status, mode, as_of, lake, input_partitions, config_hash, "
    "code_version, rows_scored, accounts_scored, alerts, summary, failed_step, error, rows_in, "
    "rows_quarantined, input_batches, history_digest"
)


_INSERT_RUN = f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join(['?'] * len(_RUN_COLUMNS.split(',')))})"


@dataclass(frozen=True)
class RunRecord:
    """What the store keeps about one run besides its scores and alerts."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    mode: str
    as_of: date | None
    lake: str
    input_partitions: list[date]
    config_hash: str
    code_version: str
    summary: dict = field(default_factory=dict)
    rows_in: int = 0
    rows_quarantined: int = 0
    input_batches: list[str] = field(default_factory=list)
    history_digest: str | None = None

    def values(self, status: str, counts: tuple[int, int, int], failure: tuple[str, str] | None) -> list:
        """Parameters for one ``runs`` row in :data:`_RUN_COLUMNS` order."""
        step, error = failure or (None, None)
        return [
            self.run_id,
            self.started_at,
            self.finished_at,
            status,
            self.mode,
            self.as_of,
            self.lake,
            self.input_partitions,
            self.config_hash,
            self.code_version,
            *counts,
            json.dumps(self.summary, default=str),
            step,
            error,
            self.rows_in,
            self.rows_quarantined,
            self.input_batches,
            self.history_digest,
        ]


@contextmanager
def connect(db: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store (creating its tables unless read-only) and close it afterwards."""
    db = Path(db)
    if read_only and not db.exists():
        raise FileNotFoundError(f"{db}: no moneytrail database here (run `moneytrail run` first)")
    db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=read_only)
    try:
        if not read_only:
            con.execute(_DDL)
        yield con
    finally:
        con.close()


def write_run(db: Path, record: RunRecord, scores: pa.Table, alerts: pa.Table) -> None:
    """Store a run's best score per account and its alerts atomically.

    Parameters
    ----------
    scores : pyarrow.Table
        Conforms to :data:`schemas.ACCOUNT_SCORES` with one row per account.
    alerts : pyarrow.Table
        Conforms to :data:`schemas.ALERTS` (v1 tables without ``case_key`` get their account id).
    """
    scores = schemas.conform(scores, schemas.ACCOUNT_SCORES, where="account_scores")
    if "case_key" not in alerts.column_names and "account_id" in alerts.column_names:  # alerts/v1
        alerts = alerts.append_column("case_key", alerts["account_id"])
    alerts = schemas.conform(alerts, schemas.ALERTS, where="alerts")
    lineage = [record.config_hash, record.code_version]
    with connect(db) as con:
        con.register("new_scores", scores)
        con.register("new_alerts", alerts)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "INSERT INTO account_scores SELECT run_id, account_id, score, eval_date, top_typology, "
                "reasons, ?, ? FROM new_scores",
                lineage,
            )
            con.execute(
                "INSERT OR IGNORE INTO alerts (alert_id, run_id, account_id, typology, score, eval_date, "
                "reasons, config_hash, code_version, case_key) SELECT alert_id, run_id, account_id, "
                "typology, score, eval_date, reasons, ?, ?, case_key FROM new_alerts",
                lineage,
            )
            con.execute("INSERT INTO run_alerts SELECT ?, alert_id FROM new_alerts", [record.run_id])
            counts = (record.summary.get("rows_scored", 0), scores.num_rows, alerts.num_rows)
            con.execute(_INSERT_RUN, record.values("succeeded", counts, None))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def record_failure(db: Path, record: RunRecord, step: str, error: str) -> None:
    """Record a failed run: status ``failed``, the step that failed and the error, no scores."""
    with connect(db) as con:
        con.execute(_INSERT_RUN, record.values("failed", (0, 0, 0), (step, error)))


def scored_dates(db: Path, lake: str) -> set[date]:
    """Dates with a successful nightly run over ``lake`` (empty when there is no store yet)."""
    if not Path(db).exists():
        return set()
    with connect(db, read_only=True) as con:
        rows = con.execute(
            "SELECT DISTINCT as_of FROM runs WHERE status = 'succeeded' AND mode = 'nightly' AND lake = ?",
            [lake],
        ).fetchall()
    return {row[0] for row in rows}


def previous_alerts(db: Path, since: date | None, before: date | None) -> pl.DataFrame:
    """Stored alerts dated ``since <= eval_date < before`` (``None``: unbounded), for hibernation:
    ``account_id, typology, score, eval_date``; empty when there is no store yet."""
    empty = pl.DataFrame(
        schema={"account_id": pl.String, "typology": pl.String, "score": pl.Float64, "eval_date": pl.Date}
    )
    if not Path(db).exists():
        return empty
    with connect(db, read_only=True) as con:
        frame = con.sql(
            "SELECT account_id, typology, score, eval_date FROM alerts "
            "WHERE eval_date >= coalesce(?, DATE '0001-01-01') "
            "AND eval_date < coalesce(?, DATE '9999-12-31') "
            "ORDER BY eval_date, account_id, typology",
            params=[since, before],
        ).pl()
    return frame if frame.height else empty


def latest_run_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The most recent successful run, or None when the store is empty."""
    rows = con.execute(
        "SELECT run_id FROM runs WHERE status = 'succeeded' ORDER BY finished_at DESC, run_id DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def read_alerts(db: Path, *, run_id: str | None = None, limit: int | None = None) -> pl.DataFrame:
    """Alerts raised by ``run_id`` (default: the latest run), highest score first.

    ``run_id`` in the result is the run that first raised each alert.
    """
    with connect(db, read_only=True) as con:
        run_id = run_id or latest_run_id(con)
        query = (
            "SELECT a.alert_id, a.run_id, a.account_id, a.case_key, a.typology, a.score, a.eval_date, "
            "a.reasons "
            "FROM run_alerts r JOIN alerts a USING (alert_id) WHERE r.run_id = ? "
            "ORDER BY a.score DESC, a.account_id, a.typology"
        )
        params: list = [run_id]
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return con.sql(query, params=params).pl()
