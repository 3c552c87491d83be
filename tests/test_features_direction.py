"""Per-direction new counterparties: ``new_payees_30d`` and ``new_payers_30d``."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_helpers import account_frame, tx_frame

from features import FeatureConfig, compute_features

AS_OF = dt.date(2026, 1, 10)
END = dt.datetime(2026, 1, 11, tzinfo=dt.UTC)  # as_of + 1 day, 00:00: right edge of every window
START = END - dt.timedelta(days=30)  # left edge (excluded)


def features(txs: list[dict]) -> dict[str, dict]:
    ids = sorted(({t["src"] for t in txs} | {t["dst"] for t in txs}) - {"CASH"})
    frame = compute_features(
        tx_frame(txs), account_frame([{"id": i} for i in ids]), FeatureConfig(), as_of=AS_OF
    )
    return {r["account_id"]: r for r in frame.iter_rows(named=True)}


def tx(when: dt.datetime, src: str, dst: str) -> dict:
    return {"timestamp": when, "src": src, "dst": dst, "amount": 10}


def test_payees_and_payers_split_new_counterparties_by_direction() -> None:
    txs = [
        tx(END - dt.timedelta(days=40), "A", "B"),  # A paid B before the window
        tx(END - dt.timedelta(days=3), "A", "B"),  # B: not a new payee
        tx(END - dt.timedelta(days=3), "B", "A"),  # ...but a new payer (first B -> A)
        tx(END - dt.timedelta(days=5), "A", "C"),  # new payee C
        tx(END - dt.timedelta(days=4), "A", "C"),  # C again: still one
        tx(END - dt.timedelta(days=2), "D", "A"),  # new payer D
        tx(START, "A", "E"),  # left edge: excluded
        tx(START + dt.timedelta(microseconds=1), "A", "F"),  # just inside: new payee F
        tx(END, "G", "A"),  # right edge: included, new payer G
        tx(END + dt.timedelta(microseconds=1), "A", "H"),  # after as_of: not seen
        tx(END - dt.timedelta(days=1), "CASH", "A"),  # the cash placeholder is nobody
    ]
    a = features(txs)["A"]
    assert a["new_payees_30d"] == 2  # C, F
    assert a["new_payers_30d"] == 3  # B, D, G
    assert a["new_counterparties_30d"] == 4  # C, D, F, G (B traded with A before the window)
    assert a["fan_out_degree_30d"] == 3  # B, C, F


def test_payroll_pays_many_new_payees_and_no_new_payers() -> None:
    txs = [tx(END - dt.timedelta(days=2), "P", f"E{i}") for i in range(6)]
    out = features(txs)
    p, e = out["P"], out["E0"]
    assert (p["new_payees_30d"], p["new_payers_30d"], p["new_counterparties_30d"]) == (6, 0, 6)
    assert (e["new_payees_30d"], e["new_payers_30d"]) == (0, 1)


def brute(txs: list[dict], account: str) -> tuple[int, int]:
    """New payees and payers of ``account`` in the 30-day window, by first-ever ordered pair."""
    first: dict[tuple[str, str], dt.datetime] = {}
    for t in sorted(txs, key=lambda t: t["timestamp"]):
        if t["timestamp"] <= END and "CASH" not in (t["src"], t["dst"]):
            first.setdefault((t["src"], t["dst"]), t["timestamp"])
    new = {pair for pair, when in first.items() if when > START}
    return sum(s == account for s, _ in new), sum(d == account for _, d in new)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 50 * 24),  # hours before END: both window edges and older history
            st.sampled_from(["A", "B", "C", "D", "CASH"]),
            st.sampled_from(["A", "B", "C", "D", "CASH"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_new_payees_and_payers_match_brute_force(rows: list[tuple[int, str, str]]) -> None:
    txs = [tx(END - dt.timedelta(hours=h), s, d) for h, s, d in rows if s != d]
    if not txs or {t["src"] for t in txs} | {t["dst"] for t in txs} <= {"CASH"}:
        return
    out = features(txs)
    for account, row in out.items():
        assert (row["new_payees_30d"], row["new_payers_30d"]) == brute(txs, account), account
