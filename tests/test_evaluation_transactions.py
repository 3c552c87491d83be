"""Transaction-level minority-class F1 (the AMLworld convention) by hand and against scikit-learn."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from evaluation.transactions import predicted_transactions, transaction_f1

D = date(2026, 1, 10)
TRANSACTIONS = pl.LazyFrame(
    {
        "tx_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
        "src_account": ["a", "x", "y", "a", "q", "r"],
        "dst_account": ["b", "a", "z", "c", "w", "s"],
        "date": [D, date(2026, 1, 1), D, date(2025, 11, 1), D, date(2026, 1, 11)],
    }
)
LABELS = {"transactions": pl.DataFrame({"tx_id": ["t1", "t3", "t4", "t6"], "instance_id": ["i"] * 4})}
ALERTS = pl.DataFrame({"account_id": ["a"], "eval_date": [D]})


def test_a_transaction_is_flagged_through_either_party_within_the_window() -> None:
    flagged = set(predicted_transactions(ALERTS, TRANSACTIONS, window_days=30).collect()["tx_id"])
    # t1 (sender a, same day), t2 (receiver a, 9 days before); t4 is 70 days before, t6 after the alert.
    assert flagged == {"t1", "t2"}
    everything = set(predicted_transactions(ALERTS, TRANSACTIONS, window_days=None).collect()["tx_id"])
    assert everything == {"t1", "t2", "t4"}


def test_f1_matches_scikit_learn() -> None:
    result = transaction_f1(ALERTS, TRANSACTIONS, LABELS, window_days=30)
    ids = ["t1", "t2", "t3", "t4", "t5", "t6"]
    y = [int(t in {"t1", "t3", "t4", "t6"}) for t in ids]
    p = [int(t in {"t1", "t2"}) for t in ids]
    assert (result.transactions, result.positives, result.predicted, result.true_positives) == (6, 4, 2, 1)
    assert result.f1 == pytest.approx(f1_score(y, p))
    assert result.precision == pytest.approx(precision_score(y, p))
    assert result.recall == pytest.approx(recall_score(y, p))


def test_period_limits_the_transactions_counted() -> None:
    # Run evaluated 2026-01-10 only: transactions from 2025-12-12 to 2026-01-10 count (t1, t2, t3, t5).
    result = transaction_f1(ALERTS, TRANSACTIONS, LABELS, period=(D, D), window_days=30)
    assert (result.transactions, result.positives, result.true_positives) == (4, 2, 1)


def test_no_alerts_gives_zero_not_an_error() -> None:
    none = ALERTS.clear()
    result = transaction_f1(none, TRANSACTIONS, LABELS)
    assert (result.predicted, result.f1, result.precision) == (0, 0.0, 0.0)
