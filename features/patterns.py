"""Graph-pattern features over the pattern window ``P = config.pattern_window_days``.

Pattern edges are transactions between two real, different accounts on non-cash channels.
Each pattern *instance* is dated by the day of its last hop; an evaluation row ``(acct, D)``
counts the instances dated in ``D-P+1 .. D`` (the same day buckets as every window), and
every hop of an instance lies within ``P`` days of its first hop.

Hub bound (DuckDB): in each block of ``P`` days, a node keeps only its
``config.max_edges_per_node`` largest outgoing and largest incoming edges (by amount) for the
2-hop and cycle joins, and the cycle search (:mod:`features.cycles`) keeps at most
``config.max_paths_per_node`` paths per start node, length and block. Features are exact for
nodes below the caps and lower bounds above. Dwell times use every edge (an as-of join, no cap).
Band joins ("the next hop within ``P`` days") are equi-joins on (account, time block).

Columns (``{P}`` = pattern window):

* ``scatter_gather_middles_{P}d``: as originator A, the most distinct middles B over paths
  A -> B -> C to one C; ``gather_middles_{P}d``: the same as the receiving C (max over A).
* ``gather_scatter_degree_{P}d``: as middle B, min(distinct senders, distinct receivers) over
  paths through B (fan-in followed by fan-out).
* ``temporal_cycles_{P}d``: temporal cycles of 2..``max_cycle_length`` hops (each hop later
  than the one before) through the account.
* ``fast_forward_count_{P}d``, ``fast_forward_share_{P}d``, ``median_dwell_hours_{P}d``: outgoing
  transfers sent within ``pass_through_hours`` of the latest incoming one; their share of the
  outgoing transfers that follow an inflow; median hours between that inflow and the outflow.
* ``pass_through_chain_length_{P}d``: longest chain of fast forwards (hops each leaving
  within ``pass_through_hours`` of the one before) ending at a transfer the account sent
  (1 = one fast forward).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from features.config import FeatureConfig
from features.cycles import BLOCKED_SQL, create_cycle_table
from features.prepare import US_PER_DAY, day_number, step_end_day

US_PER_HOUR = 3_600_000_000


def pattern_columns(config: FeatureConfig) -> list[tuple[str, str, str]]:
    """``(name, unit, description)`` of every pattern column for ``config``."""
    p = config.pattern_window_days
    h = f"{config.pass_through_hours:g}"
    return [
        (
            f"scatter_gather_middles_{p}d",
            "count",
            f"most distinct intermediaries relaying the account's money to one recipient within {p} days",
        ),
        (
            f"gather_middles_{p}d",
            "count",
            f"most distinct intermediaries relaying one sender's money to the account within {p} days",
        ),
        (
            f"gather_scatter_degree_{p}d",
            "count",
            f"senders and receivers on both sides of funds passing through the account within {p} days "
            "(the smaller side)",
        ),
        (
            f"temporal_cycles_{p}d",
            "count",
            f"round-trip cycles of 2-{config.max_cycle_length} transfers through the account within {p} days",
        ),
        (
            f"fast_forward_count_{p}d",
            "count",
            f"transfers sent on within {h} hours of money arriving, over {p} days",
        ),
        (
            f"fast_forward_share_{p}d",
            "ratio",
            f"share of outgoing transfers sent on within {h} hours of money arriving, over {p} days",
        ),
        (
            f"median_dwell_hours_{p}d",
            "hours",
            f"median hours money stays in the account before being sent on, over {p} days (0 when none)",
        ),
        (
            f"pass_through_chain_length_{p}d",
            "count",
            f"longest chain of accounts each forwarding money within {h} hours, ending with the account, "
            f"over {p} days",
        ),
    ]


def pattern_edges(tx: pl.DataFrame) -> pl.DataFrame:
    """Non-cash transfers between two real, different accounts: ``src, dst, ts, day, amount``."""
    return tx.filter(
        pl.col("src").is_not_null()
        & pl.col("dst").is_not_null()
        & (pl.col("src") != pl.col("dst"))
        & ~pl.col("is_cd")
        & ~pl.col("is_cw")
    ).select("src", "dst", "ts", "day", "amount")


#: The hub bound: per node and ``P``-day block, the ``$cap`` largest outgoing and incoming
#: edges. Only edges of crowded (node, block) groups are ranked; in a group of at most ``$cap``
#: edges every rank is within the cap, so ranking only the crowded part is exact.
_CAPPED_SQL = """
WITH e AS (SELECT src, dst, ts, day, amount, day // $p AS blk FROM edges),
out_crowd AS (SELECT src, blk FROM e GROUP BY ALL HAVING count(*) > $cap),
in_crowd AS (SELECT dst, blk FROM e GROUP BY ALL HAVING count(*) > $cap),
marked AS MATERIALIZED (
  SELECT e.*, o.src IS NOT NULL OR i.dst IS NOT NULL AS crowded
  FROM e LEFT JOIN out_crowd o USING (src, blk) LEFT JOIN in_crowd i USING (dst, blk)
)
SELECT src, dst, ts, day, amount FROM marked WHERE NOT crowded
UNION ALL
SELECT src, dst, ts, day, amount FROM marked WHERE crowded
QUALIFY ROW_NUMBER() OVER (PARTITION BY src, blk ORDER BY amount DESC, ts, dst) <= $cap
    AND ROW_NUMBER() OVER (PARTITION BY dst, blk ORDER BY amount DESC, ts, src) <= $cap
"""

#: Distinct 2-hop instances ``a -> b -> c`` (``c <> a``, second hop within ``P`` days after the
#: first), each with every evaluation day whose window holds its last hop (``day_map``).
_TWO_HOP_SQL = """
SELECT DISTINCT e1.src AS a, e1.dst AS b, e2.dst AS c, m.eval_day
FROM capped e1 JOIN capped_b e2
  ON e1.dst = e2.src AND e2.blk = e1.ts // $p_us
 AND e2.ts > e1.ts AND e2.ts < e1.ts + $p_us AND e2.dst <> e1.src
JOIN day_map m ON m.day = e2.day
"""

#: Distinct middles per (originator, recipient, evaluation day).
_PAIR_MIDDLES_SQL = "SELECT a, c, eval_day, count(*) AS n FROM hop2 GROUP BY ALL"

#: Most distinct middles ``b`` to (from) one far end, per account ``{me}`` (``a`` or ``c``).
_MIDDLES_SQL = 'SELECT {me} AS acct, eval_day, max(n)::UINTEGER AS "{name}" FROM pair_middles GROUP BY ALL'

_GATHER_SCATTER_SQL = """
SELECT b AS acct, eval_day, least(count(DISTINCT a), count(DISTINCT c))::UINTEGER AS "{name}"
FROM hop2 GROUP BY ALL
"""

#: Each outgoing transfer with the latest strictly earlier incoming transfer of its sender
#: within the pattern window (``ASOF JOIN`` over every edge, no cap).
_DWELL_SQL = """
SELECT o.src AS acct, o.day, o.ts, i.ts AS t_in, i.src AS from_acct, o.ts - i.ts AS dwell_us
FROM edges o ASOF JOIN edges i ON i.dst = o.src AND i.ts < o.ts
WHERE o.ts - i.ts < $p_us
"""

_DWELL_FEATURES_SQL = """
SELECT acct, m.eval_day,
       count(*) FILTER (WHERE dwell_us <= $fast_us)::UINTEGER AS "fast_forward_count_{p}d",
       avg((dwell_us <= $fast_us)::DOUBLE) AS "fast_forward_share_{p}d",
       quantile_cont(dwell_us, 0.5) / $us_per_hour AS "median_dwell_hours_{p}d"
FROM dwell JOIN day_map m USING (day) GROUP BY ALL
"""

_CYCLE_FEATURES_SQL = """
SELECT acct, m.eval_day, count(*)::UINTEGER AS "temporal_cycles_{p}d"
FROM (SELECT unnest(nodes) AS acct, day FROM cycles) JOIN day_map m USING (day) GROUP BY ALL
"""


def _chain_sql(levels: int, p: int) -> str:
    """Longest fast-forward chain ending at each fast outgoing transfer, maximised per account
    and evaluation day.

    A fast forward's parent is the transfer that brought the money in (sender ``from_acct`` at
    ``t_in``) when that transfer was itself a fast forward of its sender: an equi-join on
    (account, time), followed back at most ``levels`` times (``max_cycle_length - 1``).
    """
    steps = [
        f"""c{k} AS (
  SELECT c.acct, c.day, c.chain + (p.up IS NOT NULL)::UINTEGER AS chain, p.up.f AS who, p.up.t AS at
  FROM c{k - 1} c LEFT JOIN parents p ON p.who = c.who AND p.at = c.at)"""
        for k in range(1, levels + 1)
    ]
    return f"""
WITH fast AS (SELECT acct, day, ts, t_in, from_acct FROM dwell WHERE dwell_us <= $fast_us),
parents AS (SELECT acct AS who, ts AS at, min({{'t': t_in, 'f': from_acct}}) AS up FROM fast GROUP BY ALL),
c0 AS (SELECT acct, day, 1::UINTEGER AS chain, from_acct AS who, t_in AS at FROM fast)
{"".join(", " + step for step in steps)}
SELECT acct, m.eval_day, max(chain) AS "pass_through_chain_length_{p}d"
FROM c{levels} JOIN day_map m USING (day) GROUP BY ALL
"""


def eval_days(instances: pl.LazyFrame, config: FeatureConfig, as_of: dt.date | None) -> pl.LazyFrame:
    """Pair each dated instance (``day``, ...) with every evaluation day whose pattern window
    holds its day (adds ``eval_day``; one row per pair)."""
    p = config.pattern_window_days
    if as_of is not None:
        end = day_number(as_of)
        return instances.filter(pl.col("day").is_between(end - p + 1, end)).with_columns(
            eval_day=pl.lit(end, dtype=pl.Int32)
        )
    step = config.history_step_days
    first = step_end_day(pl.col("day"), config)
    if p <= step:  # at most one step end within the window: no list to explode
        return instances.filter(first < pl.col("day") + p).with_columns(eval_day=first)
    ends = pl.int_ranges(first, pl.col("day") + p, step, dtype=pl.Int32)
    return instances.with_columns(eval_day=ends).explode("eval_day")


def date_instances(
    instances: pl.LazyFrame, evals: pl.LazyFrame, config: FeatureConfig, as_of: dt.date | None
) -> pl.LazyFrame:
    """:func:`eval_days` of instances keyed by ``acct``, kept where ``(acct, eval_day)`` is an
    evaluation row of ``evals``."""
    dated = eval_days(instances, config, as_of)
    return dated.join(evals.select("acct", "eval_day"), on=["acct", "eval_day"], how="semi")


def pattern_features(
    con: duckdb.DuckDBPyConnection,
    tx: pl.DataFrame,
    evals: pl.DataFrame,
    config: FeatureConfig,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Pattern columns (see the module docstring) per evaluation row ``(acct, eval_day)``.

    Every stage runs in DuckDB; instances meet evaluation days through one small table
    (``day_map``: each day with every evaluation day whose window holds it), so per-instance
    work is a hash join on the day, and each family comes back aggregated per
    ``(acct, eval_day)``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection for the capped edge list, 2-hop join, cycle search and dwell times.
    tx : polars.DataFrame
        Encoded transactions (:func:`features.prepare.encode`).
    evals : polars.DataFrame
        ``acct``, ``eval_day`` rows to fill.
    config : FeatureConfig
    as_of : datetime.date, optional
        Nightly evaluation date (only instances dated in its pattern window are kept).
    """
    p = config.pattern_window_days
    edges = pattern_edges(tx)
    if as_of is not None:  # hops of instances dated in the window start at most this far back
        chain_days = int(config.max_cycle_length * config.pass_through_hours // 24) + 1
        edges = edges.filter(pl.col("day") > day_number(as_of) - 2 * p - chain_days)
    day_map = eval_days(edges.lazy().select(pl.col("day").unique()), config, as_of).collect()
    p_us = {"p_us": p * US_PER_DAY}
    fast = {"fast_us": int(config.pass_through_hours * US_PER_HOUR)}
    queries = [
        (_MIDDLES_SQL.format(me="a", name=f"scatter_gather_middles_{p}d"), {}),
        (_MIDDLES_SQL.format(me="c", name=f"gather_middles_{p}d"), {}),
        (_GATHER_SCATTER_SQL.format(name=f"gather_scatter_degree_{p}d"), {}),
        (_CYCLE_FEATURES_SQL.format(p=p), {}),
        (_DWELL_FEATURES_SQL.format(p=p), fast | {"us_per_hour": US_PER_HOUR}),
        (_chain_sql(config.max_cycle_length - 1, p), fast),
    ]
    tables = ("capped", "capped_b", "hop2", "pair_middles", "cycles", "dwell")
    con.register("edges", edges.to_arrow())
    con.register("day_map", day_map.to_arrow())
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE capped AS " + _CAPPED_SQL,
            {"p": p, "cap": config.max_edges_per_node},
        )
        con.execute("CREATE OR REPLACE TEMP TABLE capped_b AS " + BLOCKED_SQL.format(table="capped"), p_us)
        con.execute("CREATE OR REPLACE TEMP TABLE hop2 AS " + _TWO_HOP_SQL, p_us)
        con.execute("CREATE OR REPLACE TEMP TABLE pair_middles AS " + _PAIR_MIDDLES_SQL)
        create_cycle_table(con, config, "cycles")
        con.execute("CREATE OR REPLACE TEMP TABLE dwell AS " + _DWELL_SQL, p_us)
        pieces = [con.sql(q, params=params).pl() for q, params in queries]
    finally:
        for table in tables:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.unregister("edges")
        con.unregister("day_map")

    keys = [pl.col("acct").cast(pl.UInt32), pl.col("eval_day").cast(pl.Int32)]
    frame = evals.select("acct", "eval_day")
    for piece in pieces:  # eager: a lazy plan of six joins costs more to plan than to run here
        frame = frame.join(
            piece.with_columns(keys), on=["acct", "eval_day"], how="left", maintain_order="left"
        )
    names = [n for n, _, _ in pattern_columns(config)]
    return frame.select("acct", "eval_day", *[pl.col(n).fill_null(0) for n in names])
