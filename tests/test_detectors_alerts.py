"""select_alerts: budget arithmetic, one alert per (account, typology), deterministic ties,
hibernation and case keys."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors import AlertConfig, alert_budget, case_keys, hibernate_alerts, select_alerts

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 8), dt.date(2026, 3, 15)


def _scores(rows: list[tuple[str, dt.date, float, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "eval_date": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "top_typology": [r[3] for r in rows],
            "reasons": [[f"reason for {r[0]} on {r[1]}"] for r in rows],
        },
        schema_overrides={"top_typology": pl.String},
    )


@pytest.mark.parametrize(
    ("n_accounts", "share", "cap", "expected"),
    [
        (300, 0.01, None, 3),
        (301, 0.01, None, 4),
        (100, 0.01, None, 1),
        (50, 0.01, None, 1),
        (1_000, 0.05, 20, 20),
        (1_000, 0.0, None, 0),
        (0, 0.5, None, 0),
        (10, 1.0, None, 10),
        (7, 0.5, 0, 0),
    ],
)
def test_budget_arithmetic(n_accounts: int, share: float, cap: int | None, expected: int) -> None:
    assert alert_budget(n_accounts, AlertConfig(budget_share=share, budget_max=cap)) == expected


def test_budget_counts_distinct_accounts_not_rows() -> None:
    # 200 accounts x 2 dates = 400 rows; 1% of 200 accounts = 2 alerts
    rows = [(f"A{i:03d}", d, i / 1000, "fan_in") for i in range(200) for d in (D1, D2)]
    alerts = select_alerts(_scores(rows), AlertConfig(budget_share=0.01))
    assert alerts.get_column("account_id").to_list() == ["A199", "A198"]


def test_one_alert_per_account_and_typology_holding_its_best_row() -> None:
    rows = [
        ("A", D1, 0.70, "structuring"),
        ("A", D2, 0.90, "structuring"),
        ("A", D3, 0.60, "funnel"),
        ("B", D1, 0.80, "fan_out"),
        ("B", D2, 0.80, "fan_out"),  # tie: the earliest date is kept
        ("C", D1, 0.40, None),  # no typology: not alertable
    ]
    alerts = select_alerts(_scores(rows), AlertConfig(budget_share=1.0, case_rollup_per_typology=True))
    assert alerts.columns == ["account_id", "case_key", "typology", "score", "eval_date", "reasons"]
    assert alerts.get_column("case_key").to_list() == ["A", "B", "A"]  # no entity data: own case
    assert alerts.select("account_id", "typology", "score", "eval_date").rows() == [
        ("A", "structuring", 0.90, D2),
        ("B", "fan_out", 0.80, D1),
        ("A", "funnel", 0.60, D3),
    ]
    assert alerts.get_column("reasons").to_list()[0] == [f"reason for A on {D2}"]


def test_ties_broken_by_account_id() -> None:
    rows = [(acc, D1, 0.75, "pass_through") for acc in ("Z9", "B2", "M5", "A1")]
    rows += [(f"X{i}", D1, 0.1, None) for i in range(96)]
    alerts = select_alerts(_scores(rows), AlertConfig(budget_share=0.03))
    assert alerts.get_column("account_id").to_list() == ["A1", "B2", "M5"]
    again = select_alerts(_scores(list(reversed(rows))), AlertConfig(budget_share=0.03))
    assert again.equals(alerts)


def test_budget_max_and_minimum_scores() -> None:
    rows = [
        ("A", D1, 0.95, "structuring"),
        ("B", D1, 0.90, "anomaly"),
        ("C", D1, 0.55, "fan_in"),
        ("D", D1, 0.52, "structuring"),
        ("E", D1, 0.30, "anomaly"),
    ]
    config = AlertConfig(
        budget_share=1.0, min_score=0.5, min_score_by_typology={"anomaly": 0.95, "fan_in": 0.5}
    )
    assert select_alerts(_scores(rows), config).get_column("account_id").to_list() == ["A", "C", "D"]
    capped = AlertConfig(budget_share=1.0, budget_max=2)
    assert select_alerts(_scores(rows), capped).get_column("account_id").to_list() == ["A", "B"]


def test_empty_scores_and_missing_columns() -> None:
    empty = _scores([])
    assert select_alerts(empty, AlertConfig()).height == 0
    with pytest.raises(KeyError, match="top_typology"):
        select_alerts(empty.drop("top_typology"), AlertConfig())


def _previous(rows: list[tuple[str, str, float, dt.date]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "typology": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "eval_date": [r[3] for r in rows],
        },
        schema={"account_id": pl.String, "typology": pl.String, "score": pl.Float64, "eval_date": pl.Date},
    )


HIBERNATE = AlertConfig(budget_share=1.0, hibernation_days=30, hibernation_margin=0.1)


def test_hibernation_suppresses_repeat_alerts_unless_the_score_rises() -> None:
    day = dt.date(2026, 4, 1)
    candidates = select_alerts(
        _scores(
            [
                ("SAME", day, 0.80, "structuring"),  # alerted 10 days ago at 0.75: asleep
                ("RISE", day, 0.90, "structuring"),  # alerted at 0.75 but rose by >= 0.1: alert
                ("OLD", day, 0.70, "structuring"),  # last alert 30 days ago: period over
                ("OTHER", day, 0.70, "funnel"),  # alerted for another typology: alert
                ("TODAY", day, 0.70, "funnel"),  # alert of the same date (a rerun): ignored
                ("NEW", day, 0.60, "fan_in"),
            ]
        ),
        HIBERNATE,
    )
    previous = _previous(
        [
            ("SAME", "structuring", 0.75, day - dt.timedelta(days=10)),
            ("SAME", "structuring", 0.20, day - dt.timedelta(days=40)),
            ("RISE", "structuring", 0.75, day - dt.timedelta(days=3)),
            ("OLD", "structuring", 0.95, day - dt.timedelta(days=30)),
            ("OTHER", "structuring", 0.95, day - dt.timedelta(days=1)),
            ("TODAY", "funnel", 0.95, day),
            ("FUTURE", "fan_in", 0.95, day + dt.timedelta(days=1)),
        ]
    )
    kept = hibernate_alerts(candidates, previous, HIBERNATE)
    assert kept.get_column("account_id").to_list() == ["RISE", "OLD", "OTHER", "TODAY", "NEW"]
    assert kept.columns == candidates.columns
    off = AlertConfig(budget_share=1.0, hibernation_days=0)
    assert hibernate_alerts(candidates, previous, off).equals(candidates)
    assert hibernate_alerts(candidates, previous.clear(), HIBERNATE).equals(candidates)
    with pytest.raises(KeyError, match="previous lack"):
        hibernate_alerts(candidates, previous.drop("score"), HIBERNATE)


def test_hibernated_candidates_leave_the_budget_to_others() -> None:
    day = dt.date(2026, 4, 1)
    scores = _scores([("A", day, 0.9, "fan_in"), ("B", day, 0.8, "fan_in"), ("C", day, 0.1, None)])
    previous = _previous([("A", "fan_in", 0.9, day - dt.timedelta(days=7))])
    config = AlertConfig(budget_share=0.3, hibernation_days=30)
    assert select_alerts(scores, config).get_column("account_id").to_list() == ["A"]
    assert select_alerts(scores, config, previous=previous).get_column("account_id").to_list() == ["B"]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("ABC"), st.integers(0, 60), st.floats(0.5, 1.0)), min_size=0, max_size=12
    ),
    st.floats(0.5, 1.0),
    st.integers(0, 60),
)
def test_hibernation_law(history: list[tuple[str, int, float]], score: float, today: int) -> None:
    """A candidate survives iff no recent earlier alert of its pair scored above its score - margin."""
    base = dt.date(2026, 1, 1)
    day = base + dt.timedelta(days=today)
    candidates = select_alerts(_scores([("A", day, score, "cycle")]), HIBERNATE)
    previous = _previous([(a, "cycle", s, base + dt.timedelta(days=d)) for a, d, s in history])
    earlier = [(d, s) for a, d, s in history if a == "A" and d < today]
    asleep = False
    if earlier:
        last_day = max(d for d, _ in earlier)
        last_score = max(s for d, s in earlier if d == last_day)
        asleep = today - last_day < 30 and score < last_score + 0.1
    assert hibernate_alerts(candidates, previous, HIBERNATE).height == (0 if asleep else 1)


def test_case_keys_link_customers_and_shared_identifiers_transitively() -> None:
    accounts = pl.DataFrame(
        {
            "account_id": ["A1", "A2", "B1", "B2", "B3", "C1", "H1", "H2", "H3"],
            "customer_id": ["c1", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"],
            # B1-B2 share a phone, B2-B3 a device: one entity of three customers.
            "phone_hash": [None, None, "p1", "p1", None, None, "call", "call", "call"],
            "device_hash": [None, None, None, "d1", "d1", None, None, None, None],
            "address_hash": [None] * 9,
        }
    )
    keys = case_keys(accounts)
    assert dict(keys.iter_rows()) == {
        "A1": "A1",
        "A2": "A1",
        "B1": "B1",
        "B2": "B1",
        "B3": "B1",
        "C1": "C1",
        "H1": "H1",
        "H2": "H1",
        "H3": "H1",
    }
    # A value shared by more accounts than the cap (a call centre) links nothing.
    capped = dict(case_keys(accounts, max_accounts_per_identifier=2).iter_rows())
    assert (capped["H2"], capped["B3"]) == ("H2", "B1")
    scores = _scores(
        [("B3", D1, 0.9, "mule_network"), ("B2", D1, 0.8, "mule_network"), ("X", D1, 0.7, "fan_in")]
    )
    config = AlertConfig(budget_share=1.0, max_alerts_per_case=None)
    alerts = select_alerts(scores, config, case_keys=keys)
    assert alerts.select("account_id", "case_key").rows() == [("B3", "B1"), ("B2", "B1"), ("X", "X")]


def _edges(pairs: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame({"src_account": [a for a, _ in pairs], "dst_account": [b for _, b in pairs]})


def test_transfer_roll_up_keeps_one_alert_per_linked_group_of_a_typology() -> None:
    scores = _scores(
        [
            ("M1", D1, 0.90, "pass_through"),  # chain SRC -> M1 -> M2: M2 joins M1's case
            ("M2", D1, 0.85, "pass_through"),
            ("K1", D1, 0.80, "cash_courier"),  # K1 and K2 funded by one quiet funder F
            ("K2", D1, 0.75, "cash_courier"),
            ("A", D1, 0.70, "scatter_gather"),  # A -> X -> C: paid the same account, not linked
            ("C", D1, 0.72, "scatter_gather"),
            ("P", D1, 0.60, "fan_in"),  # paid M1, but another typology: kept
            *[(f"Z{i}", D1, 0.1, None) for i in range(20)],
        ]
    )
    edges = _edges(
        [
            ("SRC", "M1"),
            ("M1", "M2"),
            ("F", "K1"),
            ("F", "K2"),
            ("A", "X"),
            ("X", "C"),
            ("P", "M1"),
            ("CASH", "K1"),
        ]
    )
    config = AlertConfig(budget_share=1.0)
    kept = select_alerts(scores, config, edges=edges).get_column("account_id").to_list()
    assert kept == ["M1", "K1", "C", "A", "P"]
    assert select_alerts(scores, config).height == 7  # without edges nothing rolls up
    direct = AlertConfig(budget_share=1.0, rollup_shared_max_degree=None)
    assert "K2" in select_alerts(scores, direct, edges=edges).get_column("account_id").to_list()
    off = AlertConfig(budget_share=1.0, rollup_transfers=False)
    assert select_alerts(scores, off, edges=edges).height == 7
    # A busy funder (more counterparties than the cap) links nobody.
    busy = _edges([("F", "K1"), ("F", "K2"), *[("F", f"Y{i}") for i in range(25)]])
    assert {"K1", "K2"} <= set(select_alerts(scores, config, edges=busy).get_column("account_id"))


def test_candidates_paying_one_quiet_collector_roll_up() -> None:
    """The middles of one scatter-gather pay the same gathering account: one alert."""
    scores = _scores(
        [
            ("M1", D1, 0.9, "pass_through"),
            ("M2", D1, 0.8, "pass_through"),
            ("M3", D1, 0.7, "layering"),  # another typology: kept
            *[(f"Z{i}", D1, 0.1, None) for i in range(20)],
        ]
    )
    config = AlertConfig(budget_share=1.0)
    edges = _edges([("M1", "G"), ("M2", "G"), ("M3", "G")])
    assert select_alerts(scores, config, edges=edges).get_column("account_id").to_list() == ["M1", "M3"]
    # A busy payee (a merchant with more counterparties than the cap) links nobody.
    busy = _edges([("M1", "G"), ("M2", "G"), *[(f"Y{i}", "G") for i in range(25)]])
    assert select_alerts(scores, config, edges=busy).height == 3


def test_derived_alerts_never_roll_up_and_case_roll_up_caps_alerts_per_entity() -> None:
    scores = _scores(
        [
            ("HUB", D1, 0.9, "bribery"),
            ("PAYER", D1, 0.85, "bribery"),
            ("R1", D1, 0.8, "mule_network"),
            ("R2", D1, 0.7, "mule_network"),
            *[(f"Z{i}", D1, 0.1, None) for i in range(20)],
        ]
    ).with_columns(
        pl.when(pl.col("account_id") == "PAYER").then(0.85).otherwise(0.0).alias("score_propagated")
    )
    edges = _edges([("PAYER", "HUB")])
    keys = pl.DataFrame({"account_id": ["R1", "R2"], "case_key": ["R1", "R1"]})
    config = AlertConfig(budget_share=1.0)
    alerts = select_alerts(scores, config, edges=edges, case_keys=keys)
    assert alerts.get_column("account_id").to_list() == ["HUB", "PAYER", "R1"]
    two = AlertConfig(budget_share=1.0, max_alerts_per_case=2)
    assert select_alerts(scores, two, edges=edges, case_keys=keys).height == 4
    own = scores.with_columns(pl.lit(0.0).alias("score_propagated"))
    assert "PAYER" not in select_alerts(own, config, edges=edges).get_column("account_id").to_list()


def test_hub_hands_its_slot_to_the_payer_derived_from_it() -> None:
    scores = _scores(
        [
            ("HUB", D1, 0.9, "fan_in"),
            ("PAYER", D1, 0.6, "fan_in"),  # derived from HUB: takes its slot and score
            ("OTHER", D1, 0.8, "fan_in"),  # derived from a hub that is no candidate: unchanged
            ("LONE", D1, 0.7, "fan_in"),  # a hub whose payer scored on its own: keeps its slot
            ("OWN", D1, 0.65, "fan_in"),
            *[(f"Z{i}", D1, 0.1, None) for i in range(20)],
        ]
    ).with_columns(
        pl.col("account_id")
        .replace_strict({"PAYER": 0.6, "OTHER": 0.8, "OWN": 0.5}, default=0.0, return_dtype=pl.Float64)
        .alias("score_propagated"),
        pl.col("account_id")
        .replace_strict(
            {"PAYER": "HUB", "OTHER": "GONE", "OWN": "LONE"}, default=None, return_dtype=pl.String
        )
        .alias("propagated_from"),
    )
    config = AlertConfig(budget_share=1.0)
    alerts = select_alerts(scores, config)
    assert alerts.select("account_id", "score").rows() == [
        ("PAYER", 0.9),
        ("OTHER", 0.8),
        ("LONE", 0.7),
        ("OWN", 0.65),
    ]
    assert alerts.get_column("reasons")[0].to_list() == [
        f"reason for PAYER on {D1}",
        "takes the alert of hub account HUB (score 0.9, same case)",
    ]
    # The budget counts one slot for hub and payer: with two slots, LONE still gets one.
    two = select_alerts(scores, AlertConfig(budget_share=2 / 25))
    assert two.get_column("account_id").to_list() == ["PAYER", "OTHER"]
    # A hub flagged in another typology hands over too (a collector found by its payers may
    # carry a rule hit of its own); the setting turns it off.
    other = scores.with_columns(
        pl.when(pl.col("account_id") == "HUB")
        .then(pl.lit("gather_scatter"))
        .otherwise("top_typology")
        .alias("top_typology")
    )
    handed = select_alerts(other, config)
    assert "HUB" not in set(handed.get_column("account_id"))
    assert handed.row(0, named=True)["account_id"] == "PAYER"
    off = AlertConfig(budget_share=1.0, hub_hands_over=False)
    assert select_alerts(scores, off).get_column("account_id").to_list()[:2] == ["HUB", "OTHER"]
