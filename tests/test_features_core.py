"""Core features on tiny inline frames with hand-computed expectations."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow.parquet as pq
import pytest
from test_features_helpers import account_frame, ts, tx_frame

from features import (
    FEATURES,
    FeatureConfig,
    FeatureInputError,
    compute_features,
    feature_specs,
    write_features,
)
from features.registry import KEY_COLUMNS, SEGMENT_COLUMNS

AS_OF = dt.date(2026, 1, 10)
CFG = FeatureConfig()


def rows_by_account(df: pl.DataFrame) -> dict[str, dict]:
    return {r["account_id"]: r for r in df.iter_rows(named=True)}


def run(
    txs: list[dict],
    accounts: list[dict] | None = None,
    as_of: dt.date | None = AS_OF,
    config: FeatureConfig = CFG,
) -> dict[str, dict]:
    ids = {t["src"] for t in txs} | {t["dst"] for t in txs}
    accounts = accounts or [{"id": i} for i in sorted(ids - {"CASH"})]
    return rows_by_account(compute_features(tx_frame(txs), account_frame(accounts), config, as_of=as_of))


def test_output_contract_columns_types_order() -> None:
    txs = [
        {"timestamp": ts(9), "src": "B", "dst": "A", "amount": 50},
        {"timestamp": ts(3), "src": "A", "dst": "C", "amount": 20},
        {"timestamp": ts(2), "src": "C", "dst": "B", "amount": 20},
    ]
    df = compute_features(tx_frame(txs), account_frame([{"id": "A"}, {"id": "B"}, {"id": "C"}]), CFG)
    assert df.columns == [*KEY_COLUMNS, *SEGMENT_COLUMNS, *feature_specs(CFG)]
    assert list(FEATURES) == list(feature_specs(CFG))
    assert df.schema["eval_date"] == pl.Date
    for c in SEGMENT_COLUMNS:
        assert df.schema[c] == pl.String
    for name in feature_specs(CFG):
        assert df.schema[name].is_numeric(), name
    assert df.null_count().sum_horizontal().item() == 0
    assert df.equals(df.sort("account_id", "eval_date"))


def test_registry_follows_configured_windows() -> None:
    specs = feature_specs(FeatureConfig(windows_days=(3, 14)))
    assert "in_count_3d" in specs and "fan_out_degree_14d" in specs and "in_count_7d" not in specs
    assert specs["in_amount_14d"].unit == "USD" and specs["in_amount_14d"].window_days == 14
    assert all(s.description and "\n" not in s.description for s in specs.values())


def test_flow_counts_and_amounts_per_window() -> None:
    txs = [
        {"timestamp": ts(10, 9), "src": "B", "dst": "A", "amount": 100},  # 1d, 7d, 30d
        {"timestamp": ts(5), "src": "C", "dst": "A", "amount": 200},  # 7d, 30d
        {"timestamp": ts(1, month=1), "src": "C", "dst": "A", "amount": 300},  # 30d only
        {"timestamp": ts(10, 20), "src": "A", "dst": "D", "amount": 1000, "dst_country": "MX"},
        {"timestamp": ts(4), "src": "A", "dst": "E", "amount": 3000},
        {"timestamp": ts(1, month=12, year=2025), "src": "A", "dst": "E", "amount": 5},  # too old
    ]
    a = run(txs)["A"]
    assert (a["in_count_1d"], a["in_count_7d"], a["in_count_30d"]) == (1, 2, 3)
    assert (a["in_amount_1d"], a["in_amount_7d"], a["in_amount_30d"]) == (100.0, 300.0, 600.0)
    assert (a["out_count_1d"], a["out_count_7d"], a["out_count_30d"]) == (1, 2, 2)
    assert (a["out_amount_1d"], a["out_amount_7d"]) == (1000.0, 4000.0)
    assert a["pass_through_ratio_1d"] == pytest.approx(100 / 1000)
    assert a["pass_through_ratio_30d"] == pytest.approx(600 / 4000)
    assert a["cross_border_out_share_1d"] == pytest.approx(1.0)
    assert a["cross_border_out_share_7d"] == pytest.approx(1000 / 4000)
    assert a["risk_weighted_cross_border_share_7d"] == pytest.approx(1000 / 4000)  # MX weight 1
    # round amounts (multiples of 1,000): 1000 and 3000 of 5 money legs in 30 days
    assert a["round_amount_share_30d"] == pytest.approx(2 / 5)
    assert (a["fan_in_degree_7d"], a["fan_in_degree_30d"]) == (2, 2)
    assert (a["fan_out_degree_1d"], a["fan_out_degree_30d"]) == (1, 2)
    # E was seen in December, before the 30-day window: not new
    assert a["new_counterparties_30d"] == 3  # B, C, D


def test_pass_through_zero_without_flow_and_shares_zero_without_denominator() -> None:
    b = run([{"timestamp": ts(10), "src": "A", "dst": "B", "amount": 10}])["B"]
    assert b["pass_through_ratio_7d"] == 0.0
    assert b["cross_border_out_share_7d"] == 0.0
    assert b["near_threshold_cash_share_7d"] == 0.0


def test_window_edges_closed_right() -> None:
    """Windows are (as_of+1 - w days, as_of+1]: midnight belongs to the day before."""
    end = dt.datetime(2026, 1, 11, tzinfo=dt.UTC)  # as_of + 1 day, 00:00
    txs = [
        {"timestamp": end, "src": "B", "dst": "A", "amount": 1},  # in (right edge, inclusive)
        {"timestamp": end - dt.timedelta(days=1), "src": "B", "dst": "A", "amount": 2},  # 1d: out
        {
            "timestamp": end - dt.timedelta(days=1) + dt.timedelta(microseconds=1),
            "src": "B",
            "dst": "A",
            "amount": 4,
        },  # 1d: in
        {"timestamp": end - dt.timedelta(days=7), "src": "B", "dst": "A", "amount": 8},  # 7d: out
        {"timestamp": end + dt.timedelta(microseconds=1), "src": "B", "dst": "A", "amount": 16},  # after
    ]
    a = run(txs)["A"]
    assert a["in_amount_1d"] == 5.0
    assert a["in_amount_7d"] == 7.0
    assert a["in_amount_30d"] == 15.0


def test_window_edges_closed_left() -> None:
    end = dt.datetime(2026, 1, 11, tzinfo=dt.UTC)
    txs = [
        {"timestamp": end, "src": "B", "dst": "A", "amount": 1},  # next day: out
        {"timestamp": end - dt.timedelta(days=1), "src": "B", "dst": "A", "amount": 2},  # 1d: in
        {"timestamp": end - dt.timedelta(microseconds=1), "src": "B", "dst": "A", "amount": 4},
        {"timestamp": end - dt.timedelta(days=7), "src": "B", "dst": "A", "amount": 8},  # 7d: in
    ]
    a = run(txs, config=FeatureConfig(window_closed="left"))["A"]
    assert a["in_amount_1d"] == 6.0
    assert a["in_amount_7d"] == 14.0


def test_cash_deposit_features_and_cash_placeholder() -> None:
    txs = [
        # threshold 10,000, floor 0.8: [8000, 10000) is "near"
        {
            "timestamp": ts(10),
            "src": "P",
            "dst": "A",
            "amount": 8000,
            "channel": "cash_deposit",
            "region": "TX-Houston",
        },
        {
            "timestamp": ts(9),
            "src": "Q",
            "dst": "A",
            "amount": 9999.99,
            "channel": "cash_deposit",
            "region": "TX-Dallas",
        },
        {
            "timestamp": ts(8),
            "src": "CASH",
            "dst": "A",
            "amount": 9500,
            "channel": "cash_deposit",
            "region": "TX-Dallas",
        },
        {
            "timestamp": ts(7),
            "src": "P",
            "dst": "A",
            "amount": 10000,
            "channel": "cash_deposit",
            "region": "TX-El Paso",
        },
        {
            "timestamp": ts(6),
            "src": "CASH",
            "dst": "A",
            "amount": 7999.99,
            "channel": "cash_deposit",
            "region": "TX-Houston",
        },
        {
            "timestamp": ts(10, 15),
            "src": "A",
            "dst": "CASH",
            "amount": 3000,
            "channel": "cash_withdrawal",
            "region": "TX-Laredo",
        },
        {
            "timestamp": ts(5),
            "src": "A",
            "dst": "CASH",
            "amount": 700,
            "channel": "cash_withdrawal",
            "region": "IL-Chicago",
        },
    ]
    out = run(txs)
    assert "CASH" not in out
    a = out["A"]
    assert a["cash_deposit_count_7d"] == 5
    assert a["cash_deposit_amount_7d"] == pytest.approx(45499.98)
    assert a["near_threshold_cash_count_7d"] == 3  # 8000, 9999.99, 9500
    assert a["near_threshold_cash_share_7d"] == pytest.approx(3 / 5)
    assert a["near_threshold_depositors_7d"] == 2  # P and Q; CASH is nobody
    assert a["near_threshold_depositors_1d"] == 1
    assert a["cash_deposit_regions_7d"] == 3
    assert a["cash_deposit_regions_1d"] == 1
    assert (a["cash_withdrawal_count_7d"], a["cash_withdrawal_amount_7d"]) == (2, 3700.0)
    assert (a["border_cash_withdrawal_count_7d"], a["border_cash_withdrawal_amount_7d"]) == (1, 3000.0)
    # counterparties: P and Q (depositors), never CASH
    assert a["fan_in_degree_7d"] == 2 and a["fan_out_degree_7d"] == 0
    assert a["new_counterparties_30d"] == 2
    # a cash deposit credits A, a withdrawal debits A; the depositor's balance does not move
    assert (a["in_count_7d"], a["out_count_7d"]) == (5, 2)
    p = out["P"]
    assert (p["out_count_7d"], p["out_amount_7d"], p["fan_out_degree_7d"]) == (0, 0.0, 1)


def test_static_account_features() -> None:
    txs = [
        {"timestamp": ts(10), "src": "B", "dst": "A", "amount": 6000},
        {"timestamp": ts(20, month=12, year=2025), "src": "B", "dst": "A", "amount": 1},  # 30d: in
        {"timestamp": ts(1, month=10, year=2025), "src": "A", "dst": "B", "amount": 1},
        {"timestamp": ts(2), "src": "C", "dst": "Z", "amount": 1},
    ]
    accounts = [
        {"id": "A", "income": 2000.0, "is_pep": True, "opened_at": ts(1, 0)},
        {"id": "B", "income": 0.0},
        {"id": "C", "income": None, "opened_at": None},
    ]
    out = run(txs, accounts)
    a, b, c = out["A"], out["B"], out["C"]
    assert a["account_age_days"] == 9
    assert (a["is_pep"], b["is_pep"]) == (1, 0)
    assert a["declared_monthly_income"] == 2000.0
    assert a["inflow_to_declared_income_30d"] == pytest.approx(6001 / 2000)
    assert b["inflow_to_declared_income_30d"] == 0.0  # income 0
    assert c["inflow_to_declared_income_30d"] == 0.0 and c["declared_monthly_income"] == 0.0
    assert c["account_age_days"] == 0  # unknown opening date
    # A: active 2025-10-01, 2025-12-20, 2026-01-10 -> gap before the latest activity = 21 days;
    # first activity in the 30-day window (12-20) came after 80 days of silence
    assert a["days_since_previous_activity"] == 21
    assert a["reactivation_gap_days"] == 80
    assert c["days_since_previous_activity"] == 0
    # Z is not in the accounts table: still scored, segment "unknown"
    z = out["Z"]
    assert (z["kind"], z["sector"], z["region"]) == ("unknown", "unknown", "unknown")


def test_as_of_ignores_later_transactions_and_inactive_accounts() -> None:
    txs = [
        {"timestamp": ts(10), "src": "A", "dst": "B"},
        {"timestamp": ts(12), "src": "A", "dst": "B"},  # after as_of
        {"timestamp": ts(1, month=11, year=2025), "src": "C", "dst": "D"},  # > 30 days before
    ]
    out = run(txs)
    assert set(out) == {"A", "B"}
    assert out["A"]["out_count_30d"] == 1
    assert all(r["eval_date"] == AS_OF for r in out.values())


def test_history_mode_steps() -> None:
    # 7-day steps aligned to Monday 2000-01-03: 2026-01-05 (Mon) .. 2026-01-11 (Sun)
    txs = [
        {"timestamp": ts(5), "src": "A", "dst": "B", "amount": 1},
        {"timestamp": ts(11, 23), "src": "A", "dst": "B", "amount": 2},
        {"timestamp": ts(12), "src": "A", "dst": "C", "amount": 4},
    ]
    df = compute_features(tx_frame(txs), account_frame([{"id": x} for x in "ABC"]), CFG)
    a = df.filter(pl.col("account_id") == "A")
    assert a["eval_date"].to_list() == [dt.date(2026, 1, 11), dt.date(2026, 1, 18)]
    assert a["out_amount_7d"].to_list() == [3.0, 4.0]
    assert a["out_amount_30d"].to_list() == [3.0, 7.0]
    c = df.filter(pl.col("account_id") == "C")
    assert c["eval_date"].to_list() == [dt.date(2026, 1, 18)]


@pytest.mark.parametrize("missing", ["amount", "channel", "timestamp", "dst_account"])
def test_missing_transaction_column_fails_loudly(missing: str) -> None:
    tx = tx_frame([{"timestamp": ts(1), "src": "A", "dst": "B"}]).drop(missing)
    with pytest.raises(FeatureInputError, match=missing):
        compute_features(tx, account_frame([{"id": "A"}]), CFG)


def test_missing_account_column_fails_loudly() -> None:
    tx = tx_frame([{"timestamp": ts(1), "src": "A", "dst": "B"}])
    with pytest.raises(FeatureInputError, match="is_pep"):
        compute_features(tx, account_frame([{"id": "A"}]).drop("is_pep"), CFG)


def test_empty_input_gives_empty_table_with_all_columns() -> None:
    tx = tx_frame([{"timestamp": ts(1), "src": "A", "dst": "B"}]).filter(pl.lit(False))
    df = compute_features(tx, account_frame([{"id": "A"}]), CFG)
    assert df.height == 0
    assert df.columns == [*KEY_COLUMNS, *SEGMENT_COLUMNS, *feature_specs(CFG)]


def test_write_features_atomic_with_schema_id(tmp_path) -> None:
    tx = tx_frame([{"timestamp": ts(1), "src": "A", "dst": "B"}])
    df = compute_features(tx, account_frame([{"id": "A"}, {"id": "B"}]), CFG)
    path = write_features(df, tmp_path / "run")
    assert path.name == "features.parquet"
    assert pq.read_schema(path).metadata[b"moneytrail.schema"] == b"features/v1"
    assert pl.read_parquet(path).equals(df)
    assert [p.name for p in path.parent.iterdir()] == ["features.parquet"]
