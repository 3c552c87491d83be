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
"""


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
        Conforms to :data:`schemas.ALERTS`.
    """
    scores = schemas.conform(scores, schemas.ACCOUNT_SCORES, where="account_scores")
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
                "INSERT OR IGNORE INTO alerts SELECT alert_id, run_id, account_id, typology, score, "
                "eval_date, reasons, ?, ? FROM new_alerts",
                lineage,
            )
            con.execute("INSERT INTO run_alerts SELECT ?, alert_id FROM new_alerts", [record.run_id])
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, 'succeeded', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record.run_id,
                    record.started_at,
                    record.finished_at,
                    record.mode,
                    record.as_of,
                    record.lake,
                    record.input_partitions,
                    record.config_hash,
                    record.code_version,
                    record.summary.get("rows_scored", 0),
                    scores.num_rows,
                    alerts.num_rows,
                    json.dumps(record.summary, default=str),
                ],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


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
            "SELECT a.alert_id, a.run_id, a.account_id, a.typology, a.score, a.eval_date, a.reasons "
            "FROM run_alerts r JOIN alerts a USING (alert_id) WHERE r.run_id = ? "
            "ORDER BY a.score DESC, a.account_id, a.typology"
        )
        params: list = [run_id]
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return con.sql(query, params=params).pl()
