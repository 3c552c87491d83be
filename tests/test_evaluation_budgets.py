"""Budget metrics, ranking curves and alert volume against hand counts and scikit-learn."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, precision_recall_curve, precision_score, recall_score

from evaluation.metrics import (
    account_metrics_at_budgets,
    alerts_per_day,
    budget_size,
    instance_recall_by_typology,
    precision_recall_points,
    rank_accounts,
    recall_at_budgets,
)

SCORES = pl.DataFrame(
    {
        # Ranked: b(0.95) a(0.9) p(0.8) x(0.6) f(0.4) e(0.3) c(0.2) d(0.1) + 12 background accounts.
        "account_id": ["a", "b", "c", "d", "e", "f", "p", "x", *[f"z{i:02}" for i in range(12)]],
        "score": [0.9, 0.95, 0.2, 0.1, 0.3, 0.4, 0.8, 0.6, *[0.01 * i for i in range(12)]],
    }
)


def test_recall_at_budgets_by_hand(labels) -> None:
    # 20 accounts: 10% -> 2 alerts (b, a: i1 caught through a), 25% -> 5 (adds p, x, f: i3 via f),
    # 40% -> 8 (adds e, c: i2 via c).
    table = recall_at_budgets(SCORES, labels, [0.1, 0.25, 0.4])
    overall = table.filter(pl.col("typology") == "all")
    assert overall.select("alerts", "caught").rows() == [(2, 1), (5, 2), (8, 3)]
    fan_in = table.filter(pl.col("typology") == "fan_in")
    assert fan_in["recall"].to_list() == [0.5, 0.5, 1.0]


def test_ties_are_broken_by_account_id() -> None:
    ranks = rank_accounts(pl.DataFrame({"account_id": ["b", "a", "c"], "score": [0.5, 0.5, 0.9]}))
    assert ranks["account_id"].to_list() == ["c", "a", "b"]


def test_account_metrics_match_scikit_learn(labels) -> None:
    table = account_metrics_at_budgets(SCORES, labels, [0.25])
    top = set(rank_accounts(SCORES).head(budget_size(SCORES.height, 0.25))["account_id"])
    members = {"a", "b", "c", "d", "e", "f"}
    y = [int(a in members) for a in SCORES["account_id"]]
    predicted = [int(a in top) for a in SCORES["account_id"]]
    row = table.row(0, named=True)
    assert row["precision"] == pytest.approx(precision_score(y, predicted))
    assert row["recall"] == pytest.approx(recall_score(y, predicted))


def test_precision_recall_points_are_scikit_learns_curve(labels) -> None:
    members = {"a", "b", "c", "d", "e", "f"}
    y = np.array([int(a in members) for a in SCORES["account_id"]])
    precision, recall, _ = precision_recall_curve(y, SCORES["score"].to_numpy())
    points = precision_recall_points(SCORES, labels, max_points=1_000)
    assert points["precision"].to_list() == pytest.approx(precision.tolist())
    assert points["recall"].to_list() == pytest.approx(recall.tolist())
    # Thinning keeps both ends of the curve.
    thin = precision_recall_points(SCORES, labels, max_points=3)
    assert thin.height == 3 and thin["recall"][0] == recall[0] and thin["recall"][-1] == 0.0
    assert average_precision_score(y, SCORES["score"]) > 0.5


def test_alerts_per_day_counts_each_date() -> None:
    alerts = pl.DataFrame({"eval_date": [date(2026, 1, 2), date(2026, 1, 1), date(2026, 1, 2)]})
    assert alerts_per_day(alerts).rows() == [(date(2026, 1, 1), 1), (date(2026, 1, 2), 2)]


@st.composite
def ranked_world(draw: st.DrawFn) -> tuple[pl.DataFrame, dict[str, pl.DataFrame], list[float]]:
    n = draw(st.integers(5, 40))
    scores = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    accounts = [f"acc{i}" for i in range(n)]
    k = draw(st.integers(1, 6))
    members = draw(
        st.lists(
            st.tuples(
                st.integers(0, k - 1),
                st.integers(0, n - 1),
                st.sampled_from(["originator", "intermediary", "beneficiary"]),
            ),
            min_size=1,
            max_size=20,
        )
    )
    labels = {
        "instances": pl.DataFrame(
            {"instance_id": [f"i{j}" for j in range(k)], "typology": [f"t{j % 2}" for j in range(k)]}
        ),
        "instance_accounts": pl.DataFrame(
            {
                "instance_id": [f"i{j}" for j, _, _ in members],
                "account_id": [accounts[a] for _, a, _ in members],
                "role": [r for _, _, r in members],
            }
        ),
    }
    budgets = sorted(draw(st.lists(st.floats(0, 1), min_size=1, max_size=5)))
    return pl.DataFrame({"account_id": accounts, "score": scores}), labels, budgets


@settings(max_examples=60, deadline=None)
@given(ranked_world())
def test_recall_is_monotone_in_the_budget_and_equals_alerting_the_top_k(world) -> None:
    scores, labels, budgets = world
    table = recall_at_budgets(scores, labels, budgets)
    overall = table.filter(pl.col("typology") == "all").sort("budget")
    assert (
        overall["caught"].diff().drop_nulls().min() is None
        or overall["caught"].diff().drop_nulls().min() >= 0
    )
    ranked = rank_accounts(scores)
    for share in budgets:
        top = ranked.head(budget_size(scores.height, share))["account_id"]
        expected = instance_recall_by_typology(top, labels)
        got = table.filter((pl.col("budget") == share) & (pl.col("typology") != "all"))
        assert (
            got.select("typology", "caught").sort("typology").rows()
            == expected.select("typology", "caught").rows()
        )
