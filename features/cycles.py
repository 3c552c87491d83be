"""Temporal cycle search (DuckDB): meet in the middle over short temporal paths.

A temporal cycle of ``L`` hops (2 <= L <= ``config.max_cycle_length``) through start account
``s`` is a simple cycle whose hop times increase strictly and all lie within ``P`` days of the
first hop (``P = config.pattern_window_days``); the first hop is the earliest, so each cycle is
found once. It is dated by its last hop.

Method (exact below the caps):

1. Trim the capped edge list (table ``capped``, see :mod:`features.patterns`): an edge
   ``u -> v`` at ``t`` on a cycle has, on the same cycle, an outgoing edge of ``v`` and an
   incoming edge of ``u`` strictly within ``P`` days of ``t``; edges without both are dropped,
   twice (each round can strand more). As-of joins, linear.
2. Build the temporal simple paths of ``1 .. ceil(K/2)`` hops over the trimmed edges
   (``h1``, ``h2``, ...: nodes ``n0 .. ni``, first hop time ``t0``, last hop time ``tl`` and
   day). Each extension is an equi-join on (account, ``P``-day time block), so it probes about
   two blocks of the account's edges, not its whole history.
3. A cycle of ``L = i + j`` hops (``i = ceil(L/2)``, ``j = floor(L/2)``) is a forward path
   ``s -> .. -> x`` of ``i`` hops followed by a path ``x -> .. -> s`` of ``j`` hops that starts
   after the forward one ends and ends before ``t0 + P``, with disjoint interiors: one hash join
   of two path tables on the pair ``(s, x)``. No cycle is longer than the search, so nothing is
   enumerated past half its length.

Hub bound: each path table keeps at most ``config.max_paths_per_node`` paths per start account
and ``P``-day block of its first hop (the earliest-ending first); only crowded (start, block)
groups are ranked.
"""

from __future__ import annotations

import duckdb

from features.config import FeatureConfig
from features.prepare import US_PER_DAY

#: One round of trimming the cycle edge list ``cyc`` (step 1).
_TRIM_SQL = """
SELECT e.src, e.dst, e.ts, e.day FROM (
  SELECT e.src, e.dst, e.ts, e.day FROM cyc e
  ASOF JOIN (SELECT src, ts FROM cyc) o ON o.src = e.dst AND o.ts > e.ts - $p_us
  WHERE o.ts < e.ts + $p_us
) e
ASOF JOIN (SELECT dst, ts FROM cyc) i ON i.dst = e.src AND i.ts > e.ts - $p_us
WHERE i.ts < e.ts + $p_us
"""
TRIM_ROUNDS = 2

#: Time-blocked copy of an edge table for band joins: every edge twice, keyed by its own block
#: ``ts // P`` and by the block before. A hop that must leave within ``(t0, t0 + P)`` lies in
#: block ``t0 // P`` or the next one (blocks are consecutive integers, each at least ``P`` long),
#: so joining on ``(src, blk) = (node, t0 // P)`` finds each candidate exactly once.
BLOCKED_SQL = """
SELECT src, dst, ts, day, ts // $p_us AS blk FROM {table}
UNION ALL
SELECT src, dst, ts, day, ts // $p_us - 1 AS blk FROM {table}
"""


def _nodes(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}.n{k}" for k in range(first, last + 1)]


def _extend_sql(i: int) -> str:
    """Paths of ``i`` hops from paths of ``i - 1`` hops (``h{i-1}``) and one more edge."""
    prev = _nodes("h", 0, i - 1)
    fresh = " AND ".join(f"e.dst <> {n}" for n in prev)
    return f"""
SELECT {", ".join(prev)}, e.dst AS n{i}, h.t0, e.ts AS tl, e.day
FROM h{i - 1} h JOIN cyc_b e
  ON e.src = h.n{i - 1} AND e.blk = h.t0 // $p_us AND e.ts > h.tl AND e.ts < h.t0 + $p_us
WHERE {fresh}
"""


#: (start, block) groups of a path table holding more than ``$cap`` paths.
_CROWDED_SQL = """
SELECT n0, t0 // $p_us AS blk FROM h{i} GROUP BY ALL HAVING count(*) > $cap
"""


def _cap_sql(i: int) -> str:
    """Delete all but ``$cap`` paths per crowded (start, block of the first hop), keeping the
    earliest-ending first (table ``crowded`` holds the crowded groups)."""
    order = ", ".join(["tl", *[f"n{k}" for k in range(1, i + 1)]])
    return f"""
DELETE FROM h{i} WHERE rowid IN (
  SELECT h.rowid FROM h{i} h SEMI JOIN crowded c ON c.n0 = h.n0 AND c.blk = h.t0 // $p_us
  QUALIFY ROW_NUMBER() OVER (PARTITION BY h.n0, h.t0 // $p_us ORDER BY {order}) > $cap
)
"""


def _close_sql(i: int, j: int) -> str:
    """Cycles of ``i + j`` hops: forward ``h{i}`` ``s -> x``, then ``h{j}`` ``x -> s``."""
    interior_f = _nodes("f", 1, i - 1)
    interior_b = _nodes("b", 1, j - 1)
    outside = ", ".join(interior_f)
    disjoint = " AND ".join(f"{nb} NOT IN ({outside})" for nb in interior_b) if interior_f else ""
    return f"""
SELECT [{", ".join([*_nodes("f", 0, i), *interior_b])}] AS nodes, b.day
FROM h{i} f JOIN h{j} b
  ON b.n0 = f.n{i} AND b.n{j} = f.n0 AND b.t0 > f.tl AND b.tl < f.t0 + $p_us
{"WHERE " + disjoint if disjoint else ""}
"""


def create_cycle_table(con: duckdb.DuckDBPyConnection, config: FeatureConfig, name: str = "cycles") -> None:
    """Create temp table ``name`` (``nodes``: the accounts of a cycle, ``day``: day of its last
    hop), one row per temporal cycle over table ``capped`` (``src, dst, ts, day``) of ``con``."""
    p_us = {"p_us": config.pattern_window_days * US_PER_DAY}
    capped = p_us | {"cap": config.max_paths_per_node}
    k = config.max_cycle_length
    half = (k + 1) // 2
    tables = ["cyc", "cyc_b", "crowded", *[f"h{i}" for i in range(1, half + 1)]]
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE cyc AS SELECT src, dst, ts, day FROM capped")
        for _ in range(TRIM_ROUNDS):
            con.execute("CREATE OR REPLACE TEMP TABLE cyc AS " + _TRIM_SQL, p_us)
        con.execute("CREATE OR REPLACE TEMP TABLE cyc_b AS " + BLOCKED_SQL.format(table="cyc"), p_us)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE h1 AS SELECT src AS n0, dst AS n1, ts AS t0, ts AS tl, day FROM cyc"
        )
        for i in range(2, half + 1):
            con.execute(f"CREATE OR REPLACE TEMP TABLE h{i} AS " + _extend_sql(i), p_us)
            con.execute("CREATE OR REPLACE TEMP TABLE crowded AS " + _CROWDED_SQL.format(i=i), capped)
            if con.sql("SELECT count(*) FROM crowded").fetchall()[0][0]:
                con.execute(_cap_sql(i), capped)
        closing = " UNION ALL ".join(_close_sql((n + 1) // 2, n // 2) for n in range(2, k + 1))
        closing = closing or "SELECT [src] AS nodes, day FROM cyc WHERE FALSE"  # no length searched
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {closing}", p_us)
    finally:
        for table in tables:
            con.execute(f"DROP TABLE IF EXISTS {table}")
