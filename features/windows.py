"""Trailing-window aggregation for many evaluation dates in one vectorised pass.

Windows are whole day buckets (see :func:`features.prepare.bucket_day`): a ``w``-day window
evaluated on day ``D`` holds buckets ``D-w+1 .. D``. Rows are keyed by the packed Int64
``k = (acct, day)`` (:func:`features.prepare.pack`), so one account's days are one contiguous,
sorted key range.

* Additive quantities (counts, amounts): a *global* running sum over ``k``; the window value is
  ``total(k_D) - total(k_D - w)``, each read with a backward as-of join on ``k``. When the
  account has no row at or before ``D - w`` the second read lands on an earlier account's
  last row, whose running total is exactly what precedes this account: the difference is
  still this account's window sum.
* Distinct counts (regions, depositors, counterparties): each (account, key) pair covers the
  evaluation days ``[d, d + w - 1]`` after every day ``d`` it occurs; overlapping covers
  merge. Flag the day a merged cover starts (no occurrence in the ``w-1`` days before) and the
  day ``d`` whose cover ends it (no occurrence in the ``w-1`` days after; it ends at
  ``d + w``). The distinct count at ``D`` is ``starts(<= D) - ends(<= D - w)``: two additive
  running totals read like any other. Exact; linear in the distinct pair-days, and all
  families share one table with one row per active (account, day).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from features.prepare import pack

START = "__start"
END = "__end"


def distinct_events(pair_days: pl.LazyFrame, windows: Sequence[int], name: str) -> pl.LazyFrame:
    """Per-day counts of cover starts and ends of distinct ``(acct, key)`` pairs.

    Parameters
    ----------
    pair_days : LazyFrame
        Columns ``acct``, ``key``, ``day`` (duplicates allowed).
    windows : sequence of int
        Window lengths in days.
    name : str
        Output columns are ``{name}_{w}d__start`` and ``{name}_{w}d__end`` (UInt8 flags).

    Returns
    -------
    LazyFrame
        ``k`` (the pair-day's account and day) and the flags: ``__start`` when a window-``w``
        cover starts that day (no occurrence in the ``w - 1`` days before), ``__end`` when it
        ends ``w`` days later (no occurrence in the ``w - 1`` days after). The distinct count
        at ``D`` is ``starts(<= D) - ends(<= D - w)``: see :func:`distinct_value`.
    """
    same_prev = (pl.col("acct") == pl.col("acct").shift(1)) & (pl.col("key") == pl.col("key").shift(1))
    same_next = (pl.col("acct") == pl.col("acct").shift(-1)) & (pl.col("key") == pl.col("key").shift(-1))
    gap_prev = pl.when(same_prev).then(pl.col("day") - pl.col("day").shift(1))
    gap_next = pl.when(same_next).then(pl.col("day").shift(-1) - pl.col("day"))
    flags = []
    for w in windows:
        flags.append((gap_prev.is_null() | (gap_prev >= w)).cast(pl.UInt8).alias(f"{name}_{w}d{START}"))
        flags.append((gap_next.is_null() | (gap_next >= w)).cast(pl.UInt8).alias(f"{name}_{w}d{END}"))
    return (
        pair_days.select("acct", "key", "day")
        .unique()
        .sort("acct", "key", "day")
        .select(pack(pl.col("acct"), pl.col("day")).alias("k"), *flags)
    )


def distinct_value(name: str, w: int) -> pl.Expr:
    """Distinct count ``{name}_{w}d`` from the looked-up running totals (UInt32)."""
    col = f"{name}_{w}d"
    return (pl.col(f"{col}{START}") - pl.col(f"{col}{END}_m{w}")).cast(pl.UInt32).alias(col)


def running_totals(frames: Sequence[pl.LazyFrame]) -> pl.LazyFrame:
    """Global running sums over ``k`` of ``k``-keyed frames (a column missing from a frame
    counts 0), one row per distinct ``k`` (the last, i.e. the total up to and including it).

    Integer columns become Int32 (totals below 2**31: callers pass at most one row per leg or
    pair-day), float columns Float64. Sorted by ``k``. A sort plus a scan: cheaper than a
    hash group-by on the near-unique (account, day) keys.
    """
    parts = []
    for frame in frames:
        schema = frame.collect_schema()
        parts.append(
            frame.select(
                "k",
                *[
                    pl.col(c).cast(pl.Float64 if schema[c].is_float() else pl.Int32)
                    for c in schema.names()
                    if c != "k"
                ],
            )
        )
    merged = parts[0] if len(parts) == 1 else pl.concat(parts, how="diagonal")
    value_cols = [c for c in merged.collect_schema().names() if c != "k"]
    last_of_key = (pl.col("k") != pl.col("k").shift(-1)).fill_null(True)
    return (
        merged.sort("k")
        .select("k", *[pl.col(c).fill_null(0).cum_sum() for c in value_cols])
        .filter(last_of_key)
    )


def lookup(
    evals: pl.LazyFrame, totals: pl.LazyFrame, columns: Sequence[str], offset: int, suffix: str
) -> pl.LazyFrame:
    """``columns`` of ``totals`` as of key ``k - offset`` (0 when nothing precedes), one row
    per row of ``evals`` in the same order (only the looked-up columns are returned, so that
    many lookups can be concatenated horizontally without copying wide frames).

    ``evals`` and ``totals`` must both be sorted by ``k``.
    """
    right = totals.select(pl.col("k").alias("_k"), *[pl.col(c).alias(f"{c}{suffix}") for c in columns])
    left = evals.select((pl.col("k") - offset).alias("_at"))
    return left.join_asof(
        right, left_on="_at", right_on="_k", strategy="backward", check_sortedness=False
    ).select(pl.col([f"{c}{suffix}" for c in columns]).fill_null(0))


def window_lookups(
    evals: pl.LazyFrame,
    values: pl.LazyFrame,
    at_day: Sequence[str],
    at_offsets: Sequence[str],
    offsets: Sequence[int],
    *,
    totals: bool = False,
) -> list[pl.LazyFrame]:
    """Running totals of ``values`` at ``D`` (``at_day`` columns, no suffix) and at ``D - w``
    for each ``w`` in ``offsets`` (``at_offsets`` columns, suffix ``_m{w}``), as frames aligned
    with ``evals``.

    ``values`` is a ``k``-keyed frame of per-row values, or already running totals when
    ``totals`` is True.
    """
    table = values if totals else running_totals([values])
    return [
        lookup(evals, table, at_day, 0, ""),
        *[lookup(evals, table, at_offsets, w, f"_m{w}") for w in offsets],
    ]


def distinct_lookups(
    evals: pl.LazyFrame, events: pl.LazyFrame, name: str, windows: Sequence[int], *, totals: bool = False
) -> list[pl.LazyFrame]:
    """Start totals at ``D`` and end totals at ``D - w`` of the distinct family ``name``, as
    frames aligned with ``evals`` (read them with :func:`distinct_value`)."""
    table = events if totals else running_totals([events])
    return [
        lookup(evals, table, [f"{name}_{w}d{START}" for w in windows], 0, ""),
        *[lookup(evals, table, [f"{name}_{w}d{END}"], w, f"_m{w}") for w in windows],
    ]
