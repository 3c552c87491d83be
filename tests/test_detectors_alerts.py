"""select_alerts: budget arithmetic, one alert per (account, typology), deterministic ties."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from detectors import AlertConfig, alert_budget, select_alerts

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 8), dt.date(2026, 3, 15)


def _scores(rows: list[tuple[str, dt.date, float, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "eval_date": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "top_typology": [r[3] for r in rows],
            "reasons": [[f"reason for {r[0]} on {r[1]}"] for r in rows],
        },
        schema_overrides={"top_typology": pl.String},
    )


@pytest.mark.parametrize(
    ("n_accounts", "share", "cap", "expected"),
    [
        (300, 0.01, None, 3),
        (301, 0.01, None, 4),
        (100, 0.01, None, 1),
        (50, 0.01, None, 1),
        (1_000, 0.05, 20, 20),
        (1_000, 0.0, None, 0),
        (0, 0.5, None, 0),
        (10, 1.0, None, 10),
        (7, 0.5, 0, 0),
    ],
)
def test_budget_arithmetic(n_accounts: int, share: float, cap: int | None, expected: int) -> None:
    assert alert_budget(n_accounts, AlertConfig(budget_share=share, budget_max=cap)) == expected


def test_budget_counts_distinct_accounts_not_rows() -> None:
    # 200 accounts x 2 dates = 400 rows; 1% of 200 accounts = 2 alerts
    rows = [(f"A{i:03d}", d, i / 1000, "fan_in") for i in range(200) for d in (D1, D2)]
    alerts = select_alerts(_scores(rows), AlertConfig(budget_share=0.01))
    assert alerts.get_column("account_id").to_list() == ["A199", "A198"]


def test_one_alert_per_account_and_typology_holding_its_best_row() -> None:
    rows = [
        ("A", D1, 0.70, "structuring"),
        ("A", D2, 0.90, "structuring"),
        ("A", D3, 0.60, "funnel"),
        ("B", D1, 0.80, "fan_out"),
        ("B", D2, 0.80, "fan_out"),  # tie: the earliest date is kept
        ("C", D1, 0.40, None),  # no typology: not alertable
    ]
    alerts = select_alerts(_scores(rows), AlertConfig(budget_share=1.0))
    assert alerts.columns == ["account_id", "typology", "score", "eval_date", "reasons"]
    assert alerts.select("account_id", "typology", "score", "eval_date").rows() == [
        ("A", "structuring", 0.90, D2),
        ("B", "fan_out", 0.80, D1),
        ("A", "funnel", 0.60, D3),
    ]
    assert alerts.get_column("reasons").to_list()[0] == [f"reason for A on {D2}"]


def test_ties_broken_by_account_id() -> None:
    rows = [(acc, D1, 0.75, "pass_through") for acc in ("Z9", "B2", "M5", "A1")]
    rows += [(f"X{i}", D1, 0.1, None) for i in range(96)]
    alerts = select_alerts(_scores(rows), AlertConfig(budget_share=0.03))
    assert alerts.get_column("account_id").to_list() == ["A1", "B2", "M5"]
    again = select_alerts(_scores(list(reversed(rows))), AlertConfig(budget_share=0.03))
    assert again.equals(alerts)


def test_budget_max_and_minimum_scores() -> None:
    rows = [
        ("A", D1, 0.95, "structuring"),
        ("B", D1, 0.90, "anomaly"),
        ("C", D1, 0.55, "fan_in"),
        ("D", D1, 0.52, "structuring"),
        ("E", D1, 0.30, "anomaly"),
    ]
    config = AlertConfig(
        budget_share=1.0, min_score=0.5, min_score_by_typology={"anomaly": 0.95, "fan_in": 0.5}
    )
    assert select_alerts(_scores(rows), config).get_column("account_id").to_list() == ["A", "C", "D"]
    capped = AlertConfig(budget_share=1.0, budget_max=2)
    assert select_alerts(_scores(rows), capped).get_column("account_id").to_list() == ["A", "B"]


def test_empty_scores_and_missing_columns() -> None:
    empty = _scores([])
    assert select_alerts(empty, AlertConfig()).height == 0
    with pytest.raises(KeyError, match="top_typology"):
        select_alerts(empty.drop("top_typology"), AlertConfig())
