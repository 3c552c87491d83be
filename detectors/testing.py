"""Small hand-made feature frames for tests and examples (no feature engine needed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from features.registry import FEATURES

EVAL_DATE = dt.date(2026, 3, 31)


def feature_row(account_id: str = "A1", **values: Any) -> dict[str, Any]:
    """Return one feature row: every registered feature 0, an individual account, plus ``values``.

    Unknown keys are added as extra columns (e.g. future graph features).
    """
    row: dict[str, Any] = {
        "account_id": account_id,
        "eval_date": EVAL_DATE,
        "kind": "individual",
        "sector": "none",
        "region": "north",
    }
    row |= {name: 0.0 for name in FEATURES}
    row |= {"account_age_days": 2_000.0, "declared_monthly_income": 4_000.0}
    row |= values
    return row


def feature_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Return a feature table from rows built with :func:`feature_row` (numeric columns as Float64)."""
    frame = pl.DataFrame(rows)
    numeric = [c for c, t in frame.schema.items() if t.is_numeric()]
    return frame.with_columns(pl.col(numeric).cast(pl.Float64))


def edge_frame(rows: list[tuple[str, str, float, dt.date]]) -> pl.DataFrame:
    """Return propagation edges (``src_account, dst_account, amount, eval_date``) from tuples."""
    return pl.DataFrame(
        {
            "src_account": [r[0] for r in rows],
            "dst_account": [r[1] for r in rows],
            "amount": [r[2] for r in rows],
            "eval_date": [r[3] for r in rows],
        }
    )


#: (rule name, positive row values, benign look-alike row values, what the look-alike is)
RULE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "structuring_7d",
        dict(
            near_threshold_cash_count_7d=9,
            near_threshold_cash_share_7d=0.9,
            near_threshold_depositors_7d=4,
            cash_deposit_count_7d=10,
            cash_deposit_amount_7d=86_000,
        ),
        dict(
            kind="business",
            sector="restaurant",
            cash_deposit_count_7d=7,
            cash_deposit_amount_7d=24_500,
            near_threshold_cash_count_7d=1,
            near_threshold_cash_share_7d=0.14,
            near_threshold_depositors_7d=1,
        ),
        "restaurant depositing cash daily",
    ),
    (
        "structuring_30d",
        dict(
            near_threshold_cash_count_30d=12,
            near_threshold_cash_share_30d=0.8,
            near_threshold_depositors_30d=6,
        ),
        dict(
            kind="business",
            sector="car_dealer",
            cash_deposit_count_30d=30,
            near_threshold_cash_count_30d=3,
            near_threshold_cash_share_30d=0.1,
            near_threshold_depositors_30d=2,
        ),
        "car dealer with a few large cash sales",
    ),
    (
        "funnel_30d",
        dict(
            cash_deposit_regions_30d=7,
            cash_deposit_count_30d=14,
            cash_deposit_amount_30d=120_000,
            out_amount_30d=115_000,
            cross_border_out_share_30d=0.6,
        ),
        dict(
            cash_deposit_regions_30d=5,
            cash_deposit_count_30d=8,
            cash_deposit_amount_30d=30_000,
            out_amount_30d=6_000,
        ),
        "travelling salesperson banking cash in several regions and keeping it",
    ),
    (
        "fan_in_7d",
        dict(
            fan_in_degree_7d=25,
            in_count_7d=25,
            in_amount_7d=40_000,
            new_counterparties_30d=25,
            pass_through_ratio_7d=0.9,
        ),
        dict(
            kind="business",
            sector="retail",
            fan_in_degree_7d=400,
            in_count_7d=900,
            in_amount_7d=60_000,
            new_counterparties_30d=120,
        ),
        "merchant paid by many customers",
    ),
    (
        "gather_scatter_30d",
        dict(
            kind="business",
            sector="holding",
            fan_in_degree_30d=6,
            fan_out_degree_30d=5,
            new_payers_30d=6,
            new_payees_30d=5,
            in_amount_30d=80_000,
            out_amount_30d=78_000,
            pass_through_ratio_30d=0.975,
            declared_monthly_income=40_000,
            inflow_to_declared_income_30d=2,
        ),
        dict(
            kind="business",
            sector="wholesale",
            fan_in_degree_30d=6,
            fan_out_degree_30d=5,
            new_payers_30d=0,
            new_payees_30d=1,
            in_amount_30d=80_000,
            out_amount_30d=78_000,
            pass_through_ratio_30d=0.975,
            declared_monthly_income=40_000,
            inflow_to_declared_income_30d=2,
        ),
        "wholesaler paid by its usual buyers, paying its usual suppliers",
    ),
    (
        "relay_30d",
        dict(
            fan_in_degree_30d=1,
            fan_out_degree_30d=1,
            new_payers_30d=1,
            new_payees_30d=1,
            in_amount_30d=24_000,
            out_amount_30d=23_500,
            pass_through_ratio_30d=0.98,
            inflow_to_declared_income_30d=6,
        ),
        dict(
            fan_in_degree_30d=1,
            fan_out_degree_30d=1,
            new_payers_30d=0,
            new_payees_30d=0,
            in_amount_30d=24_000,
            out_amount_30d=23_500,
            pass_through_ratio_30d=0.98,
            inflow_to_declared_income_30d=6,
        ),
        "savings moved on from the usual account to the usual account",
    ),
    (
        "fan_out_7d",
        dict(fan_out_degree_7d=20, out_count_7d=20, out_amount_7d=60_000, pass_through_ratio_7d=0.95),
        dict(
            kind="business",
            sector="manufacturing",
            fan_out_degree_7d=150,
            out_count_7d=150,
            out_amount_7d=420_000,
            pass_through_ratio_7d=0.9,
        ),
        "payroll employer paying its staff",
    ),
    (
        "pass_through_7d",
        dict(
            in_amount_7d=48_000,
            out_amount_7d=47_500,
            pass_through_ratio_7d=0.99,
            inflow_to_declared_income_30d=12,
        ),
        dict(in_amount_7d=4_000, out_amount_7d=3_800, pass_through_ratio_7d=0.95),
        "salary spent within the week",
    ),
    (
        "bribery_30d",
        dict(
            is_pep=1,
            declared_monthly_income=900,
            in_amount_30d=75_000,
            inflow_to_declared_income_30d=83.3,
            large_in_count_30d=3,
        ),
        dict(
            is_pep=1,
            declared_monthly_income=9_000,
            in_amount_30d=300_000,
            inflow_to_declared_income_30d=33.3,
            large_in_count_30d=1,
        ),
        "official paid once for a house sold",
    ),
    (
        "cash_courier_30d",
        dict(declared_monthly_income=1_500, cash_withdrawal_count_30d=6, cash_withdrawal_amount_30d=54_000),
        dict(
            kind="business",
            sector="car_dealer",
            declared_monthly_income=80_000,
            cash_withdrawal_count_30d=6,
            cash_withdrawal_amount_30d=54_000,
        ),
        "cash-intensive business withdrawing change",
    ),
    (
        "dormant_out_7d",
        dict(days_since_previous_activity=240, in_amount_7d=90_000, out_amount_7d=88_000),
        dict(
            days_since_previous_activity=240,
            in_amount_7d=250_000,
            out_amount_7d=0,
            inflow_to_declared_income_30d=62.5,
        ),
        "dormant account receiving an inheritance",
    ),
    (
        "shell_30d",
        dict(
            kind="business",
            sector="consulting",
            account_age_days=60,
            in_amount_30d=400_000,
            out_amount_30d=390_000,
            pass_through_ratio_30d=0.97,
            cross_border_out_share_30d=0.8,
        ),
        dict(
            kind="business",
            sector="produce_import",
            account_age_days=3_000,
            in_amount_30d=400_000,
            out_amount_30d=390_000,
            pass_through_ratio_30d=0.97,
            cross_border_out_share_30d=0.8,
        ),
        "established importer paying foreign suppliers",
    ),
    (
        "fan_in_business_7d",
        dict(
            kind="business",
            fan_in_degree_7d=16,
            in_count_7d=19,
            in_amount_7d=38_000,
            new_counterparties_30d=22,
        ),
        dict(
            kind="business",
            sector="utility",
            fan_in_degree_7d=300,
            in_count_7d=310,
            in_amount_7d=42_000,
            new_counterparties_30d=85,
        ),
        "utility paid small bills by many customers",
    ),
    (
        "gather_scatter_7d",
        dict(
            fan_in_degree_7d=8,
            fan_out_degree_7d=6,
            in_amount_7d=60_000,
            out_amount_7d=51_000,
            pass_through_ratio_7d=0.85,
        ),
        dict(
            kind="business",
            sector="restaurant",
            fan_in_degree_7d=8,
            fan_out_degree_7d=3,
            in_amount_7d=15_000,
            out_amount_7d=11_000,
            pass_through_ratio_7d=0.73,
        ),
        "restaurant paying a few suppliers from its takings",
    ),
    (
        "smuggling_fees_30d",
        dict(fan_in_degree_30d=25, in_count_30d=25, in_amount_30d=27_500, new_counterparties_30d=26),
        dict(fan_in_degree_30d=10, in_count_30d=10, in_amount_30d=12_000, new_counterparties_30d=2),
        "landlord collecting rent from ten tenants",
    ),
    (
        "dormant_30d",
        dict(reactivation_gap_days=75, in_amount_30d=490_000, out_amount_30d=300_000),
        dict(reactivation_gap_days=75, in_amount_30d=250_000, out_amount_30d=2_000),
        "long-silent account receiving a house-sale payment and keeping it",
    ),
    (
        "scatter_gather_out_7d",
        dict(kind="business", scatter_gather_middles_7d=6, out_amount_7d=180_000, fan_out_degree_7d=6),
        dict(
            kind="business",
            sector="utility",
            scatter_gather_middles_7d=2,
            out_amount_7d=75_000,
            fan_out_degree_7d=10,
        ),
        "utility paying suppliers, two of whom happen to pay the same wholesaler",
    ),
    (
        "scatter_gather_in_7d",
        dict(kind="business", gather_middles_7d=6, in_amount_7d=170_000, fan_in_degree_7d=6),
        dict(
            kind="business",
            sector="retail",
            gather_middles_7d=3,
            in_amount_7d=40_000,
            fan_in_degree_7d=80,
            in_count_7d=85,
        ),
        "shop whose customers' employer pays them through three payroll providers",
    ),
    (
        "cycle_7d",
        dict(
            kind="business",
            temporal_cycles_7d=2,
            in_amount_7d=240_000,
            out_amount_7d=228_000,
            pass_through_ratio_7d=0.95,
        ),
        dict(temporal_cycles_7d=1, in_amount_7d=3_000, out_amount_7d=3_000, pass_through_ratio_7d=1.0),
        "person moving savings between their own accounts and back",
    ),
]


def peer_group_frame(
    seed: int, n_individuals: int = 800, n_businesses: int = 400, n_planted: int = 10
) -> tuple[pl.DataFrame, np.ndarray]:
    """Individuals move ~USD 3,000, businesses ~USD 300,000; planted: individuals at business scale.

    Returns the frame (``account_id, eval_date, kind`` and three amount/count features) and the
    planted flags (1 for the individuals at business scale).
    """
    rng = np.random.default_rng(seed)
    kinds = ["individual"] * (n_individuals + n_planted) + ["business"] * n_businesses
    scale = np.r_[
        np.full(n_individuals, 3_000.0), np.full(n_planted, 300_000.0), np.full(n_businesses, 300_000.0)
    ]
    frame = pl.DataFrame(
        {
            "account_id": [f"A{i:04d}" for i in range(len(kinds))],
            "eval_date": [EVAL_DATE] * len(kinds),
            "kind": kinds,
            "in_amount_30d": scale * rng.lognormal(0, 0.3, len(kinds)),
            "out_amount_30d": scale * rng.lognormal(0, 0.3, len(kinds)),
            "in_count_30d": rng.poisson(8, len(kinds)).astype(float),
        }
    )
    return frame, np.r_[np.zeros(n_individuals), np.ones(n_planted), np.zeros(n_businesses)]
