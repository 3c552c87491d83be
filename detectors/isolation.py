"""Isolation-forest detectors: a scikit-learn-clean numpy wrapper and a peer-group frame model."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import polars as pl
from sklearn.base import _fit_context
from sklearn.ensemble import IsolationForest
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from detectors.base import BaseDetector, MissingFeatureError
from detectors.reasons import describe, format_value, unit_of
from features.registry import KEY_COLUMNS, SEGMENT_COLUMNS

_MAX_SEED = 2**31 - 1


def signed_log1p(X: np.ndarray) -> np.ndarray:
    """Return ``sign(x) * log(1 + |x|)``: tames heavy-tailed amounts and counts, keeps 0 at 0."""
    return np.sign(X) * np.log1p(np.abs(X))


def signed_expm1(Y: np.ndarray) -> np.ndarray:
    """Inverse of :func:`signed_log1p`."""
    return np.sign(Y) * np.expm1(np.abs(Y))


def numeric_feature_columns(frame: pl.DataFrame) -> list[str]:
    """Numeric and boolean columns of a feature table, except keys, segments and ``__``-private ones."""
    skip = set(KEY_COLUMNS) | set(SEGMENT_COLUMNS)
    return [
        name
        for name, dtype in frame.schema.items()
        if name not in skip and not name.startswith("__") and (dtype.is_numeric() or dtype == pl.Boolean)
    ]


class IsolationForestDetector(BaseDetector):
    """Isolation forest on (optionally) log-scaled features, holding the model as ``detector_``.

    Parameters
    ----------
    n_estimators : int
        Trees in the forest.
    max_samples : "auto", int or float
        Rows per tree (scikit-learn's meaning).
    contamination : "auto" or float in (0, 0.5]
        Expected share of outliers; only moves ``offset_``.
    max_features : int or float
        Features per tree (scikit-learn's meaning).
    log_scale : bool
        Apply ``sign(x) * log1p(|x|)`` before fitting and scoring.
    max_fit_samples : int or None
        Fit on at most this many rows drawn without replacement (None: all rows). With a float
        ``contamination`` the offset is the contamination quantile of the subsample's scores, so
        the flagged share of the full input is close to, not exactly, ``contamination``.
    random_state : int, RandomState or None
        Seeds the subsample and the forest.
    n_jobs : int or None
        Parallel jobs for the forest.

    Attributes
    ----------
    detector_ : sklearn.ensemble.IsolationForest
    offset_ : float
        ``decision_function = score_samples - offset_``.
    decision_scores_ : ndarray of shape (n_samples,)
        Suspicion score (``-score_samples``) of every training row (PyOD's name).
    threshold_ : float
        ``-offset_``: training rows with ``decision_scores_ > threshold_`` are flagged.
    center_, scale_ : ndarray of shape (n_features,)
        Median and robust spread of the (log-scaled) fit data, used by :meth:`deviations`.
    n_features_in_ : int
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "max_features": [Integral, Interval(Real, 0, 1, closed="right")],
        "log_scale": ["boolean"],
        "max_fit_samples": [Interval(Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        n_estimators: int = 200,
        max_samples: str | int | float = "auto",
        contamination: str | float = "auto",
        max_features: int | float = 1.0,
        log_scale: bool = True,
        max_fit_samples: int | None = None,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.log_scale = log_scale
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return signed_log1p(X) if self.log_scale else X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> IsolationForestDetector:
        """Fit the forest on ``X`` (array-like of shape (n_samples, n_features)); ``y`` is ignored.

        The trees grow from at most ``max_fit_samples`` rows, but every training row is scored
        once (``decision_scores_``), and a float ``contamination`` sets ``offset_`` from those
        scores, as in scikit-learn.
        """
        X = validate_data(self, X, dtype=np.float64)
        rs = check_random_state(self.random_state)
        X_all = self._transform(X)
        Xt = X_all
        if self.max_fit_samples is not None and X.shape[0] > self.max_fit_samples:
            rows = np.sort(rs.choice(X.shape[0], size=self.max_fit_samples, replace=False))
            Xt = X_all[rows]
        self.detector_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            contamination="auto",  # the offset is set below, from all training rows
            max_features=self.max_features,
            random_state=rs.randint(_MAX_SEED),
            n_jobs=self.n_jobs,
        ).fit(Xt)
        train_scores = self.detector_.score_samples(X_all)
        if self.contamination == "auto":
            self.offset_ = float(self.detector_.offset_)
        else:
            self.offset_ = float(np.percentile(train_scores, 100.0 * self.contamination))
        self.decision_scores_ = -train_scores
        self.threshold_ = -self.offset_
        # Peer medians and spreads for explain(): a 10,000-row sample of the fit rows is plenty.
        if Xt.shape[0] > 10_000:
            Xt = Xt[np.sort(rs.choice(Xt.shape[0], size=10_000, replace=False))]
        self.center_ = np.median(Xt, axis=0)
        q75, q25 = np.percentile(Xt, [75, 25], axis=0)
        scale = (q75 - q25) / 1.349
        std = Xt.std(axis=0)
        scale = np.where(scale > 1e-9, scale, std)
        self.scale_ = np.where(scale > 1e-9, scale, 1.0)
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        """Return the forest's score per row; lower = more abnormal (about -1 to -0.3)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.detector_.score_samples(self._transform(X))

    def deviations(self, X: Any) -> np.ndarray:
        """Return robust z-scores ``(t(x) - center_) / scale_`` on the model's scale, per cell."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (self._transform(X) - self.center_) / self.scale_

    def typical_values(self) -> np.ndarray:
        """Return the fit data's median per feature on the original scale."""
        check_is_fitted(self)
        return signed_expm1(self.center_) if self.log_scale else self.center_

    def explain(self, X: Any, top_k: int = 3) -> list[list[str]]:
        """Name the ``top_k`` features furthest from the fit data's median, for flagged rows."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.array([f"x{i}" for i in range(self.n_features_in_)])
        flagged = self.predict(X) == -1
        dev = self.deviations(X)
        typical = self.typical_values()
        X = validate_data(self, X, dtype=np.float64, reset=False)
        out: list[list[str]] = []
        for i in range(X.shape[0]):
            if not flagged[i]:
                out.append([])
                continue
            order = np.argsort(-np.abs(dev[i]), kind="stable")[:top_k]
            out.append(
                [
                    f"unusually {'high' if dev[i, j] > 0 else 'low'} {names[j]}: {X[i, j]:,.4g}"
                    f" (median {typical[j]:,.4g})"
                    for j in order
                    if abs(dev[i, j]) > 0
                ]
            )
        return out


class PeerGroupIsolationForest(BaseDetector):
    """One :class:`IsolationForestDetector` per peer group (e.g. account kind) of a Polars frame.

    ``score_samples`` is the row's group model's decision function, so ``offset_ = 0`` and
    ``predict == -1`` exactly where the group model flags the row. Groups with fewer than
    ``min_group_rows`` rows (and, if such a model exists, groups unseen at fit time) use a
    model fitted on all rows.

    Parameters
    ----------
    features : tuple of str or None
        Feature columns (None: every numeric column except keys and segments).
    group_by : str or None
        Peer-group column (None: one model).
    min_group_rows : int
    n_estimators, contamination, max_fit_samples :
        Passed to each :class:`IsolationForestDetector`.
    random_state : int or None
        Seeds every group's model (drawn in sorted group order).
    n_jobs : int or None
        Parallel jobs for each forest.
    """

    POOLED = "__all__"

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        group_by: str | None = "kind",
        min_group_rows: int = 200,
        n_estimators: int = 200,
        contamination: str | float = 0.01,
        max_fit_samples: int | None = 100_000,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_jobs = n_jobs
        self.features = features
        self.group_by = group_by
        self.min_group_rows = min_group_rows
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state

    # -- helpers ---------------------------------------------------------------------------
    def _select_features(self, X: pl.DataFrame) -> list[str]:
        return list(self.features) if self.features is not None else numeric_feature_columns(X)

    def _check_columns(self, X: pl.DataFrame, names: list[str]) -> None:
        if not isinstance(X, pl.DataFrame):
            raise TypeError(f"{type(self).__name__} expects a polars DataFrame, got {type(X).__name__}")
        missing = [n for n in names if n not in X.columns]
        if missing:
            raise MissingFeatureError(f"missing feature column(s) {missing} required by the anomaly model")

    def _matrix(self, X: pl.DataFrame) -> np.ndarray:
        return X.select(pl.col(self.feature_names_in_).cast(pl.Float64)).to_numpy()

    def _groups(self, X: pl.DataFrame) -> np.ndarray:
        """Return the model key scoring each row."""
        if self.group_by is None:
            return np.full(X.height, self.POOLED, dtype=object)
        values = X.get_column(self.group_by).cast(pl.String).fill_null("").to_numpy().astype(object)
        known = [k for k in self.models_ if k != self.POOLED]
        return np.where(np.isin(values, known), values, self.POOLED).astype(object)

    # -- estimator API ---------------------------------------------------------------------
    def fit(self, X: pl.DataFrame, y: Any = None) -> PeerGroupIsolationForest:
        """Fit one forest per peer group with enough rows, and one on all rows if any group is small.

        ``decision_scores_`` then holds every training row's suspicion score (no second pass).
        """
        names = self._select_features(X)
        needed = names + ([self.group_by] if self.group_by else [])
        self._check_columns(X, needed)
        if not names:
            raise ValueError("the anomaly model has no numeric feature columns to use")
        self.feature_names_in_ = np.array(names, dtype=object)
        self.n_features_in_ = len(names)
        matrix = self._matrix(X)
        seeds = np.random.default_rng(self.random_state)

        def make(rows: np.ndarray) -> IsolationForestDetector:
            return IsolationForestDetector(
                n_estimators=self.n_estimators,
                contamination=self.contamination,
                max_fit_samples=self.max_fit_samples,
                random_state=int(seeds.integers(_MAX_SEED)),
                n_jobs=self.n_jobs,
            ).fit(rows)

        groups = (
            np.full(X.height, self.POOLED, dtype=object)
            if self.group_by is None
            else X.get_column(self.group_by).cast(pl.String).fill_null("").to_numpy().astype(object)
        )
        keys, counts = np.unique(groups, return_counts=True)
        own = [
            str(k) for k, c in zip(keys, counts, strict=True) if c >= self.min_group_rows and k != self.POOLED
        ]
        self.models_: dict[str, IsolationForestDetector] = {}
        pooled_rows = ~np.isin(groups, own)
        if pooled_rows.any():
            # Small groups are compared with everybody: one model fitted on all rows.
            self.models_[self.POOLED] = make(matrix)
        for group in own:
            self.models_[group] = make(matrix[groups == group])
        # Training-row suspicion (PyOD's decision_scores_), taken from the fit-time scoring pass.
        self.decision_scores_ = np.empty(X.height, dtype=np.float64)
        for key, model in self.models_.items():
            mask = pooled_rows if key == self.POOLED else groups == key
            scores = model.decision_scores_ if key != self.POOLED else model.decision_scores_[mask]
            self.decision_scores_[mask] = scores + model.offset_
        self.offset_ = 0.0
        self.threshold_ = 0.0
        return self

    def score_samples(self, X: pl.DataFrame) -> np.ndarray:
        """Return each row's group-model decision function (lower = more abnormal)."""
        check_is_fitted(self)
        self._check_columns(X, list(self.feature_names_in_) + ([self.group_by] if self.group_by else []))
        matrix = self._matrix(X)
        groups = self._groups(X)
        if self.POOLED not in self.models_ and (groups == self.POOLED).any():
            unseen = sorted(
                set(X.get_column(self.group_by).cast(pl.String).fill_null("").to_list()) - set(self.models_)
            )
            raise ValueError(f"peer group(s) {unseen} of {self.group_by!r} were not seen at fit time")
        scores = np.empty(X.height, dtype=np.float64)
        for key, model in self.models_.items():
            mask = groups == key
            if mask.any():
                scores[mask] = model.decision_function(matrix[mask])
        return scores

    def peer_percentile(self, X: pl.DataFrame, suspicion: np.ndarray | None = None) -> np.ndarray:
        """Return the suspicion score's percentile rank in (0, 1] within each row's model group.

        Pass ``suspicion`` (from :meth:`suspicion_score` on the same ``X``) to avoid scoring twice.
        """
        if suspicion is None:
            suspicion = self.suspicion_score(X)
        frame = pl.DataFrame({"s": suspicion, "g": self._groups(X).astype(str)})
        return (
            frame.select((pl.col("s").rank("average").over("g") / pl.len().over("g")).alias("p"))
            .get_column("p")
            .to_numpy()
        )

    def explain(self, X: pl.DataFrame, top_k: int = 3, flagged: np.ndarray | None = None) -> list[list[str]]:
        """Name the ``top_k`` features furthest from the peer median, for flagged rows.

        ``flagged`` (boolean per row, e.g. ``predict(X) == -1`` computed earlier) skips rescoring.
        """
        check_is_fitted(self)
        if flagged is None:
            flagged = self.predict(X) == -1
        matrix = self._matrix(X)
        groups = self._groups(X)
        out: list[list[str]] = [[] for _ in range(X.height)]
        names = list(self.feature_names_in_)
        units = [unit_of(n) for n in names]
        for key, model in self.models_.items():
            rows = np.flatnonzero((groups == key) & flagged)
            if rows.size == 0:
                continue
            dev = model.deviations(matrix[rows])
            typical = model.typical_values()
            peers = "all" if key == self.POOLED else key
            for r, i in enumerate(rows):
                order = np.argsort(-np.abs(dev[r]), kind="stable")[:top_k]
                out[i] = [
                    f"unusually {'high' if dev[r, j] > 0 else 'low'} {describe(names[j])}:"
                    f" {format_value(matrix[i, j], units[j])}"
                    f" (median for {peers} accounts {format_value(typical[j], units[j])})"
                    for j in order
                    if abs(dev[r, j]) > 0
                ]
        return out
