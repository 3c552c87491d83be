"""The AMLSim-style simulator writes a folder the AMLSim ingest adapter reads, labels and all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import ingest
from synthetic_data.amlsim_like import TYPOLOGIES, AlertPattern, AmlSimParams, simulate

SMALL = AmlSimParams(
    n_accounts=300,
    days=40,
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
