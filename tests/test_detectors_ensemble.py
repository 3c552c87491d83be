"""LOF, one-class SVM, robust covariance and their rank ensemble: sklearn contract, planted outliers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from detectors import (
    DetectorConfig,
    PeerGroupEnsemble,
    PeerGroupIsolationForest,
    RankEnsembleDetector,
    score_accounts,
)
from detectors.counterparties import BURST_COLUMNS, relationship_bursts
from detectors.ensemble import METHODS, account_scores, mean_percentile
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


# -- counterparty context and the account-level ensemble -----------------------------------
def _edges(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    """(src, dst, day offset) -> a transactions frame."""
    base = dt.datetime(2026, 1, 1)
    return pl.DataFrame(
        {
            "src_account": [r[0] for r in rows],
            "dst_account": [r[1] for r in rows],
            "timestamp": [base + dt.timedelta(days=r[2]) for r in rows],
            "amount": [100.0] * len(rows),
        }
    )


def test_relationship_bursts_by_hand() -> None:
    fan = [("H", m, d) for m, d in (("A", 1), ("B", 2), ("C", 3))]
    salary = [("X", "Y", d) for d in range(0, 51, 10)]  # long-lived: no burst; data spans 51 days
    late = [("H", "Z", 30), ("CASH", "A", 2), ("A", "CASH", 3)]  # H's later relationship; cash ignored
    out = relationship_bursts(_edges(fan + salary + late), window_days=7)
    got = {r[0]: (r[1], r[2]) for r in out.select("account_id", *BURST_COLUMNS).iter_rows()}

    def surprise(count: int, n_short: int) -> float:  # expected = steady rate x 15-day window
        expected = n_short * 15 / 51
        return (count - expected) / (expected + 1) ** 0.5

    hub, member = surprise(3, 4), surprise(1, 1)  # H: 3 of its 4 short relationships in one week
    expected = {
        "A": (member, hub),
        "B": (member, hub),
        "C": (member, hub),
        "H": (hub, member),
        "Z": (member, surprise(1, 4)),
        "X": (0.0, 0.0),
        "Y": (0.0, 0.0),
    }
    assert got.keys() == expected.keys()
    for account, values in expected.items():
        assert got[account] == pytest.approx(values)
    assert hub > member > 0 > surprise(1, 4)


@given(
    rows=st.lists(
        st.tuples(st.sampled_from("ABCDEF"), st.sampled_from("ABCDEF"), st.integers(0, 40)),
        min_size=1,
        max_size=40,
    ),
    window=st.integers(1, 10),
)
@settings(max_examples=60, deadline=None)
def test_relationship_bursts_match_a_slow_reference(rows: list[tuple[str, str, int]], window: int) -> None:
    rows = [r for r in rows if r[0] != r[1]]
    if not rows:
        return
    days: dict[frozenset, list[int]] = {}
    for src, dst, day in rows:
        days.setdefault(frozenset((src, dst)), []).append(day)
    short = {pair: min(d) for pair, d in days.items() if max(d) - min(d) < window}

    span = max(max(d) for d in days.values()) - min(min(d) for d in days.values()) + 1

    def burst(account: str, day: int) -> float:
        count = sum(1 for pair, first in short.items() if account in pair and abs(first - day) <= window)
        expected = sum(1 for pair in short if account in pair) * min(2 * window + 1, span) / span
        return (count - expected) / (expected + 1) ** 0.5

    accounts = sorted({a for pair in days for a in pair})
    expected: dict[str, list[float]] = {a: [] for a in accounts}
    for pair, first in short.items():
        a, b = sorted(pair)
        for me, other in ((a, b), (b, a)):
            expected[me].append((burst(me, first), burst(other, first)))
    out = relationship_bursts(_edges(rows), window_days=window)
    got = {r["account_id"]: (r["own_burst"], r["counterparty_burst"]) for r in out.iter_rows(named=True)}
    assert got.keys() == expected.keys()
    for account, pairs in expected.items():
        want = (max(p[0] for p in pairs), max(p[1] for p in pairs)) if pairs else (0.0, 0.0)
        assert got[account] == pytest.approx(want)


def test_relationship_bursts_rejects_bad_input() -> None:
    with pytest.raises(KeyError, match="timestamp"):
        relationship_bursts(pl.DataFrame({"src_account": ["A"], "dst_account": ["B"]}))
    with pytest.raises(ValueError, match="window_days"):
        relationship_bursts(_edges([("A", "B", 0)]), window_days=0)
    empty = relationship_bursts(_edges([("A", "B", 0)]).clear())
    assert empty.columns == ["account_id", *BURST_COLUMNS] and empty.is_empty()


def test_account_scores_rank_combine_model_and_context() -> None:
    frame, y = peer_group_frame(8, n_individuals=300, n_businesses=200)
    ids = frame["account_id"].to_list()
    # a planted fan: the first individual pays ten others once each within a week
    fan = [(ids[0], ids[1 + i], i % 5) for i in range(10)]
    routine = [(ids[i], ids[i + 1], d) for i in range(20, 200) for d in (0, 20, 40)]
    model = PeerGroupIsolationForest(min_group_rows=100, random_state=0)
    out = account_scores(frame, _edges(fan + routine), model).sort("account_id")
    assert out.height == frame.height
    assert out["score"].is_between(0.0, 1.0).all()
    expected = pl.DataFrame(
        {c: out[c] for c in ("anomaly", "own_burst", "counterparty_burst")}
    ).select(mean_percentile(["anomaly", "own_burst", "counterparty_burst"]))
    np.testing.assert_allclose(out["score"], expected.to_series())
    fan_members = set(ids[:11])
    top = set(out.sort("score", descending=True).head(11 + int(y.sum()))["account_id"])
    assert fan_members <= top  # context lifts the fan (planted outliers rank on the model)
