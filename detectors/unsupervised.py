"""More scikit-learn outlier methods behind the detector contract.

Each works on the robustly standardised matrix of :class:`ScaledOutlierDetector` (signed log1p,
then median / robust spread per feature), fits on a bounded sample and scores vectorised:

- :class:`LocalOutlierFactorDetector`: density relative to the nearest neighbours
  (``LocalOutlierFactor(novelty=True)``), for rows unusual *for their neighbourhood*;
- :class:`OneClassSVMDetector`: a linear one-class SVM (``SGDOneClassSVM``) on a Nystroem
  approximation of the RBF kernel, i.e. the kernel one-class SVM at linear cost;
- :class:`RobustCovarianceDetector`: Mahalanobis distance under a minimum-covariance-determinant
  fit (``MinCovDet``) in the leading principal components, for rows breaking the usual
  *correlation* between features (e.g. money in without money out).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.covariance import MinCovDet
from sklearn.decomposition import PCA
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import SGDOneClassSVM
from sklearn.neighbors import LocalOutlierFactor
from sklearn.utils._param_validation import Interval

from detectors.outlier import COMMON_CONSTRAINTS, ScaledOutlierDetector, seed_from

#: Standardised values are clipped to +-this before distance-based models: one extreme feature
#: must not swamp every other (the reason codes still see the unclipped deviation).
_CLIP = 8.0


class LocalOutlierFactorDetector(ScaledOutlierDetector):
    """Local outlier factor in novelty mode; ``score_samples`` is ``-LOF`` (lower = more abnormal).

    Parameters
    ----------
    n_neighbors : int
        Neighbours (capped at the fit rows minus one).
    contamination : float in (0, 0.5]
        Expected share of outliers; only moves ``offset_``.
    log_scale : bool
        Apply ``sign(x) * log1p(|x|)`` before standardising.
    max_fit_samples : int or None
        Reference rows the neighbours are drawn from (None: all rows).
    random_state : int, RandomState or None
        Seeds the subsample.

    Attributes
    ----------
    detector_ : sklearn.neighbors.LocalOutlierFactor
    """

    _parameter_constraints: ClassVar[dict] = {
        **COMMON_CONSTRAINTS,
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_neighbors: int = 35,
        contamination: float = 0.1,
        log_scale: bool = True,
        max_fit_samples: int | None = 3_000,
        random_state: Any = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.contamination = contamination
        self.log_scale = log_scale
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state

    def _fit_model(self, Z: np.ndarray, rs: np.random.RandomState) -> None:
        self.detector_ = LocalOutlierFactor(
            n_neighbors=min(self.n_neighbors, Z.shape[0] - 1), novelty=True
        ).fit(np.clip(Z, -_CLIP, _CLIP))

    def _model_scores(self, Z: np.ndarray) -> np.ndarray:
        return self.detector_.score_samples(np.clip(Z, -_CLIP, _CLIP))


class OneClassSVMDetector(ScaledOutlierDetector):
    """One-class SVM on a Nystroem RBF-kernel map; lower ``score_samples`` = further outside.

    Parameters
    ----------
    n_components : int
        Nystroem landmarks (capped at the fit rows).
    gamma : float or None
        RBF width on the standardised features (None: ``1 / n_features``).
    nu : float in (0, 1]
        Upper bound on the share of training rows outside the boundary.
    contamination : float in (0, 0.5]
        Expected share of outliers; only moves ``offset_``.
    log_scale, max_fit_samples, random_state :
        As in :class:`LocalOutlierFactorDetector` (the seed also drives the landmarks and SGD).

    Attributes
    ----------
    kernel_ : sklearn.kernel_approximation.Nystroem
    detector_ : sklearn.linear_model.SGDOneClassSVM
    """

    _parameter_constraints: ClassVar[dict] = {
        **COMMON_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "nu": [Interval(Real, 0, 1, closed="right")],
    }

    def __init__(
        self,
        *,
        n_components: int = 200,
        gamma: float | None = None,
        nu: float = 0.05,
        contamination: float = 0.1,
        log_scale: bool = True,
        max_fit_samples: int | None = 20_000,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.gamma = gamma
        self.nu = nu
        self.contamination = contamination
        self.log_scale = log_scale
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state

    def _fit_model(self, Z: np.ndarray, rs: np.random.RandomState) -> None:
        gamma = self.gamma if self.gamma is not None else 1.0 / Z.shape[1]
        Zc = np.clip(Z, -_CLIP, _CLIP)
        self.kernel_ = Nystroem(
            gamma=gamma, n_components=min(self.n_components, Z.shape[0]), random_state=seed_from(rs)
        ).fit(Zc)
        self.detector_ = SGDOneClassSVM(nu=self.nu, random_state=seed_from(rs), tol=1e-4).fit(
            self.kernel_.transform(Zc)
        )

    def _model_scores(self, Z: np.ndarray) -> np.ndarray:
        return self.detector_.decision_function(self.kernel_.transform(np.clip(Z, -_CLIP, _CLIP)))


class RobustCovarianceDetector(ScaledOutlierDetector):
    """Minimum-covariance-determinant Mahalanobis distance in the leading principal components.

    ``score_samples`` is ``-d^2`` (lower = more abnormal). The principal axes come from the
    standardised fit rows; MCD then ignores the most outlying ``1 - support_fraction`` of them.
    scikit-learn's FastMCD is slow past 500 rows (it splits into subsets), hence the default
    ``max_fit_samples``.

    Parameters
    ----------
    n_components : int
        Principal components kept (capped at features and fit rows minus one).
    support_fraction : float in (0, 1] or None
        Share of rows in the MCD support (None: scikit-learn's default).
    contamination : float in (0, 0.5]
        Expected share of outliers; only moves ``offset_``.
    log_scale, max_fit_samples, random_state :
        As in :class:`LocalOutlierFactorDetector`.

    Attributes
    ----------
    projection_ : sklearn.decomposition.PCA
    detector_ : sklearn.covariance.MinCovDet
    """

    _parameter_constraints: ClassVar[dict] = {
        **COMMON_CONSTRAINTS,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "support_fraction": [Interval(Real, 0, 1, closed="right"), None],
    }

    def __init__(
        self,
        *,
        n_components: int = 12,
        support_fraction: float | None = None,
        contamination: float = 0.1,
        log_scale: bool = True,
        max_fit_samples: int | None = 500,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.support_fraction = support_fraction
        self.contamination = contamination
        self.log_scale = log_scale
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state

    def _fit_model(self, Z: np.ndarray, rs: np.random.RandomState) -> None:
        Zc = np.clip(Z, -_CLIP, _CLIP)
        k = max(1, min(self.n_components, Z.shape[1], Z.shape[0] - 1))
        self.projection_ = PCA(n_components=k, random_state=seed_from(rs)).fit(Zc)
        P = self.projection_.transform(Zc)
        # A tiny jitter keeps MCD defined when rows repeat (many accounts are all zeros).
        P = P + rs.normal(0.0, 1e-6, size=P.shape)
        self.detector_ = MinCovDet(support_fraction=self.support_fraction, random_state=seed_from(rs)).fit(P)

    def _model_scores(self, Z: np.ndarray) -> np.ndarray:
        return -self.detector_.mahalanobis(self.projection_.transform(np.clip(Z, -_CLIP, _CLIP)))
