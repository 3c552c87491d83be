"""Isolation-forest detectors: scikit-learn contract, planted-outlier ranking, peer groups."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from detectors import IsolationForestDetector, MissingFeatureError, PeerGroupIsolationForest
from detectors.testing import peer_group_frame


@parametrize_with_checks(
    [
        IsolationForestDetector(n_estimators=10, random_state=0),
        IsolationForestDetector(
            n_estimators=10, contamination=0.1, log_scale=False, max_fit_samples=50, random_state=0
        ),
    ]
)
def test_sklearn_compatible(estimator, check) -> None:
    check(estimator)


def _planted(seed: int, n_in: int = 1_000, n_out: int = 20, dims: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    inliers = rng.normal(0.0, 1.0, size=(n_in, dims))
    outliers = rng.normal(0.0, 1.0, size=(n_out, dims))
    outliers[:, : dims // 2] += rng.choice([-6.0, 6.0], size=(n_out, dims // 2))
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(n_in), np.ones(n_out)]
    return X, y


@pytest.mark.parametrize("log_scale", [True, False])
def test_planted_outliers_rank_above_inliers(log_scale: bool) -> None:
    X, y = _planted(7)
    det = IsolationForestDetector(n_estimators=100, log_scale=log_scale, random_state=3).fit(X)
    auc = roc_auc_score(y, det.suspicion_score(X))
    assert auc >= 0.95, auc


def test_planted_outliers_heavy_tailed_amounts() -> None:
    rng = np.random.default_rng(11)
    X = rng.lognormal(8.0, 0.5, size=(2_000, 4))
    X[:20, :2] *= 60.0  # 20 accounts moving ~60x their peers' amounts
    y = np.r_[np.ones(20), np.zeros(1_980)]
    det = IsolationForestDetector(n_estimators=100, random_state=0).fit(X)
    assert roc_auc_score(y, det.suspicion_score(X)) >= 0.95


def test_contract_layers_and_subsampled_fit() -> None:
    X, _ = _planted(1)
    det = IsolationForestDetector(
        n_estimators=50, contamination=0.02, max_fit_samples=300, random_state=0
    ).fit(X)
    np.testing.assert_allclose(det.decision_function(X), det.score_samples(X) - det.offset_)
    np.testing.assert_allclose(det.suspicion_score(X), -det.score_samples(X))
    assert set(np.unique(det.predict(X))) <= {-1, 1}
    assert (det.predict(X) == -1).mean() == pytest.approx(0.02, abs=0.002)
    np.testing.assert_allclose(det.decision_scores_, det.suspicion_score(X))
    again = IsolationForestDetector(n_estimators=50, contamination=0.02, max_fit_samples=300, random_state=0)
    np.testing.assert_array_equal(again.fit(X).score_samples(X), det.score_samples(X))


def test_explain_names_the_deviating_features() -> None:
    X, y = _planted(2, dims=4)  # outliers are shifted by +-6 on x0 and x1
    det = IsolationForestDetector(n_estimators=50, contamination=0.02, log_scale=False, random_state=0).fit(X)
    flagged = det.predict(X) == -1
    assert flagged[y == 1].mean() >= 0.8
    reasons = det.explain(X, top_k=2)
    for i in np.flatnonzero(flagged & (y == 1)):
        assert len(reasons[i]) == 2
        assert {r.split(":")[0] for r in reasons[i]} <= {
            "unusually high x0",
            "unusually low x0",
            "unusually high x1",
            "unusually low x1",
        }
        assert f"{X[i, 0]:,.4g}" in " ".join(reasons[i])
    assert all(reasons[i] == [] for i in np.flatnonzero(~flagged))


def test_peer_groups_score_within_kind() -> None:
    frame, y = peer_group_frame(5)
    model = PeerGroupIsolationForest(n_estimators=50, min_group_rows=100, random_state=0).fit(frame)
    assert set(model.models_) == {"individual", "business"}  # no small group: no pooled model
    np.testing.assert_allclose(model.decision_scores_, model.suspicion_score(frame))
    assert list(model.feature_names_in_) == ["in_amount_30d", "out_amount_30d", "in_count_30d"]
    assert roc_auc_score(y, model.suspicion_score(frame)) >= 0.9
    pct = model.peer_percentile(frame)
    assert pct.min() > 0 and pct.max() == 1.0
    assert (pct[y == 1] >= 0.95).all()
    reasons = model.explain(frame[810:811])
    assert reasons == [[]] or "business" in reasons[0][0]
    planted = model.explain(frame[800:801])[0]
    assert planted and planted[0].startswith("unusually high amount")
    assert "(median for individual accounts USD " in planted[0]


def test_peer_groups_small_group_falls_back_to_pooled_model() -> None:
    frame, _ = peer_group_frame(6)
    frame = pl.concat([frame, frame.head(5).with_columns(pl.lit("msb").alias("kind"))])
    model = PeerGroupIsolationForest(n_estimators=20, min_group_rows=100, random_state=0).fit(frame)
    assert set(model.models_) == {"__all__", "individual", "business"}
    np.testing.assert_allclose(model.decision_scores_, model.suspicion_score(frame))
    unseen = frame.head(3).with_columns(pl.lit("bank").alias("kind"))
    assert np.isfinite(model.score_samples(unseen)).all()  # unseen groups use the pooled model


def test_peer_groups_unseen_group_without_pooled_model_fails_loudly() -> None:
    frame, _ = peer_group_frame(6)
    model = PeerGroupIsolationForest(n_estimators=10, min_group_rows=100, random_state=0).fit(frame)
    with pytest.raises(ValueError, match="bank"):
        model.score_samples(frame.head(3).with_columns(pl.lit("bank").alias("kind")))


def test_peer_groups_missing_column() -> None:
    frame, _ = peer_group_frame(5)
    with pytest.raises(MissingFeatureError, match="out_amount_7d"):
        PeerGroupIsolationForest(features=("in_amount_30d", "out_amount_7d")).fit(frame)
    with pytest.raises(MissingFeatureError, match="kind"):
        PeerGroupIsolationForest().fit(frame.drop("kind"))


def test_named_columns_appear_in_explanations() -> None:
    X, _y = _planted(4, dims=2)
    frame = pl.DataFrame({"in_amount_30d": X[:, 0], "fan_in_degree_7d": X[:, 1]})
    det = IsolationForestDetector(n_estimators=30, contamination=0.02, random_state=0).fit(frame)
    assert list(det.feature_names_in_) == ["in_amount_30d", "fan_in_degree_7d"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reasons = det.explain(frame)
    flagged = [r for r in reasons if r]
    assert flagged and all(
        r[0].split(":")[0].endswith(("in_amount_30d", "fan_in_degree_7d")) for r in flagged
    )
