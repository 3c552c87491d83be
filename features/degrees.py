"""Counterparty (graph-degree) features computed in DuckDB.

``fan_in_degree_{w}d`` / ``fan_out_degree_{w}d``: distinct accounts paying in / paid in the
window; ``new_counterparties_30d``: counterparties (either direction) whose first-ever
transaction with the account lies in the 30-day window. The ``CASH`` placeholder is never a
counterparty (legs carry a null ``cp`` for it and are dropped here).

Method (exact, one pass for every evaluation date): each distinct (account, counterparty,
direction) pair covers evaluation days ``[d, d+w-1]`` after each day ``d`` it trades; the
query flags, per pair-day, whether a merged cover starts or ends there;
:mod:`features.windows` turns them into running totals read at each evaluation day (the same
machinery as the distinct cash-deposit regions).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from features.prepare import DAY_OFFSET, DAY_SPAN
from features.windows import END, START

NEW_COUNTERPARTY_WINDOW = 30


def degree_sql(windows: Sequence[int]) -> tuple[str, dict[str, int]]:
    """SQL text and bound parameters for :func:`counterparty_events`.

    Only column names derived from the (integer) window lengths are formatted into the text;
    the lengths themselves are bound parameters.
    """
    params: dict[str, int] = {f"w{w}": int(w) for w in windows}
    params |= {"span": DAY_SPAN, "off": DAY_OFFSET}
    flags = []
    for w in windows:
        for direction, test in (("in", "NOT outgoing"), ("out", "outgoing")):
            col = f"fan_{direction}_degree_{w}d"
            flags.append(f"({test} AND (gap_prev IS NULL OR gap_prev >= $w{w}))::UTINYINT AS {col}{START}")
            flags.append(f"({test} AND (gap_next IS NULL OR gap_next >= $w{w}))::UTINYINT AS {col}{END}")
    new_col = f"new_counterparties_{NEW_COUNTERPARTY_WINDOW}d"
    sql = f"""
WITH pd AS (SELECT DISTINCT acct, cp, outgoing, day FROM edges),
g AS (
  SELECT acct, outgoing, day,
         day - LAG(day) OVER w AS gap_prev,
         LEAD(day) OVER w - day AS gap_next,
         ROW_NUMBER() OVER (PARTITION BY acct, cp ORDER BY day, outgoing) = 1 AS first_seen
  FROM pd WINDOW w AS (PARTITION BY acct, cp, outgoing ORDER BY day)
)
SELECT CAST(acct AS BIGINT) * $span + (day + $off) AS k,
       {", ".join(flags)},
       first_seen::UTINYINT AS {new_col}
FROM g
"""
    return sql, params


def degree_columns(windows: Sequence[int]) -> list[str]:
    """Start/end columns of the degree families (read with ``windows.distinct_value``)."""
    return [f"fan_{d}_degree_{w}d{x}" for w in windows for d in ("in", "out") for x in (START, END)]


def counterparty_events(
    con: duckdb.DuckDBPyConnection, edges: pl.DataFrame, windows: Sequence[int]
) -> pl.DataFrame:
    """Cover start/end flags of counterparty pair-days, keyed by packed ``(acct, day)``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection to run on (the frame is registered as a view, not copied).
    edges : polars.DataFrame
        ``acct``, ``cp`` (non-null), ``day``, ``outgoing``.
    windows : sequence of int
        Window lengths in days.

    Returns
    -------
    polars.DataFrame
        One row per distinct (account, counterparty, direction, day): ``k``, the UInt8
        start/end flags of :func:`degree_columns` and ``new_counterparties_30d`` (1 on the
        pair's first day, either direction).
    """
    sql, params = degree_sql(windows)
    con.register("edges", edges.to_arrow())
    try:
        return con.sql(sql, params=params).pl()
    finally:
        con.unregister("edges")
