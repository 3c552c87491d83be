"""Case details read from the Parquet lake: subject profile, transactions, linked accounts, network.

Only the lake's Parquet files are read (through Polars); the run's DuckDB file is never opened,
so the app never blocks a nightly run. Transactions are read for the case's window: from
:data:`LOOKBACK` before its first alert's evaluation date to the day after its last one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from moneytrail import lake as lake_io
from moneytrail.schemas import CASH_ACCOUNT

#: How far before the first alert the case's transactions start (the detectors' longest window).
LOOKBACK = timedelta(days=30)
#: Identifier columns whose shared values link accounts to one another.
IDENTIFIERS = ("customer_id", "phone_hash", "address_hash", "device_hash")
#: Network bounds: counterparties kept around the subject, and per first-hop counterparty.
HOP1_LIMIT = 12
HOP2_LIMIT = 4
#: Days before an alert's evaluation date whose transactions made the alert (highlighted edges).
ALERT_WINDOW = timedelta(days=7)
#: How many windows' transactions the app keeps in memory.
WINDOW_CACHE = 2


@dataclass(frozen=True)
class Window:
    """The case's transaction window, ``start <= timestamp < end`` (UTC)."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, first_eval: date, last_eval: date) -> Window:
        start = datetime.combine(first_eval, time(), tzinfo=UTC) - LOOKBACK
        return cls(start, datetime.combine(last_eval + timedelta(days=1), time(), tzinfo=UTC))


class LakeView:
    """Reads for the case page. The accounts table and the last :data:`WINDOW_CACHE` windows'
    transactions are cached in memory until the lake's manifest changes (a new ingest)."""

    def __init__(self, lake: Path | None) -> None:
        self.lake = None if lake is None else Path(lake)
        self._lock = threading.Lock()
        self._accounts: tuple[int, pl.DataFrame] | None = None
        self._windows: OrderedDict[tuple[Window, int], pl.DataFrame] = OrderedDict()

    def _manifest_stamp(self) -> int:
        if self.lake is None:
            return -1
        path = self.lake / lake_io.MANIFEST_FILE
        return path.stat().st_mtime_ns if path.exists() else -1

    def accounts(self) -> pl.DataFrame:
        """All accounts (ACCOUNTS columns); empty without a lake."""
        stamp = self._manifest_stamp()
        with self._lock:
            if self._accounts is None or self._accounts[0] != stamp:
                frame = (
                    lake_io.empty_frame(lake_io.schemas.ACCOUNTS)
                    if self.lake is None
                    else lake_io.scan_accounts(self.lake).collect()
                )
                self._accounts = (stamp, frame)
            return self._accounts[1]

    def window_transactions(self, window: Window) -> pl.LazyFrame:
        """Every transaction inside ``window`` (lazy; only its date partitions are opened)."""
        if self.lake is None:
            return lake_io.empty_frame(lake_io.schemas.TRANSACTIONS).lazy()
        return lake_io.scan_transactions(self.lake, window.start, window.end)

    def window_frame(self, window: Window) -> pl.DataFrame:
        """Every transaction inside ``window``, read once and kept for the next pages of that window
        (cases of one month share it)."""
        key = (window, self._manifest_stamp())
        with self._lock:
            if key in self._windows:
                self._windows.move_to_end(key)
                return self._windows[key]
        frame = self.window_transactions(window).collect()
        with self._lock:
            self._windows[key] = frame
            while len(self._windows) > WINDOW_CACHE:
                self._windows.popitem(last=False)
        return frame

    def transactions(self, account_ids: list[str], window: Window) -> pl.DataFrame:
        """Transactions touching ``account_ids`` inside ``window``, oldest first."""
        return (
            self.window_frame(window)
            .filter(pl.col("src_account").is_in(account_ids) | pl.col("dst_account").is_in(account_ids))
            .sort("timestamp", "tx_id")
        )


def profiles(accounts: pl.DataFrame, account_ids: list[str], as_of: date) -> list[dict]:
    """Profile rows of ``account_ids`` with the account's age in days at ``as_of``."""
    rows = accounts.filter(pl.col("account_id").is_in(account_ids)).with_columns(
        (pl.lit(as_of) - pl.col("opened_at").dt.date()).dt.total_days().alias("age_days")
    )
    found = rows.sort("account_id").to_dicts()
    missing = sorted(set(account_ids) - set(rows["account_id"].to_list()))
    return found + [{"account_id": a, "missing": True} for a in missing]


def linked_accounts(
    accounts: pl.DataFrame, account_ids: list[str], limit: int = 50
) -> tuple[list[dict], int]:
    """Other accounts sharing an identifier with ``account_ids`` (at most ``limit``) and their count."""
    subject = accounts.filter(pl.col("account_id").is_in(account_ids))
    others = accounts.filter(~pl.col("account_id").is_in(account_ids))
    parts = [
        others.filter(pl.col(name).is_in(subject[name].drop_nulls().implode())).select(
            "account_id", "name", "kind", pl.lit(name).alias("shared")
        )
        for name in IDENTIFIERS
    ]
    linked = (
        pl.concat(parts)
        .group_by("account_id", "name", "kind")
        .agg(pl.col("shared").unique().sort())
        .sort(pl.col("shared").list.len(), "account_id", descending=[True, False])
    )
    return linked.head(limit).to_dicts(), linked.height


def daily_amounts(transactions: pl.DataFrame, account_ids: list[str]) -> pl.DataFrame:
    """Per UTC day: money in to and out of the subject's accounts (``day, amount_in, amount_out``)."""
    inbound = pl.col("dst_account").is_in(account_ids)
    outbound = pl.col("src_account").is_in(account_ids)
    return (
        transactions.group_by(pl.col("timestamp").dt.date().alias("day"))
        .agg(
            pl.col("amount").filter(inbound).sum().alias("amount_in"),
            pl.col("amount").filter(outbound).sum().alias("amount_out"),
        )
        .sort("day")
    )


def _edges(frame: pl.LazyFrame, alert_days: list[date]) -> pl.LazyFrame:
    """Transactions aggregated per (src, dst) with whether any fell in an alert window."""
    in_alert = pl.lit(False)
    for day in alert_days:
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        in_alert = in_alert | pl.col("timestamp").is_between(end - ALERT_WINDOW, end, closed="left")
    return frame.group_by("src_account", "dst_account").agg(
        pl.col("amount").sum().alias("amount"), pl.len().alias("count"), in_alert.any().alias("in_alert")
    )


def network(view: LakeView, account_ids: list[str], window: Window, alert_days: list[date]) -> dict:
    """The counterparty network up to two hops around ``account_ids``, bounded for hubs.

    Keeps the :data:`HOP1_LIMIT` counterparties moving the most money with the subject and, for
    each of them, the :data:`HOP2_LIMIT` largest of their own counterparties. The ``CASH``
    placeholder is never expanded. Returns ``nodes`` (id, hop) and ``edges`` (src, dst, amount,
    count, in_alert) where ``in_alert`` marks subject edges inside an alert's window.
    """
    base = view.window_frame(window).lazy()
    subject = set(account_ids)
    first = _edges(
        base.filter(pl.col("src_account").is_in(account_ids) | pl.col("dst_account").is_in(account_ids)),
        alert_days,
    ).collect()
    other = pl.when(pl.col("src_account").is_in(account_ids)).then("dst_account").otherwise("src_account")
    hop1 = (
        first.filter(~(pl.col("src_account").is_in(account_ids) & pl.col("dst_account").is_in(account_ids)))
        .group_by(other.alias("node"))
        .agg(pl.col("amount").sum())
        .sort("amount", "node", descending=[True, False])
        .head(HOP1_LIMIT)["node"]
        .to_list()
    )
    expand = [n for n in hop1 if n != CASH_ACCOUNT]
    near = subject | set(hop1)
    second = (
        _edges(
            base.filter(
                (pl.col("src_account").is_in(expand) & ~pl.col("dst_account").is_in(account_ids))
                | (pl.col("dst_account").is_in(expand) & ~pl.col("src_account").is_in(account_ids))
            ),
            [],
        )
        .with_columns(
            pl.when(pl.col("src_account").is_in(expand))
            .then("src_account")
            .otherwise("dst_account")
            .alias("via")
        )
        .with_columns(
            pl.when(pl.col("via") == pl.col("src_account"))
            .then("dst_account")
            .otherwise("src_account")
            .alias("far")
        )
        .collect()
    )
    # Edges between two first-hop nodes are kept; others keep the via node's largest HOP2_LIMIT.
    among = second.filter(pl.col("far").is_in(list(near)))
    outward = (
        second.filter(~pl.col("far").is_in(list(near)))
        .sort("amount", "far", descending=[True, False])
        .filter(pl.int_range(pl.len()).over("via") < HOP2_LIMIT)
    )
    # Each second-hop node hangs from the first-hop node of its largest link.
    parents = dict(
        outward.sort("amount", descending=True)
        .unique("far", keep="first", maintain_order=True)
        .select("far", "via")
        .iter_rows()
    )
    edges = (
        pl.concat(
            [
                first.filter(
                    pl.col("src_account").is_in(list(near)) & pl.col("dst_account").is_in(list(near))
                ),
                among.select(first.columns),
                outward.select(first.columns),
            ]
        )
        .unique(["src_account", "dst_account"])
        .sort("src_account", "dst_account")
    )
    nodes = (
        [{"id": a, "hop": 0} for a in sorted(subject)]
        + [{"id": a, "hop": 1} for a in hop1]
        + [{"id": a, "hop": 2, "via": parents[a]} for a in sorted(parents)]
    )
    return {"nodes": nodes, "edges": edges.to_dicts()}
