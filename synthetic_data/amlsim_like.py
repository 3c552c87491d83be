"""A small, independent simulator in the style of IBM AMLSim, writing AMLSim's output files.

It shares no code with the project's own generator: it follows AMLSim's published design
(``paramFiles/*/{accounts,normalModels,alertPatterns}.csv`` and ``conf.json``):

* a scale-free account graph (expected degrees from a power law, edges drawn Chung-Lu style);
* normal activity along the graph's edges from AMLSim's normal models: ``single``,
  ``periodical``, ``fan_out``, ``fan_in``, ``forward`` (A pays B, B passes it on to C) and
  ``mutual`` (A pays B, B pays back), amounts uniform in [min_amount, max_amount] (conf.json
  defaults 100-1,000), on whole days (AMLSim's step = one day);
* alert patterns, a table like ``alertPatterns.csv``: ``fan_in``, ``fan_out``, ``cycle``,
  ``bipartite``, ``stack``, ``scatter_gather``, ``gather_scatter``, ``random``, each with a count,
  member range, amount range and period range, and ``is_sar`` (False = a benign alert that
  looks like the pattern), laid out as AMLSim's Java typologies do (see
  :mod:`synthetic_data.amlsim_patterns`). As in ``scripts/transaction_graph_generator.py``, the
  main account of ``fan_in``, ``fan_out``, ``cycle`` and ``random`` is a hub (in- or out-degree
  at least ``degree_threshold``, conf.json ``graph_generator.degree_threshold``), the other
  members are drawn at random, and an account joins at most one alert
  (``remove_typology_candidate``). Laundering amounts default to the *same* 100-1,000 range as
  normal ones (AMLSim's shipped ``alertPatterns.csv`` use 100-200, below the normal mean).

Deliberately harder than AMLSim: its normal models draw every amount afresh
(``TargetedTransactionAmount``) and its ``forward`` model does not pass the received amount on;
here periodic payments repeat a usual amount and ``forward`` passes it on less a margin, so
repeated amounts and pass-through also occur in normal traffic.

Output (``scripts/convert_logs.py`` layout, read by ``moneytrail.ingest.amlsim``):
``accounts.csv``, ``transactions.csv`` (``is_sar``, ``alert_id`` = -1 when normal) and
``alert_accounts.csv``. One seed drives everything (``numpy.random.Generator``).
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from synthetic_data.amlsim_patterns import TYPOLOGIES, AlertPattern, Graph, Plan, amounts

BASE_DATE = datetime(2017, 1, 1, tzinfo=UTC)


def _default_patterns() -> tuple[AlertPattern, ...]:
    sar = [
        AlertPattern("fan_in", 12, 5, 10),
        AlertPattern("fan_out", 12, 5, 10),
        AlertPattern("cycle", 12, 4, 8),
        AlertPattern("bipartite", 12, 4, 8),
        AlertPattern("stack", 12, 6, 10),
        AlertPattern("scatter_gather", 12, 5, 10),
        AlertPattern("gather_scatter", 12, 5, 10),
        AlertPattern("random", 12, 4, 8),
    ]
    benign = [
        AlertPattern("fan_in", 10, 5, 10, is_sar=False),
        AlertPattern("fan_out", 10, 5, 10, is_sar=False),
    ]
    return (*sar, *benign)


@dataclass(frozen=True)
class AmlSimParams:
    """Simulation size and AMLSim-style parameters."""

    n_accounts: int = 5_000
    days: int = 120
    #: Mean out-degree of the scale-free graph and the power-law exponent of expected degrees.
    mean_degree: float = 4.0
    degree_exponent: float = 2.2
    #: Normal transaction amounts (conf.json ``min_amount`` / ``max_amount``).
    min_amount: float = 100.0
    max_amount: float = 1_000.0
    #: Normal models' period range in days (normalModels.csv ``min_period`` / ``max_period``).
    min_period: int = 5
    max_period: int = 20
    #: Share of graph edges used by each normal model (the rest: ``periodical``).
    single_share: float = 0.2
    forward_share: float = 0.15
    mutual_share: float = 0.1
    #: Fan models: share of accounts that run one, and the fan size range.
    fan_share: float = 0.03
    min_fan: int = 5
    max_fan: int = 20
    #: Largest margin a hop keeps (conf.json ``margin_ratio``).
    margin_ratio: float = 0.1
    #: Smallest in- or out-degree of a main-account candidate (conf.json ``degree_threshold``).
    degree_threshold: int = 10
    business_share: float = 0.1
    patterns: tuple[AlertPattern, ...] = field(default_factory=_default_patterns)


@dataclass
class _Log:
    """Transactions as column chunks (concatenated once at the end)."""

    src: list[np.ndarray] = field(default_factory=list)
    dst: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    amount: list[np.ndarray] = field(default_factory=list)
    alert: list[np.ndarray] = field(default_factory=list)

    def add(self, src, dst, day, amount, alert: int = -1) -> None:
        src, dst, day, amount = np.broadcast_arrays(
            np.asarray(src), np.asarray(dst), np.asarray(day), np.asarray(amount, dtype=float)
        )
        self.src.append(src.ravel())
        self.dst.append(dst.ravel())
        self.day.append(day.ravel())
        self.amount.append(amount.ravel())
        self.alert.append(np.full(src.size, alert))


# -- graph and normal models ---------------------------------------------------------------
def scale_free_edges(n: int, mean_degree: float, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Directed edges (m, 2) without self loops or duplicates, degrees following a power law."""
    weights = (1.0 - rng.random(n)) ** (-1.0 / (exponent - 1.0))  # Pareto, P(w > x) ~ x^-(a-1)
    p = weights / weights.sum()
    m = int(n * mean_degree * 1.1)
    edges = np.column_stack([rng.choice(n, m, p=p), rng.choice(n, m, p=p)])
    edges = edges[edges[:, 0] != edges[:, 1]]
    return np.unique(edges, axis=0)[: int(n * mean_degree)]


def normal_activity(edges: np.ndarray, params: AmlSimParams, rng: np.random.Generator, log: _Log) -> None:
    """Normal models along the graph's edges (and fans around a few hubs)."""
    d, lo, hi = params.days, params.min_amount, params.max_amount
    model = rng.choice(
        4,
        size=len(edges),
        p=[
            params.single_share,
            params.forward_share,
            params.mutual_share,
            1 - params.single_share - params.forward_share - params.mutual_share,
        ],
    )
    single = edges[model == 0]
    log.add(single[:, 0], single[:, 1], rng.integers(0, d, len(single)), amounts(len(single), rng, lo, hi))
    # periodical (and the first leg of forward / mutual): every `period` days from a random offset
    periodic = edges[model > 0]
    period = rng.integers(params.min_period, params.max_period + 1, len(periodic))
    offset = rng.integers(0, period)
    reps = (d - offset + period - 1) // period
    idx = np.repeat(np.arange(len(periodic)), reps)
    k = np.arange(idx.size) - np.repeat(np.cumsum(reps) - reps, reps)
    days = offset[idx] + k * period[idx]
    base = rng.uniform(lo, hi, len(periodic))  # a periodic payment varies around its usual amount
    amount = np.clip(np.round(base[idx] * rng.uniform(0.9, 1.1, idx.size), 2), lo, hi)
    log.add(periodic[idx, 0], periodic[idx, 1], days, amount)
    kind = model[model > 0][idx]
    # mutual: the receiver pays (part of) it back a few days later
    back = kind == 2
    log.add(
        periodic[idx[back], 1],
        periodic[idx[back], 0],
        np.minimum(days[back] + rng.integers(1, 6, back.sum()), d - 1),
        np.round(amount[back] * rng.uniform(0.5, 1.0, back.sum()), 2),
    )
    # forward: the receiver passes it on to one of its own payees
    fwd = np.flatnonzero(kind == 1)
    graph = Graph.from_edges(edges, params.n_accounts)
    middle = periodic[idx[fwd], 1]
    has_out = graph.counts[middle] > 0
    fwd, middle = fwd[has_out], middle[has_out]
    third = graph.dst[graph.starts[middle] + (rng.random(fwd.size) * graph.counts[middle]).astype(int)]
    keep = third != periodic[idx[fwd], 0]
    log.add(
        middle[keep],
        third[keep],
        np.minimum(days[fwd[keep]] + rng.integers(0, 4, keep.sum()), d - 1),
        np.round(amount[fwd[keep]] * (1 - rng.uniform(0, params.margin_ratio, keep.sum())), 2),
    )
    # fan_out / fan_in hubs (payroll-like and collection-like normal models)
    hubs = rng.choice(params.n_accounts, int(params.fan_share * params.n_accounts), replace=False)
    for hub in hubs:
        size = int(rng.integers(params.min_fan, params.max_fan + 1))
        peers = rng.choice(params.n_accounts, size, replace=False)
        peers = peers[peers != hub]
        period = int(rng.integers(params.min_period, params.max_period + 1))
        days = np.arange(int(rng.integers(0, period)), d, period)
        amount = amounts(peers.size, rng, lo, hi)
        src, dst = (hub, peers) if rng.random() < 0.5 else (peers, hub)
        log.add(
            np.broadcast_to(src, (days.size, peers.size)),
            np.broadcast_to(dst, (days.size, peers.size)),
            days[:, None],
            np.broadcast_to(amount, (days.size, peers.size)),
        )


#: Typologies whose main account AMLSim draws from the hubs (``add_main_acct``).
HUB_MAIN = frozenset({"fan_in", "fan_out", "cycle", "random"})


def _draw(pool: np.ndarray, size: int, rng: np.random.Generator, what: str) -> np.ndarray:
    if pool.size < size:
        raise ValueError(f"only {pool.size} {what} left for an alert that needs {size}")
    return rng.choice(pool, size, replace=False)


def plant_alerts(
    edges: np.ndarray, params: AmlSimParams, rng: np.random.Generator, log: _Log
) -> pl.DataFrame:
    """Plant every alert pattern; return the members (alert_id, alert_type, acct, is_sar)."""
    graph = Graph.from_edges(edges, params.n_accounts)
    in_degree = np.bincount(edges[:, 1], minlength=params.n_accounts)
    hub = (graph.counts >= params.degree_threshold) | (in_degree >= params.degree_threshold)
    free = np.ones(params.n_accounts, dtype=bool)
    members = []
    alert_id = 0
    for pattern in params.patterns:
        if pattern.type not in TYPOLOGIES:
            raise ValueError(f"unknown alert pattern type {pattern.type!r}; known: {sorted(TYPOLOGIES)}")
        for _ in range(pattern.count):
            size = int(rng.integers(pattern.min_accounts, pattern.max_accounts + 1))
            if pattern.type in HUB_MAIN:
                what = f"hubs (degree >= degree_threshold = {params.degree_threshold})"
                main = _draw(np.flatnonzero(free & hub), 1, rng, what)
            else:
                main = _draw(np.flatnonzero(free), 1, rng, "free accounts")
            free[main] = False
            accounts = np.r_[main, _draw(np.flatnonzero(free), size - 1, rng, "free accounts")]
            free[accounts] = False
            period = int(rng.integers(pattern.min_period, pattern.max_period + 1))
            start = int(rng.integers(0, params.days - period + 1))
            plan = Plan(accounts, start, start + period - 1, pattern, params.margin_ratio, graph)
            hops = TYPOLOGIES[pattern.type](plan, rng)
            for src, dst, day, amount in hops:
                log.add(src, dst, day, amount, alert=alert_id)
            members.append(
                pl.DataFrame(
                    {
                        "alert_id": alert_id,
                        "alert_type": pattern.type,
                        "acct": accounts,
                        "is_sar": pattern.is_sar,
                    }
                )
            )
            alert_id += 1
    return pl.concat(members)


# -- output ---------------------------------------------------------------------------------
def _timestamp(days: pl.Expr) -> pl.Expr:
    return (pl.lit(BASE_DATE) + pl.duration(days=days)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def simulate(out: Path, params: AmlSimParams, rng: np.random.Generator) -> dict[str, int]:
    """Write ``accounts.csv``, ``transactions.csv`` and ``alert_accounts.csv`` to ``out``.

    The folder is built next to ``out`` and renamed into place, so a reader never sees half of
    it. Returns counts (accounts, transactions, sar_transactions, alerts).
    """
    log = _Log()
    edges = scale_free_edges(params.n_accounts, params.mean_degree, params.degree_exponent, rng)
    normal_activity(edges, params, rng, log)
    members = plant_alerts(edges, params, rng, log)
    sar_alerts = members.filter(pl.col("is_sar"))["alert_id"].unique()
    alert = np.concatenate(log.alert)
    tx = (
        pl.DataFrame(
            {
                "orig": np.concatenate(log.src),
                "bene": np.concatenate(log.dst),
                "day": np.concatenate(log.day).astype(np.int64),
                "base_amt": np.concatenate(log.amount),
                "alert_id": alert,
            }
        )
        .sort("day", maintain_order=True)
        .with_row_index("tran_id", offset=1)
    )
    tx_types = np.array(["TRANSFER", "WIRE", "CREDIT", "CHECK"])
    tx = tx.select(
        "tran_id",
        pl.format("{}", pl.col("orig")).alias("orig_acct"),
        pl.format("{}", pl.col("bene")).alias("bene_acct"),
        pl.Series("tx_type", tx_types[rng.choice(4, tx.height, p=[0.7, 0.1, 0.1, 0.1])]),
        "base_amt",
        _timestamp(pl.col("day")).alias("tran_timestamp"),
        pl.col("alert_id").is_in(sar_alerts.implode()).alias("is_sar"),
        "alert_id",
    )
    business = rng.random(params.n_accounts) < params.business_share
    opened = rng.integers(-2_000, 0, params.n_accounts)
    accounts = pl.DataFrame(
        {"acct_id": np.arange(params.n_accounts), "open": opened, "biz": business}
    ).select(
        pl.col("acct_id").cast(pl.String),
        pl.format("Account{}", pl.col("acct_id")).alias("dsply_nm"),
        pl.when(pl.col("biz")).then(pl.lit("O")).otherwise(pl.lit("I")).alias("type"),
        pl.lit("A").alias("acct_stat"),
        pl.lit("USD").alias("acct_rptng_crncy"),
        pl.lit(0).alias("prior_sar_count"),
        _timestamp(pl.col("open")).alias("open_dt"),
        pl.lit("bank").alias("bank_id"),
        pl.lit("US").alias("country"),
    )
    alerts = members.select(
        "alert_id",
        "alert_type",
        pl.col("acct").cast(pl.String).alias("acct_id"),
        pl.format("Account{}", pl.col("acct")).alias("acct_name"),
        "is_sar",
        pl.lit(1).alias("model_id"),
        pl.lit(2).alias("schedule_id"),
        pl.lit("bank").alias("bank_id"),
    )
    staging = out.parent / f".{out.name}.{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        accounts.write_csv(staging / "accounts.csv")
        tx.write_csv(staging / "transactions.csv")
        alerts.write_csv(staging / "alert_accounts.csv")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return {
        "accounts": params.n_accounts,
        "transactions": tx.height,
        "sar_transactions": int(tx["is_sar"].sum()),
        "alerts": int(members["alert_id"].n_unique()),
    }
