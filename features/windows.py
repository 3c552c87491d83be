"""Trailing-window aggregation for many evaluation dates in one vectorised pass.

Windows are whole day buckets (see :func:`features.prepare.bucket_day`): a ``w``-day window
evaluated on day ``D`` holds buckets ``D-w+1 .. D``. Rows are keyed by the packed Int64
``k = (acct, day)`` (:func:`features.prepare.pack`), so one account's days are one contiguous,
sorted key range.

* Additive quantities (counts, amounts): per-account running totals over days; the window
  value is ``total(D) - total(D - w)``. The totals live on a dense (account, day) grid filled
  by ``numpy.bincount`` and summed along days (:func:`window_sums`), read at every
  evaluation row by plain indexing: linear, no sort and no join.
* Distinct counts (regions, depositors, counterparties): each (account, key) pair covers the
  evaluation days ``[d, d + w - 1]`` after every day ``d`` it occurs; overlapping covers
  merge. Flag the day a merged cover starts (no occurrence in the ``w-1`` days before) and the
  day ``d`` whose cover ends it (no occurrence in the ``w-1`` days after; it ends at
  ``d + w``). The distinct count at ``D`` is ``starts(<= D) - ends(<= D - w)``: two additive
  running totals read like any other. Exact; linear in the distinct pair-days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import polars as pl

from features.exprs import window_name
from features.prepare import DAY_BITS, DAY_OFFSET, DAY_SPAN, pack

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
        Output columns are ``{name}_{w}d__start`` and ``{name}_{w}d__end`` (Boolean flags).

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
        flags.append((gap_prev.is_null() | (gap_prev >= w)).alias(f"{name}_{w}d{START}"))
        flags.append((gap_next.is_null() | (gap_next >= w)).alias(f"{name}_{w}d{END}"))
    return (
        pair_days.select("acct", "key", "day")
        .unique()
        .sort("acct", "key", "day")
        .select(pack(pl.col("acct"), pl.col("day")).alias("k"), *flags)
    )


class Window(NamedTuple):
    """A window value read at each evaluation day ``D``: the running total of column ``plus``
    up to ``D`` minus that of column ``minus`` up to ``D - days``."""

    plus: str
    minus: str
    days: int


def additive_windows(columns: Sequence[str], windows: Sequence[int]) -> dict[str, Window]:
    """``w``-day sums of additive ``columns`` (named by :func:`features.exprs.window_name`)."""
    return {window_name(c, w): Window(c, c, w) for c in columns for w in windows}


def distinct_windows(name: str, windows: Sequence[int]) -> dict[str, Window]:
    """Distinct family ``name`` of :func:`distinct_events`: ``starts(<= D) - ends(<= D - w)``,
    named ``{name}_{w}d`` (read them with :func:`distinct_value`)."""
    return {f"{name}_{w}d": Window(f"{name}_{w}d{START}", f"{name}_{w}d{END}", w) for w in windows}


def distinct_value(name: str, w: int) -> pl.Expr:
    """Distinct count ``{name}_{w}d`` (a :func:`distinct_windows` value) as UInt32."""
    return pl.col(f"{name}_{w}d").cast(pl.UInt32)


#: Cells (accounts x days) of one grid pass of :func:`window_sums` (8 bytes each): bounds
#: its memory; more accounts are processed in consecutive account ranges.
GRID_CELLS = 1 << 25


class _Grid:
    """Dense day-major (day, evaluated account) cells in account ranges: where each event
    lands and where each evaluation row reads."""

    def __init__(self, acct: np.ndarray, day: np.ndarray, lo: int, cells: int) -> None:
        """Evaluation rows ``(acct, day)`` (sorted), reading days ``lo .. max(day)``."""
        self.accounts, self.eval_row = np.unique(acct, return_inverse=True)
        self.eval_day = day.astype(np.int64) - lo
        self.lo, self.ndays, self.cells = lo, int(self.eval_day.max()) + 1, cells
        self.ranges: list[tuple[int, int, int, int]] = []  # rows r0..r1, eval rows e0..e1
        self.events: list[tuple[np.ndarray | None, np.ndarray]] = []  # (event positions, cells)

    def place(self, keys: np.ndarray) -> None:
        """Cells of the events with packed keys ``keys``: events of accounts not evaluated or
        after the last day are dropped, days before the first count on the first."""
        lo, ndays = self.lo, self.ndays
        row_of = np.full(max(int(self.accounts[-1]), int(keys.max(initial=0)) >> DAY_BITS) + 1, -1)
        row_of[self.accounts] = np.arange(len(self.accounts))
        row = row_of[keys >> DAY_BITS]
        day = np.maximum((keys & (DAY_SPAN - 1)) - DAY_OFFSET - lo, 0)
        keep = (row >= 0) & (day < ndays)
        step = max(1, self.cells // ndays)
        bounds = [*range(0, len(self.accounts), step), len(self.accounts)]
        e_bounds = np.searchsorted(self.eval_row, bounds)
        if len(bounds) == 2:
            positions = None if keep.all() else np.flatnonzero(keep)
            parts = [positions]
        else:
            kept = np.flatnonzero(keep)
            order = kept[np.argsort(row[kept], kind="stable")]
            cuts = np.searchsorted(row[order], bounds)
            parts = [order[cuts[i] : cuts[i + 1]] for i in range(len(bounds) - 1)]
        self.ranges, self.events = [], []
        for i, positions in enumerate(parts):
            r0, r1 = bounds[i], bounds[i + 1]
            sel = slice(None) if positions is None else positions
            self.ranges.append((r0, r1, int(e_bounds[i]), int(e_bounds[i + 1])))
            self.events.append((positions, day[sel] * (r1 - r0) + (row[sel] - r0)))

    def totals(self, values: np.ndarray, offsets: Sequence[int]) -> dict[int, np.ndarray]:
        """Running totals of the events' ``values`` (Boolean: counts; else float sums) at
        ``D - o`` for each offset ``o``, per evaluation row."""
        counting = values.dtype == np.bool_
        out = {o: np.empty(len(self.eval_row), dtype=np.int64 if counting else np.float64) for o in offsets}
        for (r0, r1, e0, e1), (positions, cells) in zip(self.ranges, self.events, strict=True):
            vals = values if positions is None else values[positions]
            size = (r1 - r0) * self.ndays
            hit = vals if counting else vals != 0  # most legs add 0 to most columns: skip them
            daily = np.bincount(cells[hit], weights=None if counting else vals[hit], minlength=size)
            running = daily.reshape(self.ndays, r1 - r0)
            np.cumsum(running, axis=0, out=running)
            rows, days = self.eval_row[e0:e1] - r0, self.eval_day[e0:e1]
            for o in offsets:
                out[o][e0:e1] = daily[(days - o) * (r1 - r0) + rows]
        return out


def window_sums(
    evals: pl.DataFrame, events: pl.LazyFrame, windows: Mapping[str, Window], *, cells: int | None = None
) -> pl.DataFrame:
    """Window values (:class:`Window`) of ``events`` at every evaluation row.

    Parameters
    ----------
    evals : DataFrame
        ``acct``, ``eval_day``, sorted by them.
    events : LazyFrame
        ``k``-keyed rows (several per key allowed) with Boolean (counted), integer or float
        (summed) columns, read one column at a time: the row order must be deterministic.
    windows : mapping of str to Window
        Output column -> its window value.
    cells : int, optional
        Grid cells per account range (default :data:`GRID_CELLS`): bounds the memory; the
        result does not depend on it.

    Returns
    -------
    DataFrame
        One row per row of ``evals`` in the same order, one column per window: Float64 when
        it reads a float column, else Int32.

    Method: per-account running totals on a dense (day, evaluated account) grid over the days
    ``min(D) - max(days) .. max(D)``, filled with ``numpy.bincount`` and summed along days;
    linear in the events and cells, no sort and no join. Float sums follow the event order.
    """
    schema = events.collect_schema()
    reads: dict[str, set[int]] = {}
    for win in windows.values():
        reads.setdefault(win.plus, set()).add(0)
        reads.setdefault(win.minus, set()).add(win.days)
    dtypes = {
        name: pl.Float64 if schema[win.plus].is_float() or schema[win.minus].is_float() else pl.Int32
        for name, win in windows.items()
    }
    if evals.height == 0:
        return pl.DataFrame(schema=dtypes)
    day = evals["eval_day"].to_numpy()
    lo = int(day.min()) - max(o for r in reads.values() for o in r)
    grid = _Grid(evals["acct"].to_numpy(), day, lo, cells or GRID_CELLS)
    grid.place(events.select("k").collect()["k"].to_numpy())
    pending = dict(windows)
    totals: dict[tuple[str, int], np.ndarray] = {}
    out: dict[str, pl.Series] = {}
    for column, offsets in reads.items():
        as_read = pl.col(column)
        as_read = (
            as_read.fill_null(False)
            if schema[column] == pl.Boolean
            else as_read.cast(pl.Float64).fill_null(0)
        )
        values = events.select(as_read).collect()[column].to_numpy()
        totals.update({(column, o): t for o, t in grid.totals(values, sorted(offsets)).items()})
        for name, win in list(pending.items()):
            if (win.plus, 0) in totals and (win.minus, win.days) in totals:
                value = totals[(win.plus, 0)] - totals[(win.minus, win.days)]
                out[name] = pl.Series(name, value).cast(dtypes[name])
                del pending[name]
        needed = {(w.plus, 0) for w in pending.values()} | {(w.minus, w.days) for w in pending.values()}
        totals = {key: t for key, t in totals.items() if key in needed}
    return pl.DataFrame([out[name] for name in windows])
