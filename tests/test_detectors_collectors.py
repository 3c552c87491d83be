"""Collector hubs in propagate_scores: accounts that several payers each send (nearly) all their
outflow to become hubs without a rule hit; checked by hand and against a brute-force reference."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors import PropagationConfig, propagate_scores
from detectors.propagation import SOURCE_COLUMN, _collectors, _edge_dates
from detectors.testing import edge_frame

D = date(2026, 3, 1)


def _scores(accounts: list[str], day: date = D) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": accounts,
            "eval_date": [day] * len(accounts),
            "score": [0.1] * len(accounts),
            "top_typology": [None] * len(accounts),
            "reasons": [[] for _ in accounts],
        },
        schema_overrides={"top_typology": pl.String, "reasons": pl.List(pl.String)},
    )


SENDERS = [("S1", 4_000.0), ("S2", 3_000.0), ("S3", 2_500.0)]
EDGES = edge_frame(
    [(s, "COLLECTOR", amount, D - timedelta(days=3)) for s, amount in SENDERS]
    # A fourth payer spends most of its money elsewhere: not exclusive.
    + [("SHOPPER", "COLLECTOR", 5_000.0, D - timedelta(days=2)), ("SHOPPER", "RENT", 9_000.0, D)]
    # The transfers given reach back 60 days (see the censoring test).
    + [("RENT", "SHOPPER", 10.0, D - timedelta(days=60))]
)
ACCOUNTS = ["COLLECTOR", "S1", "S2", "S3", "SHOPPER", "RENT"]


def test_exclusive_payers_make_a_collector_whose_largest_payer_takes_its_score() -> None:
    config = PropagationConfig(collector_min_payers=3)
    out = propagate_scores(_scores(ACCOUNTS), EDGES, config)
    derived = out.filter(pl.col(SOURCE_COLUMN).is_not_null())
    assert derived["account_id"].to_list() == ["S1"]
    row = derived.row(0, named=True)
    assert row["top_typology"] == config.collector_typology == "fan_in"
    # Three payers = collector_min_payers: the lower collector score; S1 sent all its outflow.
    assert row["score"] == pytest.approx(config.collector_scores[0])
    assert row["reasons"][0] == (
        "paid USD 4,000 to account COLLECTOR flagged for fan_in within 30 days (100% of its outflow)"
    )


def test_too_few_exclusive_payers_or_the_stage_off_make_no_collector() -> None:
    two = EDGES.filter(pl.col("src_account") != "S3")
    config = PropagationConfig(collector_min_payers=3)
    assert propagate_scores(_scores(ACCOUNTS), two, config)[SOURCE_COLUMN].null_count() == len(ACCOUNTS)
    assert PropagationConfig().collector_min_payers == 2
    assert propagate_scores(_scores(ACCOUNTS), two)[SOURCE_COLUMN].null_count() == len(ACCOUNTS) - 1
    off = PropagationConfig(collector_min_payers=None)
    assert propagate_scores(_scores(ACCOUNTS), EDGES, off)[SOURCE_COLUMN].null_count() == len(ACCOUNTS)


def test_collector_score_grows_with_the_number_of_exclusive_payers() -> None:
    config = PropagationConfig(collector_min_payers=3, collector_saturation_payers=12)
    senders = [f"S{i:02d}" for i in range(6)]
    edges = edge_frame(
        [(s, "COLLECTOR", 2_000.0, D) for s in senders] + [("X", "Y", 1.0, D - timedelta(days=40))]
    )
    hub = _collectors(_scores(["COLLECTOR", *senders]), _edge_dates(edges), config, 3).collect()
    low, high = config.collector_scores
    assert hub["hub_score"].to_list() == pytest.approx([low + (high - low) * math.log(2) / math.log(4)])


def test_payments_after_the_date_or_before_the_window_do_not_count() -> None:
    three = PropagationConfig(collector_min_payers=3)
    late = EDGES.with_columns(
        pl.when(pl.col("src_account") == "S3")
        .then(pl.lit(D + timedelta(days=1)))
        .otherwise(pl.col("eval_date"))
        .alias("eval_date")
    )
    assert propagate_scores(_scores(ACCOUNTS), late, three)[SOURCE_COLUMN].null_count() == len(ACCOUNTS)
    early = EDGES.with_columns(
        pl.when(pl.col("src_account") == "S3")
        .then(pl.lit(D - timedelta(days=30)))
        .otherwise(pl.col("eval_date"))
        .alias("eval_date")
    )
    assert propagate_scores(_scores(ACCOUNTS), early, three)[SOURCE_COLUMN].null_count() == len(ACCOUNTS)


def test_no_collector_while_the_transfers_given_cover_less_than_one_window() -> None:
    """Within ``window_days`` of the first transfer a payer seen for a few days looks exclusive."""

    def since(days: int) -> pl.DataFrame:
        first = edge_frame([("RENT", "SHOPPER", 10.0, D - timedelta(days=days))])
        return pl.concat([EDGES.filter(pl.col("eval_date") > D - timedelta(days=10)), first])

    assert propagate_scores(_scores(ACCOUNTS), since(28))[SOURCE_COLUMN].null_count() == len(ACCOUNTS)
    assert propagate_scores(_scores(ACCOUNTS), since(29))[SOURCE_COLUMN].null_count() == len(ACCOUNTS) - 1


def test_config_rejects_bad_collector_scores() -> None:
    with pytest.raises(ValueError, match="collector_scores"):
        PropagationConfig(collector_scores=(0.9, 0.7))
    with pytest.raises(ValueError, match="collector_scores"):
        PropagationConfig(collector_scores=(0.5, 1.5))


def _reference(edges: list[tuple[str, str, float, date]], dates: list[date], s: PropagationConfig) -> set:
    """(hub, date, payers) by plain loops over the transfers."""
    found = set()
    first = min((e[3] for e in edges), default=None)
    for day in dates:
        if first is None or day < first + timedelta(days=s.window_days - 1):
            continue
        in_window = [e for e in edges if day - timedelta(days=s.window_days) < e[3] <= day]
        for hub in {e[1] for e in in_window} - {"CASH"}:
            payers = 0
            for payer in {e[0] for e in in_window if e[1] == hub} - {"CASH", hub}:
                paid = sum(e[2] for e in in_window if e[0] == payer and e[1] == hub)
                total = sum(
                    e[2]
                    for e in edges
                    if e[0] == payer and day - timedelta(days=s.peer_window_days) < e[3] <= day
                )
                payers += paid >= s.collector_min_amount and paid >= s.min_peer_share * total
            if payers >= 2:
                found.add((hub, day, payers))
    return found


_account = st.sampled_from(["A", "B", "C", "D", "E", "CASH"])
_edge = st.tuples(
    _account,
    _account,
    st.sampled_from([300.0, 900.0, 1_000.0, 2_500.0, 20_000.0]),
    st.integers(0, 120).map(lambda d: date(2026, 1, 1) + timedelta(days=d)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_edge, max_size=25), st.lists(st.integers(0, 120), min_size=1, max_size=4))
def test_collectors_match_a_brute_force_reference(edges: list[tuple], offsets: list[int]) -> None:
    edges = [e for e in edges if e[0] != e[1]]
    dates = sorted({date(2026, 1, 1) + timedelta(days=o) for o in offsets})
    config = PropagationConfig(window_days=20, peer_window_days=45, collector_saturation_payers=4)
    scores = pl.DataFrame({"account_id": ["A"] * len(dates), "eval_date": dates})
    frame = _edge_dates(edge_frame(edges)) if edges else _edge_dates(edge_frame([("A", "B", 1.0, D)])).clear()
    hubs = _collectors(scores, frame, config, 2).collect()
    low, high = config.collector_scores
    expected = _reference(edges, dates, config)
    assert {(h, d) for h, d, _ in expected} == set(zip(hubs["hub"], hubs["hub_date"], strict=True))
    for hub, day, payers in expected:
        score = hubs.filter((pl.col("hub") == hub) & (pl.col("hub_date") == day))["hub_score"].item()
        assert score == pytest.approx(low + (high - low) * min(math.log(payers / 2) / math.log(2), 1.0))
