"""Which anomaly model should ``score_accounts`` use? Same features, same run, each ``anomaly_method``.

Generates a demo data set (a seed the rules were not tuned on), ingests it, computes the
features of the last day (a nightly run) and times ``detectors.score_accounts`` with every
``DetectorConfig.anomaly_method``, reporting the instance ranking AUC of the combined score and
of the anomaly percentile alone; then the same for the counterparty context
(:func:`detectors.counterparties.relationship_bursts` over the whole lake) alone and
rank-combined with each method's anomaly percentile (the account-level combination
:func:`detectors.ensemble.account_scores` makes). Usage::

    python bench/anomaly_methods.py [--preset demo] [--seed 101]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import typing
from pathlib import Path

import numpy as np
import polars as pl

import synthetic_data
from detectors import DetectorConfig, score_accounts
from detectors.counterparties import BURST_COLUMNS, relationship_bursts
from detectors.ensemble import mean_percentile
from evaluation.metrics import instance_ranking_auc
from flows import steps
from moneytrail.config import Config
from moneytrail.ingest import ingest
from moneytrail.lake import lake_partitions, read_labels, scan_transactions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--seed", type=int, default=101)
    args = parser.parse_args()
    config = Config()
    methods = typing.get_args(DetectorConfig.model_fields["anomaly_method"].annotation)
    with tempfile.TemporaryDirectory(prefix="moneytrail-anomaly-") as work:
        generated, lake = Path(work) / "generated", Path(work) / "lake"
        synthetic_data.generate(args.preset, args.seed, generated)
        ingest(generated, "canonical", lake, config.currency)
        as_of = max(lake_partitions(lake))
        features = pl.read_parquet(steps.build_features(lake, Path(work), as_of, config.features))
        labels = read_labels(generated)
        bursts = relationship_bursts(scan_transactions(lake))
    context = bursts.select("account_id", score=mean_percentile(BURST_COLUMNS))
    print(f"counterparty context alone: instance AUC {instance_ranking_auc(context, labels):.3f}")
    for method in methods:
        detector_config = config.detectors.model_copy(update={"anomaly_method": method})
        started = time.perf_counter()
        scores = score_accounts(features, detector_config, np.random.default_rng(args.seed))
        seconds = time.perf_counter() - started
        combined = steps.best_score_per_account(scores, "bench")
        anomaly = scores.group_by("account_id").agg(pl.col("score_anomaly").max().alias("score"))
        print(
            f"{method:16s} rows {features.height:6d}  score_accounts {seconds:6.1f} s  "
            f"instance AUC combined {instance_ranking_auc(combined, labels):.3f}  "
            f"anomaly alone {instance_ranking_auc(anomaly, labels):.3f}  "
            f"anomaly + context {instance_ranking_auc(_with_context(anomaly, bursts), labels):.3f}",
            flush=True,
        )


def _with_context(anomaly: pl.DataFrame, bursts: pl.DataFrame) -> pl.DataFrame:
    """Mean percentile of the anomaly score and the two burst signals, per account."""
    return (
        anomaly.rename({"score": "anomaly"})
        .join(bursts, on="account_id", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in BURST_COLUMNS)
        .select("account_id", score=mean_percentile(("anomaly", *BURST_COLUMNS)))
    )


if __name__ == "__main__":
    main()
