"""Benchmark the scale-out feature step: 1 vs 2 Dask workers, and the per-shard costs behind the
projection in docs/BENCHMARKS.md.

Usage::

    .venv/bin/python bench/bench_scaleout.py --data /tmp/gen_10m --mode nightly --workers 1 2

For each worker count ``N`` a fresh ``distributed.LocalCluster`` of ``N`` single-threaded worker
processes computes ``N`` account shards (:mod:`features.shards`), one per worker, and the driver
reduces them; a fresh 1-worker cluster first runs the unsharded ``compute_features`` as the peer.
Each task reports its own wall and CPU seconds and its worker's peak RSS. Polars and DuckDB
use every core inside each worker, so on a 2-core machine two workers compete for the same
cores: compare CPU seconds and per-shard costs, not only wall time. Prints one JSON line per
configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import time
from pathlib import Path

import polars as pl
from distributed import Client, LocalCluster

from features import FeatureConfig, compute_features, shards


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _inputs(data: Path) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    return pl.scan_parquet(data / "transactions.parquet"), pl.scan_parquet(data / "accounts.parquet")


def unsharded(data: str, as_of: dt.date | None) -> dict:
    """``compute_features`` over everything (the single-process peer), in a worker."""
    started, cpu = time.perf_counter(), _cpu()
    tx, accounts = _inputs(Path(data))
    rows = compute_features(tx, accounts, FeatureConfig(), as_of).height
    return _stats(started, cpu, rows=rows, transactions_read=tx.select(pl.len()).collect().item())


def one_shard(data: str, as_of: dt.date | None, roots: pl.DataFrame, n: int, *, k: int, out: str) -> dict:
    """Shard ``k`` of ``n`` written to ``out``, with its costs."""
    started, cpu = time.perf_counter(), _cpu()
    tx, accounts = _inputs(Path(data))
    config = FeatureConfig()
    read = shards.shard_transactions(tx, roots, n, k, config=config, as_of=as_of).collect()
    table = shards.shard_features(read.lazy(), accounts, config, as_of, roots=roots, n=n, shard=k)
    table.write_parquet(out)
    return _stats(started, cpu, rows=table.height, transactions_read=read.height, shard=k)


def _stats(started: float, cpu: float, **extra: int) -> dict:
    return {
        **extra,
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(_cpu() - cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _cluster(workers: int) -> LocalCluster:
    return LocalCluster(
        n_workers=workers, threads_per_worker=1, dashboard_address=None, memory_limit=None, silence_logs=40
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with transactions/accounts.parquet")
    parser.add_argument("--mode", choices=["nightly", "history"], default="nightly")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/bench_scaleout"))
    args = parser.parse_args()
    tx, accounts = _inputs(args.data)
    last = tx.select(pl.col("timestamp").max()).collect().item().date()
    as_of = last if args.mode == "nightly" else None
    args.scratch.mkdir(parents=True, exist_ok=True)
    header = {
        "data": str(args.data),
        "mode": args.mode,
        "transactions": tx.select(pl.len()).collect().item(),
        "as_of": str(as_of),
        "load_before": os.getloadavg()[0],
    }
    print(json.dumps(header), flush=True)

    with _cluster(1) as cluster, Client(cluster) as client:
        started = time.perf_counter()
        peer = client.submit(unsharded, str(args.data), as_of).result()
        print(
            json.dumps({"run": "unsharded", "wall": round(time.perf_counter() - started, 2), **peer}),
            flush=True,
        )

    for n in args.workers:
        started, cpu = time.perf_counter(), _cpu()
        roots = shards.component_roots(accounts, FeatureConfig())
        plan_seconds = round(time.perf_counter() - started, 2)
        with _cluster(n) as cluster, Client(cluster) as client:
            begun = time.perf_counter()
            outs = [str(args.scratch / f"{args.mode}-{n}-{k}.parquet") for k in range(n)]
            futures = [
                client.submit(one_shard, str(args.data), as_of, roots, n, k=k, out=outs[k], pure=False)
                for k in range(n)
            ]
            per_shard = client.gather(futures)
            map_wall = round(time.perf_counter() - begun, 2)
        begun = time.perf_counter()
        table = shards.reduce_shards([pl.read_parquet(o) for o in outs], FeatureConfig())
        reduce_wall = round(time.perf_counter() - begun, 2)
        row = {
            "run": f"{n} workers",
            "wall": round(time.perf_counter() - started, 2),
            "plan_seconds": plan_seconds,
            "map_wall": map_wall,
            "reduce_seconds": reduce_wall,
            "driver_cpu_seconds": round(_cpu() - cpu, 2),
            "rows": table.height,
            "load_after": os.getloadavg()[0],
            "shards": per_shard,
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
