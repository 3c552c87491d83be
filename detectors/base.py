"""The detector contract shared by rules and learned models.

Every detector follows scikit-learn's outlier-estimator conventions and adds one ranking score:

- ``fit(X, y=None)`` learns attributes ending in ``_`` (at least ``offset_``) and returns self;
- ``score_samples(X)``: lower = more abnormal (the one method a subclass implements);
- ``decision_function(X) = score_samples(X) - offset_``: negative = flagged;
- ``predict(X)`` in {-1, +1}: -1 where ``decision_function < 0``;
- ``suspicion_score(X) = -score_samples(X)``: higher = more suspicious (used to rank alerts);
- ``explain(X, top_k=3) -> list[list[str]]``: reason codes an analyst reads, one list per row.

As in PyOD, a subclass implements ``fit`` and ``score_samples``; this base derives the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted


class MissingFeatureError(KeyError):
    """An input frame lacks a column a detector needs; the message names every missing one."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class BaseDetector(OutlierMixin, BaseEstimator):
    """Outlier-style detector with a derived "higher = more suspicious" score."""

    def score_samples(self, X: Any) -> np.ndarray:  # pragma: no cover - abstract
        """Return one score per row; lower = more abnormal."""
        raise NotImplementedError

    def decision_function(self, X: Any) -> np.ndarray:
        """Return ``score_samples(X) - offset_``; negative values are flagged."""
        check_is_fitted(self)
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """Return -1 for flagged rows and +1 for the others."""
        decision = self.decision_function(X)
        labels = np.ones(decision.shape[0], dtype=int)
        labels[decision < 0] = -1
        return labels

    def suspicion_score(self, X: Any) -> np.ndarray:
        """Return one ranking score per row; higher = more suspicious."""
        return -self.score_samples(X)

    def explain(self, X: Any, top_k: int = 3) -> list[list[str]]:  # pragma: no cover - abstract
        """Return up to ``top_k`` reason codes per row."""
        raise NotImplementedError
