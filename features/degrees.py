"""Counterparty (graph-degree) features computed in DuckDB.

``fan_in_degree_{w}d`` / ``fan_out_degree_{w}d``: distinct accounts paying in / paid in the
window; ``new_counterparties_30d``: counterparties (either direction) whose first-ever
transaction with the account lies in the 30-day window; ``new_payees_30d`` / ``new_payers_30d``:
the same per direction (first-ever transfer from / to the account). The ``CASH`` placeholder is
never a counterparty (its code is null; the caller passes only transfers between two real accounts).

Method (exact, one pass for every evaluation date): a transfer ``u -> v`` on day ``d`` makes
``v`` a counterparty of ``u`` (fan-out) and ``u`` one of ``v`` (fan-in) on the same days, so
one window pass over the distinct ``(src, dst, day)`` transfers serves both directions: each
ordered pair covers evaluation days ``[d, d+w-1]`` after each day ``d`` it trades; the query
flags, per pair-day, whether a merged cover starts or ends there, once keyed by the sender and
once by the receiver; :mod:`features.windows` turns the flags into running totals read at each
evaluation day (the same machinery as the distinct cash-deposit regions). A payee (payer) is
new on the first day of the ordered pair (its row without a previous day); a counterparty on
the first day the unordered pair trades in either direction, flagged on that day's row of the
direction that traded first (on a tie, of the lower sender: one hash join with the reverse
pair's first day). Every flag rides on a pair-day row: two output rows per distinct pair-day.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from features.prepare import DAY_OFFSET, DAY_SPAN
from features.windows import END, START

NEW_COUNTERPARTY_WINDOW = 30
#: ``new_{kind}_30d`` families: either direction, first paid by the account, first paying it.
NEW_KINDS = ("counterparties", "payees", "payers")


def new_columns() -> list[str]:
    """Names of the ``new_*`` count features, in the order of :data:`NEW_KINDS`."""
    return [f"new_{kind}_{NEW_COUNTERPARTY_WINDOW}d" for kind in NEW_KINDS]


def degree_sql(windows: Sequence[int]) -> tuple[str, dict[str, int]]:
    """SQL text and bound parameters for :func:`counterparty_events`.

    Only column names derived from the (integer) window lengths are formatted into the text;
    the lengths themselves are bound parameters.
    """
    params: dict[str, int] = {f"w{w}": int(w) for w in windows}
    params |= {"span": DAY_SPAN, "off": DAY_OFFSET}

    def flags(direction: str, on: bool) -> list[str]:
        cols = []
        for w in windows:
            col = f"fan_{direction}_degree_{w}d"
            for gap, suffix in (("gap_prev", START), ("gap_next", END)):
                test = f"({gap} IS NULL OR {gap} >= $w{w})" if on else "FALSE"
                cols.append(f"{test} AS {col}{suffix}")
        return cols

    def side(acct: str, outgoing: bool) -> str:
        new_cp = "pair_new" if outgoing else "pair_new AND src <> dst"  # a self pair counts once
        first = "gap_prev IS NULL"
        cols = [
            f"CAST({acct} AS BIGINT) * $span + (day + $off) AS k",
            *flags("in", not outgoing),
            *flags("out", outgoing),
            *[
                f"{value} AS {c}"
                for value, c in zip(
                    (new_cp, first if outgoing else "FALSE", "FALSE" if outgoing else first),
                    new_columns(),
                    strict=True,
                )
            ],
        ]
        return f"SELECT {', '.join(cols)} FROM g"

    sql = f"""
WITH pd AS (SELECT DISTINCT src, dst, day FROM edges),
w AS MATERIALIZED (
  SELECT src, dst, day,
         day - LAG(day) OVER o AS gap_prev,
         LEAD(day) OVER o - day AS gap_next
  FROM pd WINDOW o AS (PARTITION BY src, dst ORDER BY day)
),
firsts AS (SELECT src, dst, day FROM w WHERE gap_prev IS NULL),
g AS MATERIALIZED (
  SELECT w.src, w.dst, w.day, w.gap_prev, w.gap_next,
         w.gap_prev IS NULL AND (r.day IS NULL OR w.day < r.day OR (w.day = r.day AND w.src <= w.dst))
           AS pair_new
  FROM w LEFT JOIN firsts r ON r.src = w.dst AND r.dst = w.src
)
{side("src", True)}
UNION ALL
{side("dst", False)}
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
        Transfers between two real accounts: ``src``, ``dst``, ``day``.
    windows : sequence of int
        Window lengths in days.

    Returns
    -------
    polars.DataFrame
        Rows keyed by packed ``(acct, day)`` (``k``; several rows per key, to be summed): the
        Boolean start/end flags of :func:`degree_columns` and the :func:`new_columns` flags
        (the pair's first day: either direction, as sender, as receiver).
    """
    sql, params = degree_sql(windows)
    con.register("edges", edges.to_arrow())
    try:
        return con.sql(sql, params=params).pl()
    finally:
        con.unregister("edges")
