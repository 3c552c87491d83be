"""Supervised mode: a gradient-boosted transaction classifier, for when labels exist.

Each transaction is described by its own attributes and by the sender's and receiver's account
features *as of the previous day* (``features.compute_features`` rows with ``eval_date`` before
the transaction's date), so a transaction never sees features computed with itself or with
anything later. Label columns never enter the features: :func:`check_no_label_columns` refuses
them, and :class:`GradientBoostedDetector` calls it on every frame it is given.

The split is by time (:func:`time_split`): train on earlier days, test on later ones; the
decision threshold is chosen on the last ``validation_fraction`` of the (time-ordered) training
rows, never on the test period.
"""

from __future__ import annotations

import datetime as dt
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import precision_recall_curve
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from detectors.config import SupervisedConfig
from detectors.peers import numeric_feature_columns
from features.edges import edge_features as graph_edge_features
from moneytrail import lake
from moneytrail.schemas import CASH_ACCOUNT

#: Column names (or name fragments) that hold or derive from ground truth.
LABEL_MARKERS: tuple[str, ...] = (
    "label",
    "is_sar",
    "is_laundering",
    "is_fraud",
    "instance_id",
    "alert_id",
    "typology",
    "behaviour",
    "role",
)
#: Windows (days) of the ``edge_*`` features (30 beat (1, 7) alone on tuning seeds, docs/DETECTION.md).
EDGE_WINDOWS: tuple[int, ...] = (1, 7, 30)
#: Transaction attributes used as features (besides the amount).
CHANNELS: tuple[str, ...] = ("wire", "ach", "card", "cheque", "cash_deposit", "cash_withdrawal")


class LabelLeakError(ValueError):
    """A feature frame holds a label or label-derived column."""


def check_no_label_columns(columns: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`LabelLeakError` naming every column that looks like ground truth."""
    leaks = [c for c in columns if any(marker in c.lower() for marker in LABEL_MARKERS)]
    if leaks:
        raise LabelLeakError(f"label or label-derived column(s) {leaks} must not be used as features")


def _account_side(account_features: pl.DataFrame, columns: list[str], prefix: str) -> pl.DataFrame:
    return account_features.select(
        pl.col("account_id").alias(f"{prefix}account"),
        pl.col("eval_date").alias(f"{prefix}feature_date"),
        *[pl.col(c).cast(pl.Float64).alias(f"{prefix}{c}") for c in columns],
    ).sort(f"{prefix}feature_date")


def edge_features(
    transactions: pl.LazyFrame,
    account_features: pl.DataFrame,
    columns: list[str] | None = None,
    *,
    windows: tuple[int, ...] = EDGE_WINDOWS,
    pattern_window_days: int = 7,
) -> pl.DataFrame:
    """One row per transaction: ``tx_id``, ``timestamp``, then numeric features.

    Parameters
    ----------
    transactions : polars.LazyFrame
        ``schemas.TRANSACTIONS`` rows (tx_id, timestamp, src/dst account and country, amount,
        channel are used).
    account_features : polars.DataFrame
        ``features.compute_features`` output (history mode: several ``eval_date`` per account).
    columns : list of str, optional
        Account feature columns to attach (default: every numeric one).

    windows, pattern_window_days :
        Passed to :func:`features.edges.edge_features`.

    Returns
    -------
    polars.DataFrame
        Sorted by timestamp. Sender and receiver features (``src_*``, ``dst_*``) come from the
        latest feature row dated *before* the transaction's day, 0 when there is none (with
        ``src_known`` / ``dst_known`` = 0); then the transaction's own graph features
        (``edge_*``: :func:`features.edges.edge_features`, over the transactions strictly before it).
    """
    columns = columns if columns is not None else numeric_feature_columns(account_features)
    check_no_label_columns(columns)
    tx = (
        transactions.select(
            "tx_id",
            "timestamp",
            "src_account",
            "dst_account",
            *_attributes(),
            (pl.col("timestamp").dt.date() - dt.timedelta(days=1)).alias("as_of"),
        )
        .sort("as_of")
        .collect()
    )
    for side in ("src_", "dst_"):
        right = _account_side(account_features, columns, side)
        tx = tx.join_asof(
            right,
            left_on="as_of",
            right_on=f"{side}feature_date",
            by_left=f"{side}account",
            by_right=f"{side}account",
            strategy="backward",
            check_sortedness=False,
        ).with_columns(pl.col(f"{side}feature_date").is_not_null().cast(pl.Float64).alias(f"{side}known"))
    feature_cols = [
        c for c in tx.columns if c not in {"tx_id", "timestamp", "as_of", "src_account", "dst_account"}
    ]
    feature_cols = [c for c in feature_cols if not c.endswith("feature_date")]
    return (
        tx.sort("timestamp", "tx_id")
        .select("tx_id", "timestamp", pl.col(feature_cols).fill_null(0.0))
        .join(
            _graph(transactions, windows, pattern_window_days), on="tx_id", how="left", maintain_order="left"
        )
    )


def _attributes() -> list[pl.Expr]:
    """The transaction's own attributes as features."""
    return [
        pl.col("amount").cast(pl.Float64).log1p().alias("log_amount"),
        (pl.col("amount") % 100 == 0).cast(pl.Float64).alias("round_100"),
        pl.col("timestamp").dt.hour().cast(pl.Float64).alias("hour"),
        pl.col("timestamp").dt.weekday().cast(pl.Float64).alias("weekday"),
        (pl.col("src_country") != pl.col("dst_country"))
        .fill_null(False)
        .cast(pl.Float64)
        .alias("cross_border"),
        *[(pl.col("channel") == c).cast(pl.Float64).alias(f"channel_{c}") for c in CHANNELS],
    ]


def _graph(transactions: pl.LazyFrame, windows: tuple[int, ...], pattern_window_days: int) -> pl.DataFrame:
    graph = graph_edge_features(transactions, windows, pattern_window_days)
    return graph.rename({c: f"edge_{c}" for c in graph.columns if c != "tx_id"})


def transaction_features(
    transactions: pl.LazyFrame, *, windows: tuple[int, ...] = EDGE_WINDOWS, pattern_window_days: int = 7
) -> pl.DataFrame:
    """``tx_id``, ``timestamp``, the transaction's attributes and its ``edge_*`` graph features
    (no account features: what the supervised mode of a run uses), sorted by time."""
    own = transactions.select("tx_id", "timestamp", *_attributes()).collect()
    return own.join(
        _graph(transactions, windows, pattern_window_days), on="tx_id", how="left", maintain_order="left"
    ).sort("timestamp", "tx_id")


def time_split(frame: pl.DataFrame, test_share: float = 0.3) -> tuple[pl.DataFrame, pl.DataFrame, dt.date]:
    """Split a time-sorted frame by day: the last ``test_share`` of days are the test set."""
    days = frame.get_column("timestamp").dt.date().unique().sort()
    cut = days[int(len(days) * (1.0 - test_share))]
    day = pl.col("timestamp").dt.date()
    return frame.filter(day < cut), frame.filter(day >= cut), cut


class GradientBoostedDetector(ClassifierMixin, BaseEstimator):
    """``HistGradientBoostingClassifier`` with a decision threshold chosen for minority-class F1.

    Rows must be in time order: the model is fitted on all but the last ``validation_fraction``
    of them, and those last rows (the most recent) pick ``threshold_``, the probability that
    maximises F1 there, as a validation split does in the AMLworld paper.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, l2_regularization :
        Passed to ``HistGradientBoostingClassifier``.
    validation_fraction : float in (0, 0.5]
    random_state : int or None

    Attributes
    ----------
    model_ : HistGradientBoostingClassifier
    threshold_ : float
    classes_ : ndarray
    """

    _parameter_constraints: ClassVar[dict] = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left")],
        "l2_regularization": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        max_iter: int = 300,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 63,
        l2_regularization: float = 1.0,
        validation_fraction: float = 0.2,
        random_state: int | None = None,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _model(self) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        )

    def _matrix(self, X: Any, reset: bool) -> np.ndarray:
        if isinstance(X, pl.DataFrame):
            check_no_label_columns(X.columns)
            X = X.to_numpy()
        return validate_data(self, X, dtype=np.float64, reset=reset, ensure_all_finite="allow-nan")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any) -> GradientBoostedDetector:
        """Fit on time-ordered rows ``X`` (array or Polars frame without label columns) and 0/1 ``y``."""
        X = self._matrix(X, reset=True)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if self.classes_.size != 2:
            raise ValueError(f"supervised mode needs two classes in y, got {self.classes_.tolist()}")
        positive = y == self.classes_[1]
        cut = int(X.shape[0] * (1.0 - self.validation_fraction))
        early, late = slice(0, cut), slice(cut, None)
        if not (positive[early].any() and (~positive[early]).any() and positive[late].any()):
            raise ValueError(
                "supervised mode needs both classes before, and positives within, the last "
                f"{self.validation_fraction:.0%} of the training rows (the threshold's validation slice)"
            )
        self.model_ = self._model().fit(X[early], positive[early])
        proba = self.model_.predict_proba(X[late])[:, 1]
        precision, recall, thresholds = precision_recall_curve(positive[late], proba)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        self.threshold_ = float(thresholds[np.argmax(f1[:-1])])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self)
        return self.model_.predict_proba(self._matrix(X, reset=False))

    def suspicion_score(self, X: Any) -> np.ndarray:
        """Probability of the positive (laundering) class; higher = more suspicious."""
        return self.predict_proba(X)[:, 1]

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the probability reaches ``threshold_``, else ``classes_[0]``."""
        return np.where(self.suspicion_score(X) >= self.threshold_, self.classes_[1], self.classes_[0])


#: Column of :func:`supervised_scores`: the model's account score (probability, in [0, 1]).
SUPERVISED_COLUMN = "score_supervised"


def read_transaction_labels(path: Path) -> pl.DataFrame:
    """Transaction labels ``tx_id``, ``label`` (Int8, 1 = laundering) and ``known_at`` (UTC, or null).

    ``path`` is a Parquet or CSV file with a ``tx_id`` column and optional ``label`` (0/1,
    default 1) and ``known_at`` columns, or a folder holding ``labels/transactions.parquet``
    (generator output or lake: every listed transaction is laundering).
    """
    path = Path(path)
    if path.is_dir():
        frame = lake.read_labels(path)["transactions"].select("tx_id")
    elif path.suffix == ".parquet":
        frame = pl.read_parquet(path)
    elif path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False)
    else:
        raise ValueError(
            f"{path}: supervised labels must be a .parquet or .csv file or a folder with labels/"
        )
    if "tx_id" not in frame.columns:
        raise ValueError(f"{path}: supervised labels need a 'tx_id' column, got {frame.columns}")
    label = pl.col("label").cast(pl.Int8, strict=False) if "label" in frame.columns else pl.lit(1, pl.Int8)
    if "known_at" not in frame.columns:
        known = pl.lit(None, pl.Datetime("us", "UTC"))
    elif isinstance(frame.schema["known_at"], pl.Datetime):
        known = pl.col("known_at").dt.cast_time_unit("us")
        if frame.schema["known_at"].time_zone is None:
            known = known.dt.replace_time_zone("UTC")
        known = known.dt.convert_time_zone("UTC")
    else:
        known = (
            pl.col("known_at").cast(pl.String).str.to_datetime(time_zone="UTC", time_unit="us", strict=False)
        )
    out = frame.with_row_index("row").select(
        "row", pl.col("tx_id").cast(pl.String), label.alias("label"), known.alias("known_at")
    )
    missing_time = pl.col("known_at").is_null() if "known_at" in frame.columns else pl.lit(False)
    bad = out.filter(
        pl.col("tx_id").is_null() | ~pl.col("label").is_in([0, 1]).fill_null(False) | missing_time
    )
    if bad.height:
        row = bad.row(0, named=True)["row"]
        raise ValueError(
            f"{path}: row {row + 1}: tx_id must be set, label 0 or 1 and known_at a timestamp "
            f"({bad.height} bad row(s))"
        )
    return out.drop("row")


def supervised_scores(
    transactions: pl.LazyFrame,
    labels: pl.DataFrame,
    eval_dates: list[dt.date],
    config: SupervisedConfig,
    seed: int,
    *,
    account_features: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Train on labelled history, score the transactions of ``eval_dates`` (a run's supervised stage).

    Training rows: the transactions of the ``config.train_days`` days before ``min(eval_dates)``,
    positive when ``labels`` (:func:`read_transaction_labels`) lists them with ``label`` 1 and a
    ``known_at`` before that date (or none); features: the transaction's attributes and its
    ``edge_*`` graph features (:func:`transaction_features`, over earlier transactions only),
    plus, given ``account_features`` with rows for the training days (a history run's
    features), the sender's and receiver's as of the previous day (:func:`edge_features`; the
    best set in docs/DETECTION.md).

    Returns
    -------
    polars.DataFrame
        ``account_id``, ``eval_date``, :data:`SUPERVISED_COLUMN`: per account and evaluation
        date, the highest probability among the transactions it sent or received that day.
    """
    first = min(eval_dates)
    train_from = first - dt.timedelta(days=config.train_days)
    context = dt.timedelta(days=max(EDGE_WINDOWS))  # history the edge features look back on
    day = pl.col("timestamp").dt.date()
    scope = transactions.filter((day >= train_from - context) & (day <= max(eval_dates)))
    own = transaction_features(scope) if account_features is None else edge_features(scope, account_features)
    frame = own.join(
        scope.select("tx_id", "src_account", "dst_account").collect(), on="tx_id", maintain_order="left"
    )
    cutoff = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    positives = labels.filter(
        (pl.col("label") == 1) & (pl.col("known_at").is_null() | (pl.col("known_at") < cutoff))
    )
    train = frame.filter(day.is_between(train_from, first, closed="left")).with_columns(
        pl.col("tx_id").is_in(positives["tx_id"].implode()).alias("y")
    )
    columns = [c for c in frame.columns if c not in {"tx_id", "timestamp", "src_account", "dst_account"}]
    model = GradientBoostedDetector(max_iter=config.max_iter, random_state=seed).fit(
        train.select(columns), train["y"].to_numpy()
    )
    scored = frame.filter(day.is_in(eval_dates))
    proba = model.suspicion_score(scored.select(columns)) if scored.height else np.zeros(0)
    scored = scored.with_columns(pl.Series(SUPERVISED_COLUMN, proba, dtype=pl.Float64))
    legs = pl.concat(
        [
            scored.select(pl.col(side).alias("account_id"), day.alias("eval_date"), SUPERVISED_COLUMN)
            for side in ("src_account", "dst_account")
        ]
    )
    return (
        legs.filter(pl.col("account_id") != CASH_ACCOUNT)
        .group_by("account_id", "eval_date")
        .agg(pl.col(SUPERVISED_COLUMN).max())
        .sort("account_id", "eval_date")
    )
