"""The AMLSim-style simulator writes a folder the AMLSim ingest adapter reads, labels and all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors.counterparties import BURST_COLUMNS, relationship_bursts
from detectors.ensemble import mean_percentile
from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import ingest
from synthetic_data.amlsim_like import TYPOLOGIES, AlertPattern, AmlSimParams, simulate
from synthetic_data.amlsim_patterns import Graph, Plan

SMALL = AmlSimParams(
    n_accounts=300,
    days=40,
    degree_threshold=4,
    patterns=(
        *(AlertPattern(name, 1, 4, 6, min_period=3, max_period=10) for name in TYPOLOGIES),
        AlertPattern("fan_in", 1, 5, 5, is_sar=False),
    ),
)


def test_simulated_folder_ingests_with_labels(tmp_path: Path) -> None:
    summary = simulate(tmp_path / "out", SMALL, np.random.default_rng(3))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "accounts.csv",
        "alert_accounts.csv",
        "transactions.csv",
    ]
    assert summary["alerts"] == len(TYPOLOGIES) + 1
    report = ingest(tmp_path / "out", "amlsim", tmp_path / "lake", CurrencyConfig())
    assert report.rows_loaded == summary["transactions"]
    assert report.rows_quarantined == 0
    labels = lk.read_labels(tmp_path / "lake")
    assert sorted(labels["instances"]["typology"].to_list()) == sorted(TYPOLOGIES)
    assert labels["transactions"].height == summary["sar_transactions"]
    assert labels["benign_behaviours"]["behaviour"].unique().to_list() == ["fan_in"]
    tx = lk.scan_transactions(tmp_path / "lake").collect()
    assert tx["amount"].is_between(0.0, 1_000.0).all()  # laundering amounts share the normal range
    assert not tx.filter(pl.col("src_account") == pl.col("dst_account")).height


def test_same_seed_same_output(tmp_path: Path) -> None:
    simulate(tmp_path / "a", SMALL, np.random.default_rng(9))
    simulate(tmp_path / "b", SMALL, np.random.default_rng(9))
    for name in ("accounts.csv", "transactions.csv", "alert_accounts.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def _one(name: str, members: int, period: int, seed: int = 0, **kw) -> list[tuple]:
    """Lay out one instance of typology ``name`` over members 0..members-1, days 10..10+period-1."""
    pattern = AlertPattern(name, 1, members, members, min_period=period, max_period=period, **kw)
    edges = np.array([[m, (m + 1) % 50] for m in range(50)])
    graph = Graph.from_edges(edges, 50)
    plan = Plan(np.arange(members), 10, 10 + period - 1, pattern, 0.1, graph)
    return TYPOLOGIES[name](plan, np.random.default_rng(seed))


def _frame(hops: list[tuple]) -> pl.DataFrame:
    return pl.concat(
        pl.DataFrame({"src": np.ravel(s), "dst": np.ravel(d), "day": np.ravel(t), "amount": np.ravel(a)})
        for s, d, t, a in (np.broadcast_arrays(*h) for h in hops)
    )


def test_cycle_amounts_shrink_by_the_margin_in_time_order() -> None:
    tx = _frame(_one("cycle", 6, 15)).sort("day", maintain_order=True)
    assert sorted(tx["src"].to_list()) == list(range(6))
    assert tx["day"].min() == 10 and tx["day"].max() == 24  # first on the start day, one on the end day
    np.testing.assert_allclose(tx["amount"], [1_000.0 * 0.9**k for k in range(6)], atol=0.01)


def test_scatter_gather_keeps_exactly_the_margin() -> None:
    tx = _frame(_one("scatter_gather", 7, 20))
    scatter, gather = tx.filter(pl.col("src") == 0), tx.filter(pl.col("dst") == 1)
    assert scatter.height == gather.height == 5
    assert (scatter["amount"] == 1_000.0).all() and (gather["amount"] == 900.0).all()
    assert scatter["day"].max() < gather["day"].min()


def test_only_the_main_account_sends_in_bipartite_and_stack() -> None:
    for name, receivers in (("bipartite", {3, 4, 5}), ("stack", {2, 3})):
        tx = _frame(_one(name, 6, 5))
        assert tx["src"].unique().to_list() == [0]
        assert set(tx["dst"].to_list()) == receivers
        assert tx.height == 5 * len(receivers)  # every day of the period, every receiver
        per_day = tx.group_by("day").agg(pl.col("amount").n_unique())
        assert (per_day["amount"] == 1).all()  # one amount per day


def test_fan_in_pays_at_fixed_intervals() -> None:
    tx = _frame(_one("fan_in", 5, 20))
    assert tx["dst"].unique().to_list() == [0]
    assert tx.sort("day")["day"].to_list() == [10, 15, 20, 25]


def test_random_walk_follows_the_graph() -> None:
    tx = _frame(_one("random", 5, 20))
    assert tx["src"][0] == 0
    assert ((tx["dst"] - tx["src"]) % 50 == 1).all()  # the graph's only edges are m -> m + 1
    assert (tx["src"][1:] == tx["dst"][:-1]).all()


def test_hub_main_accounts_and_disjoint_members(tmp_path: Path) -> None:
    simulate(tmp_path / "out", SMALL, np.random.default_rng(4))
    alerts = pl.read_csv(tmp_path / "out" / "alert_accounts.csv")
    assert alerts["acct_id"].n_unique() == alerts.height  # an account joins at most one alert
    tx = pl.read_csv(tmp_path / "out" / "transactions.csv").filter(pl.col("alert_id") < 0)
    degree = pl.concat(
        tx.group_by(me).agg(pl.col(other).n_unique().alias("d")).rename({me: "a"})
        for me, other in (("orig_acct", "bene_acct"), ("bene_acct", "orig_acct"))
    )
    mains = alerts.filter(pl.col("alert_type").is_in(["fan_in", "fan_out", "cycle", "random"]))
    mains = mains.group_by("alert_id", maintain_order=True).first()
    hub = degree.filter(pl.col("d") >= SMALL.degree_threshold)["a"].unique()
    assert mains["acct_id"].is_in(hub.implode()).all()


def test_counterparty_context_finds_the_alert_members(tmp_path: Path) -> None:
    """End to end through the ingest adapter, no label used to score: a floor, not a tuned value."""
    params = AmlSimParams(
        n_accounts=1_000, days=60, patterns=tuple(AlertPattern(name, 4, 5, 8) for name in TYPOLOGIES)
    )
    simulate(tmp_path / "out", params, np.random.default_rng(5))
    ingest(tmp_path / "out", "amlsim", tmp_path / "lake", CurrencyConfig())
    scores = relationship_bursts(lk.scan_transactions(tmp_path / "lake")).select(
        "account_id", score=mean_percentile(BURST_COLUMNS)
    )
    members = lk.read_labels(tmp_path / "lake")["instance_accounts"]["account_id"]
    y = scores["account_id"].is_in(members.implode()).to_numpy()
    assert roc_auc_score(y, scores["score"]) >= 0.7
    assert average_precision_score(y, scores["score"]) >= 2 * y.mean()
