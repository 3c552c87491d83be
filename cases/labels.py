"""Dispositions as labels: the analysts' decisions in a Parquet table that evaluation and
supervised detectors can read.

One row per (closed case, alerted account): ``label`` is 1 when the case was closed as reported
(a suspicious transaction report was filed) and 0 when closed as a false positive. Open and
escalated cases are not labels yet and are left out. See ``docs/REVIEW.md`` for the schema.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa

from cases import store
from moneytrail import schemas
from moneytrail.lake import write_atomic

CASE_LABELS = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("case_id", pa.int64(), nullable=False),
        pa.field("subject", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("typology", pa.string(), nullable=False),
        # 1 = closed as reported, 0 = closed as a false positive.
        pa.field("label", pa.int8(), nullable=False),
        pa.field("disposition", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("decided_by", pa.string()),
        pa.field("decided_at", pa.timestamp("us", tz="UTC")),
        pa.field("first_eval_date", pa.date32(), nullable=False),
        pa.field("last_eval_date", pa.date32(), nullable=False),
    ],
    metadata={schemas.SCHEMA_METADATA_KEY: b"case_labels/v1"},
)

_QUERY = """
SELECT a.account_id, c.case_id, c.subject, c.period, c.typology,
       CASE c.status WHEN 'closed_reported' THEN 1 ELSE 0 END AS label, c.status AS disposition,
       c.disposition_reason AS reason, c.decided_by, c.decided_at,
       min(a.eval_date) AS first_eval_date, max(a.eval_date) AS last_eval_date
FROM cases c JOIN case_alerts a USING (case_id)
WHERE c.status IN ('closed_false_positive', 'closed_reported')
GROUP BY a.account_id, c.case_id
ORDER BY c.case_id, a.account_id
"""


def read_labels(cases_path: Path) -> pl.DataFrame:
    """The disposition labels (CASE_LABELS columns)."""
    with store.connect(cases_path) as con:
        rows = con.execute(_QUERY).fetchall()
    text_columns = {name: pl.String for name in CASE_LABELS.names}
    frame = pl.DataFrame(
        [tuple(r) for r in rows], schema={**text_columns, "case_id": pl.Int64, "label": pl.Int8}, orient="row"
    )
    typed = frame.with_columns(
        pl.col("decided_at").str.to_datetime(time_zone="UTC", time_unit="us"),
        pl.col("first_eval_date", "last_eval_date").str.to_date(),
    )
    table = schemas.conform(typed.to_arrow(), CASE_LABELS, where=f"{cases_path} labels")
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out


def export_labels(cases_path: Path, out: Path) -> int:
    """Write the labels to ``out`` (Parquet, atomically); return the number of rows."""
    table = schemas.conform(read_labels(cases_path).to_arrow(), CASE_LABELS, where=str(out))
    write_atomic(table, Path(out))
    return table.num_rows
