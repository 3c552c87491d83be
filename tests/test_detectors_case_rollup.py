"""Case roll-up across typologies: one entity's accounts take one budget slot whatever they are
flagged for, unless ``case_rollup_per_typology`` asks for one slot per typology."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors import AlertConfig, select_alerts

D1 = dt.date(2026, 3, 1)
TYPOLOGIES = ("mule_network", "fan_in", "pass_through")


def _scores(rows: list[tuple[str, float, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [r[0] for r in rows],
            "eval_date": [D1] * len(rows),
            "score": [r[1] for r in rows],
            "top_typology": [r[2] for r in rows],
            "reasons": [[f"reason for {r[0]}"] for r in rows],
        }
    )


def test_one_entity_flagged_for_two_typologies_takes_one_slot() -> None:
    # M1 and M2 share identifiers (one case); the ring's second mule is flagged for fan_in.
    scores = _scores([("M1", 0.9, "mule_network"), ("M2", 0.8, "fan_in"), ("X", 0.7, "dormant")])
    keys = pl.DataFrame({"account_id": ["M1", "M2", "X"], "case_key": ["M1", "M1", "X"]})
    budget = AlertConfig(budget_share=2 / 3)  # two alerts
    alerts = select_alerts(scores, budget, case_keys=keys)
    assert alerts.select("account_id", "typology").rows() == [("M1", "mule_network"), ("X", "dormant")]
    per_typology = budget.model_copy(update={"case_rollup_per_typology": True})
    alerts = select_alerts(scores, per_typology, case_keys=keys)
    assert alerts.get_column("account_id").to_list() == ["M1", "M2"]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 3), st.floats(0.5, 1.0), st.sampled_from(TYPOLOGIES)),
        min_size=1,
        max_size=25,
    )
)
def test_each_case_keeps_its_best_candidate(rows: list[tuple[int, int, float, str]]) -> None:
    """Brute force: with an unlimited budget, the alerts are exactly each case's best candidate."""
    scores = _scores([(f"A{a}", round(s, 3), t) for a, _, s, t in rows])
    case_of = {f"A{a}": f"C{c}" for a, c, _, _ in rows}  # the last row's case wins, like a dict
    keys = pl.DataFrame({"account_id": list(case_of), "case_key": list(case_of.values())})
    alerts = select_alerts(scores, AlertConfig(budget_share=1.0, rollup_transfers=False), case_keys=keys)
    assert alerts.get_column("case_key").n_unique() == alerts.height
    best: dict[str, tuple[float, str, str]] = {}
    for acc, score, typ in scores.select("account_id", "score", "top_typology").iter_rows():
        key = (-score, acc, typ)
        case = case_of[acc]
        if case not in best or key < best[case]:
            best[case] = key
    expected = sorted(((-k[0], k[1], k[2]) for k in best.values()), key=lambda r: (-r[0], r[1], r[2]))
    assert alerts.select("score", "account_id", "typology").rows() == expected
