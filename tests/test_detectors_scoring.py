"""score_accounts end to end on small inline feature frames."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from detectors import DEFAULT_RULES, DetectorConfig, MissingFeatureError, score_accounts
from detectors.testing import RULE_CASES as CASES
from detectors.testing import feature_frame, feature_row

RULE_TYPOLOGY = {r.name: r.typology for r in DEFAULT_RULES}
ENABLED = [case for case in CASES if next(r for r in DEFAULT_RULES if r.name == case[0]).enabled]
CONFIG = DetectorConfig(isolation_forest_trees=50, anomaly_min_group_rows=50)


def _background(n: int, seed: int) -> list[dict]:
    """Ordinary accounts: salaries in, spending out, a little cash, few counterparties."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        business = i % 5 == 0
        scale = 30_000.0 if business else 3_000.0
        income = scale * rng.lognormal(0, 0.3)
        inflow, outflow = income * rng.lognormal(0, 0.2), income * rng.uniform(0.3, 0.8)
        rows.append(
            feature_row(
                f"BG{i:04d}",
                kind="business" if business else "individual",
                declared_monthly_income=income,
                in_amount_30d=inflow,
                out_amount_30d=outflow,
                in_amount_7d=inflow / 4,
                out_amount_7d=outflow / 4,
                in_count_30d=float(rng.integers(1, 6)),
                out_count_30d=float(rng.integers(5, 40)),
                fan_in_degree_30d=float(rng.integers(1, 4)),
                fan_out_degree_30d=float(rng.integers(3, 20)),
                pass_through_ratio_30d=outflow / inflow,
                cash_deposit_count_30d=float(rng.integers(0, 3)),
                cash_deposit_amount_30d=float(rng.uniform(0, 2_000)),
                cash_deposit_regions_30d=1.0,
                inflow_to_declared_income_30d=inflow / income,
                account_age_days=float(rng.integers(400, 5_000)),
                days_since_previous_activity=float(rng.integers(0, 10)),
            )
        )
    return rows


@pytest.fixture(scope="module")
def population() -> pl.DataFrame:
    rows = _background(300, seed=1)
    rows += [feature_row(f"POS_{name}", **pos) for name, pos, _, _ in ENABLED]
    rows += [feature_row(f"NEG_{name}", **neg) for name, _, neg, _ in ENABLED]
    return feature_frame(rows)


@pytest.fixture(scope="module")
def scored(population: pl.DataFrame) -> pl.DataFrame:
    return score_accounts(population, CONFIG, np.random.default_rng(42))


def test_one_row_per_input_row_in_input_order(population: pl.DataFrame, scored: pl.DataFrame) -> None:
    assert scored.height == population.height
    assert scored.get_column("account_id").to_list() == population.get_column("account_id").to_list()
    assert scored.columns[:5] == ["account_id", "eval_date", "score", "top_typology", "reasons"]
    assert "score_structuring" in scored.columns and "score_anomaly" in scored.columns
    assert scored.schema["reasons"] == pl.List(pl.String)
    assert scored.get_column("score").is_between(0.0, 1.0).all()


def test_positives_get_their_typology_and_outrank_lookalikes(scored: pl.DataFrame) -> None:
    by_id = {r["account_id"]: r for r in scored.iter_rows(named=True)}
    worst_positive = min(by_id[f"POS_{name}"]["score"] for name, *_ in ENABLED)
    for name, *_ in ENABLED:
        pos, neg = by_id[f"POS_{name}"], by_id[f"NEG_{name}"]
        assert pos["top_typology"] == RULE_TYPOLOGY[name], name
        assert pos["score"] >= 0.5 and pos["reasons"], name
        assert neg["score"] < 0.5 and neg["top_typology"] in (None, "anomaly"), name
        assert neg["score"] < worst_positive
    background = scored.filter(pl.col("account_id").str.starts_with("BG"))
    assert background.get_column("score").max() < 0.5
    assert background.get_column("top_typology").drop_nulls().unique().to_list() in ([], ["anomaly"])


def test_reasons_quote_the_feature_values(scored: pl.DataFrame) -> None:
    reasons = dict(zip(scored["account_id"], scored["reasons"], strict=True))
    assert reasons["POS_structuring_7d"][0] == (
        "9 cash deposits of USD 8,000-9,999 within 7 days from 4 known depositors (90% of cash deposits)"
    )
    assert "USD 120,000" in reasons["POS_funnel_30d"][0] and "7 regions" in reasons["POS_funnel_30d"][0]
    assert all(isinstance(r, str) for rs in reasons.values() for r in rs)


def test_anomaly_only_rows_are_explained(population: pl.DataFrame) -> None:
    config = CONFIG.model_copy(update={"anomaly_contamination": 0.05})
    out = score_accounts(population, config, np.random.default_rng(42))
    anomalies = out.filter(pl.col("top_typology") == "anomaly")
    assert anomalies.height > 0
    assert anomalies.get_column("score").max() < 0.5
    for reasons in anomalies.get_column("reasons").to_list():
        assert reasons and reasons[0].startswith("unusually ")


def test_near_misses_rank_above_quiet_accounts() -> None:
    rows = [
        *_background(60, seed=3),
        feature_row("near", near_threshold_cash_count_7d=2, near_threshold_cash_share_7d=0.45),
        feature_row("quiet", in_amount_30d=3_000, out_amount_30d=2_500, in_count_30d=2),
    ]
    out = score_accounts(feature_frame(rows), CONFIG, np.random.default_rng(0))
    by_id = {r["account_id"]: r for r in out.iter_rows(named=True)}
    near, quiet = by_id["near"], by_id["quiet"]
    assert near["top_typology"] in (None, "anomaly") and near["score"] < 0.5
    assert near["score_near_miss"] == pytest.approx((2 / 3 + 0.45 / 0.5) / 2)
    assert near["score"] > quiet["score"]
    assert out.get_column("score_near_miss").is_between(0.0, 1.0).all()


def test_deterministic_and_row_order_invariant(population: pl.DataFrame, scored: pl.DataFrame) -> None:
    again = score_accounts(population, CONFIG, np.random.default_rng(42))
    assert_frame_equal(again, scored)
    shuffled = population.sample(fraction=1.0, shuffle=True, seed=3)
    permuted = score_accounts(shuffled, CONFIG, np.random.default_rng(42))
    assert_frame_equal(permuted.sort("account_id"), scored.sort("account_id"))


def test_combiner_rule_hits_first_then_severity_then_anomaly() -> None:
    rows = [
        *_background(120, seed=2),
        feature_row("weak", near_threshold_cash_count_7d=3, near_threshold_cash_share_7d=0.5),
        feature_row(
            "strong",
            near_threshold_cash_count_7d=12,
            near_threshold_cash_share_7d=1.0,
            near_threshold_depositors_7d=6,
        ),
        feature_row(
            "two",
            near_threshold_cash_count_7d=3,
            near_threshold_cash_share_7d=0.5,
            cash_deposit_regions_30d=5,
            cash_deposit_amount_30d=30000,
            out_amount_30d=25000,
        ),
        feature_row(
            "weird", in_amount_30d=9000000.0, out_amount_30d=1.0, in_count_30d=900, fan_in_degree_30d=3
        ),
    ]
    config = CONFIG.model_copy(update={"anomaly_contamination": 0.05})
    out = score_accounts(feature_frame(rows), config, np.random.default_rng(0))
    score = dict(zip(out["account_id"], out["score"], strict=True))
    top = dict(zip(out["account_id"], out["top_typology"], strict=True))
    assert top["weird"] == "anomaly" and score["weird"] < 0.5
    assert 0.5 <= score["weak"] < score["two"] and score["weak"] < score["strong"]
    assert top["two"] in ("structuring", "funnel")
    assert max(v for k, v in score.items() if k.startswith("BG")) < score["weak"]


def test_missing_feature_fails_loudly_with_its_name(population: pl.DataFrame) -> None:
    with pytest.raises(MissingFeatureError, match="cash_deposit_regions_30d"):
        score_accounts(population.drop("cash_deposit_regions_30d"), CONFIG, np.random.default_rng(0))
    with pytest.raises(MissingFeatureError, match="kind"):
        score_accounts(population.drop("kind"), CONFIG, np.random.default_rng(0))


def test_nulls_fail_loudly(population: pl.DataFrame) -> None:
    broken = population.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(None)
        .otherwise(pl.col("fan_in_degree_7d"))
        .alias("fan_in_degree_7d")
    )
    with pytest.raises(ValueError, match="fan_in_degree_7d"):
        score_accounts(broken, CONFIG, np.random.default_rng(0))
    unused_by_rules = population.with_columns(pl.lit(float("nan")).alias("round_amount_share_1d"))
    with pytest.raises(ValueError, match="round_amount_share_1d"):
        score_accounts(unused_by_rules, CONFIG, np.random.default_rng(0))


def test_empty_input(population: pl.DataFrame) -> None:
    out = score_accounts(population.head(0), CONFIG, np.random.default_rng(0))
    assert out.height == 0 and out.columns[:5] == [
        "account_id",
        "eval_date",
        "score",
        "top_typology",
        "reasons",
    ]


def test_disabled_rule_and_unsupervised_only_config(population: pl.DataFrame) -> None:
    rules = tuple(r.model_copy(update={"enabled": False}) for r in DEFAULT_RULES)
    out = score_accounts(population, CONFIG.model_copy(update={"rules": rules}), np.random.default_rng(0))
    assert out.get_column("score").max() < 0.5
    assert set(out.get_column("top_typology").drop_nulls()) <= {"anomaly"}
