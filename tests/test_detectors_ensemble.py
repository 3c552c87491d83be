"""LOF, one-class SVM, robust covariance and their rank ensemble: sklearn contract, planted outliers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from detectors import DetectorConfig, PeerGroupEnsemble, RankEnsembleDetector, score_accounts
from detectors.ensemble import METHODS
from detectors.scoring import anomaly_model
from detectors.testing import peer_group_frame
from detectors.unsupervised import (
    LocalOutlierFactorDetector,
    OneClassSVMDetector,
    RobustCovarianceDetector,
)


@parametrize_with_checks(
    [
        LocalOutlierFactorDetector(n_neighbors=10, random_state=0),
        OneClassSVMDetector(n_components=20, random_state=0),
        RobustCovarianceDetector(n_components=3, random_state=0),
        # the isolation forest member is checked on its own in test_detectors_model.py
        RankEnsembleDetector(
            methods=("local_outlier_factor", "one_class_svm", "robust_covariance"), random_state=0
        ),
    ]
)
def test_sklearn_compatible(estimator, check) -> None:
    check(estimator)


def _planted(seed: int, n_in: int = 600, n_out: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Correlated heavy-tailed inliers (in ~ out); outliers break the correlation or the scale."""
    rng = np.random.default_rng(seed)
    flow = rng.lognormal(7.0, 1.0, n_in + n_out)
    X = np.column_stack(
        [
            flow,
            flow * rng.lognormal(0, 0.1, flow.size),
            rng.poisson(10, flow.size),
            rng.normal(0, 1, flow.size),
        ]
    )
    X[n_in : n_in + n_out // 2, 1] = 0.0  # money in, none out
    X[n_in + n_out // 2 :, 2] = 200.0  # twenty times the usual count
    return X, np.r_[np.zeros(n_in), np.ones(n_out)]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_each_member_ranks_planted_outliers_first(method: str) -> None:
    X, y = _planted(1)
    det = METHODS[method](random_state=0).fit(X)
    assert roc_auc_score(y, det.suspicion_score(X)) >= 0.9
    np.testing.assert_allclose(det.decision_scores_, det.suspicion_score(X))
    np.testing.assert_allclose(det.decision_function(X), det.score_samples(X) - det.offset_)


def test_ensemble_is_the_mean_member_percentile() -> None:
    X, y = _planted(2)
    det = RankEnsembleDetector(contamination=0.03, max_fit_samples=400, random_state=0).fit(X)
    pct = det.member_percentiles(det.deviations(X))
    assert set(pct) == set(METHODS)
    np.testing.assert_allclose(-det.score_samples(X), np.mean(list(pct.values()), axis=0))
    assert roc_auc_score(y, det.suspicion_score(X)) >= 0.95
    assert (det.predict(X) == -1).mean() == pytest.approx(0.03, abs=0.01)
    again = RankEnsembleDetector(contamination=0.03, max_fit_samples=400, random_state=0).fit(X)
    np.testing.assert_array_equal(again.score_samples(X), det.score_samples(X))


def test_ensemble_rejects_unknown_or_repeated_methods() -> None:
    X, _ = _planted(3, n_in=100)
    with pytest.raises(ValueError, match="distinct members"):
        RankEnsembleDetector(methods=("isolation_forest", "knn")).fit(X)
    with pytest.raises(ValueError, match="distinct members"):
        RankEnsembleDetector(methods=("one_class_svm", "one_class_svm")).fit(X)


def test_peer_group_ensemble_scores_within_kind() -> None:
    frame, y = peer_group_frame(5, n_individuals=500, n_businesses=300)
    model = PeerGroupEnsemble(min_group_rows=100, max_fit_samples=300, random_state=0).fit(frame)
    assert set(model.models_) == {"individual", "business"}
    np.testing.assert_allclose(model.decision_scores_, model.suspicion_score(frame))
    assert roc_auc_score(y, model.suspicion_score(frame)) >= 0.9
    pct = model.peer_percentile(frame, suspicion=model.decision_scores_)
    assert np.median(pct[y == 1]) >= 0.95
    planted = model.explain(frame[500:501], flagged=np.array([True]))[0]
    assert planted and planted[0].startswith("unusually high amount")
    assert "(median for individual accounts USD " in planted[0]


def test_config_selects_the_ensemble() -> None:
    frame, _ = peer_group_frame(6, n_individuals=500, n_businesses=300)
    rng = np.random.default_rng(0)
    assert type(anomaly_model(DetectorConfig(), rng, frame)).__name__ == "PeerGroupIsolationForest"
    config = DetectorConfig(
        anomaly_method="ensemble", anomaly_ensemble_methods=("isolation_forest", "robust_covariance")
    )
    model = anomaly_model(config, rng, frame)
    assert isinstance(model, PeerGroupEnsemble)
    assert model.methods == ("isolation_forest", "robust_covariance")


def test_score_accounts_runs_with_the_ensemble() -> None:
    frame, _ = peer_group_frame(7, n_individuals=500, n_businesses=300)
    frame = frame.with_columns(
        pl.lit(dt.date(2026, 1, 31)).alias("eval_date"), pl.lit("retail").alias("sector")
    )
    config = DetectorConfig(rules=(), anomaly_method="ensemble", anomaly_ensemble_fit_rows=1_000)
    out = score_accounts(frame, config, np.random.default_rng(0))
    assert out.height == frame.height
    assert out["score_anomaly"].is_between(0.0, 1.0).all()
    assert (out["reasons"].list.len() > 0).sum() >= 1
