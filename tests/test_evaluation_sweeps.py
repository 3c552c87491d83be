"""Threshold sweeps: hand counts on an inline feature table, and a planted shift in generated data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.config import Condition, DetectorConfig, RuleSpec
from detectors.rules import condition_holds
from evaluation.sweeps import (
    candidate_thresholds,
    choose_thresholds,
    condition_value,
    retune,
    sweep_condition,
    sweep_rules,
)

D1, D2 = date(2026, 1, 7), date(2026, 1, 14)

RULE = RuleSpec(
    name="many_deposits",
    typology="structuring",
    kinds=("individual",),
    conditions=(
        Condition(feature="deposits", threshold=3, saturation=10),
        Condition(feature="amount", threshold=0.5, per="income", per_floor=1.0),
        Condition(feature="depositors", threshold=2, required=False),
    ),
    reason="{deposits} deposits",
)

# Accounts s1, s2 belong to structuring instances; b1 is benign; m is a business (rule skips it).
FEATURES = pl.DataFrame(
    {
        "account_id": ["s1", "s1", "s2", "b1", "b1", "m"],
        "eval_date": [D1, D2, D2, D1, D2, D2],
        "kind": ["individual", "individual", "individual", "individual", "individual", "business"],
        "deposits": [4, 8, 6, 3, 2, 20],
        "amount": [10.0, 10.0, 10.0, 10.0, 0.2, 10.0],
        "income": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "depositors": [1, 1, 1, 1, 1, 1],
    }
)
LABELS = {
    "instances": pl.DataFrame(
        {"instance_id": ["i1", "i2", "i3"], "typology": ["structuring"] * 2 + ["fan_in"]}
    ),
    "instance_accounts": pl.DataFrame(
        {"instance_id": ["i1", "i2", "i3"], "account_id": ["s1", "s2", "m"], "role": ["beneficiary"] * 3}
    ),
}


def test_sweep_counts_alerts_and_schemes_above_and_below_the_line() -> None:
    sweep = sweep_condition(FEATURES, LABELS, RULE, 0, thresholds=[3, 5, 7, 9])
    assert sweep.select(
        "threshold", "alerts", "true_alerts", "false_alerts", "schemes_above", "schemes_below"
    ).rows() == [
        (3.0, 3, 2, 1, 2, 0),  # b1 fires on D1 with 3 deposits
        (5.0, 2, 2, 0, 2, 0),
        (7.0, 1, 1, 0, 1, 1),
        (9.0, 0, 0, 0, 0, 2),
    ]
    assert sweep.filter("current")["threshold"].to_list() == [3.0]


def test_candidates_come_from_rows_the_threshold_alone_decides() -> None:
    # Rows passing the ratio condition and the kind: deposits 4, 8, 6, 3 (b1 on D2 fails the ratio,
    # m is a business). Quantiles of those plus the current threshold 3.
    assert candidate_thresholds(FEATURES, RULE, 0, levels=[0.0, 0.5, 1.0]) == [3.0, 4.0, 8.0]


def test_choose_tightens_without_losing_a_scheme_and_cost_trades_schemes_for_alerts() -> None:
    sweep = sweep_condition(FEATURES, LABELS, RULE, 0, thresholds=[3, 5, 7, 9])
    assert choose_thresholds(sweep)["threshold"].item() == 5.0
    # Without tightening a tie stays at the current threshold.
    equal = sweep.with_columns(pl.lit(0).alias("false_alerts"))
    assert choose_thresholds(equal, tighten=False)["threshold"].item() == 3.0


def test_booster_is_not_swept_and_every_required_condition_is() -> None:
    with pytest.raises(ValueError, match="booster"):
        sweep_condition(FEATURES, LABELS, RULE, 2)
    config = DetectorConfig(rules=(RULE,))
    sweep = sweep_rules(FEATURES, LABELS, config)
    assert sorted(sweep["condition"].unique()) == [0, 1]
    assert sweep.filter(pl.col("condition") == 1)["value"][0] == "amount / income"


def test_retune_scales_kind_overrides_and_keeps_saturation_valid() -> None:
    cond = Condition(feature="x", threshold=4, saturation=8, by_kind={"business": 6, "msb": None})
    moved = retune(cond, 10)
    assert (moved.threshold, moved.saturation, moved.by_kind) == (10, 10, {"business": 15.0, "msb": None})
    low = retune(Condition(feature="x", op="<=", threshold=100, saturation=50), 20)
    assert low.saturation == 20


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=20),
    per=st.lists(st.floats(-10, 1e3, allow_nan=False), min_size=20, max_size=20),
    threshold=st.floats(-1e3, 1e3, allow_nan=False),
    op=st.sampled_from([">=", "<="]),
    use_per=st.booleans(),
)
def test_condition_value_agrees_with_the_detectors(values, per, threshold, op, use_per) -> None:
    cond = Condition(feature="f", op=op, threshold=threshold, per="g" if use_per else None, per_floor=2.0)
    frame = pl.DataFrame({"f": values, "g": per[: len(values)]})
    value = frame.select(condition_value(cond)).to_series()
    expected = (value >= threshold) if op == ">=" else (value <= threshold)
    assert frame.select(condition_holds(cond)).to_series().to_list() == expected.to_list()


def _structuring_features(tmp: Path, deposits: list[int]) -> tuple[pl.DataFrame, dict]:
    import synthetic_data
    from features import compute_features
    from moneytrail.config import Config
    from moneytrail.lake import read_labels

    overrides = {
        "typologies": {
            "structuring": {
                "count": 4,
                "accounts": [1, 1],
                "deposits": deposits,
                "span_days": [2.0, 4.0],
                "floor_share": [0.85, 0.9],
                "anonymous_share": [0.0, 0.0],
            }
        }
    }
    synthetic_data.generate("tiny", 21, tmp, overrides)
    transactions = pl.scan_parquet(tmp / "transactions.parquet")
    accounts = pl.scan_parquet(tmp / "accounts.parquet")
    return compute_features(transactions, accounts, Config().features), read_labels(tmp)


def test_a_planted_rise_in_deposit_counts_raises_the_chosen_threshold(tmp_path: Path) -> None:
    rules = [
        (rule, i)
        for rule in DetectorConfig().active_rules()
        for i, c in enumerate(rule.conditions)
        if rule.typology == "structuring" and c.required and c.feature.startswith("near_threshold_cash_count")
    ]
    assert rules, "no active structuring rule with a near-threshold cash count condition"
    rule, index = rules[0]
    chosen = {}
    for name, deposits in (("few", [4, 5]), ("many", [14, 16])):
        features, labels = _structuring_features(tmp_path / name, deposits)
        sweep = sweep_condition(features, labels, rule, index)
        best = choose_thresholds(sweep).row(0, named=True)
        assert best["schemes_above"] == 4, sweep
        chosen[name] = best["threshold"]
    assert chosen["few"] <= 5
    assert chosen["many"] >= 12
