"""Benchmark the review app: queue and case pages with 100,000 cases in the case store.

Usage::

    .venv/bin/python bench/bench_review.py                  # 100,000 cases, 200 requests per page kind
    .venv/bin/python bench/bench_review.py --cases 20000 --requests 50

Builds, in a temporary folder: the generator's ``tiny`` preset ingested into a lake, and a case
store filled through the real sync with ``--cases`` alerts (one case each): one per lake account
and month of the lake (these cases have transactions, a network and linked accounts), the rest on
synthetic subjects spread over ten years of months (queue filler). A few hundred cases are taken
and some closed, so the assignee and status filters have something to find.

Requests go through FastAPI's TestClient (in process, no network), signed in, in random order
of page kinds. Peer in the same run: the trivial ``/healthz`` endpoint, whose time is the
framework's floor; the table gives each page's p50 / p95 and its p95 ratio to the peer's.
Target (issue 7): queue and case pages p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from fastapi.testclient import TestClient

import synthetic_data
from cases import store, testing
from cases.review_app import ReviewSettings, create_app
from cases.sync import sync_alerts
from moneytrail.config import Config
from moneytrail.ingest import ingest
from moneytrail.lake import scan_accounts, scan_transactions

TYPOLOGIES = ["fan_in", "fan_out", "structuring", "cycle", "shell", "mule_network", "funnel", "bribery"]


def build_lake(folder: Path, seed: int) -> Path:
    generated = folder / "generated"
    synthetic_data.generate("tiny", seed, generated)
    lake = folder / "lake"
    ingest(generated, "canonical", lake, Config().currency)
    return lake


def synthetic_alerts(lake: Path, n_cases: int, rng: np.random.Generator) -> tuple[pl.DataFrame, int]:
    """``n_cases`` alerts on distinct (subject, month) pairs; the first ones on real accounts."""
    accounts = scan_accounts(lake).select("account_id").collect()["account_id"]
    days = scan_transactions(lake).select(pl.col("timestamp").dt.date().unique()).collect().to_series()
    real_months = sorted({d.replace(day=1) for d in days})
    real = pl.DataFrame({"account_id": accounts}).join(pl.DataFrame({"month": real_months}), how="cross")
    real = real.with_columns(pl.col("month").dt.offset_by("14d").alias("eval_date")).head(n_cases)
    filler_n = n_cases - real.height
    months = [date(2014, 1, 1) + timedelta(days=31 * m) for m in range(120)]
    filler = pl.DataFrame(
        {
            "account_id": [f"bench{i // len(months):06d}" for i in range(filler_n)],
            "eval_date": [months[i % len(months)].replace(day=15) for i in range(filler_n)],
        }
    )
    both = pl.concat([real.select("account_id", "eval_date"), filler])
    alerts = both.with_columns(
        pl.format("bench-alert-{}", pl.int_range(pl.len())).alias("alert_id"),
        pl.lit("bench-run").alias("run_id"),
        pl.Series("typology", rng.choice(TYPOLOGIES, both.height)),
        pl.Series("score", rng.random(both.height)),
        pl.lit(["synthetic reason for the benchmark"]).alias("reasons"),
    )
    return alerts, real.height


def timed(get: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = get()
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code  # type: ignore[attr-defined]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        folder = Path(tmp)
        lake = build_lake(folder, args.seed)
        alerts, n_real = synthetic_alerts(lake, args.cases, rng)
        cases_path = folder / "bench.cases.sqlite"
        start = time.perf_counter()
        report = sync_alerts(cases_path, alerts, lake=lake)
        sync_s = time.perf_counter() - start
        print(f"sync: {report.alerts_new:,} alerts -> {report.cases_new:,} cases in {sync_s:.1f} s")
        with store.connect(cases_path) as con:
            real_ids = [
                r[0]
                for r in con.execute(
                    "SELECT case_id FROM cases WHERE subject NOT LIKE 'bench%' ORDER BY case_id"
                )
            ]
            for i, case_id in enumerate(rng.choice(report.cases_new, 400, replace=False).tolist()):
                store.apply(con, case_id + 1, "take", f"analyst{i % 5}")
                if i % 4 == 0:
                    store.apply(con, case_id + 1, "close_false_positive", f"analyst{i % 5}", "benchmark")
        client = testing.sign_in(TestClient(create_app(ReviewSettings(cases_path, lake))), "bench")
        pages: dict[str, Callable[[], object]] = {
            "peer: GET /healthz": lambda: client.get("/healthz"),
            "queue: open cases by score, page 1": lambda: client.get("/"),
            "queue: random filter + sort + page": lambda: client.get(
                "/",
                params={
                    "status": str(rng.choice(["", "open", "new", "in_review", "closed_false_positive"])),
                    "typology": str(rng.choice(["", *TYPOLOGIES])),
                    "assignee": str(rng.choice(["", "(unassigned)", "analyst1"])),
                    "sort": str(rng.choice(["score", "-score", "newest", "updated"])),
                    "page": int(rng.integers(1, 200)),
                },
            ),
            "queue: all cases, last page": lambda: client.get("/", params={"status": "", "page": 10**6}),
            "case page (account in the lake)": lambda: client.get(f"/cases/{rng.choice(real_ids)}"),
            "case page, transactions page 2": lambda: client.get(
                f"/cases/{rng.choice(real_ids)}", params={"tx_page": 2}
            ),
        }
        for get in pages.values():  # warm up: templates, Parquet footers, the accounts cache
            timed(get, 5)
        samples: dict[str, list[float]] = {name: [] for name in pages}
        order = [name for name in pages for _ in range(args.requests)]
        rng.shuffle(order)
        for name in order:
            samples[name].extend(timed(pages[name], 1))
        load_after = os.getloadavg()[0]
    peer_p95 = float(np.percentile(samples["peer: GET /healthz"], 95))
    print(
        f"\n{args.cases:,} cases ({n_real} on lake accounts); {args.requests} requests per row; "
        f"load average after: {load_after:.2f}\n"
    )
    print("| request | p50 ms | p95 ms | p95 / peer p95 |")
    print("|---|---:|---:|---:|")
    for name, values in samples.items():
        p95 = float(np.percentile(values, 95))
        print(f"| {name} | {statistics.median(values):.1f} | {p95:.1f} | {p95 / peer_p95:.1f} |")


if __name__ == "__main__":
    main()
