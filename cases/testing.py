"""A small hostile data set for the review app's tests and demos.

Names, references, account ids and reason codes carry script and SQL payloads; a correct app
shows them as text. The data go through the real ingest into a lake, and alerts through the
real sync into a case store.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cases.sync import SyncReport, sync_alerts
from moneytrail.config import Config
from moneytrail.ingest import ingest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SCRIPT = "<script>alert('xss')</script>"
SQL = "'; DROP TABLE cases; --"
SVG = '"><svg onload=alert(1)>'
#: The hub of the scheme; its id carries an HTML payload.
HUB = f"acct{SCRIPT}"
#: A name whose payload would break attribute quoting if unescaped.
HOSTILE_NAME = f"Robert{SQL} {SVG}"


def hostile_dataset(folder: Path, rng: np.random.Generator, n_accounts: int = 30) -> Path:
    """Write ``transactions.parquet`` and ``accounts.parquet`` (canonical format) under ``folder``.

    A fan-in into :data:`HUB` from accounts sharing a device, plus random background payments.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ids = [HUB, f"acct{SQL}", *[f"acct{i:03d}" for i in range(n_accounts - 2)]]
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "customer_id": [f"cust{i // 2:03d}" for i in range(n_accounts)],
            "name": [HOSTILE_NAME, f"Mallory {SCRIPT}", *[f"Person {i}" for i in range(n_accounts - 2)]],
            "kind": ["business", *["individual"] * (n_accounts - 1)],
            "sector": ["produce", *[None] * (n_accounts - 1)],
            "country": ["US"] * n_accounts,
            "region": [f"TX{SCRIPT}", *["TX"] * (n_accounts - 1)],
            "opened_at": [datetime(2023, 6, 1, tzinfo=UTC)] * n_accounts,
            "declared_monthly_income": rng.uniform(1_000, 9_000, n_accounts).round(2),
            "is_pep": [True, *[False] * (n_accounts - 1)],
            "phone_hash": [f"p{i}" for i in range(n_accounts)],
            "address_hash": [f"a{i}" for i in range(n_accounts)],
            "device_hash": ["dev-shared" if i < 6 else f"d{i}" for i in range(n_accounts)],
        }
    )
    start = datetime(2024, 3, 1, tzinfo=UTC)
    fan_in = pl.DataFrame(
        {
            "src_account": ids[1:9],
            "dst_account": [HUB] * 8,
            "timestamp": [start + timedelta(days=20, hours=i) for i in range(8)],
            "orig_amount": [9_500.0] * 8,
            "reference": [f"invoice {SCRIPT}", f"ref {SQL}", SVG, *[f"inv {i}" for i in range(5)]],
        }
    )
    n = 120
    background = pl.DataFrame(
        {
            "src_account": rng.choice(ids[2:], n),
            "dst_account": rng.choice(ids[2:], n),
            "timestamp": [start + timedelta(minutes=int(m)) for m in rng.integers(0, 30 * 24 * 60, n)],
            "orig_amount": rng.uniform(10, 2_000, n).round(2),
            "reference": [f"memo {i}" for i in range(n)],
        }
    ).filter(pl.col("src_account") != pl.col("dst_account"))
    out = pl.concat([fan_in, background]).with_columns(
        pl.format("tx{}", pl.int_range(pl.len())).alias("tx_id"),
        pl.lit("USD").alias("orig_currency"),
        pl.lit("wire").alias("channel"),
        pl.lit("US").alias("src_country"),
        pl.lit("MX").alias("dst_country"),
    )
    out.write_parquet(folder / "transactions.parquet")
    accounts.write_parquet(folder / "accounts.parquet")
    return folder


def hostile_alerts(run_id: str = "run-1") -> pl.DataFrame:
    """Alerts on the hostile data set: the hub's fan-in and one on the SQL-named account."""
    return pl.DataFrame(
        {
            "alert_id": ["al-1", "al-2", "al-3"],
            "run_id": [run_id] * 3,
            "account_id": [HUB, HUB, f"acct{SQL}"],
            "typology": ["fan_in", "structuring", "fan_out"],
            "score": [0.97, 0.8, 0.4],
            "eval_date": [date(2024, 3, 21), date(2024, 3, 22), date(2024, 3, 21)],
            "reasons": [[f"8 distinct payers {SCRIPT}", f"reason {SQL}"], ["near-threshold cash"], [SVG]],
        },
        schema_overrides={"eval_date": pl.Date},
    )


def build(folder: Path, seed: int = 5) -> tuple[Path, Path, SyncReport]:
    """Lake and case store for the hostile data set under ``folder``: ``(lake, cases, report)``."""
    data = hostile_dataset(folder / "generated", np.random.default_rng(seed))
    lake = folder / "lake"
    ingest(data, "canonical", lake, Config().currency)
    cases_path = folder / "moneytrail.cases.sqlite"
    return lake, cases_path, sync_alerts(cases_path, hostile_alerts(), lake=lake)


def csrf_field(html: str) -> str:
    """The value of the first ``csrf`` hidden field in a page."""
    match = re.search(r'name="csrf" value="([^"]*)"', html)
    if match is None:
        raise AssertionError("page has no csrf field")
    return match.group(1)


def sign_in(client: TestClient, name: str, token: str = "") -> TestClient:
    """Sign ``client`` in as ``name`` through the login form."""
    form = client.get("/login")
    response = client.post(
        "/login", data={"name": name, "token": token, "csrf": csrf_field(form.text)}, follow_redirects=False
    )
    if response.status_code != 303:
        raise AssertionError(f"sign-in as {name!r} failed: {response.status_code} {response.text[:200]}")
    return client
