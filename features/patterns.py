"""Graph-pattern features over the pattern window ``P = config.pattern_window_days``.

Pattern edges are transactions between two real, different accounts on non-cash channels.
Each pattern *instance* is dated by the day of its last hop; an evaluation row ``(acct, D)``
counts the instances dated in ``D-P+1 .. D`` (the same day buckets as every window), and
every hop of an instance lies within ``P`` days of its first hop.

Hub bound (DuckDB): in each block of ``P`` days, a node keeps only its
``config.max_edges_per_node`` largest outgoing and largest incoming edges (by amount) for the
2-hop and cycle joins, and cycle search keeps at most ``config.max_paths_per_node`` open paths
per start node and length. Features are exact for nodes below the caps and lower bounds above.
Dwell times use every edge (an as-of join, no cap).

Cycle search pruning (exact: it drops only what cannot be on a cycle; the path cap then counts
only the paths that remain): (1) the capped edge list is trimmed twice, keeping an edge
``u -> v`` at ``t`` only when ``v`` has an outgoing and ``u`` an incoming (trimmed) edge strictly
within ``P`` days of ``t`` (as-of joins); (2) an open path with 1 (2) hops left is kept only when
its last account has a capped 1-hop (1- or 2-hop temporal, within ``P`` days) route to the start
whose latest first hop is after the path's last hop and whose earliest last hop is before
``t0 + P``; (3) the last level joins only the hops that return to the start.

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

_TWO_HOP_SQL = """
SELECT e1.src AS a, e1.dst AS b, e2.dst AS c, e2.day AS day, e1.ts AS t1, e2.ts AS t2
FROM capped e1 JOIN capped e2
  ON e1.dst = e2.src AND e2.ts > e1.ts AND e2.ts < e1.ts + $p_us AND e2.dst <> e1.src
"""

#: Routes back for pruning the cycle search: per (from, to) pair reachable in one hop
#: (``back1``) or in one or two hops (``back2``, temporal 2-hop paths within P days), the latest
#: first-hop time and the earliest last-hop time. A path ending at ``x`` at ``t`` with ``r``
#: hops left can only return to its start ``s`` before ``t0 + P`` when ``backR`` has
#: ``(x, s)`` with ``t_first > t`` and ``t_last < t0 + P`` (necessary, not sufficient).
_BACK1_SQL = """
SELECT src AS a, dst AS c, max(ts) AS t_first, min(ts) AS t_last FROM capped GROUP BY ALL
"""
_BACK2_SQL = """
SELECT a, c, max(t_first) AS t_first, min(t_last) AS t_last FROM (
  SELECT a, c, t_first, t_last FROM back1
  UNION ALL
  SELECT a, c, max(t1), min(t2) FROM hop2 GROUP BY ALL
) GROUP BY ALL
"""


#: Extend open temporal paths by one hop; rows that return to the start are cycles.
_EXTEND_SQL = """
SELECT p.start, e.dst AS last, p.t0, e.ts AS t_last, e.day AS day,
       list_append(p.nodes, e.dst) AS nodes, e.dst = p.start AS closed
FROM paths p JOIN cyc e
  ON e.src = p.last AND e.ts > p.t_last AND e.ts < p.t0 + $p_us
 AND (e.dst = p.start OR NOT list_contains(p.nodes, e.dst))
"""

#: One round of trimming the cycle edge list ``cyc`` (see :func:`_cycle_instances`).
_TRIM_SQL = """
SELECT e.src, e.dst, e.ts, e.day FROM (
  SELECT e.src, e.dst, e.ts, e.day FROM cyc e
  ASOF JOIN (SELECT src, ts FROM cyc) o ON o.src = e.dst AND o.ts > e.ts - $p_us
  WHERE o.ts < e.ts + $p_us
) e
ASOF JOIN (SELECT dst, ts FROM cyc) i ON i.dst = e.src AND i.ts > e.ts - $p_us
WHERE i.ts < e.ts + $p_us
"""
_TRIM_ROUNDS = 2

#: Last level: only the hop that closes the cycle matters.
_CLOSE_SQL = """
SELECT p.start, e.dst AS last, p.t0, e.ts AS t_last, e.day AS day,
       list_append(p.nodes, e.dst) AS nodes, TRUE AS closed
FROM paths p JOIN cyc e
  ON e.src = p.last AND e.dst = p.start AND e.ts > p.t_last AND e.ts < p.t0 + $p_us
"""

#: Keep closed rows and open paths with a possible route back (``{back}`` = back1 / back2).
_PRUNE_SQL = """
 WHERE e.dst = p.start OR EXISTS (
   SELECT 1 FROM {back} b
   WHERE b.a = e.dst AND b.c = p.start AND b.t_first > e.ts AND b.t_last < p.t0 + $p_us)
"""


def date_instances(
    instances: pl.LazyFrame, evals: pl.LazyFrame, config: FeatureConfig, as_of: dt.date | None
) -> pl.LazyFrame:
    """Pair each dated instance (``acct``, ``day``, ...) with the evaluation rows whose pattern
    window holds its day (adds ``eval_day``; inner-joined with ``evals``)."""
    p = config.pattern_window_days
    if as_of is not None:
        end = day_number(as_of)
        dated = instances.filter(pl.col("day").is_between(end - p + 1, end)).with_columns(
            eval_day=pl.lit(end, dtype=pl.Int32)
        )
    else:
        step = config.history_step_days
        first = step_end_day(pl.col("day"), config)
        dated = instances.with_columns(
            eval_day=pl.int_ranges(first, pl.col("day") + p, step, dtype=pl.Int32)
        ).explode("eval_day")
    return dated.join(evals.select("acct", "eval_day"), on=["acct", "eval_day"], how="semi")


def _two_hop_features(
    inst: pl.LazyFrame, evals: pl.LazyFrame, config: FeatureConfig, as_of: dt.date | None
) -> list[pl.LazyFrame]:
    p = config.pattern_window_days
    out = []
    for me, far, name in (("a", "c", f"scatter_gather_middles_{p}d"), ("c", "a", f"gather_middles_{p}d")):
        per = date_instances(inst.rename({me: "acct"}), evals, config, as_of)
        out.append(
            per.group_by("acct", "eval_day", far)
            .agg(pl.col("b").n_unique().alias(name))
            .group_by("acct", "eval_day")
            .agg(pl.col(name).max())
        )
    mid = date_instances(inst.rename({"b": "acct"}), evals, config, as_of)
    out.append(
        mid.group_by("acct", "eval_day").agg(
            pl.min_horizontal(pl.col("a").n_unique(), pl.col("c").n_unique()).alias(
                f"gather_scatter_degree_{p}d"
            )
        )
    )
    return out


def _cycle_instances(con: duckdb.DuckDBPyConnection, config: FeatureConfig) -> pl.LazyFrame:
    """``(acct, day, cycle)`` for every account on every temporal cycle found."""
    params = {"p_us": config.pattern_window_days * US_PER_DAY, "cap": config.max_paths_per_node}
    # An edge u -> v at t on a temporal cycle has, on the same cycle, an outgoing edge of v and an
    # incoming edge of u within P days of t (all hops lie within P days of the first): drop the
    # capped edges without both, twice (each round can strand more). Exact below the caps.
    con.execute("CREATE OR REPLACE TEMP TABLE cyc AS SELECT src, dst, ts, day FROM capped")
    for _ in range(_TRIM_ROUNDS):
        con.execute("CREATE OR REPLACE TEMP TABLE cyc AS " + _TRIM_SQL, {"p_us": params["p_us"]})
    con.execute(
        "CREATE OR REPLACE TEMP TABLE paths AS "
        "SELECT src AS start, dst AS last, ts AS t0, ts AS t_last, [src, dst] AS nodes FROM cyc"
    )
    found = []
    k = config.max_cycle_length
    for level in range(2, k + 1):
        left = k - level  # hops still allowed after this one
        if left == 0:
            sql = _CLOSE_SQL
        elif left <= 2:
            sql = _EXTEND_SQL + _PRUNE_SQL.format(back=f"back{left}")
        else:
            sql = _EXTEND_SQL
        con.execute(
            "CREATE OR REPLACE TEMP TABLE step AS "
            + sql
            + " QUALIFY ROW_NUMBER() OVER (PARTITION BY p.start, e.dst = p.start"
            " ORDER BY e.ts, e.dst) <= $cap",
            params,
        )
        found.append(con.sql("SELECT nodes, day FROM step WHERE closed").pl())
        if left == 0:
            break
        con.execute(
            "CREATE OR REPLACE TEMP TABLE paths AS SELECT start, last, t0, t_last, nodes FROM step "
            "WHERE NOT closed"
        )
    con.execute("DROP TABLE IF EXISTS paths")
    con.execute("DROP TABLE IF EXISTS step")
    con.execute("DROP TABLE IF EXISTS cyc")
    cycles = pl.concat(found) if found else pl.DataFrame({"nodes": [], "day": []})
    return (
        cycles.lazy()
        .with_row_index("cycle")
        .with_columns(pl.col("nodes").list.slice(0, pl.col("nodes").list.len() - 1))  # last = start
        .explode("nodes")
        .rename({"nodes": "acct"})
        .select(pl.col("acct").cast(pl.UInt32), pl.col("day").cast(pl.Int32), "cycle")
    )


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
    con.register("edges", edges.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE capped AS " + _CAPPED_SQL, params)
        con.execute("CREATE OR REPLACE TEMP TABLE hop2 AS " + _TWO_HOP_SQL, {"p_us": p * US_PER_DAY})
        two_hop = con.sql("SELECT a, b, c, day FROM hop2").pl()
        con.execute("CREATE OR REPLACE TEMP TABLE back1 AS " + _BACK1_SQL)
        con.execute("CREATE OR REPLACE TEMP TABLE back2 AS " + _BACK2_SQL)
        con.execute("DROP TABLE hop2")
        cycles = _cycle_instances(con, config)
        dwell = _dwell_instances(con, config).lazy()
    finally:
        for table in ("hop2", "back1", "back2", "capped"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        con.unregister("edges")

    ev = evals.lazy().select("acct", "eval_day")
    inst = two_hop.lazy().with_columns(pl.col("a", "b", "c").cast(pl.UInt32), pl.col("day").cast(pl.Int32))
    pieces = _two_hop_features(inst, ev, config, as_of)
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
