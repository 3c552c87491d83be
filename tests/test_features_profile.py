"""Money-profile window features: incoming cross-border share and amount similarity."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_helpers import account_frame, ts, tx_frame

from features import FeatureConfig, compute_features

AS_OF = dt.date(2026, 1, 10)
CFG = FeatureConfig()


def features_of(txs: list[dict], account: str) -> dict:
    ids = sorted(({t["src"] for t in txs} | {t["dst"] for t in txs}) - {"CASH"})
    frame = compute_features(tx_frame(txs), account_frame([{"id": i} for i in ids]), CFG, as_of=AS_OF)
    return frame.filter(frame["account_id"] == account).row(0, named=True)


def log_sd(amounts: list[float]) -> float:
    if len(amounts) < 2:
        return 0.0
    logs = [math.log(max(a, 1.0)) for a in amounts]
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((v - mean) ** 2 for v in logs) / len(logs))


def test_cross_border_in_share_and_spread_per_window() -> None:
    txs = [
        {"timestamp": ts(10, 9), "src": "B", "dst": "A", "amount": 1000, "src_country": "MX"},
        {"timestamp": ts(6), "src": "C", "dst": "A", "amount": 1000},
        {"timestamp": ts(6), "src": "D", "dst": "A", "amount": 2000, "src_country": "CO"},
        {"timestamp": ts(1, month=1), "src": "D", "dst": "A", "amount": 4000},  # 30d only
        {"timestamp": ts(9), "src": "A", "dst": "E", "amount": 500},
    ]
    a = features_of(txs, "A")
    assert a["cross_border_in_share_1d"] == pytest.approx(1.0)
    assert a["cross_border_in_share_7d"] == pytest.approx(3000 / 4000)
    assert a["cross_border_in_share_30d"] == pytest.approx(3000 / 8000)
    assert a["cross_border_in_share_30d"] < a["cross_border_in_share_7d"]
    assert a["in_amount_log_sd_1d"] == 0.0  # one amount: no spread
    assert a["in_amount_log_sd_7d"] == pytest.approx(log_sd([1000, 1000, 2000]), abs=1e-4)
    assert a["in_amount_log_sd_30d"] == pytest.approx(log_sd([1000, 1000, 2000, 4000]), abs=1e-4)
    assert a["out_amount_log_sd_30d"] == 0.0
    # inflows of at least the reporting threshold (10,000): none here
    assert a["large_in_count_30d"] == 0
    # sending abroad is not receiving from abroad
    assert features_of(txs, "B")["cross_border_in_share_30d"] == 0.0


def test_identical_amounts_have_no_spread_whatever_their_scale() -> None:
    txs = [{"timestamp": ts(2 + i), "src": "A", "dst": f"P{i}", "amount": 9_500} for i in range(5)]
    txs += [{"timestamp": ts(3), "src": "X", "dst": "Y", "amount": 123_456_789}]  # other accounts' totals
    assert features_of(txs, "A")["out_amount_log_sd_7d"] == pytest.approx(0.0, abs=1e-3)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 40),  # days before AS_OF
            st.one_of(st.floats(0.5, 1e6), st.sampled_from([9_999.99, 10_000.0])),
            st.sampled_from(["A", "B"]),
            st.sampled_from(["US", "MX"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_matches_brute_force(rows: list[tuple[int, float, str, str]]) -> None:
    end = dt.datetime(2026, 1, 10, 23, tzinfo=dt.UTC)
    txs = [
        {
            "timestamp": end - dt.timedelta(days=back - 1, hours=1),
            "src": src,
            "dst": "Z",
            "amount": round(amount, 2),
            "src_country": country,
        }
        for back, amount, src, country in [(1, 100.0, "B", "US"), *rows]  # Z active on AS_OF
    ]
    z = features_of(txs, "Z")
    for w in CFG.windows_days:
        inside = [t for t in txs if (end - t["timestamp"]).days < w]
        amounts = [t["amount"] for t in inside]
        abroad = sum(t["amount"] for t in inside if t["src_country"] != "US")
        assert z[f"in_amount_log_sd_{w}d"] == pytest.approx(log_sd(amounts), abs=2e-4)
        share = abroad / sum(amounts) if amounts else 0.0
        assert z[f"cross_border_in_share_{w}d"] == pytest.approx(share, abs=1e-9)
        assert z[f"large_in_count_{w}d"] == sum(a >= CFG.reporting_threshold for a in amounts)
