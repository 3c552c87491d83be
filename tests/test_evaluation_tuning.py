"""Time-split threshold tuning: no look-ahead, the threshold moves with the data, the TOML loads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from detectors.config import Condition, DetectorConfig, RuleSpec
from evaluation.tuning import labels_known_by, time_split, tune, write_config
from moneytrail.config import Config, load_config

DAYS = [date(2026, 1, 1) + timedelta(days=7 * i) for i in range(6)]
RULE = RuleSpec(
    name="many_deposits",
    typology="structuring",
    conditions=(Condition(feature="deposits", threshold=2, saturation=20, scale="log"),),
    reason="{deposits} deposits",
)
CONFIG = Config(detectors=DetectorConfig(rules=(RULE,), isolation_forest_trees=5))


def _world(validation_deposits: int = 9) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Schemes s0..s3 make 6-9 deposits a week, benign b0..b9 make 3-4; s4 starts after the cutoff."""
    rows = []
    for day in DAYS:
        late = day > DAYS[3]
        for i in range(4):
            rows.append((f"s{i}", day, validation_deposits if late else 6 + i))
        rows.extend((f"b{i}", day, 3 + i % 2) for i in range(10))
        rows.append(("s4", day, validation_deposits if late else 0))
    features = pl.DataFrame(rows, schema=["account_id", "eval_date", "deposits"], orient="row").with_columns(
        pl.col("deposits").cast(pl.Float64), pl.lit("individual").alias("kind")
    )
    start = [datetime(2026, 1, 1, tzinfo=UTC)] * 4 + [datetime(2026, 2, 2, tzinfo=UTC)]
    labels = {
        "instances": pl.DataFrame(
            {
                "instance_id": [f"i{i}" for i in range(5)],
                "typology": ["structuring"] * 5,
                "start": start,
                "end": [s + timedelta(days=60) for s in start],
            }
        ),
        "instance_accounts": pl.DataFrame(
            {
                "instance_id": [f"i{i}" for i in range(5)],
                "account_id": [f"s{i}" for i in range(5)],
                "role": ["originator"] * 5,
            }
        ),
        "transactions": pl.DataFrame(schema={"tx_id": pl.String, "instance_id": pl.String}),
        "benign_behaviours": pl.DataFrame(
            schema={"behaviour_id": pl.String, "behaviour": pl.String, "account_id": pl.String}
        ),
    }
    return features, labels


def test_time_split_keeps_the_last_third_for_validation() -> None:
    split = time_split(pl.Series(DAYS * 2))
    assert (split.cutoff, split.tune_dates, split.validate_dates) == (
        DAYS[3],
        (DAYS[0], DAYS[3]),
        (DAYS[4], DAYS[5]),
    )
    with pytest.raises(ValueError, match="two evaluation dates"):
        time_split(pl.Series(DAYS[:1]))


def test_labels_known_by_drop_schemes_that_start_later() -> None:
    _, labels = _world()
    known = labels_known_by(labels, DAYS[3])
    assert known["instances"]["instance_id"].to_list() == ["i0", "i1", "i2", "i3"]
    assert "s4" not in known["instance_accounts"]["account_id"].to_list()


def test_tuning_raises_the_threshold_to_separate_schemes_from_benign_accounts() -> None:
    features, labels = _world()
    result = tune(features, labels, CONFIG, false_alert_cost=0.05)
    tuned = result.config.detectors.rules[0].conditions[0].threshold
    assert 4 < tuned <= 6
    assert result.changes.rows() == [("many_deposits", 0, "deposits", 2.0, tuned)]
    validation = result.validation.filter(pl.col("typology") == "all")
    assert set(validation["config"]) == {"before", "tuned"}


def test_nothing_after_the_cutoff_reaches_the_search() -> None:
    features, labels = _world(validation_deposits=9)
    other_features, other_labels = _world(validation_deposits=50)
    other_labels["instances"] = other_labels["instances"].with_columns(
        pl.when(pl.col("instance_id") == "i4").then(pl.lit("cycle")).otherwise("typology").alias("typology")
    )
    a = tune(features, labels, CONFIG)
    b = tune(other_features, other_labels, CONFIG)
    assert a.config == b.config
    assert a.steps.equals(b.steps)


def test_tuned_config_round_trips_through_moneytrail_config(tmp_path: Path) -> None:
    features, labels = _world()
    result = tune(features, labels, CONFIG)
    path = write_config(result.config, tmp_path / "tuned.toml")
    assert load_config(path) == result.config
    assert load_config(path).fingerprint() == result.config.fingerprint()


def test_a_config_toml_cannot_express_is_refused(tmp_path: Path) -> None:
    never = RULE.model_copy(
        update={"conditions": (Condition(feature="deposits", threshold=2, by_kind={"business": None}),)}
    )
    config = Config(detectors=DetectorConfig(rules=(never,)))
    with pytest.raises(ValueError, match=r"detectors\.rules\[0\]\.conditions\[0\]\.by_kind\.business"):
        write_config(config, tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()
