"""Supervised mode: no label column can leak in, no feature looks ahead, a planted signal is learned."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from detectors.supervised import (
    GradientBoostedDetector,
    LabelLeakError,
    check_no_label_columns,
    edge_features,
    time_split,
)

UTC = dt.UTC


def _tx(rows: list[tuple[str, str, str, dt.datetime, float]]) -> pl.LazyFrame:
    return pl.DataFrame(
        {
            "tx_id": [r[0] for r in rows],
            "src_account": [r[1] for r in rows],
            "dst_account": [r[2] for r in rows],
            "timestamp": pl.Series([r[3] for r in rows], dtype=pl.Datetime("us", "UTC")),
            "amount": [r[4] for r in rows],
            "channel": ["wire"] * len(rows),
            "src_country": ["US"] * len(rows),
            "dst_country": ["US"] * len(rows),
        }
    ).lazy()


def _features(rows: list[tuple[str, dt.date, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "eval_date": [r[1] for r in rows],
            "kind": ["individual"] * len(rows),
            "out_amount_7d": [r[2] for r in rows],
        }
    )


@pytest.mark.parametrize("column", ["label_is_sar", "is_laundering", "instance_id", "typology", "Is_SAR"])
def test_label_columns_are_refused(column: str) -> None:
    with pytest.raises(LabelLeakError, match=column):
        check_no_label_columns(["out_amount_7d", column])
    frame = pl.DataFrame({"out_amount_7d": [1.0, 2.0, 3.0, 4.0], column: [0, 1, 0, 1]})
    with pytest.raises(LabelLeakError, match=column):
        GradientBoostedDetector().fit(frame, [0, 1, 0, 1])
    accounts = _features([("A", dt.date(2026, 1, 1), 1.0)]).with_columns(pl.lit(1).alias(column))
    with pytest.raises(LabelLeakError, match=column):
        edge_features(_tx([("T1", "A", "B", dt.datetime(2026, 1, 2, tzinfo=UTC), 5.0)]), accounts)


def test_account_features_come_from_the_previous_day_or_earlier() -> None:
    accounts = _features(
        [
            ("A", dt.date(2026, 1, 1), 10.0),
            ("A", dt.date(2026, 1, 5), 50.0),  # the transaction's own day: must not be used
            ("B", dt.date(2026, 1, 4), 7.0),
        ]
    )
    tx = _tx(
        [
            ("T1", "A", "B", dt.datetime(2026, 1, 5, 9, tzinfo=UTC), 100.0),
            ("T2", "C", "A", dt.datetime(2026, 1, 1, 23, tzinfo=UTC), 100.0),  # nothing before
        ]
    )
    out = edge_features(tx, accounts).sort("tx_id")
    assert out["src_out_amount_7d"].to_list() == [10.0, 0.0]
    assert out["src_known"].to_list() == [1.0, 0.0]
    assert out["dst_out_amount_7d"].to_list() == [7.0, 0.0]
    assert out["dst_known"].to_list() == [1.0, 0.0]


def test_time_split_keeps_later_days_for_testing() -> None:
    stamps = [dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(days=d) for d in range(10)]
    frame = pl.DataFrame({"timestamp": stamps, "x": range(10)})
    train, test, cut = time_split(frame, test_share=0.3)
    assert cut == dt.date(2026, 1, 8)
    assert train["timestamp"].max() < test["timestamp"].min()
    assert (train.height, test.height) == (7, 3)


def test_gradient_boosting_learns_a_planted_signal() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4_000, 5))
    y = ((X[:, 0] > 1.8) & (X[:, 1] > 0.0)).astype(int)
    det = GradientBoostedDetector(max_iter=50, random_state=0).fit(X, y)
    predicted = det.predict(X)
    f1 = 2 * (predicted & y).sum() / (predicted.sum() + y.sum())
    assert f1 >= 0.8
    assert 0.0 < det.threshold_ < 1.0
    with pytest.raises(ValueError, match="two classes"):
        GradientBoostedDetector().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="validation"):
        GradientBoostedDetector().fit(X[:100], np.r_[np.ones(10), np.zeros(90)])
