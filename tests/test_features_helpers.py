"""Tiny inline frames for the feature tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

UTC = dt.UTC


def ts(  # noqa: PLR0917 - positional day/hour read best in the tests
    day: int,
    hour: int = 12,
    minute: int = 0,
    second: int = 0,
    micro: int = 0,
    month: int = 1,
    year: int = 2026,
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def tx_frame(rows: list[dict]) -> pl.LazyFrame:
    """Transactions with defaults for every column of schemas.TRANSACTIONS."""
    full = []
    for i, r in enumerate(rows):
        row = {
            "tx_id": f"t{i}",
            "timestamp": r["timestamp"],
            "src_account": r["src"],
            "dst_account": r["dst"],
            "amount": float(r.get("amount", 100.0)),
            "orig_amount": float(r.get("amount", 100.0)),
            "orig_currency": "USD",
            "channel": r.get("channel", "wire"),
            "src_country": r.get("src_country", "US"),
            "dst_country": r.get("dst_country", "US"),
            "region": r.get("region"),
            "reference": None,
        }
        full.append(row)
    schema = {
        "tx_id": pl.String,
        "timestamp": pl.Datetime("us", "UTC"),
        "src_account": pl.String,
        "dst_account": pl.String,
        "amount": pl.Float64,
        "orig_amount": pl.Float64,
        "orig_currency": pl.String,
        "channel": pl.String,
        "src_country": pl.String,
        "dst_country": pl.String,
        "region": pl.String,
        "reference": pl.String,
    }
    return pl.DataFrame(full, schema=schema).lazy()


def account_frame(rows: list[dict]) -> pl.LazyFrame:
    schema = {
        "account_id": pl.String,
        "customer_id": pl.String,
        "name": pl.String,
        "kind": pl.String,
        "sector": pl.String,
        "country": pl.String,
        "region": pl.String,
        "opened_at": pl.Datetime("us", "UTC"),
        "declared_monthly_income": pl.Float64,
        "is_pep": pl.Boolean,
        "phone_hash": pl.String,
        "address_hash": pl.String,
        "device_hash": pl.String,
    }
    full = []
    for r in rows:
        full.append(
            {
                "account_id": r["id"],
                "customer_id": r.get("customer", "c-" + r["id"]),
                "name": None,
                "kind": r.get("kind", "individual"),
                "sector": r.get("sector"),
                "country": "US",
                "region": r.get("region", "TX"),
                "opened_at": r.get("opened_at", ts(1, month=1, year=2025)),
                "declared_monthly_income": r.get("income"),
                "is_pep": r.get("is_pep", False),
                "phone_hash": r.get("phone"),
                "address_hash": r.get("address"),
                "device_hash": r.get("device"),
            }
        )
    return pl.DataFrame(full, schema=schema).lazy()
