"""propagate_scores (second-stage counterparty propagation) on tiny inline frames."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from detectors import DetectorConfig, PropagationConfig, propagate_scores, select_alerts
from detectors.config import AlertConfig
from detectors.propagation import PROPAGATED_COLUMN, SOURCE_COLUMN
from detectors.testing import edge_frame

D = date(2026, 1, 31)


def _scores(rows: list[tuple[str, date, float, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "eval_date": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "top_typology": [r[3] for r in rows],
            "reasons": [[f"own reason of {r[0]}"] if r[3] else [] for r in rows],
            "score_structuring": [r[2] if r[3] == "structuring" else 0.0 for r in rows],
        },
        schema_overrides={"top_typology": pl.String, "reasons": pl.List(pl.String)},
    )


SCORES = _scores(
    [
        ("HUB", D, 0.8, "structuring"),
        ("SMURF", D, 0.2, None),
        ("SHOPPER", D, 0.1, None),
        ("OTHER", D, 0.3, None),
    ]
)
EDGES = edge_frame(
    [
        ("SMURF", "HUB", 9_500.0, date(2026, 1, 20)),
        ("SMURF", "HUB", 9_400.0, date(2026, 1, 25)),
        ("SMURF", "GROCER", 100.0, date(2026, 1, 26)),
        # Pays the hub, but the hub gets a small share of its outflow: no derived score.
        ("SHOPPER", "HUB", 2_000.0, date(2026, 1, 22)),
        ("SHOPPER", "RENT", 8_000.0, date(2026, 1, 23)),
        ("CASH", "HUB", 9_900.0, date(2026, 1, 24)),
        # Outside the 30-day window ending on the hub's evaluation date.
        ("OTHER", "HUB", 50_000.0, date(2025, 12, 1)),
    ]
)


def test_payer_of_a_flagged_hub_gets_a_derived_score_typology_and_reason() -> None:
    out = propagate_scores(SCORES, EDGES, DetectorConfig())
    smurf = out.filter(pl.col("account_id") == "SMURF").row(0, named=True)
    assert smurf["top_typology"] == "structuring"
    assert smurf[SOURCE_COLUMN] == "HUB"
    share = 18_900 / 19_000
    assert smurf["score"] == pytest.approx(0.8 * (0.9 + 0.1 * share))
    assert smurf[PROPAGATED_COLUMN] == smurf["score"]
    assert smurf["reasons"][0] == (
        "paid USD 18,900 to account HUB flagged for structuring within 30 days (99% of its outflow)"
    )
    assert smurf["reasons"][1:] == []
    # Nobody else derives anything; the hub itself and every other column are untouched.
    others = out.filter(pl.col("account_id") != "SMURF")
    assert others[PROPAGATED_COLUMN].to_list() == [0.0, 0.0, 0.0]
    assert others[SOURCE_COLUMN].null_count() == 3
    assert_frame_equal(
        others.drop(PROPAGATED_COLUMN, SOURCE_COLUMN), SCORES.filter(pl.col("account_id") != "SMURF")
    )


def test_rows_keep_input_order_and_schema() -> None:
    out = propagate_scores(SCORES, EDGES, PropagationConfig())
    assert out["account_id"].to_list() == SCORES["account_id"].to_list()
    assert out.columns == [*SCORES.columns, PROPAGATED_COLUMN, SOURCE_COLUMN]


def test_propagated_payer_takes_its_hubs_alert_or_sits_next_to_it() -> None:
    out = propagate_scores(SCORES, EDGES, PropagationConfig())
    alerts = select_alerts(out, AlertConfig(budget_share=0.5))
    assert alerts.select("account_id", "typology", "score").rows() == [("SMURF", "structuring", 0.8)]
    assert alerts["reasons"][0][-1] == "takes the alert of hub account HUB (score 0.8, same case)"
    both = select_alerts(out, AlertConfig(budget_share=0.5, hub_hands_over=False))
    assert both["account_id"].to_list() == ["HUB", "SMURF"]
    assert both["typology"].to_list() == ["structuring", "structuring"]


def test_a_stronger_own_score_is_kept_and_the_derived_reason_appended() -> None:
    scores = SCORES.with_columns(
        pl.when(pl.col("account_id") == "SMURF").then(0.95).otherwise(pl.col("score")).alias("score"),
        pl.when(pl.col("account_id") == "SMURF")
        .then(pl.lit("cash_courier"))
        .otherwise(pl.col("top_typology"))
        .alias("top_typology"),
    )
    smurf = propagate_scores(scores, EDGES).filter(pl.col("account_id") == "SMURF").row(0, named=True)
    assert smurf["score"] == 0.95 and smurf["top_typology"] == "cash_courier"
    assert 0.7 < smurf[PROPAGATED_COLUMN] < 0.8
    assert smurf["reasons"][-1].startswith("paid USD 18,900 to account HUB")


def test_counterparty_without_a_row_on_the_hub_date_gets_a_new_row() -> None:
    scores = SCORES.filter(pl.col("account_id") != "SMURF").vstack(
        _scores([("SMURF", date(2026, 1, 24), 0.2, None)])
    )
    out = propagate_scores(scores, EDGES)
    assert out.height == scores.height + 1
    new = out.tail(1).row(0, named=True)
    assert (new["account_id"], new["eval_date"], new["top_typology"]) == ("SMURF", D, "structuring")
    assert new["score_structuring"] == 0.0


def test_timestamps_work_like_dates_and_the_window_is_inclusive() -> None:
    edges = EDGES.with_columns(pl.col("eval_date").cast(pl.Datetime("us", "UTC")).alias("timestamp")).drop(
        "eval_date"
    )
    assert_frame_equal(propagate_scores(SCORES, edges), propagate_scores(SCORES, EDGES))
    # The payment exactly window_days - 1 days before the hub date counts, one day earlier does not.
    edge = edge_frame([("OTHER", "HUB", 5_000.0, date(2026, 1, 2))])
    assert propagate_scores(SCORES, edge)[SOURCE_COLUMN].to_list()[3] == "HUB"
    edge = edge_frame([("OTHER", "HUB", 5_000.0, date(2026, 1, 1))])
    assert propagate_scores(SCORES, edge)[SOURCE_COLUMN].null_count() == 4
    edge = edge_frame([("OTHER", "HUB", 5_000.0, date(2026, 2, 1))])  # after the evaluation date
    assert propagate_scores(SCORES, edge)[SOURCE_COLUMN].null_count() == 4
    stamped = pl.DataFrame(
        {
            "src_account": ["OTHER"],
            "dst_account": ["HUB"],
            "amount": [5_000.0],
            "timestamp": [datetime(2026, 1, 31, 23, 59, tzinfo=UTC)],
        }
    )
    assert propagate_scores(SCORES, stamped)[SOURCE_COLUMN].to_list()[3] == "HUB"


def test_max_per_hub_keeps_the_largest_payers_ties_by_account_id() -> None:
    scores = _scores(
        [("HUB", D, 0.8, "structuring"), ("B", D, 0.0, None), ("A", D, 0.0, None), ("C", D, 0.0, None)]
    )
    edges = edge_frame([("A", "HUB", 5_000.0, D), ("B", "HUB", 5_000.0, D), ("C", "HUB", 9_000.0, D)])
    one = propagate_scores(scores, edges)
    assert one.filter(pl.col(SOURCE_COLUMN).is_not_null())["account_id"].to_list() == ["C"]
    two = propagate_scores(scores, edges, PropagationConfig(max_per_hub=2))
    assert sorted(two.filter(pl.col(SOURCE_COLUMN).is_not_null())["account_id"].to_list()) == ["A", "C"]


def test_outbound_typologies_propagate_to_payees() -> None:
    scores = _scores([("HUB", D, 0.8, "structuring"), ("PAYEE", D, 0.0, None)])
    edges = edge_frame([("HUB", "PAYEE", 20_000.0, D)])
    assert propagate_scores(scores, edges)[SOURCE_COLUMN].null_count() == 2
    config = PropagationConfig(inbound_typologies=(), outbound_typologies=("structuring",))
    payee = propagate_scores(scores, edges, config).row(1, named=True)
    assert payee[SOURCE_COLUMN] == "HUB"
    assert payee["reasons"][0].startswith("received USD 20,000 from account HUB flagged for structuring")


def test_weak_hubs_unknown_accounts_and_disabled_stage_derive_nothing() -> None:
    weak = SCORES.with_columns(
        pl.when(pl.col("account_id") == "HUB").then(0.4).otherwise(pl.col("score")).alias("score")
    )
    assert propagate_scores(weak, EDGES)[SOURCE_COLUMN].null_count() == 4
    anomaly = SCORES.with_columns(pl.lit("anomaly").alias("top_typology"))
    assert propagate_scores(anomaly, EDGES)[SOURCE_COLUMN].null_count() == 4
    off = propagate_scores(SCORES, EDGES, PropagationConfig(enabled=False))
    assert_frame_equal(off.drop(PROPAGATED_COLUMN, SOURCE_COLUMN), SCORES)
    # CASH and accounts that were never scored are not given rows.
    out = propagate_scores(SCORES, EDGES)
    assert set(out["account_id"]) == set(SCORES["account_id"])


def test_empty_inputs_and_missing_columns() -> None:
    empty = propagate_scores(SCORES.head(0), EDGES)
    assert empty.height == 0 and PROPAGATED_COLUMN in empty.columns
    assert propagate_scores(SCORES, EDGES.head(0))[SOURCE_COLUMN].null_count() == 4
    with pytest.raises(KeyError, match="eval_date or timestamp"):
        propagate_scores(SCORES, EDGES.drop("eval_date"))
    with pytest.raises(KeyError, match="top_typology"):
        propagate_scores(SCORES.drop("top_typology"), EDGES)
    with pytest.raises(ValueError, match="both inbound and outbound"):
        PropagationConfig(outbound_typologies=("fan_in",))


def test_deterministic_and_independent_of_row_order() -> None:
    first = propagate_scores(SCORES, EDGES)
    shuffled = propagate_scores(SCORES.reverse(), EDGES.reverse())
    assert_frame_equal(first, shuffled.reverse())


def test_large_amounts_are_formatted_with_separators() -> None:
    scores = _scores([("HUB", D, 0.9, "structuring"), ("RICH", D, 0.0, None)])
    for amount, text in [(1_234_567_891.0, "1,234,567,891"), (1_000_005.0, "1,000,005"), (1_000.4, "1,000")]:
        out = propagate_scores(scores, edge_frame([("RICH", "HUB", amount, D)]))
        assert out.row(1, named=True)["reasons"][0].startswith(f"paid USD {text} to account HUB")


def test_peer_share_is_measured_over_the_longer_peer_window() -> None:
    """An escrow-like payer that paid many others in the weeks before is no dedicated funder."""
    edges = edge_frame(
        [
            ("SMURF", "HUB", 9_500.0, date(2026, 1, 20)),
            ("SMURF", "SELLER1", 90_000.0, date(2025, 12, 10)),  # 52 days before the hub date
            ("SHOPPER", "HUB", 2_000.0, date(2026, 1, 22)),  # so SMURF is not the hub's only payer
            ("SHOPPER", "RENT", 8_000.0, date(2026, 1, 23)),
        ]
    )
    long_window = PropagationConfig()
    assert long_window.peer_window_days == 90
    assert propagate_scores(SCORES, edges, long_window)[SOURCE_COLUMN].null_count() == 4
    short_window = PropagationConfig(peer_window_days=30)
    smurf = propagate_scores(SCORES, edges, short_window).filter(pl.col("account_id") == "SMURF")
    assert smurf[SOURCE_COLUMN].to_list() == ["HUB"]
    with pytest.raises(ValueError, match="peer_window_days"):
        PropagationConfig(peer_window_days=10)
