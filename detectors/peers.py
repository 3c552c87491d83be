"""Peer-group scoring of a Polars feature frame: one numpy-level detector per group (e.g. kind).

:class:`PeerGroupModel` holds the frame handling (column checks, groups, the pooled fallback,
percentiles within groups, reason texts); a subclass only says which detector a group gets
(:meth:`PeerGroupModel._make_detector`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.utils.validation import check_is_fitted

from detectors.base import BaseDetector, MissingFeatureError
from detectors.outlier import ScaledOutlierDetector
from detectors.reasons import describe, format_value, unit_of
from features.registry import KEY_COLUMNS, SEGMENT_COLUMNS

_MAX_SEED = 2**31 - 1


def numeric_feature_columns(frame: pl.DataFrame) -> list[str]:
    """Numeric and boolean columns of a feature table, except keys, segments and ``__``-private ones."""
    skip = set(KEY_COLUMNS) | set(SEGMENT_COLUMNS)
    return [
        name
        for name, dtype in frame.schema.items()
        if name not in skip and not name.startswith("__") and (dtype.is_numeric() or dtype == pl.Boolean)
    ]


class PeerGroupModel(BaseDetector):
    """One detector per peer group of a Polars frame (subclasses choose the detector).

    ``score_samples`` is the row's group model's decision function, so ``offset_ = 0`` and
    ``predict == -1`` exactly where the group model flags the row. Groups with fewer than
    ``min_group_rows`` rows (and, if such a model exists, groups unseen at fit time) use a
    model fitted on all rows. Subclasses define ``features``, ``group_by``, ``min_group_rows``
    and ``random_state`` parameters and :meth:`_make_detector`.
    """

    POOLED = "__all__"

    def _make_detector(self, seed: int) -> ScaledOutlierDetector:  # pragma: no cover - abstract
        """Return an unfitted detector for one group, seeded with ``seed``."""
        raise NotImplementedError

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

    def _raw_groups(self, X: pl.DataFrame) -> np.ndarray:
        if self.group_by is None:
            return np.full(X.height, self.POOLED, dtype=object)
        return X.get_column(self.group_by).cast(pl.String).fill_null("").to_numpy().astype(object)

    def _groups(self, X: pl.DataFrame) -> np.ndarray:
        """Return the model key scoring each row."""
        values = self._raw_groups(X)
        known = [k for k in self.models_ if k != self.POOLED]
        return np.where(np.isin(values, known), values, self.POOLED).astype(object)

    # -- estimator API ---------------------------------------------------------------------
    def fit(self, X: pl.DataFrame, y: Any = None) -> PeerGroupModel:
        """Fit one detector per peer group with enough rows, and one on all rows if any group is small.

        ``decision_scores_`` then holds every training row's suspicion score (no second pass).
        """
        names = self._select_features(X)
        self._check_columns(X, names + ([self.group_by] if self.group_by else []))
        if not names:
            raise ValueError("the anomaly model has no numeric feature columns to use")
        self.feature_names_in_ = np.array(names, dtype=object)
        self.n_features_in_ = len(names)
        matrix = self._matrix(X)
        seeds = np.random.default_rng(self.random_state)
        groups = self._raw_groups(X)
        keys, counts = np.unique(groups, return_counts=True)
        own = [
            str(k) for k, c in zip(keys, counts, strict=True) if c >= self.min_group_rows and k != self.POOLED
        ]
        self.models_: dict[str, ScaledOutlierDetector] = {}
        pooled_rows = ~np.isin(groups, own)
        if pooled_rows.any():
            # Small groups are compared with everybody: one model fitted on all rows.
            self.models_[self.POOLED] = self._make_detector(int(seeds.integers(_MAX_SEED))).fit(matrix)
        for group in own:
            rows = matrix[groups == group]
            self.models_[group] = self._make_detector(int(seeds.integers(_MAX_SEED))).fit(rows)
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
            unseen = sorted(set(self._raw_groups(X).tolist()) - set(self.models_))
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
