"""Isolation-forest detectors: a scikit-learn-clean numpy wrapper and a peer-group frame model."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions

from detectors.outlier import (
    COMMON_CONSTRAINTS,
    ScaledOutlierDetector,
    seed_from,
    signed_expm1,
    signed_log1p,
)
from detectors.peers import PeerGroupModel, numeric_feature_columns

__all__ = [
    "IsolationForestDetector",
    "PeerGroupIsolationForest",
    "numeric_feature_columns",
    "signed_expm1",
    "signed_log1p",
]


class IsolationForestDetector(ScaledOutlierDetector):
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
        ``contamination`` the offset is the contamination quantile of the training rows' scores.
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
        Median and robust spread of the (log-scaled) fit data; the forest sees
        ``(t(x) - center_) / scale_`` (a per-feature affine map, which a forest's random splits
        ignore) and :meth:`deviations` reports it.
    n_features_in_ : int
    """

    _parameter_constraints: ClassVar[dict] = {
        **COMMON_CONSTRAINTS,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "max_features": [Integral, Interval(Real, 0, 1, closed="right")],
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

    def _fit_model(self, Z: np.ndarray, rs: np.random.RandomState) -> None:
        self.detector_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            contamination="auto",  # the offset is set by fit, from all training rows
            max_features=self.max_features,
            random_state=seed_from(rs),
            n_jobs=self.n_jobs,
        ).fit(Z)

    def _model_scores(self, Z: np.ndarray) -> np.ndarray:
        return self.detector_.score_samples(Z)

    def _auto_offset(self) -> float:
        return float(self.detector_.offset_)


class PeerGroupIsolationForest(PeerGroupModel):
    """One :class:`IsolationForestDetector` per peer group (e.g. account kind) of a Polars frame.

    See :class:`detectors.peers.PeerGroupModel` for scoring, the pooled fallback and reasons.

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

    def _make_detector(self, seed: int) -> IsolationForestDetector:
        return IsolationForestDetector(
            n_estimators=self.n_estimators,
            contamination=self.contamination,
            max_fit_samples=self.max_fit_samples,
            random_state=seed,
            n_jobs=self.n_jobs,
        )
