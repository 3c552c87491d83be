"""Nightly features from incremental inputs (trailing-window partitions + history digest) against
a read of the whole lake, on one generated data set: rows fed to the feature engine, seconds,
and a check that both give the same table.

``python bench/incremental_inputs.py [--preset demo] [--seed 7] [--work DIR]``; reuses DIR's lake.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

import features
import synthetic_data
from flows import steps
from moneytrail import lake as lk
from moneytrail.config import Config
from moneytrail.ingest import ingest


def timed_features(lake: Path, as_of, config: Config, cache: Path | None) -> tuple[pl.DataFrame, float, int]:
    """Features for ``as_of``; seconds for resolving, loading and computing; rows fed in."""
    started = time.perf_counter()
    inputs = steps.resolve_inputs(lake, as_of, config.features, cache)
    transactions = inputs.transactions().collect()
    table = features.compute_features(
        transactions.lazy(), lk.scan_accounts(lake), config.features, as_of=as_of
    )
    return table, time.perf_counter() - started, transactions.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("data/bench-incremental"))
    args = parser.parse_args()
    config, lake, cache = Config(), args.work / "lake", args.work / "cache"
    if not lake.exists():
        synthetic_data.generate(args.preset, args.seed, args.work / "generated")
        ingest(args.work / "generated", "canonical", lake, config.currency)
    shutil.rmtree(cache, ignore_errors=True)
    days = lk.lake_partitions(lake)
    print(f"{args.preset} seed {args.seed}: {len(days)} days; load average {os.getloadavg()[0]:.1f}")
    _, cold, _ = timed_features(lake, days[-2], config, cache)
    print(f"incremental {days[-2]}, digest built from scratch: {cold:.2f} s")
    for attempt in (1, 2):  # 1: the digest folds in one new partition; 2: the digest is cached
        full, full_s, full_rows = timed_features(lake, days[-1], config, None)
        inc, inc_s, inc_rows = timed_features(lake, days[-1], config, cache)
        assert_frame_equal(full, inc)
        print(
            f"{days[-1]} attempt {attempt}: whole lake {full_s:.2f} s ({full_rows:,} rows) | "
            f"incremental {inc_s:.2f} s ({inc_rows:,} rows) | whole/incremental {full_s / inc_s:.2f} | "
            "same table"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
