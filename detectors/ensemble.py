"""Rank ensemble of outlier detectors, alone (numpy) and per peer group (Polars frame).

Scores of different methods live on different scales (path lengths, density ratios, kernel
margins, Mahalanobis distances), so the ensemble combines *ranks*: each member's suspicion is
turned into its percentile among the member's own training rows, and the ensemble's suspicion
is the mean percentile. A row that every method finds unusual ranks first; a row that only one
method finds odd is damped.

:func:`account_scores` applies the same principle one level up, per account: the row model's
highest score and the counterparty context of :mod:`detectors.counterparties` (bursts of
short-lived relationships, which per-row outlier scores cannot see), each as a percentile
among accounts, averaged.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import polars as pl

from detectors.counterparties import BURST_COLUMNS, relationship_bursts
from detectors.isolation import IsolationForestDetector
from detectors.outlier import COMMON_CONSTRAINTS, ScaledOutlierDetector, seed_from
from detectors.peers import PeerGroupModel
from detectors.unsupervised import (
    LocalOutlierFactorDetector,
    OneClassSVMDetector,
    RobustCovarianceDetector,
)

#: Ensemble members by name (each a :class:`ScaledOutlierDetector` with ``random_state``).
METHODS: dict[str, type[ScaledOutlierDetector]] = {
    "isolation_forest": IsolationForestDetector,
    "local_outlier_factor": LocalOutlierFactorDetector,
    "one_class_svm": OneClassSVMDetector,
    "robust_covariance": RobustCovarianceDetector,
}
DEFAULT_METHODS: tuple[str, ...] = tuple(METHODS)


def _percentile(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of ``reference`` (sorted) at or below each value, in [0, 1].

    The tolerance keeps a training row level with its own reference entry when a batched
    matrix product rounds its score differently.
    """
    slack = 1e-9 * np.maximum(1.0, np.abs(values))
    return np.searchsorted(reference, values + slack, side="right") / reference.size


class RankEnsembleDetector(ScaledOutlierDetector):
    """Mean within-fit-data percentile of several outlier detectors' suspicion scores.

    ``score_samples`` is ``-mean percentile`` (in [-1, 0]; lower = more abnormal). The ensemble
    standardises once (log scale, robust spread) and hands the standardised rows to its members.

    Parameters
    ----------
    methods : tuple of str
        Members, names from :data:`METHODS` (each once).
    contamination : float in (0, 0.5]
        Expected share of outliers; only moves ``offset_``.
    log_scale : bool
        Apply ``sign(x) * log1p(|x|)`` before standardising.
    max_fit_samples : int or None
        Rows drawn to fit the members (each member may draw fewer: see its own default).
    random_state : int, RandomState or None
        Seeds the subsample and every member.
    n_jobs : int or None
        Parallel jobs for the isolation forest.

    Attributes
    ----------
    members_ : dict of str to ScaledOutlierDetector
    reference_ : dict of str to ndarray
        Each member's sorted suspicion scores of the fit rows (the percentile scale).
    """

    _parameter_constraints: ClassVar[dict] = {
        **COMMON_CONSTRAINTS,
        "methods": [tuple, list],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        methods: tuple[str, ...] = DEFAULT_METHODS,
        contamination: float = 0.1,
        log_scale: bool = True,
        max_fit_samples: int | None = 20_000,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.methods = methods
        self.contamination = contamination
        self.log_scale = log_scale
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _member(self, name: str, seed: int) -> ScaledOutlierDetector:
        member = METHODS[name](log_scale=False, random_state=seed)
        return member.set_params(n_jobs=self.n_jobs) if "n_jobs" in member.get_params() else member

    def _fit_model(self, Z: np.ndarray, rs: np.random.RandomState) -> None:
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown or not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(
                f"methods must name distinct members of {sorted(METHODS)}; got {list(self.methods)}"
            )
        self.members_ = {name: self._member(name, seed_from(rs)).fit(Z) for name in self.methods}
        self.reference_ = {name: np.sort(m.decision_scores_) for name, m in self.members_.items()}

    def member_percentiles(self, Z: np.ndarray) -> dict[str, np.ndarray]:
        """Each member's suspicion percentile (among its fit rows) for standardised rows ``Z``."""
        return {
            name: _percentile(self.reference_[name], member.suspicion_score(Z))
            for name, member in self.members_.items()
        }

    def _model_scores(self, Z: np.ndarray) -> np.ndarray:
        return -np.mean(list(self.member_percentiles(Z).values()), axis=0)


class PeerGroupEnsemble(PeerGroupModel):
    """One :class:`RankEnsembleDetector` per peer group (e.g. account kind) of a Polars frame.

    Same interface as :class:`detectors.isolation.PeerGroupIsolationForest`; see
    :class:`detectors.peers.PeerGroupModel` for scoring, the pooled fallback and reasons.

    Parameters
    ----------
    features : tuple of str or None
        Feature columns (None: every numeric column except keys and segments).
    group_by : str or None
        Peer-group column (None: one model).
    min_group_rows : int
    methods, contamination, max_fit_samples, n_jobs :
        Passed to each :class:`RankEnsembleDetector`.
    random_state : int or None
        Seeds every group's model (drawn in sorted group order).
    """

    def __init__(
        self,
        *,
        features: tuple[str, ...] | None = None,
        group_by: str | None = "kind",
        min_group_rows: int = 200,
        methods: tuple[str, ...] = DEFAULT_METHODS,
        contamination: float = 0.01,
        max_fit_samples: int | None = 20_000,
        random_state: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.features = features
        self.group_by = group_by
        self.min_group_rows = min_group_rows
        self.methods = methods
        self.contamination = contamination
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_detector(self, seed: int) -> RankEnsembleDetector:
        return RankEnsembleDetector(
            methods=tuple(self.methods),
            contamination=self.contamination,
            max_fit_samples=self.max_fit_samples,
            random_state=seed,
            n_jobs=self.n_jobs,
        )


def mean_percentile(columns: list[str] | tuple[str, ...]) -> pl.Expr:
    """Mean over ``columns`` of each value's percentile in its column (ties share their mean rank)."""
    if not columns:
        raise ValueError("mean_percentile needs at least one column")
    return pl.mean_horizontal([pl.col(c).rank("average") / pl.len() for c in columns])


def account_scores(
    features: pl.DataFrame,
    edges: pl.LazyFrame | pl.DataFrame,
    model: PeerGroupModel,
    *,
    window_days: int = 7,
) -> pl.DataFrame:
    """Unsupervised per-account score: the row model and the counterparty context, rank-combined.

    ``model`` (e.g. :class:`PeerGroupEnsemble`) is fitted on ``features`` (rows = account and
    evaluation date); an account's ``anomaly`` is its highest row score. ``own_burst`` and
    ``counterparty_burst`` come from :func:`detectors.counterparties.relationship_bursts` on
    ``edges`` (the transactions). ``score`` is the mean of the three columns' percentiles among
    accounts (in (0, 1], higher = more suspicious); an account missing from one input gets bursts
    of 0 or the lowest anomaly. Returns ``account_id``, the three signals and ``score``, highest score first.
    """
    rows = features.select(pl.col("account_id").cast(pl.String)).with_columns(
        anomaly=model.fit(features).decision_scores_
    )
    anomaly = rows.group_by("account_id").agg(pl.col("anomaly").max())
    bursts = relationship_bursts(edges, window_days)
    signals = ("anomaly", *BURST_COLUMNS)
    return (
        anomaly.join(bursts, on="account_id", how="full", coalesce=True)
        .with_columns(pl.col(c).fill_null(0) for c in BURST_COLUMNS)
        .with_columns(pl.col("anomaly").fill_null(pl.col("anomaly").min()))
        .with_columns(score=mean_percentile(signals))
        .sort(["score", "account_id"], descending=[True, False])
    )


__all__ = [
    "DEFAULT_METHODS",
    "METHODS",
    "PeerGroupEnsemble",
    "RankEnsembleDetector",
    "account_scores",
    "mean_percentile",
]
