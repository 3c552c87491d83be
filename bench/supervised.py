"""Supervised mode: transaction-level minority-class F1, ours vs Snap ML GFP + the same GBM.

As in the IBM AMLworld paper (Altman et al., 2023): every transaction is classified laundering /
not, the split is by time (train on the earlier days, test on the later ones), and the score is
the F1 of the laundering class on the test period. Every model is
:class:`detectors.supervised.GradientBoostedDetector` (scikit-learn HistGradientBoostingClassifier,
the same hyper-parameters; the paper's GFP pipeline used LightGBM/XGBoost, also histogram
gradient boosting), threshold picked on the last 20% of the training period, on the same
transactions and the same 11 transaction attributes (log amount, round amount, hour, weekday,
cross-border, channel). They differ in what describes the graph around the transaction:

* ``ours``: the transaction's own graph features (``features.edges``, windows 1, 7 and 30
  days: sender/receiver flows and fan-in/out, pair and reverse-pair counts, pass-through,
  cycle-closing and scatter-gather counts) over the transactions strictly before it; variants
  add the sender's and receiver's account features (``features.compute_features`` as of the
  previous day, history mode with daily steps) or let the edge features see the whole day
  (``horizon="day"``, the information GFP's daily stream has);
* ``gfp``: Snap ML ``GraphFeaturePreprocessor`` with fan, degree, scatter-gather and
  temporal-cycle patterns over 7-day windows and vertex statistics of the amount, fed the
  time-sorted edges (each CASH leg its own vertex) in one of two ways: ``daily`` (one
  ``transform`` per day on one preprocessor, which keeps the edges: a transaction sees every
  earlier day and its whole own day) or ``single pass`` (one ``transform`` over everything: an
  edge's patterns then include edges up to 7 days *later* and its vertex statistics the whole
  period, i.e. look-ahead). Each runs in a forked child stopped after ``--gfp-timeout`` s.

Usage::

    python bench/supervised.py --seeds 101 102   # 1,000 accounts, 30,000 transactions, 30 days
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import tempfile
import time
from pathlib import Path

import bench_gfp  # bench/ is sys.path[0] when this script runs
import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

import synthetic_data
from detectors.supervised import EDGE_WINDOWS, GradientBoostedDetector, edge_features, time_split
from features import FeatureConfig, compute_features
from features.edges import edge_features as graph_edge_features
from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import ingest
from moneytrail.schemas import CASH_ACCOUNT

TX_ATTRIBUTES = ("log_amount", "round_100", "hour", "weekday", "cross_border")


def gfp_params(window_days: int, threads: int) -> dict:
    """``bench/bench_gfp.py``'s pattern settings plus vertex statistics of the amount, as in the
    AMLworld GFP setup."""
    return bench_gfp.gfp_params(window_days, threads) | {"vertex_stats": True, "vertex_stats_cols": [4]}


def gfp_edges(tx: pl.DataFrame) -> np.ndarray:
    """``[edge, src, dst, ts_s, amount]`` for GFP (``tx`` sorted by time)."""
    ids = pl.concat([tx["src_account"], tx["dst_account"]]).unique().sort()
    code = pl.DataFrame({"account": ids, "code": np.arange(ids.len(), dtype=np.float64)})
    # The CASH pseudo-account is no counterparty: each cash leg gets a vertex of its own, or it
    # becomes one hub joining every cash transaction (and GFP's pattern search never ends).
    own = pl.int_range(pl.len()).cast(pl.Float64) + ids.len()

    def vertex(column: str) -> pl.Expr:
        mapped = pl.col(column).replace_strict(code["account"], code["code"])
        return pl.when(pl.col(column) == CASH_ACCOUNT).then(own).otherwise(mapped).alias(column[:3])

    edges = tx.select(
        pl.int_range(pl.len()).cast(pl.Float64).alias("edge"),
        vertex("src_account"),
        vertex("dst_account"),
        (pl.col("timestamp").dt.epoch("s")).cast(pl.Float64).alias("ts"),
        pl.col("amount").cast(pl.Float64),
    ).to_numpy()
    return np.ascontiguousarray(edges)


def _gfp_child(edges: np.ndarray, params: dict, daily: bool, out: Path) -> None:
    from snapml import GraphFeaturePreprocessor  # noqa: PLC0415 - optional bench dependency

    gfp = GraphFeaturePreprocessor()
    gfp.set_params(params)
    if not daily:
        np.save(out, gfp.transform(edges))
        return
    # ``transform`` keeps the edges it is given: one call per day sees every earlier day and
    # that whole day (what a nightly batch has), never a later day.
    day = (edges[:, 3] // 86_400).astype(np.int64)
    cuts = np.flatnonzero(np.diff(day)) + 1
    np.save(out, np.vstack([gfp.transform(np.ascontiguousarray(part)) for part in np.split(edges, cuts)]))


def gfp_features(
    tx: pl.DataFrame, *, daily: bool, window_days: int, threads: int, timeout: float, work: Path
) -> pl.DataFrame | None:
    """GFP pattern and vertex-statistic columns per transaction, or None after ``timeout`` s.

    ``daily``: stream the edges one day at a time (no look-ahead past the transaction's day);
    else one ``transform`` over all edges (an edge's patterns then include edges up to
    ``window_days`` later, its vertex statistics every edge of the period).
    """
    params = gfp_params(window_days, threads)
    out = work / "gfp.npy"
    child = mp.get_context("fork").Process(target=_gfp_child, args=(gfp_edges(tx), params, daily, out))
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    if child.exitcode != 0:
        raise RuntimeError(f"GFP child failed with exit code {child.exitcode}")
    array = np.load(out)
    return pl.DataFrame(array[:, 5:], schema=[f"gfp_{i}" for i in range(array.shape[1] - 5)])


def gfp_lookahead_check(n_edges: int = 4_000, n_accounts: int = 300, days: int = 30, seed: int = 1) -> dict:
    """Does GFP ``transform`` look ahead? Rows of the first half of random time-sorted edges whose
    features differ when the second half is in the same ``transform``."""
    from snapml import GraphFeaturePreprocessor  # noqa: PLC0415 - optional bench dependency

    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_accounts, n_edges)
    dst = (src + rng.integers(1, n_accounts, n_edges)) % n_accounts
    ts = np.sort(rng.integers(0, days * 86_400, n_edges))
    edges = np.column_stack([np.arange(n_edges), src, dst, ts, rng.lognormal(6, 1.5, n_edges)]).astype(
        np.float64
    )
    half = n_edges // 2

    def changed(stats: bool) -> int:
        def transform(part: np.ndarray) -> np.ndarray:
            gfp = GraphFeaturePreprocessor()
            gfp.set_params(gfp_params(7, 2) | {"vertex_stats": stats})
            return gfp.transform(np.ascontiguousarray(part))

        full, first = transform(edges), transform(edges[:half])
        return int((np.abs(full[:half, 5:] - first[:, 5:]).sum(axis=1) > 1e-9).sum())

    return {
        "first_half_edges": half,
        "rows changed by later edges, patterns only": changed(False),
        "rows changed, patterns + vertex statistics": changed(True),
    }


def score(
    name: str, train: pl.DataFrame, test: pl.DataFrame, columns: list[str], *, seed: int, max_iter: int
) -> dict:
    """Fit on ``train`` and report minority-class F1 (and friends) on ``test``."""
    started = time.perf_counter()
    model = GradientBoostedDetector(max_iter=max_iter, random_state=seed).fit(
        train.select(columns), train["y"].to_numpy()
    )
    proba = model.suspicion_score(test.select(columns))
    predicted = proba >= model.threshold_
    y = test["y"].to_numpy()
    return {
        "model": name,
        "features": len(columns),
        "f1": f1_score(y, predicted),
        "precision": precision_score(y, predicted, zero_division=0),
        "recall": recall_score(y, predicted),
        "average_precision": average_precision_score(y, proba),
        "seconds": time.perf_counter() - started,
    }


def run(seed: int, size: dict, args: argparse.Namespace, work: Path) -> tuple[pl.DataFrame, dict]:
    """Generate, ingest, build both feature sets, fit every model; return the results table."""
    generated, lake = work / "generated", work / "lake"
    synthetic_data.generate("demo", seed, generated, overrides=size)
    ingest(generated, "canonical", lake, CurrencyConfig())
    transactions = lk.scan_transactions(lake)
    laundering = lk.read_labels(lake)["transactions"].select("tx_id").unique()
    timings = {}
    started = time.perf_counter()
    accounts = compute_features(transactions, lk.scan_accounts(lake), FeatureConfig(history_step_days=1))
    ours = edge_features(transactions, accounts)
    timings["ours_features_s"] = round(time.perf_counter() - started, 1)
    day = graph_edge_features(transactions, EDGE_WINDOWS, horizon="day")
    ours = ours.join(day.rename(lambda c: c if c == "tx_id" else f"day_{c}"), on="tx_id")
    print(f"seed {seed}: our features {ours.shape} in {timings['ours_features_s']:.0f} s", flush=True)
    tx = transactions.select("tx_id", "timestamp", "src_account", "dst_account", "amount").collect()
    tx = tx.join(ours.select("tx_id"), on="tx_id").sort("timestamp", "tx_id")
    gfp_sets = {}
    modes = [(m, m == "daily") for m in ("daily", "single pass") if m.split()[0] in args.gfp_modes]
    for mode, daily in modes if args.gfp_timeout > 0 else ():
        key = f"gfp_{mode.replace(' ', '_')}_s"
        started = time.perf_counter()
        gfp = gfp_features(tx, daily=daily, window_days=7, threads=2, timeout=args.gfp_timeout, work=work)
        timings[key] = round(time.perf_counter() - started, 1)
        shape = None if gfp is None else gfp.shape
        print(f"seed {seed}: GFP {mode} {shape} in {timings[key]:.0f} s", flush=True)
        if gfp is not None:
            gfp_sets[mode] = gfp.rename(lambda c, m=mode: f"{c}_{m[0]}")
    frame = ours.with_columns(pl.col("tx_id").is_in(laundering["tx_id"].implode()).cast(pl.Int8).alias("y"))
    frame = pl.concat(
        [frame.sort("tx_id")]
        + [
            pl.concat([tx.select("tx_id"), g], how="horizontal").sort("tx_id").drop("tx_id")
            for g in gfp_sets.values()
        ],
        how="horizontal",
    )
    frame = frame.sort("timestamp", "tx_id")
    train, test, cut = time_split(frame, args.test_share)
    attributes = [c for c in ours.columns if c in TX_ATTRIBUTES or c.startswith("channel_")]
    account_side = [c for c in ours.columns if c.startswith(("src_", "dst_"))]
    graph = [c for c in ours.columns if c.startswith("edge_")]
    models = {
        "ours: tx attributes + edge features": attributes + graph,
        "ours, day horizon (edge features see the whole day)": attributes
        + [c for c in ours.columns if c.startswith("day_")],
        "ours + account features (previous day)": attributes + graph + account_side,
        "tx attributes + account features (previous day)": attributes + account_side,
        "tx attributes only": attributes,
    }
    for mode, gfp in gfp_sets.items():
        lookahead = "no day after the transaction's" if mode == "daily" else "sees later edges"
        models[f"gfp {mode} ({lookahead}): tx attributes + Snap ML GFP"] = attributes + gfp.columns
    results = pl.DataFrame(
        [score(name, train, test, cols, seed=seed, max_iter=args.max_iter) for name, cols in models.items()]
    ).with_columns(pl.lit(seed).alias("seed"))
    info = timings | {
        "seed": seed,
        "transactions": frame.height,
        "train": train.height,
        "test": test.height,
        "test_from": str(cut),
        "train_positives": int(train["y"].sum()),
        "test_positives": int(test["y"].sum()),
    }
    return results, info


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102])
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--transactions", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--instances", type=int, default=3, help="instances per typology")
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--max-iter", type=int, default=100, help="boosting iterations of every model")
    parser.add_argument(
        "--gfp-timeout", type=float, default=900.0, help="seconds before GFP is stopped (0: no GFP)"
    )
    parser.add_argument("--gfp-modes", nargs="*", default=["daily", "single"], choices=["daily", "single"])
    parser.add_argument("--gfp-lookahead-check", action="store_true", help="only run gfp_lookahead_check")
    args = parser.parse_args()
    if args.gfp_lookahead_check:
        print(gfp_lookahead_check())
        return
    size = {
        "n_accounts": args.accounts,
        "n_transactions": args.transactions,
        "days": args.days,
        "instances_per_typology": args.instances,
    }
    tables = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="moneytrail-supervised-") as work:
            results, info = run(seed, size, args, Path(work))
        print(f"{platform.machine()}, Python {platform.python_version()}: {info}", flush=True)
        tables.append(results)
    with pl.Config(tbl_rows=40, tbl_width_chars=220, fmt_str_lengths=80, float_precision=3):
        print(pl.concat(tables).select("seed", pl.exclude("seed")))


if __name__ == "__main__":
    main()
