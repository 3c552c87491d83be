"""Our fan-in/fan-out degrees agree with Snap ML's GraphFeaturePreprocessor (GFP) on small
random temporal graphs (skipped when the optional ``snapml`` bench dependency is missing).

Window semantics, and how they are aligned:

* GFP fan/degree patterns are anchored at every edge ``e`` (``u -> v`` at ``t``): fan-in of
  ``v`` = distinct senders over ``v``'s incoming edges with timestamps in ``(t - tw, t]``
  (self loops excluded), degree-in = the number of those edges; fan-out/degree-out of ``u``
  likewise over its outgoing edges. When the size is >= 2, *every edge in that window* gets +1
  in the histogram bin of that size, so an edge's histogram also holds patterns anchored at
  later edges. For the **last** incoming edge(s) of ``v`` (largest timestamp ``T``), the only
  anchors are the incoming edges of ``v`` at ``T`` itself, which all see the same window: the
  bin that is non-zero is the fan-in of ``v`` over ``(T - tw, T]`` (no bin: fan-in 1).
* Ours: ``fan_in_degree_{w}d`` at evaluation date ``D`` counts distinct senders over
  ``(D+1 - w days, D+1]`` (``window_closed="right"``). With ``T`` an exact midnight and
  ``D = T - 1 day`` (a midnight belongs to the day before), the two windows are the same
  interval; history mode with ``history_step_days=1`` evaluates every account on every day it
  is active, so the row ``(v, D)`` exists.

The graphs mix exact-midnight and random-second timestamps (the latter exercise the window's
left edge); only accounts whose last incoming (outgoing) edge is at a midnight are compared.
Degree-in/out are compared with ``in_count_{w}d`` / ``out_count_{w}d`` (every edge here is a
wire between two real accounts, so each is one money leg).

Not compared here: GFP's scatter-gather and temporal-cycle histograms count, per *edge*, the
pattern instances the edge takes part in (by size), while ours count per *account and date*
(most distinct middles; cycles through the account dated by their last hop, with
``scatter_gather_middles`` a maximum over recipients). No pairing of edge times and evaluation
dates makes the two count the same set; those features are checked against brute-force
references in ``test_features_patterns.py`` instead.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

# Importing snapml switches the process to flush-subnormals-to-zero, which changes float
# behaviour for every later test in the session: this check runs in the slow tier only.
pytestmark = pytest.mark.slow
snapml = pytest.importorskip("snapml", reason="snapml (optional bench dependency) is not installed")

from test_features_helpers import account_frame, tx_frame  # noqa: E402

from features import FeatureConfig, compute_features  # noqa: E402

DAY_S = 86_400
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
N_ACCOUNTS, N_EDGES, N_DAYS = 30, 200, 20
WINDOWS = (3, 7)
BINS = list(range(2, 64))  # unit-width bins: the bin index gives the pattern size exactly


def random_graph(seed: int) -> np.ndarray:
    """``[edge_id, src, dst, ts_seconds]`` sorted by time: half the edges at exact midnights."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, N_ACCOUNTS, N_EDGES)
    dst = (src + rng.integers(1, N_ACCOUNTS, N_EDGES)) % N_ACCOUNTS  # no self loops
    day = rng.integers(1, N_DAYS + 1, N_EDGES)
    second = np.where(rng.random(N_EDGES) < 0.5, 0, rng.integers(1, DAY_S, N_EDGES))
    ts = int(START.timestamp()) + day * DAY_S + second
    order = np.argsort(ts, kind="stable")
    return np.column_stack([np.arange(N_EDGES), src[order], dst[order], ts[order]]).astype(np.float64)


def gfp_sizes(edges: np.ndarray, window_days: int) -> np.ndarray:
    """GFP fan-in, fan-out, degree-in, degree-out histograms, shape (edges, 4, len(BINS))."""
    gfp = snapml.GraphFeaturePreprocessor()
    tw = window_days * DAY_S
    params = {"num_threads": 1, "time_window": -1, "vertex_stats": False}
    for pattern in ("fan", "degree"):
        params |= {pattern: True, f"{pattern}_tw": tw, f"{pattern}_bins": BINS}
    for pattern in ("scatter-gather", "temp-cycle", "lc-cycle"):
        params[pattern] = False
    gfp.set_params(params)
    out = gfp.transform(edges)
    return out[:, edges.shape[1] :].reshape(len(edges), 4, len(BINS))


def size_from_histogram(hist: np.ndarray) -> int:
    """Pattern size anchored at the last edge: the one non-zero bin, or 1 when none (< 2)."""
    nonzero = np.flatnonzero(hist)
    assert len(nonzero) <= 1, f"last edge in patterns of several sizes: {hist}"
    return BINS[nonzero[0]] if len(nonzero) else 1


def gfp_expectations(edges: np.ndarray, window_days: int) -> list[dict]:
    """One row per (account, direction) whose last edge in that direction is at a midnight."""
    hist = gfp_sizes(edges, window_days)
    rows = []
    for direction, col, fan_i, deg_i in (("in", 2, 0, 2), ("out", 1, 1, 3)):
        for account in range(N_ACCOUNTS):
            mine = np.flatnonzero(edges[:, col] == account)
            if len(mine) == 0:
                continue
            last_t = edges[mine, 3].max()
            if last_t % DAY_S:
                continue  # not an exact midnight: the windows cannot be aligned
            e = mine[edges[mine, 3] == last_t][0]
            rows.append(
                {
                    "account_id": f"a{account:02d}",
                    "eval_date": (
                        dt.datetime.fromtimestamp(int(last_t), dt.UTC) - dt.timedelta(days=1)
                    ).date(),
                    "direction": direction,
                    "gfp_fan": size_from_histogram(hist[e, fan_i]),
                    "gfp_degree": size_from_histogram(hist[e, deg_i]),
                }
            )
    return rows


def ours(edges: np.ndarray) -> pl.DataFrame:
    txs = [
        {
            "timestamp": START + dt.timedelta(seconds=int(t) - int(START.timestamp())),
            "src": f"a{int(s):02d}",
            "dst": f"a{int(d):02d}",
        }
        for _, s, d, t in edges
    ]
    accounts = account_frame([{"id": f"a{i:02d}"} for i in range(N_ACCOUNTS)])
    config = FeatureConfig(windows_days=WINDOWS, history_step_days=1)
    return compute_features(tx_frame(txs), accounts, config, as_of=None)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fan_and_degree_agree_with_gfp(seed: int) -> None:
    edges = random_graph(seed)
    features = ours(edges)
    compared, patterns = 0, 0
    for w in WINDOWS:
        for row in gfp_expectations(edges, w):
            d = row["direction"]
            got = features.filter(
                (pl.col("account_id") == row["account_id"]) & (pl.col("eval_date") == row["eval_date"])
            )
            assert got.height == 1, row
            where = f"{row['account_id']} on {row['eval_date']}, {w}-day window, {d}"
            assert got[f"fan_{d}_degree_{w}d"].item() == row["gfp_fan"], where
            assert got[f"{d}_count_{w}d"].item() == row["gfp_degree"], where
            compared += 1
            patterns += row["gfp_fan"] >= 2  # GFP found a fan pattern (not the size-1 default)
    assert compared >= 40  # enough accounts have their last edge at a midnight
    assert patterns >= 20
