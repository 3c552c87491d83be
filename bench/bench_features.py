"""Benchmark ``features.compute_features`` on a large random edge set.

Usage::

    .venv/bin/python bench/bench_features.py --transactions 10_000_000 --accounts 1_000_000 \
        --days 180 --popularity zipf --mode history

Inputs are generated once by a child process and written as Parquet (reused on later runs);
the measured process scans them lazily, like the nightly flow scans the lake, so its peak
resident set size (``ru_maxrss``) is the feature engine's. Wall time on a shared machine
depends on other load: CPU seconds (user + system) are reported too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from features import FeatureConfig, compute_features

CHANNELS = np.array(["wire", "ach", "card", "cheque", "cash_deposit", "cash_withdrawal", "msb_transfer"])
CHANNEL_P = np.array([0.25, 0.25, 0.25, 0.05, 0.10, 0.07, 0.03])
COUNTRIES = np.array(["US", "MX", "CO", "GT", "CA", "KY", "GB"])
COUNTRY_P = np.array([0.85, 0.05, 0.02, 0.02, 0.03, 0.01, 0.02])
REGIONS = np.array(
    [
        "TX-El Paso border",
        "TX-Houston",
        "CA-LA",
        "CA-San Diego border",
        "AZ-Nogales border",
        "NY-NYC",
        "IL-Chicago",
        "FL-Miami",
    ]
)


def _popularity(rng: np.random.Generator, n_accounts: int, size: int, kind: str) -> np.ndarray:
    if kind == "uniform":
        return rng.integers(0, n_accounts, size=size)
    # Zipf-skewed ranks (a ~ 1.2), folded into the account range and shuffled so that the hubs
    # are not the lowest ids.
    ranks = (rng.zipf(1.2, size=size) - 1) % n_accounts
    perm = rng.permutation(n_accounts)
    return perm[ranks]


def _identifiers(rng: np.random.Generator, n: int) -> pl.Series:
    """Mostly unique identifier hashes; about 2% of accounts share one with a few others."""
    values = np.arange(n)
    shared = rng.random(n) < 0.02
    values[shared] = rng.integers(0, max(1, n // 200), size=int(shared.sum()))
    return pl.Series(values).cast(pl.String)


def generate(
    n_tx: int, n_accounts: int, days: int, popularity: str, seed: int
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Random transactions and accounts following ``schemas.TRANSACTIONS`` / ``ACCOUNTS``."""
    rng = np.random.default_rng(seed)
    src = _popularity(rng, n_accounts, n_tx, popularity)
    dst = _popularity(rng, n_accounts, n_tx, popularity)
    dst = np.where(dst == src, (dst + 1) % n_accounts, dst)
    channel_idx = rng.choice(len(CHANNELS), size=n_tx, p=CHANNEL_P)
    start = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() * 1_000_000)
    ts = start + rng.integers(0, days * 86_400_000_000, size=n_tx)
    amount = np.round(rng.lognormal(6.0, 1.5, size=n_tx), 2)
    cash_amount = np.where(rng.random(n_tx) < 0.2, rng.uniform(8000, 9999, n_tx), amount)
    is_cash = (channel_idx == 4) | (channel_idx == 5)
    amount = np.where(is_cash, np.round(cash_amount, 2), amount)
    ids = ("A" + pl.Series("id", np.arange(n_accounts)).cast(pl.String).str.zfill(9)).alias("id")
    cash_in = channel_idx == 4
    src_names = ids.gather(src)
    src_names = pl.select(
        pl.when(pl.Series(cash_in & (src % 3 == 0))).then(pl.lit("CASH")).otherwise(src_names)
    ).to_series()
    dst_names = ids.gather(dst)
    dst_names = pl.select(
        pl.when(pl.Series(channel_idx == 5)).then(pl.lit("CASH")).otherwise(dst_names)
    ).to_series()
    tx = pl.DataFrame(
        {
            "tx_id": pl.int_range(0, n_tx, eager=True).cast(pl.String),
            "timestamp": pl.Series(ts).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "src_account": src_names,
            "dst_account": dst_names,
            "amount": amount,
            "orig_amount": amount,
            "orig_currency": pl.repeat("USD", n_tx, eager=True),
            "channel": CHANNELS[channel_idx],
            "src_country": pl.repeat("US", n_tx, eager=True),
            "dst_country": COUNTRIES[rng.choice(len(COUNTRIES), size=n_tx, p=COUNTRY_P)],
            "region": REGIONS[rng.integers(0, len(REGIONS), size=n_tx)],
            "reference": pl.repeat(None, n_tx, dtype=pl.String, eager=True),
        }
    ).with_columns(
        region=pl.when(pl.col("channel").is_in(["cash_deposit", "cash_withdrawal"])).then(pl.col("region")),
    )
    opened = start - rng.integers(0, 3650, size=n_accounts) * 86_400_000_000
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "customer_id": ids,
            "name": pl.Series([None] * n_accounts, dtype=pl.String),
            "kind": np.array(["individual", "business", "msb"])[
                rng.choice(3, n_accounts, p=[0.85, 0.14, 0.01])
            ],
            "sector": np.array(["retail", "produce", "none"])[rng.integers(0, 3, n_accounts)],
            "country": np.full(n_accounts, "US"),
            "region": REGIONS[rng.integers(0, len(REGIONS), size=n_accounts)],
            "opened_at": pl.Series(opened).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "declared_monthly_income": np.round(rng.lognormal(8, 0.7, n_accounts), 2),
            "is_pep": rng.random(n_accounts) < 0.001,
            "phone_hash": _identifiers(rng, n_accounts),
            "address_hash": _identifiers(rng, n_accounts),
            "device_hash": _identifiers(rng, n_accounts),
        }
    )
    return tx.lazy(), accounts.lazy()


def peak_rss_gb() -> float:
    """Peak resident set size of this process in GB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def cpu_seconds() -> float:
    """User + system CPU time of this process (robust to other load on a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_inputs(args: argparse.Namespace, data: Path) -> None:
    """Generate the random inputs and write them as Parquet (run in a child process so that
    the parent's peak RSS measures the feature engine, not the generator)."""
    tx, accounts = generate(args.transactions, args.accounts, args.days, args.popularity, args.seed)
    data.mkdir(parents=True, exist_ok=True)
    tx.sink_parquet(data / "transactions.parquet")
    accounts.sink_parquet(data / "accounts.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    # defaults: the shape of the generator's ``10m`` preset (50k accounts over a year)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--popularity", choices=["uniform", "zipf"], default="uniform")
    parser.add_argument("--mode", choices=["as_of", "history"], default="as_of")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="Folder for the generated Parquet inputs (reused when present).",
    )
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data = args.data or Path(tempfile.gettempdir()) / (
        f"moneytrail-bench-{args.transactions}-{args.accounts}-{args.days}-{args.popularity}-{args.seed}"
    )
    if args.generate_only:
        write_inputs(args, data)
        return 0

    t0 = time.perf_counter()
    if not (data / "accounts.parquet").exists():
        cmd = [sys.executable, __file__, "--generate-only", "--data", str(data)]
        for flag in ("transactions", "accounts", "days", "popularity", "seed"):
            cmd += [f"--{flag}", str(getattr(args, flag))]
        subprocess.run(cmd, check=True)
    t_gen = time.perf_counter() - t0
    tx = pl.scan_parquet(data / "transactions.parquet")
    accounts = pl.scan_parquet(data / "accounts.parquet")
    shape = (
        tx.select(
            pl.len().alias("n"),
            pl.col("timestamp").max().dt.date().alias("last"),
            pl.concat([pl.col("src_account"), pl.col("dst_account")]).n_unique().alias("accounts"),
        )
        .collect()
        .row(0, named=True)
    )
    as_of = shape["last"] if args.mode == "as_of" else None

    t1, c1 = time.perf_counter(), cpu_seconds()
    out = compute_features(tx, accounts, FeatureConfig(), as_of=as_of)
    t_feat, c_feat = time.perf_counter() - t1, cpu_seconds() - c1
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]} "
        f"polars {pl.__version__} duckdb {duckdb.__version__} on {platform.machine()} "
        f"cpus={os.cpu_count()} load1={os.getloadavg()[0]:.1f}\n"
        f"inputs {data}: transactions={shape['n']:,} accounts in transactions={shape['accounts']:,} "
        f"mode={args.mode} as_of={as_of} (Parquet scanned lazily)\n"
        f"generate+write: {t_gen:.1f} s (0 when reused)\n"
        f"compute_features: {t_feat:.1f} s wall, {c_feat:.1f} s CPU -> {out.height:,} rows x "
        f"{out.width} columns ({out.estimated_size() / 1024**3:.2f} GB)\n"
        f"peak RSS of the feature process: {peak_rss_gb():.2f} GB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
