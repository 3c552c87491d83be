"""Unsupervised detection on AMLSim-format data, read through the ingest adapter, no label used.

Simulates an AMLSim-style output folder (``synthetic_data.amlsim_like``, independent of our own
generator), ingests it with ``moneytrail.ingest`` (format ``amlsim``), computes our features
over the whole history and scores every account with

* ``ensemble``: :func:`detectors.ensemble.account_scores` with :class:`detectors.PeerGroupEnsemble`
  (IF + LOF + one-class SVM + robust covariance, rank-combined within peer groups, an account's
  highest row) rank-combined with the counterparty context (bursts of short-lived relationships,
  :mod:`detectors.counterparties`);
* ``ensemble_rows``: the same ensemble's row scores alone (an account's highest row);
* ``iforest`` / ``iforest_rows``: the same two with :class:`detectors.PeerGroupIsolationForest`;
* ``context``: the two burst signals alone (rank mean);
* ``baseline``: a plain scikit-learn ``IsolationForest`` on simple per-account aggregates
  (count / sum / mean / max of amounts in and out, distinct counterparties in and out).

Labels (SAR alert members) are read only to compute account-level average precision and ROC
AUC. Usage::

    python bench/amlsim_eval.py [--seeds 1 2 3] [--accounts 5000] [--days 120]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors import PeerGroupEnsemble, PeerGroupIsolationForest
from detectors.counterparties import BURST_COLUMNS, relationship_bursts
from detectors.ensemble import account_scores, mean_percentile
from features import FeatureConfig, compute_features
from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import ingest
from synthetic_data.amlsim_like import AmlSimParams, simulate


def simple_aggregates(tx: pl.LazyFrame) -> pl.DataFrame:
    """Per account over the whole history: count/sum/mean/max in and out, distinct counterparties."""
    stats = [
        pl.len().alias("count"),
        pl.col("amount").sum().alias("sum"),
        pl.col("amount").mean().alias("mean"),
        pl.col("amount").max().alias("max"),
    ]
    out = tx.group_by(pl.col("src_account").alias("account_id")).agg(
        *[s.name.prefix("out_") for s in stats], pl.col("dst_account").n_unique().alias("out_counterparties")
    )
    inn = tx.group_by(pl.col("dst_account").alias("account_id")).agg(
        *[s.name.prefix("in_") for s in stats], pl.col("src_account").n_unique().alias("in_counterparties")
    )
    return out.join(inn, on="account_id", how="full", coalesce=True).fill_null(0).sort("account_id").collect()


def metrics(scores: pl.DataFrame, positives: set[str]) -> tuple[float, float]:
    """Account-level (average precision, ROC AUC)."""
    y = scores["account_id"].is_in(list(positives)).to_numpy()
    s = scores["score"].to_numpy()
    return float(average_precision_score(y, s)), float(roc_auc_score(y, s))


def evaluate_seed(seed: int, params: AmlSimParams, work: Path) -> dict[str, tuple[float, float, float]]:
    """(AP, AUC, seconds) per method for one simulated folder (``*_rows`` share their method's time)."""
    rng = np.random.default_rng(seed)
    folder, lake = work / "amlsim", work / "lake"
    simulate(folder, params, rng)
    ingest(folder, "amlsim", lake, CurrencyConfig())
    tx, accounts = lk.scan_transactions(lake), lk.scan_accounts(lake)
    labels = lk.read_labels(lake)
    positives = set(labels["instance_accounts"]["account_id"].to_list())
    features = compute_features(tx, accounts, FeatureConfig()).sort(["account_id", "eval_date"])
    aggregates = simple_aggregates(tx)
    base_rate = aggregates["account_id"].is_in(list(positives)).mean()
    print(f"seed {seed}: {aggregates.height} accounts with transactions, AP base rate {base_rate:.3f}")

    def baseline() -> pl.DataFrame:
        X = aggregates.drop("account_id").to_numpy().astype(float)
        model = IsolationForest(n_estimators=200, random_state=seed).fit(X)
        return aggregates.select("account_id").with_columns(score=-model.score_samples(X))

    def combined(model) -> Callable[[], dict[str, pl.DataFrame]]:
        def run() -> dict[str, pl.DataFrame]:
            scores = account_scores(features, tx, model)
            return {"": scores, "_rows": scores.select("account_id", score="anomaly")}

        return run

    def context() -> pl.DataFrame:
        bursts = relationship_bursts(tx)
        return bursts.select("account_id", score=mean_percentile(BURST_COLUMNS))

    methods = {
        "ensemble": combined(PeerGroupEnsemble(random_state=seed)),
        "iforest": combined(PeerGroupIsolationForest(random_state=seed)),
        "context": lambda: {"": context()},
        "baseline": lambda: {"": baseline()},
    }
    out = {}
    for name, run in methods.items():
        started = time.perf_counter()
        results = run()
        elapsed = time.perf_counter() - started
        # accounts with no transaction at all are neither scored nor counted
        for suffix, scores in results.items():
            out[name + suffix] = (*metrics(scores, positives), elapsed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()
    params = AmlSimParams(n_accounts=args.accounts, days=args.days)
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="moneytrail-amlsim-") as work:
            for name, (ap, auc, seconds) in evaluate_seed(seed, params, Path(work)).items():
                rows.append({"seed": seed, "method": name, "ap": ap, "auc": auc, "seconds": seconds})
                print(f"seed {seed} {name:13s} AP {ap:.3f}  AUC {auc:.3f}  ({seconds:.1f} s)", flush=True)
    table = pl.DataFrame(rows)
    summary = table.group_by("method", maintain_order=True).agg(
        pl.col("ap").mean().alias("mean_ap"), pl.col("auc").mean().alias("mean_auc")
    )
    print(summary)


if __name__ == "__main__":
    main()
