"""Benchmark the synthetic generator against a trivial reference writer in the same run.

    .venv/bin/python bench/bench_generator.py                 # 10m preset, updates docs/BENCHMARKS.md
    .venv/bin/python bench/bench_generator.py --preset demo --no-docs

The reference draws numpy random columns of the same shape as the transactions (12 columns:
ids, timestamps, two account columns, two amounts, six short categorical strings) and writes
them with Polars, so the ratio says how much the generator's modelling, labels and schema work
cost over "just writing that many rows". Each side runs in its own child process so its peak
RSS is measured separately. Only the ``## Generator`` section of docs/BENCHMARKS.md is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Generator"


def _child_generator(preset: str, seed: int, out: Path) -> dict:
    import synthetic_data  # noqa: PLC0415 (only in the child process)

    began = time.perf_counter()
    summary = synthetic_data.generate(preset, seed, out)
    return {
        "seconds": time.perf_counter() - began,
        "stages": summary.stage_seconds,
        "rows": summary.transactions,
        "labelled": summary.labelled_transactions,
        "accounts": summary.accounts,
    }


def _child_reference(rows: int, seed: int, out: Path) -> dict:
    import numpy as np  # noqa: PLC0415 (only in the child process)
    import polars as pl  # noqa: PLC0415

    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    vocab = pl.Series(["wire", "ach", "card", "cheque", "cash_deposit", "cash_withdrawal", "msb_transfer"])
    small = lambda k: vocab.gather(rng.integers(0, k, rows))  # noqa: E731
    frame = (
        pl.DataFrame(
            {
                "i": np.arange(rows),
                "src": rng.integers(0, 50_000, rows),
                "dst": rng.integers(0, 50_000, rows),
                "timestamp": np.sort(rng.integers(0, 365 * 86_400_000_000, rows)),
                "amount": rng.lognormal(4, 1, rows),
                "orig_amount": rng.lognormal(4, 1, rows),
            }
        )
        .select(
            tx_id=pl.lit("TX") + pl.col("i").cast(pl.String),
            timestamp=pl.col("timestamp").cast(pl.Datetime("us", "UTC")),
            src_account=pl.lit("A") + pl.col("src").cast(pl.String),
            dst_account=pl.lit("A") + pl.col("dst").cast(pl.String),
            amount=pl.col("amount"),
            orig_amount=pl.col("orig_amount"),
        )
        .with_columns(
            orig_currency=small(2),
            channel=small(7),
            src_country=small(2),
            dst_country=small(2),
            region=small(5),
            reference=small(6),
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out / "transactions.parquet")
    return {"seconds": time.perf_counter() - began, "rows": rows}


def _run_child(kind: str, args: argparse.Namespace, out: Path, rows: int = 0) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--preset",
        args.preset,
        "--seed",
        str(args.seed),
        "--rows",
        str(rows),
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _machine() -> str:
    mem = (
        next(
            (
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            ),
            "?",
        )
        if Path("/proc/meminfo").exists()
        else "?"
    )
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else "?"
    )
    gib = f"{int(mem) / 2**20:.0f} GiB" if mem != "?" else "?"
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {gib} RAM, Python {platform.python_version()}, {platform.system()}"
    )


def update_docs(path: Path, body: str) -> None:
    """Replace (or append) the ``## Generator`` section of ``path``; leave other sections alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == SECTION), None)
    new = f"{SECTION}\n\n{body.rstrip()}\n\n"
    if start is None:
        text = text.rstrip("\n") + "\n\n" + new
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        text = "".join(lines[:start]) + new + "".join(lines[end:])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="10m")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--child", choices=["generator", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = (
            _child_generator(args.preset, args.seed, args.out)
            if args.child == "generator"
            else _child_reference(args.rows, args.seed, args.out)
        )
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return

    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-generator-"))
    try:
        gen = _run_child("generator", args, work / "gen")
        ref = _run_child("reference", args, work / "ref", rows=gen["rows"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]
    ratio = gen["seconds"] / ref["seconds"]
    rate = gen["rows"] / gen["seconds"]
    lines = [
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; machine: {_machine()}",
        f"- load average (1 min) before / after: {load:.2f} / {load_after:.2f} (shared machine)",
        f"- command: `.venv/bin/python bench/bench_generator.py --preset {args.preset} --seed {args.seed}`",
        "",
        "| run | rows | seconds | rows/s | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|",
        f"| generator `{args.preset}` (labelled: {gen['labelled']:,}, accounts: {gen['accounts']:,}) | "
        f"{gen['rows']:,} | {gen['seconds']:.2f} | {rate:,.0f} | {gen['peak_rss_mib']:,.0f} |",
        f"| reference (numpy random columns, Polars write) | {ref['rows']:,} | {ref['seconds']:.2f} | "
        f"{ref['rows'] / ref['seconds']:,.0f} | {ref['peak_rss_mib']:,.0f} |",
        "",
        f"Generator / reference time ratio: **{ratio:.2f}**. Generator stages (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in gen["stages"].items())
        + ".",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_docs:
        update_docs(args.docs, report)
        print(f"updated {args.docs} ({SECTION})")


if __name__ == "__main__":
    main()
