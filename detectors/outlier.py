"""Shared skeleton of the numpy-level learned detectors: sampled fit, robust scaling, explain.

A subclass sets ``_parameter_constraints`` (extending :data:`COMMON_CONSTRAINTS`) and implements
``_fit_model(Z, rs)`` and ``_model_scores(Z)`` on the *standardised* matrix
``Z = (t(X) - center_) / scale_`` (``t`` = signed log1p when ``log_scale``); everything else
(validation, the fit subsample, the contamination offset, ``decision_scores_``, reason codes)
lives here once.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from detectors.base import BaseDetector

_MAX_SEED = 2**31 - 1
#: Rows used to learn the medians and spreads behind scaling and reason codes.
_REFERENCE_ROWS = 10_000

#: Parameter constraints every subclass shares.
COMMON_CONSTRAINTS: dict[str, list] = {
    "contamination": [Interval(Real, 0, 0.5, closed="right")],
    "log_scale": ["boolean"],
    "max_fit_samples": [Interval(Integral, 2, None, closed="left"), None],
    "random_state": ["random_state"],
}


def signed_log1p(X: np.ndarray) -> np.ndarray:
    """Return ``sign(x) * log(1 + |x|)``: tames heavy-tailed amounts and counts, keeps 0 at 0."""
    return np.sign(X) * np.log1p(np.abs(X))


def signed_expm1(Y: np.ndarray) -> np.ndarray:
    """Inverse of :func:`signed_log1p`."""
    return np.sign(Y) * np.expm1(np.abs(Y))


def seed_from(rs: np.random.RandomState) -> int:
    """Draw an int seed for a wrapped scikit-learn model."""
    return int(rs.randint(_MAX_SEED))


class ScaledOutlierDetector(BaseDetector):
    """Outlier detector on robustly standardised (optionally log-scaled) features.

    Attributes set by :meth:`fit`: ``center_``, ``scale_`` (median and robust spread of the
    transformed fit rows), ``offset_``, ``decision_scores_`` (suspicion of every training row),
    ``threshold_ = -offset_``, ``n_features_in_``.
    """

    def _fit_model(self, Z: np.ndarray, rs: np.random.RandomState) -> None:  # pragma: no cover
        raise NotImplementedError

    def _model_scores(self, Z: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Scores of standardised rows; lower = more abnormal."""
        raise NotImplementedError

    def _auto_offset(self) -> float:
        """Offset for ``contamination="auto"`` (only subclasses that allow "auto" need it)."""
        raise NotImplementedError  # pragma: no cover

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return signed_log1p(X) if self.log_scale else X

    def _standardise(self, X: np.ndarray) -> np.ndarray:
        return (self._transform(X) - self.center_) / self.scale_

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> ScaledOutlierDetector:
        """Fit on at most ``max_fit_samples`` rows of ``X``; ``y`` is ignored.

        Every training row is scored once (``decision_scores_``), and a float ``contamination``
        sets ``offset_`` to that quantile of the training scores.
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        rs = check_random_state(self.random_state)
        rows = np.arange(X.shape[0])
        if self.max_fit_samples is not None and X.shape[0] > self.max_fit_samples:
            rows = np.sort(rs.choice(X.shape[0], size=self.max_fit_samples, replace=False))
        reference = self._transform(X[rows])
        if reference.shape[0] > _REFERENCE_ROWS:
            reference = reference[np.sort(rs.choice(reference.shape[0], size=_REFERENCE_ROWS, replace=False))]
        self.center_ = np.median(reference, axis=0)
        q75, q25 = np.percentile(reference, [75, 25], axis=0)
        scale = (q75 - q25) / 1.349
        scale = np.where(scale > 1e-9, scale, reference.std(axis=0))
        self.scale_ = np.where(scale > 1e-9, scale, 1.0)
        Z = self._standardise(X)
        self._fit_model(Z[rows], rs)
        train_scores = self._model_scores(Z)
        if self.contamination == "auto":
            self.offset_ = self._auto_offset()
        else:
            self.offset_ = float(np.percentile(train_scores, 100.0 * self.contamination))
        self.decision_scores_ = -train_scores
        self.threshold_ = -self.offset_
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        """Return one score per row; lower = more abnormal."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._model_scores(self._standardise(X))

    def deviations(self, X: Any) -> np.ndarray:
        """Return robust z-scores ``(t(x) - center_) / scale_`` on the model's scale, per cell."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._standardise(X)

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
