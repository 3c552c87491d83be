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
from features.cycles import BLOCKED_SQL, cycle_instances
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


_CAPPED_SQL = """
SELECT src, dst, ts, day, amount FROM edges
QUALIFY ROW_NUMBER() OVER (PARTITION BY src, day // $p ORDER BY amount DESC, ts, dst) <= $cap
    AND ROW_NUMBER() OVER (PARTITION BY dst, day // $p ORDER BY amount DESC, ts, src) <= $cap
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

#: Most distinct middles ``b`` to (from) one far end, per account ``{me}`` (``a`` or ``c``).
_MIDDLES_SQL = """
SELECT acct, eval_day, max(n)::UINTEGER AS "{name}" FROM (
  SELECT i.{me} AS acct, i.eval_day, count(*) AS n
  FROM hop2 i SEMI JOIN evals v ON v.acct = i.{me} AND v.eval_day = i.eval_day
  GROUP BY i.{me}, i.eval_day, i.{far}
) GROUP BY acct, eval_day
"""

_GATHER_SCATTER_SQL = """
SELECT i.b AS acct, i.eval_day,
       least(count(DISTINCT i.a), count(DISTINCT i.c))::UINTEGER AS "{name}"
FROM hop2 i SEMI JOIN evals v ON v.acct = i.b AND v.eval_day = i.eval_day
GROUP BY ALL
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


def _two_hop_features(
    con: duckdb.DuckDBPyConnection, evals: pl.LazyFrame, config: FeatureConfig, as_of: dt.date | None
) -> list[pl.LazyFrame]:
    """The three 2-hop columns over tables ``capped``/``capped_b`` of ``con`` (DuckDB: the
    instances are deduplicated per evaluation day there, so distinct counts are row counts)."""
    p = config.pattern_window_days
    days = con.sql("SELECT DISTINCT day FROM capped").pl().lazy().select(pl.col("day").cast(pl.Int32))
    day_map = eval_days(days, config, as_of).collect()
    con.register("day_map", day_map.to_arrow())
    con.register("evals", evals.select("acct", "eval_day").collect().to_arrow())
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE hop2 AS " + _TWO_HOP_SQL, {"p_us": p * US_PER_DAY})
        queries = [
            _MIDDLES_SQL.format(me="a", far="c", name=f"scatter_gather_middles_{p}d"),
            _MIDDLES_SQL.format(me="c", far="a", name=f"gather_middles_{p}d"),
            _GATHER_SCATTER_SQL.format(name=f"gather_scatter_degree_{p}d"),
        ]
        out = [con.sql(q).pl().lazy() for q in queries]
    finally:
        con.execute("DROP TABLE IF EXISTS hop2")
        con.unregister("day_map")
        con.unregister("evals")
    return [f.with_columns(pl.col("acct").cast(pl.UInt32), pl.col("eval_day").cast(pl.Int32)) for f in out]


_DWELL_SQL = """
SELECT o.src AS acct, o.day, o.ts, i.ts AS t_in, i.src AS from_acct, o.ts - i.ts AS dwell_us,
       o.ts - i.ts <= $fast_us AS fast
FROM edges o ASOF JOIN edges i ON i.dst = o.src AND i.ts < o.ts
WHERE o.ts - i.ts < $p_us
"""


def _dwell_instances(con: duckdb.DuckDBPyConnection, config: FeatureConfig) -> pl.DataFrame:
    """Each outgoing transfer (of the registered ``edges``) with the latest strictly earlier
    incoming transfer of its sender within the pattern window (DuckDB ``ASOF JOIN``, every
    edge, no cap): ``acct, day, ts, t_in, from_acct, dwell_us, fast``."""
    params = {
        "p_us": config.pattern_window_days * US_PER_DAY,
        "fast_us": int(config.pass_through_hours * US_PER_HOUR),
    }
    return (
        con.sql(_DWELL_SQL, params=params)
        .pl()
        .with_columns(pl.col("acct", "from_acct").cast(pl.UInt32), pl.col("day").cast(pl.Int32))
    )


def _chain_lengths(dwell: pl.LazyFrame, config: FeatureConfig) -> pl.LazyFrame:
    """Longest fast-forward chain ending at each fast outgoing transfer.

    A fast forward's parent is the transfer that brought the money in (sender ``from_acct`` at
    ``t_in``) when that transfer was itself a fast forward of its sender: an equi-join on
    (account, time). Followed back at most ``max_cycle_length - 1`` levels.
    """
    fast = dwell.filter(pl.col("fast")).select("acct", "day", "ts", "t_in", "from_acct")
    parents = fast.select(
        pl.col("acct").alias("_who"),
        pl.col("ts").alias("_at"),
        pl.col("t_in").alias("_pin"),
        pl.col("from_acct").alias("_pfrom"),
    ).unique(["_who", "_at"], keep="any")
    chain = fast.select(
        "acct", "day", chain=pl.lit(1, dtype=pl.UInt32), _who=pl.col("from_acct"), _at=pl.col("t_in")
    )
    for _ in range(config.max_cycle_length - 1):
        chain = (
            chain.join(parents, on=["_who", "_at"], how="left")
            .with_columns(
                chain=pl.when(pl.col("_pin").is_not_null())
                .then(pl.col("chain") + 1)
                .otherwise(pl.col("chain")),
                _who=pl.col("_pfrom"),
                _at=pl.col("_pin"),
            )
            .drop("_pin", "_pfrom")
        )
    return chain.select("acct", "day", "chain")


def pattern_features(
    con: duckdb.DuckDBPyConnection,
    tx: pl.DataFrame,
    evals: pl.DataFrame,
    config: FeatureConfig,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Pattern columns (see the module docstring) per evaluation row ``(acct, eval_day)``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection for the capped edge list, 2-hop join and cycle search.
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
    params = {"p": p, "cap": config.max_edges_per_node}
    p_us = {"p_us": p * US_PER_DAY}
    ev = evals.lazy().select("acct", "eval_day")
    con.register("edges", edges.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE capped AS " + _CAPPED_SQL, params)
        con.execute("CREATE OR REPLACE TEMP TABLE capped_b AS " + BLOCKED_SQL.format(table="capped"), p_us)
        pieces = _two_hop_features(con, ev, config, as_of)
        cycles = cycle_instances(con, config)
        dwell = _dwell_instances(con, config).lazy()
    finally:
        for table in ("capped", "capped_b"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.unregister("edges")

    pieces.append(
        date_instances(cycles, ev, config, as_of)
        .group_by("acct", "eval_day")
        .agg(pl.col("cycle").n_unique().cast(pl.UInt32).alias(f"temporal_cycles_{p}d"))
    )
    pieces.append(
        date_instances(dwell, ev, config, as_of)
        .group_by("acct", "eval_day")
        .agg(
            pl.col("fast").sum().cast(pl.UInt32).alias(f"fast_forward_count_{p}d"),
            pl.col("fast").mean().alias(f"fast_forward_share_{p}d"),
            (pl.col("dwell_us").median() / US_PER_HOUR).alias(f"median_dwell_hours_{p}d"),
        )
    )
    pieces.append(
        date_instances(_chain_lengths(dwell, config), ev, config, as_of)
        .group_by("acct", "eval_day")
        .agg(pl.col("chain").max().alias(f"pass_through_chain_length_{p}d"))
    )
    frame = ev
    for piece in pieces:
        frame = frame.join(piece, on=["acct", "eval_day"], how="left", maintain_order="left")
    names = [n for n, _, _ in pattern_columns(config)]
    return frame.select("acct", "eval_day", *[pl.col(n).fill_null(0) for n in names]).collect()
