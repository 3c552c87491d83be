"""Supervised mode: transaction-level minority-class F1, ours vs Snap ML GFP + the same GBM.

As in the IBM AMLworld paper (Altman et al., 2023): every transaction is classified laundering /
not, the split is by time (train on the earlier days, test on the later ones), and the score is
the F1 of the laundering class on the test period. Both models are
:class:`detectors.supervised.GradientBoostedDetector` (HistGradientBoostingClassifier, threshold
picked on the last 20% of the training period) and share the transaction attributes
(log amount, round amount, hour, weekday, cross-border, channel); they differ in what describes
the graph around the transaction:

* ``ours``: sender and receiver account features from ``features.compute_features`` as of the
  previous day (history mode with daily steps, so no feature sees the transaction's own day);
* ``gfp``: Snap ML ``GraphFeaturePreprocessor.transform`` (fresh preprocessor, one pass over
  the time-sorted edges; ``fit_transform`` double counts) with fan, degree, scatter-gather and
  temporal-cycle patterns over 7-day windows and vertex statistics, as ``bench/bench_gfp.py``.

Usage::

    python bench/supervised.py [--preset demo] [--seed 101] [--test-share 0.3]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
from bench_gfp import gfp_params
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

import synthetic_data
from detectors.supervised import GradientBoostedDetector, edge_features, time_split
from features import FeatureConfig, compute_features
from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import ingest
from moneytrail.schemas import CASH_ACCOUNT

TX_ATTRIBUTES = ("log_amount", "round_100", "hour", "weekday", "cross_border")


def gfp_features(tx: pl.DataFrame, window_days: int, threads: int) -> pl.DataFrame:
    """GFP pattern and vertex-statistic columns per transaction (``tx`` sorted by time)."""
    from snapml import GraphFeaturePreprocessor  # noqa: PLC0415 - optional bench dependency

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
    params = gfp_params(window_days, threads) | {"vertex_stats": True, "vertex_stats_cols": [4]}
    gfp = GraphFeaturePreprocessor()
    gfp.set_params(params)
    out = gfp.transform(np.ascontiguousarray(edges))
    return pl.DataFrame(out[:, 5:], schema=[f"gfp_{i}" for i in range(out.shape[1] - 5)])


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


def run(preset: str, seed: int, test_share: float, max_iter: int, work: Path) -> tuple[pl.DataFrame, dict]:
    """Generate, ingest, build both feature sets, fit both models; return the results table."""
    generated, lake = work / "generated", work / "lake"
    synthetic_data.generate(preset, seed, generated)
    ingest(generated, "canonical", lake, CurrencyConfig())
    transactions = lk.scan_transactions(lake)
    laundering = lk.read_labels(lake)["transactions"].select("tx_id").unique()
    timings = {}
    started = time.perf_counter()
    accounts = compute_features(transactions, lk.scan_accounts(lake), FeatureConfig(history_step_days=1))
    ours = edge_features(transactions, accounts)
    timings["ours_features_s"] = time.perf_counter() - started
    print(f"our edge features: {ours.shape} in {timings['ours_features_s']:.0f} s", flush=True)
    tx = transactions.select("tx_id", "timestamp", "src_account", "dst_account", "amount").collect()
    tx = tx.join(ours.select("tx_id"), on="tx_id").sort("timestamp", "tx_id")
    started = time.perf_counter()
    gfp = gfp_features(tx, window_days=7, threads=2)
    timings["gfp_features_s"] = time.perf_counter() - started
    print(f"GFP features: {gfp.shape} in {timings['gfp_features_s']:.0f} s", flush=True)
    frame = (
        ours.join(pl.concat([tx.select("tx_id"), gfp], how="horizontal"), on="tx_id", maintain_order="left")
        .with_columns(pl.col("tx_id").is_in(laundering["tx_id"].implode()).cast(pl.Int8).alias("y"))
        .sort("timestamp", "tx_id")
    )
    train, test, cut = time_split(frame, test_share)
    attributes = [c for c in ours.columns if c in TX_ATTRIBUTES or c.startswith("channel_")]
    account_side = [c for c in ours.columns if c.startswith(("src_", "dst_"))]
    results = pl.DataFrame(
        [
            score(
                "ours (tx attributes + account features as of previous day)",
                train,
                test,
                attributes + account_side,
                seed=seed,
                max_iter=max_iter,
            ),
            score(
                "gfp (tx attributes + Snap ML GFP)",
                train,
                test,
                attributes + gfp.columns,
                seed=seed,
                max_iter=max_iter,
            ),
            score("tx attributes only", train, test, attributes, seed=seed, max_iter=max_iter),
        ]
    )
    info = timings | {
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
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--max-iter", type=int, default=300, help="boosting iterations of both models")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moneytrail-supervised-") as work:
        results, info = run(args.preset, args.seed, args.test_share, args.max_iter, Path(work))
    print(f"{platform.machine()}, Python {platform.python_version()}: {info}")
    with pl.Config(tbl_rows=10, tbl_width_chars=200, fmt_str_lengths=80):
        print(results)


if __name__ == "__main__":
    main()
