"""Benchmark ``features.compute_features`` against Snap ML's GraphFeaturePreprocessor (GFP).

Usage::

    .venv/bin/python bench/bench_gfp.py                       # 200k edges / 10k accounts / 365 days
    .venv/bin/python bench/bench_gfp.py --edges 100000 --accounts 5000 --graphs uniform

Both engines get the same random edges in the same run (``snapml`` is an optional bench
dependency: ``pip install snapml``). Per graph (``uniform``: accounts drawn uniformly;
``zipf``: Zipf-skewed account popularity, folded into the account range and shuffled, as in
``bench_features.py``):

* GFP ``transform`` (fresh preprocessor) on ``[edge_id, src, dst, timestamp_s, amount]`` (sorted by time) with
  fan-in/out, degree-in/out, scatter-gather and temporal-cycle patterns, every window
  ``--window-days`` (7 = our ``fan_*_degree_7d`` and ``pattern_window_days``), no vertex
  statistics. It runs in a forked child (same edges, inherited), so a GFP run that blows up on
  a skewed graph is stopped after ``--gfp-timeout`` seconds instead of stalling the bench.
* ours, full: ``compute_features`` on a ``schemas.TRANSACTIONS`` LazyFrame (channel ``wire``,
  amount from the edge) and an accounts frame, nightly (``as_of`` = last day) and history
  (whole history, weekly steps).
* ours, comparable subset: only the counterparty-degree family (``fan_in/out_degree_{w}d``)
  and the graph-pattern family (scatter-gather, gather-scatter, temporal cycles, dwell/chains),
  called through the engine's internal steps in the same order ``compute_features`` does
  (encode, legs, evaluation rows, DuckDB degree events, ``patterns.pattern_features``, lookups).

What is comparable: GFP computes one feature vector per *edge* (pattern histograms of the
patterns the edge takes part in, windows trailing each edge's timestamp); ours computes one row
per *(account, evaluation date)* (windows trailing the end of the day). The common currency
is throughput over the same input: input edges / wall second. Timings exclude building the
inputs (GFP's float array, our string-keyed frames) but include everything each engine does
with them (ours: string-to-code encoding too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import sys
import time
from importlib.metadata import version
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from features import FeatureConfig, compute_features, patterns
from features.degrees import counterparty_events
from features.duck import connection
from features.engine import _graph_edges
from features.prepare import account_codes, day_number, encode, eval_rows, legs
from features.windows import distinct_value, distinct_windows, window_sums

DAY_S = 86_400
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def make_edges(
    n_edges: int, n_accounts: int, days: int, popularity: str, seed: int, *, zipf_a: float = 1.2
) -> dict[str, np.ndarray]:
    """Random temporal edges sorted by time: ``src``, ``dst`` (int64, no self loops), ``ts``
    (int64 seconds since 1970), ``amount`` (float64)."""
    rng = np.random.default_rng(seed)

    def draw() -> np.ndarray:
        if popularity == "uniform":
            return rng.integers(0, n_accounts, size=n_edges)
        ranks = (rng.zipf(zipf_a, size=n_edges) - 1) % n_accounts
        return rng.permutation(n_accounts)[ranks]

    src, dst = draw(), draw()
    dst = np.where(dst == src, (dst + 1) % n_accounts, dst)
    ts = int(START.timestamp()) + rng.integers(0, days * DAY_S, size=n_edges)
    order = np.argsort(ts, kind="stable")
    amount = np.round(rng.lognormal(6.0, 1.5, size=n_edges), 2)
    return {"src": src[order], "dst": dst[order], "ts": ts[order], "amount": amount[order]}


def gfp_array(edges: dict[str, np.ndarray]) -> np.ndarray:
    """GFP input: ``[edge_id, src, dst, timestamp_s, amount]`` as float64."""
    n = len(edges["src"])
    return np.column_stack([np.arange(n), edges["src"], edges["dst"], edges["ts"], edges["amount"]]).astype(
        np.float64
    )


def gfp_params(window_days: int, threads: int) -> dict:
    """Fan/degree/scatter-gather/temporal-cycle patterns over ``window_days``; no vertex stats."""
    tw = window_days * DAY_S
    bins = list(range(2, 31))
    params: dict = {"num_threads": threads, "time_window": -1, "vertex_stats": False}
    for pattern in ("fan", "degree", "scatter-gather", "temp-cycle"):
        params |= {pattern: True, f"{pattern}_tw": tw, f"{pattern}_bins": bins}
    params["lc-cycle"] = False
    return params


def frames(edges: dict[str, np.ndarray], n_accounts: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The same edges as ``schemas.TRANSACTIONS`` (channel ``wire``) and an accounts frame."""
    n = len(edges["src"])
    ids = ("A" + pl.Series("id", np.arange(n_accounts)).cast(pl.String).str.zfill(9)).alias("id")
    tx = pl.DataFrame(
        {
            "tx_id": pl.int_range(0, n, eager=True).cast(pl.String),
            "timestamp": pl.Series(edges["ts"] * 1_000_000)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC"),
            "src_account": ids.gather(edges["src"]),
            "dst_account": ids.gather(edges["dst"]),
            "amount": edges["amount"],
            "orig_amount": edges["amount"],
            "orig_currency": pl.repeat("USD", n, eager=True),
            "channel": pl.repeat("wire", n, eager=True),
            "src_country": pl.repeat("US", n, eager=True),
            "dst_country": pl.repeat("US", n, eager=True),
            "region": pl.repeat(None, n, dtype=pl.String, eager=True),
            "reference": pl.repeat(None, n, dtype=pl.String, eager=True),
        }
    )
    opened = pl.repeat(START - dt.timedelta(days=1000), n_accounts, eager=True).cast(pl.Datetime("us", "UTC"))
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "customer_id": ids,
            "name": pl.repeat(None, n_accounts, dtype=pl.String, eager=True),
            "kind": pl.repeat("individual", n_accounts, eager=True),
            "sector": pl.repeat("retail", n_accounts, eager=True),
            "country": pl.repeat("US", n_accounts, eager=True),
            "region": pl.repeat("NY-NYC", n_accounts, eager=True),
            "opened_at": opened,
            "declared_monthly_income": pl.repeat(5000.0, n_accounts, eager=True),
            "is_pep": pl.repeat(False, n_accounts, eager=True),
            "phone_hash": ids,
            "address_hash": ids,
            "device_hash": ids,
        }
    )
    return tx.lazy(), accounts.lazy()


def ours_comparable(
    tx: pl.LazyFrame, accounts: pl.LazyFrame, config: FeatureConfig, as_of: dt.date | None
) -> pl.DataFrame:
    """Only ``fan_in/out_degree_{w}d`` and the pattern columns, through the engine's own steps
    (the same calls, in the same order, as :func:`features.compute_features`)."""
    windows = tuple(config.windows_days)
    codes = account_codes(tx, accounts).collect()
    plan = encode(tx, codes, config)
    if as_of is not None:
        plan = plan.filter(pl.col("day") <= day_number(as_of))
    enc = plan.collect().drop("_ok")  # random ids: no hash collision (the engine re-checks)
    lg = legs(enc.lazy())
    evals_df = eval_rows(lg, config, as_of).collect()
    start = None if as_of is None else day_number(as_of) - max(windows) + 1
    edges = _graph_edges(enc.lazy(), start).collect()
    with connection(config) as duck:
        degree_events = counterparty_events(duck, edges, windows)
        pattern_frame = patterns.pattern_features(duck, enc, evals_df, config, as_of)
    degree = {k: v for d in ("in", "out") for k, v in distinct_windows(f"fan_{d}_degree", windows).items()}
    totals = window_sums(evals_df, degree_events.lazy(), degree)
    return (
        pl.concat([evals_df, totals], how="horizontal")
        .lazy()
        .select(
            "acct",
            "eval_day",
            *[distinct_value(f"fan_{d}_degree", w) for d in ("in", "out") for w in windows],
        )
        .join(pattern_frame.lazy(), on=["acct", "eval_day"], how="left", maintain_order="left")
        .collect()
    )


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _gfp_child(array: np.ndarray, params: dict, queue: mp.Queue) -> None:
    from snapml import GraphFeaturePreprocessor  # noqa: PLC0415 - optional dependency

    gfp = GraphFeaturePreprocessor()
    gfp.set_params(params)
    t0, c0 = time.perf_counter(), cpu_seconds()
    # ``transform`` on a fresh preprocessor: one insertion pass. ``fit_transform`` (= fit, then
    # transform on the same edges) double-counts degree-in/out in snapml 1.17.2 (see
    # tests/test_features_vs_gfp.py).
    out = gfp.transform(array)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    queue.put(
        {"wall": wall, "cpu": cpu, "shape": list(out.shape), "nonzero": int(np.count_nonzero(out[:, 5:]))}
    )


def run_gfp(array: np.ndarray, params: dict, timeout: float) -> dict:
    """GFP ``transform`` in a forked child; ``{"timeout": s}`` when it does not finish."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_gfp_child, args=(array, params, queue))
    child.start()
    try:
        result = queue.get(timeout=timeout)
    except Exception:  # queue.Empty: still running
        child.kill()
        child.join()
        return {"timeout": timeout}
    child.join()
    return result


def timed(fn, *args, **kwargs) -> tuple[dict, object]:
    t0, c0 = time.perf_counter(), cpu_seconds()
    out = fn(*args, **kwargs)
    return {"wall": time.perf_counter() - t0, "cpu": cpu_seconds() - c0}, out


def bench_graph(args: argparse.Namespace, popularity: str) -> list[dict]:
    edges = make_edges(args.edges, args.accounts, args.days, popularity, args.seed, zipf_a=args.zipf_a)
    n = len(edges["src"])
    degrees = np.bincount(np.concatenate([edges["src"], edges["dst"]]), minlength=args.accounts)
    top = int(degrees.max())
    print(
        f"\n[{popularity}] {n:,} edges, {args.accounts:,} accounts, {args.days} days; busiest account: "
        f"{top:,} edges ({top / n:.1%}, {top / args.days * 7:,.0f} per week); load1={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rows = []
    last_day = dt.datetime.fromtimestamp(int(edges["ts"].max()), dt.UTC).date()
    tx, accounts = frames(edges, args.accounts)
    tx, accounts = tx.collect().lazy(), accounts.collect().lazy()  # built before timing
    # Comparable windows: degree windows and the pattern window both = --window-days.
    comparable = FeatureConfig(windows_days=(args.window_days,), pattern_window_days=args.window_days)
    full = FeatureConfig(pattern_window_days=args.window_days)

    def record(engine: str, mode: str, timing: dict, out_rows: int | None, cols: int | None) -> None:
        row = {"graph": popularity, "engine": engine, "mode": mode, "edges": n, **timing}
        row |= {"rows": out_rows, "cols": cols, "load1": round(os.getloadavg()[0], 2)}
        if "wall" in timing:
            row["edges_per_s"] = n / timing["wall"]
        rows.append(row)
        speed = (
            f"{timing['wall']:8.2f} s wall {timing['cpu']:8.2f} s CPU  {n / timing['wall']:>12,.0f} edges/s"
            if "wall" in timing
            else f"timed out after {timing['timeout']:.0f} s"
        )
        shape = f"  -> {out_rows:,} x {cols}" if out_rows is not None else ""
        print(f"  {engine:<18} {mode:<9} {speed}{shape}", flush=True)

    for mode in args.modes:
        as_of = last_day if mode == "nightly" else None
        if "full" in args.ours:
            timing, out = timed(compute_features, tx, accounts, full, as_of=as_of)
            record("ours (all ~95)", mode, timing, out.height, out.width)
        if "comparable" in args.ours:
            timing, out = timed(ours_comparable, tx, accounts, comparable, as_of)
            record("ours (comparable)", mode, timing, out.height, out.width)
    if not args.skip_gfp:
        array = gfp_array(edges)
        params = gfp_params(args.window_days, args.gfp_threads)
        result = run_gfp(array, params, args.gfp_timeout)
        shape = result.get("shape", [None, None])
        timing = {k: result[k] for k in ("wall", "cpu", "timeout") if k in result}
        record("snapml GFP", "per-edge", timing, shape[0], shape[1])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--graphs", default="uniform,zipf", help="comma list of uniform, zipf")
    parser.add_argument("--zipf-a", type=float, default=1.2)
    parser.add_argument("--window-days", type=int, default=7)
    parser.add_argument("--modes", default="nightly,history", help="comma list of nightly, history")
    parser.add_argument("--ours", default="full,comparable", help="comma list of full, comparable")
    parser.add_argument("--gfp-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--gfp-timeout", type=float, default=300.0)
    parser.add_argument("--skip-gfp", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the result rows here")
    args = parser.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    args.ours = [m for m in args.ours.split(",") if m]
    if not args.skip_gfp:
        try:
            import snapml  # noqa: F401, PLC0415 - optional dependency
        except ImportError:
            parser.error("snapml is not installed (pip install snapml, or pass --skip-gfp)")
        gfp_version = version("snapml")
    else:
        gfp_version = None
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]} "
        f"polars {pl.__version__} "
        f"duckdb {duckdb.__version__} numpy {np.__version__} snapml {gfp_version} on {platform.machine()} "
        f"cpus={os.cpu_count()} load1={os.getloadavg()[0]:.1f}; window {args.window_days} d; "
        f"GFP threads {args.gfp_threads}",
        flush=True,
    )
    rows = []
    for graph in args.graphs.split(","):
        rows += bench_graph(args, graph)
    print("\nratio = ours edges/s / GFP edges/s (same edges, same run)")
    for graph in args.graphs.split(","):
        gfp = next((r for r in rows if r["graph"] == graph and r["engine"] == "snapml GFP"), None)
        for r in rows:
            if r["graph"] != graph or r["engine"] == "snapml GFP" or gfp is None:
                continue
            ratio = (
                f"{gfp['wall'] / r['wall']:.1f}x"
                if "wall" in gfp
                else f">= {gfp['timeout'] / r['wall']:.1f}x (GFP timed out)"
            )
            print(f"  {graph:<8} {r['engine']:<18} {r['mode']:<8} {ratio}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
