"""Counterparty context: bursts of short-lived relationships around an account, no label used.

Whatever its shape (fan-in, fan-out, cycle, scatter-gather, layering through mules), a
laundering scheme makes a group of accounts that did not deal with one another start dealing,
briefly, within a few days. Most normal relationships are either long-lived (salary, rent,
a regular supplier) or isolated one-off payments. So, from the edges alone:

* a relationship (unordered pair of accounts) is *short-lived* when all its transactions fall
  within ``window_days`` of its first one (a pair first seen near the end of the data counts
  too: it cannot be told apart yet);
* an account's *burst* on a day compares the number ``k`` of short-lived relationships it
  started within ``window_days`` either side of that day with the number ``e`` its own steady
  rate would put in such a window (its short-lived relationships x window / days of data):
  ``(k - e) / sqrt(e + 1)``. A merchant that gains new one-off payers every day is steady, not
  bursting; an account that rarely starts one and suddenly starts five in a week is;
* ``own_burst``: the account's largest burst (the hub of a fan, a mule's collector);
* ``counterparty_burst``: over the account's short-lived relationships, the largest burst of
  the counterparty on the day they started (a member of a fan or ring dealt with a hub that
  was starting many such relationships at the same time, even if it made one payment itself).

The cash pseudo-account is no counterparty. Everything is a Polars group-by or a vectorised
``searchsorted`` over sorted keys (no self-join, no Python loop): O(n log n) in relationships.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from moneytrail.schemas import CASH_ACCOUNT

#: Columns returned by :func:`relationship_bursts` besides ``account_id``.
BURST_COLUMNS = ("own_burst", "counterparty_burst")


def _pairs(edges: pl.LazyFrame | pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """Sorted account ids, and every relationship both ways round as integer codes into them:
    (a, b, first day, last day)."""
    missing = [c for c in ("src_account", "dst_account", "timestamp") if c not in edges.collect_schema()]
    if missing:
        raise KeyError(f"edges lack column(s) {missing} needed by relationship_bursts")
    t = (
        edges.lazy()
        .select(
            a=pl.col("src_account").cast(pl.String),
            b=pl.col("dst_account").cast(pl.String),
            day=pl.col("timestamp").dt.date().cast(pl.Int32),
        )
        .filter((pl.col("a") != pl.col("b")) & (pl.col("a") != CASH_ACCOUNT) & (pl.col("b") != CASH_ACCOUNT))
        .collect()
    )
    accounts = pl.concat([t["a"], t["b"]]).unique().sort().rename("account_id")
    code = pl.Enum(accounts)
    undirected = (
        t.select(
            pl.col("a").cast(code).to_physical().cast(pl.Int64),
            pl.col("b").cast(code).to_physical().cast(pl.Int64),
            "day",
        )
        .group_by(x=pl.min_horizontal("a", "b"), y=pl.max_horizontal("a", "b"))
        .agg(first=pl.col("day").min(), last=pl.col("day").max())
    )
    both = pl.concat(
        [
            undirected.select(a="x", b="y", first="first", last="last"),
            undirected.select(a="y", b="x", first="first", last="last"),
        ]
    )
    return accounts, both


def relationship_bursts(edges: pl.LazyFrame | pl.DataFrame, window_days: int = 7) -> pl.DataFrame:
    """Per account with at least one relationship: ``own_burst`` and ``counterparty_burst``.

    ``edges`` needs ``src_account``, ``dst_account`` and ``timestamp`` (a transactions frame):
    pass the period under review (e.g. the last 30-90 days up to a nightly run's date); nothing
    after its last transaction is seen. Accounts without a short-lived relationship get 0;
    a burst below the steady rate is negative.
    """
    if window_days < 1:
        raise ValueError(f"window_days must be >= 1, got {window_days}")
    accounts, pairs = _pairs(edges)
    out = accounts.to_frame()
    short = pairs.filter(pl.col("last") - pl.col("first") < window_days)
    if short.is_empty():
        return out.with_columns([pl.lit(0.0).alias(c) for c in BURST_COLUMNS])
    a, b, first = (short[c].to_numpy() for c in ("a", "b", "first"))
    # sorted (account, start day) keys of short-lived relationships; a burst is a range count
    offset = int(first.min()) - window_days
    span = int(first.max()) - offset + window_days + 1
    keys = np.sort(a * span + (first - offset))
    # what the account's own steady rate of short-lived relationships would put in a window
    days = int(pairs["last"].max()) - int(pairs["first"].min()) + 1
    expected = np.bincount(a, minlength=accounts.len()) / days * min(2 * window_days + 1, days)

    def burst(code: np.ndarray) -> np.ndarray:
        centre = code * span + (first - offset)
        order = np.argsort(centre)  # sorted queries keep the binary searches cache-friendly
        count = np.empty_like(centre)
        count[order] = np.searchsorted(keys, centre[order] + window_days, "right") - np.searchsorted(
            keys, centre[order] - window_days, "left"
        )
        return (count - expected[code]) / np.sqrt(expected[code] + 1.0)

    per_account = pl.DataFrame({"a": a, "own_burst": burst(a), "counterparty_burst": burst(b)})
    found = per_account.group_by("a").agg(pl.col(c).max() for c in BURST_COLUMNS)
    return (
        out.with_row_index("a")
        .with_columns(pl.col("a").cast(pl.Int64))
        .join(found, on="a", how="left")
        .select("account_id", *(pl.col(c).fill_null(0.0) for c in BURST_COLUMNS))
    )


__all__ = ["BURST_COLUMNS", "relationship_bursts"]
