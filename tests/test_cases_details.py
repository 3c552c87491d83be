"""Case details from the lake: the bounded two-hop network, linked accounts, daily amounts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from cases import charts, details
from moneytrail.lake import empty_frame
from moneytrail.schemas import ACCOUNTS, TRANSACTIONS

DAY = datetime(2024, 3, 10, tzinfo=UTC)
WINDOW = details.Window.around(date(2024, 3, 10), date(2024, 3, 10))


class _View(details.LakeView):
    """A lake view over an in-memory transactions frame."""

    def __init__(self, transactions: pl.DataFrame) -> None:
        super().__init__(None)
        self.frame = transactions

    def window_transactions(self, window: details.Window) -> pl.LazyFrame:
        return self.frame.lazy()


def _tx(edges: list[tuple[str, str, float, datetime]]) -> pl.DataFrame:
    rows = {
        "tx_id": [f"t{i}" for i in range(len(edges))],
        "timestamp": [e[3] for e in edges],
        "src_account": [e[0] for e in edges],
        "dst_account": [e[1] for e in edges],
        "amount": [e[2] for e in edges],
    }
    return pl.concat([empty_frame(TRANSACTIONS), pl.DataFrame(rows)], how="diagonal_relaxed")


def test_network_is_bounded_around_a_hub_and_never_expands_cash() -> None:
    early = DAY - timedelta(days=20)
    edges = [(f"p{i}", "S", 100.0 + i, early) for i in range(40)]  # 40 payers into the subject
    edges += [(f"q{i}", "p39", 10.0 + i, early) for i in range(30)]  # a payer that is itself a hub
    edges += [("CASH", "S", 5_000.0, DAY)] + [("CASH", f"z{i}", 1.0, early) for i in range(20)]
    edges += [("S", "p38", 1.0, DAY)]
    net = details.network(_View(_tx(edges)), ["S"], WINDOW, [date(2024, 3, 10)])
    hops = {n["id"]: n["hop"] for n in net["nodes"]}
    assert sum(h == 1 for h in hops.values()) == details.HOP1_LIMIT
    assert hops["CASH"] == 1 and not any(k.startswith("z") for k in hops)  # CASH is not expanded
    assert sum(h == 2 for h in hops.values()) == details.HOP2_LIMIT  # only p39's 4 largest payers
    assert {n["id"] for n in net["nodes"] if n["hop"] == 2} == {"q26", "q27", "q28", "q29"}
    in_alert = {(e["src_account"], e["dst_account"]) for e in net["edges"] if e["in_alert"]}
    assert in_alert == {("CASH", "S"), ("S", "p38")}  # only the subject's edges inside the 7-day window
    layout = charts.network_layout(net, flagged={"S", "p39"})
    assert len(layout["nodes"]) == len(hops)
    assert all(0 <= n["x"] <= charts.GRAPH_WIDTH for n in layout["nodes"])
    scheme = {(e["src_account"], e["dst_account"]): e["scheme"] for e in layout["edges"]}
    assert scheme[("p39", "S")] and not scheme[("p30", "S")]  # both ends flagged / only one


def test_linked_accounts_name_the_identifiers_they_share() -> None:
    accounts = pl.concat(
        [
            empty_frame(ACCOUNTS),
            pl.DataFrame(
                {
                    "account_id": ["S", "a", "b", "c"],
                    "customer_id": ["c1", "c1", "c2", "c3"],
                    "phone_hash": ["p", "p", None, None],
                    "device_hash": ["d", None, "d", None],
                    "kind": ["individual"] * 4,
                    "is_pep": [False] * 4,
                }
            ),
        ],
        how="diagonal_relaxed",
    )
    linked, total = details.linked_accounts(accounts, ["S"])
    assert total == 2
    assert [(r["account_id"], r["shared"]) for r in linked] == [
        ("a", ["customer_id", "phone_hash"]),
        ("b", ["device_hash"]),
    ]


def test_daily_amounts_split_money_in_and_out() -> None:
    frame = _tx([("x", "S", 10.0, DAY), ("S", "y", 4.0, DAY), ("x", "y", 99.0, DAY)])
    daily = details.daily_amounts(frame, ["S"])
    assert daily.to_dicts() == [{"day": DAY.date(), "amount_in": 10.0, "amount_out": 4.0}]
    chart = charts.amount_chart(daily, [DAY.date()], DAY.date() - timedelta(days=1), DAY.date())
    assert chart is not None and len(chart["bars"]) == 1 and chart["top"] == 10.0
