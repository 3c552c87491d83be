"""Transaction-level minority-class F1, the convention of IBM's AMLworld benchmark.

AMLworld labels single transactions and scores models by the F1 of the laundering class.
moneytrail alerts accounts, so a transaction is *predicted positive* when its sender or its
receiver holds an alert whose evaluation date lies on or after the transaction's date and at
most ``window_days - 1`` days later: the alert's trailing feature windows (30 days at most)
covered the transaction. ``window_days=None`` drops the time condition (any alert of either
party). Only transactions the run could see count: those dated from ``window_days - 1`` days
before the run's first evaluation date up to its last one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import polars as pl

#: The longest trailing feature window: an alert speaks for the 30 days ending on its date.
DEFAULT_WINDOW_DAYS = 30


@dataclass(frozen=True)
class TransactionF1:
    """Counts and scores of the laundering (minority) class."""

    transactions: int
    positives: int
    predicted: int
    true_positives: int
    precision: float
    recall: float
    f1: float
    window_days: int | None

    def as_dict(self) -> dict:
        return asdict(self)


def predicted_transactions(
    alerts: pl.DataFrame, transactions: pl.LazyFrame, window_days: int | None = DEFAULT_WINDOW_DAYS
) -> pl.LazyFrame:
    """``tx_id`` of every transaction an alert covers (see the module docstring), each once.

    ``transactions`` needs ``tx_id, src_account, dst_account, date``; ``alerts`` needs
    ``account_id, eval_date``.
    """
    alerted = alerts.lazy().select("account_id", "eval_date").unique()
    sides = pl.concat(
        [
            transactions.select("tx_id", "date", pl.col(side).alias("account_id"))
            for side in ("src_account", "dst_account")
        ]
    )
    covered = sides.join(alerted, on="account_id", how="inner")
    if window_days is not None:
        covered = covered.filter(
            (pl.col("eval_date") >= pl.col("date"))
            & (pl.col("eval_date") - pl.col("date") < pl.duration(days=window_days))
        )
    return covered.select("tx_id").unique()


def transaction_f1(
    alerts: pl.DataFrame,
    transactions: pl.LazyFrame,
    labels: dict[str, pl.DataFrame],
    *,
    period: tuple[date, date] | None = None,
    window_days: int | None = DEFAULT_WINDOW_DAYS,
) -> TransactionF1:
    """Minority-class precision, recall and F1 of alert-covered transactions.

    Parameters
    ----------
    period : (first, last) evaluation dates of the run, or None for every transaction
        Transactions dated from ``first - (window_days - 1)`` to ``last`` are counted.
    """
    if period is not None:
        first, last = period
        start = first - timedelta(days=(window_days or 1) - 1)
        transactions = transactions.filter(pl.col("date").is_between(start, last))
    positive = labels["transactions"]["tx_id"].unique()
    truth = transactions.select("tx_id", "src_account", "dst_account", "date").with_columns(
        pl.col("tx_id").is_in(positive.implode()).alias("y")
    )
    flagged = predicted_transactions(alerts, truth, window_days).with_columns(pl.lit(True).alias("p"))
    counts = (
        truth.join(flagged, on="tx_id", how="left")
        .select(
            pl.len().alias("transactions"),
            pl.col("y").sum().alias("positives"),
            pl.col("p").fill_null(False).sum().alias("predicted"),
            (pl.col("y") & pl.col("p").fill_null(False)).sum().alias("true_positives"),
        )
        .collect()
        .row(0, named=True)
    )
    tp, pos, pred = counts["true_positives"], counts["positives"], counts["predicted"]
    precision = tp / pred if pred else 0.0
    recall = tp / pos if pos else 0.0
    return TransactionF1(
        transactions=counts["transactions"],
        positives=pos,
        predicted=pred,
        true_positives=tp,
        precision=precision,
        recall=recall,
        f1=2 * tp / (pred + pos) if pred + pos else 0.0,
        window_days=window_days,
    )
