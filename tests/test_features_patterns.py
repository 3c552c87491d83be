"""Graph-pattern features: hand-checked shapes and Hypothesis comparisons with brute force."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict

import networkx as nx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_features_helpers import account_frame, ts, tx_frame

from features import FeatureConfig, compute_features
from features.entities import components

AS_OF = dt.date(2026, 1, 8)
WIDE = FeatureConfig(max_edges_per_node=10_000, max_paths_per_node=100_000)


def run(txs: list[dict], config: FeatureConfig = WIDE, as_of: dt.date | None = AS_OF) -> dict[str, dict]:
    ids = sorted({t["src"] for t in txs} | {t["dst"] for t in txs} - {"CASH"})
    df = compute_features(tx_frame(txs), account_frame([{"id": i} for i in ids]), config, as_of=as_of)
    return {r["account_id"]: r for r in df.iter_rows(named=True)}


def t(src: str, dst: str, day: int, hour: int, **kw) -> dict:
    return {"timestamp": ts(day, hour), "src": src, "dst": dst, **kw}


def test_scatter_gather_cycle_and_fast_forward_shapes() -> None:
    txs = [
        t("A", "B1", 5, 10),
        t("A", "B2", 5, 11),
        t("A", "B3", 5, 12),
        t("B1", "C", 6, 10),
        t("B2", "C", 6, 11),
        t("B3", "C", 6, 12),
        t("C", "A", 7, 10),
        t("X", "Y", 7, 11),
        t("Y", "Z", 7, 13),
        t("Z", "W", 7, 14),
    ]
    out = run(txs)
    assert out["A"]["scatter_gather_middles_7d"] == 3
    assert out["C"]["gather_middles_7d"] == 3
    assert out["B1"]["gather_scatter_degree_7d"] == 1
    assert [out[x]["temporal_cycles_7d"] for x in ("A", "B1", "C", "X")] == [3, 1, 3, 0]
    assert (out["Y"]["fast_forward_count_7d"], out["Y"]["median_dwell_hours_7d"]) == (1, 2.0)
    assert out["Z"]["pass_through_chain_length_7d"] == 2
    assert out["C"]["pass_through_chain_length_7d"] == 2  # A -> B3 (24 h) -> C (22 h) -> A
    assert out["X"]["fast_forward_share_7d"] == 0.0


def test_cycle_needs_increasing_times_and_cash_is_not_an_edge() -> None:
    txs = [
        t("A", "B", 6, 10),
        t("B", "C", 5, 10),
        t("C", "A", 7, 10),  # no order closes the loop
        t("P", "Q", 5, 10),
        t("Q", "P", 5, 11),  # a 2-cycle
        t("P", "CASH", 5, 12, channel="cash_withdrawal"),
    ]
    out = run(txs)
    assert out["A"]["temporal_cycles_7d"] == 0
    assert out["P"]["temporal_cycles_7d"] == 1 and out["Q"]["temporal_cycles_7d"] == 1


def test_hub_cap_bounds_work_and_is_exact_below_it() -> None:
    # hub H relays from 30 senders to one collector Z
    txs = [t(f"s{i}", "H", 5, 1 + i % 20, amount=100 + i) for i in range(30)] + [t("H", "Z", 6, 10)]
    exact = run(txs)
    capped = run(txs, FeatureConfig(max_edges_per_node=10))
    assert exact["H"]["gather_scatter_degree_7d"] == 1
    assert exact["Z"]["gather_middles_7d"] == 1
    assert exact["s0"]["scatter_gather_middles_7d"] == 1
    # above the cap only the 10 largest incoming edges of H take part: a lower bound
    assert sum(capped[f"s{i}"]["scatter_gather_middles_7d"] for i in range(30)) == 10
    assert sum(exact[f"s{i}"]["scatter_gather_middles_7d"] for i in range(30)) == 30


def test_path_cap_counts_only_paths_that_can_still_close() -> None:
    # S -> B, then B fans out to five dead ends before relaying to C, who returns to S
    txs = [t("S", "B", 5, 1)] + [t("B", f"D{i}", 5, 2 + i) for i in range(5)]
    txs += [t("B", "C", 5, 8), t("C", "S", 5, 9)]
    tight = run(txs, FeatureConfig(max_paths_per_node=3))
    # the dead ends D0..D4 cannot lead back to S: they are trimmed before the cap of 3
    # paths per start, length and block, so S -> B -> C survives and closes
    assert [tight[x]["temporal_cycles_7d"] for x in ("S", "B", "C", "D0")] == [1, 1, 1, 0]
    assert tight == run(txs)


def test_path_cap_keeps_the_earliest_paths_per_start_and_block() -> None:
    # S -> B, B -> C0..C4, each Ci -> S: five 3-cycles, all starting with S -> B
    txs = [t("S", "B", 5, 1)] + [t("B", f"C{i}", 5, 2 + i) for i in range(5)]
    txs += [t(f"C{i}", "S", 5, 10 + i) for i in range(5)]
    exact, capped = run(txs), run(txs, FeatureConfig(max_paths_per_node=2))
    assert exact["S"]["temporal_cycles_7d"] == 5
    # only the 2 earliest-ending 2-hop paths from S (to C0, C1) are kept: a lower bound
    assert [capped[x]["temporal_cycles_7d"] for x in ("S", "B", "C0", "C1", "C2")] == [2, 2, 1, 1, 0]


# --- brute-force references -------------------------------------------------------------------

ACCOUNTS = ["a", "b", "c", "d", "e"]
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@st.composite
def wires(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(1, 14))
    out = []
    for _ in range(n):
        src = draw(st.sampled_from(ACCOUNTS))
        dst = draw(st.sampled_from(ACCOUNTS))
        hours = draw(st.integers(0, 24 * 12))
        out.append({"timestamp": START + dt.timedelta(hours=hours), "src": src, "dst": dst, "amount": 10.0})
    return out


def window_of(as_of: dt.date, p: int) -> tuple[dt.datetime, dt.datetime]:
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return end - dt.timedelta(days=p), end


def reference_cycles(txs: list[dict], as_of: dt.date, cfg: FeatureConfig) -> dict[str, int]:
    """Enumerate temporal simple cycles edge by edge (depth-first, plain Python)."""
    lo, hi = window_of(as_of, cfg.pattern_window_days)
    span = dt.timedelta(days=cfg.pattern_window_days)
    edges = [e for e in txs if e["src"] != e["dst"] and e["timestamp"] <= hi]
    counts: dict[str, int] = defaultdict(int)

    def extend(path: list[dict]) -> None:
        first, last = path[0], path[-1]
        for e in edges:
            if e["src"] != last["dst"] or not (
                last["timestamp"] < e["timestamp"] < first["timestamp"] + span
            ):
                continue
            nodes = [*(p["src"] for p in path), last["dst"]]
            if e["dst"] == first["src"]:
                if lo < e["timestamp"] <= hi:
                    for node in set(nodes):
                        counts[node] += 1
            elif e["dst"] not in nodes and len(path) + 1 < cfg.max_cycle_length:
                extend([*path, e])

    for e in edges:
        extend([e])
    return counts


def reference_scatter_gather(txs: list[dict], as_of: dt.date, cfg: FeatureConfig) -> dict[str, int]:
    lo, hi = window_of(as_of, cfg.pattern_window_days)
    span = dt.timedelta(days=cfg.pattern_window_days)
    middles: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e1 in txs:
        for e2 in txs:
            if (
                e1["src"] != e1["dst"]
                and e2["src"] != e2["dst"]
                and e1["dst"] == e2["src"]
                and e2["dst"] != e1["src"]
                and e1["timestamp"] < e2["timestamp"] < e1["timestamp"] + span
                and lo < e2["timestamp"] <= hi
            ):
                middles[(e1["src"], e2["dst"])].add(e1["dst"])
    best: dict[str, int] = defaultdict(int)
    for (a, _c), bs in middles.items():
        best[a] = max(best[a], len(bs))
    return best


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wires(), st.integers(3, 12))
def test_cycles_and_scatter_gather_match_brute_force(txs: list[dict], day: int) -> None:
    as_of = dt.date(2026, 1, day)
    cfg = FeatureConfig(max_edges_per_node=10_000, max_paths_per_node=100_000, max_cycle_length=4)
    out = run(txs, cfg, as_of)
    cycles = reference_cycles(txs, as_of, cfg)
    sg = reference_scatter_gather(txs, as_of, cfg)
    for account, row in out.items():
        assert row["temporal_cycles_7d"] == cycles.get(account, 0), account
        assert row["scatter_gather_middles_7d"] == sg.get(account, 0), account


@pytest.mark.parametrize(
    ("as_of", "step"),  # daily steps: several evaluation days per instance (P > step)
    [
        (dt.date(2026, 1, 11), 7),
        (dt.date(2026, 1, 18), 7),
        (dt.date(2026, 1, 10), 1),
        (dt.date(2026, 1, 13), 1),
    ],
)
def test_patterns_agree_between_nightly_and_history(as_of: dt.date, step: int) -> None:
    txs = (
        [t("A", "B", d, h) for d, h in ((5, 1), (9, 3), (12, 5))]
        + [t("B", "C", d, h) for d, h in ((5, 4), (9, 9), (13, 1))]
        + [t("C", "A", 13, 8), t("C", "A", 10, 1)]
    )
    nightly = pl.DataFrame(list(run(txs, as_of=as_of).values()))
    ids = sorted({x["src"] for x in txs} | {x["dst"] for x in txs})
    config = WIDE.model_copy(update={"history_step_days": step})
    history = compute_features(tx_frame(txs), account_frame([{"id": i} for i in ids]), config)
    history = history.filter(pl.col("eval_date") == as_of)
    cols = [c for c in history.columns if c.endswith("_7d")]
    joined = nightly.join(history, on="account_id", suffix="_h")
    assert joined.height == history.height > 0
    for c in cols:
        assert joined[c].to_list() == joined[f"{c}_h"].to_list(), c


# --- entity components --------------------------------------------------------------------------


def test_mule_ring_component_and_common_collector() -> None:
    accounts = [
        {"id": "M1", "device": "d1"},
        {"id": "M2", "device": "d1"},
        {"id": "M3", "device": "d1", "address": "x"},
        {"id": "M4", "address": "x"},
        {"id": "K"},
        {"id": "S"},
        {"id": "N", "phone": "p9"},
    ]
    txs = [t("S", m, 5, 9, amount=1000) for m in ("M1", "M2", "M3", "M4")]
    txs += [t(m, "K", 5, 15, amount=900) for m in ("M1", "M2", "M3")] + [t("M4", "S", 5, 16, amount=300)]
    df = compute_features(tx_frame(txs), account_frame(accounts), WIDE, as_of=AS_OF)
    out = {r["account_id"]: r for r in df.iter_rows(named=True)}
    assert [out[m]["entity_component_size"] for m in ("M1", "M4", "K", "S")] == [4, 4, 1, 1]
    assert out["M2"]["entity_collector_share_7d"] == pytest.approx(2700 / 3000)
    assert out["K"]["entity_collector_share_7d"] == 0.0


def test_identifier_shared_by_too_many_accounts_is_not_a_link() -> None:
    accounts = [{"id": f"x{i}", "address": "call-centre"} for i in range(5)]
    txs = [t(f"x{i}", f"x{i + 1}", 5, 9) for i in range(4)]
    cfg = FeatureConfig(max_accounts_per_identifier=4)
    df = compute_features(tx_frame(txs), account_frame(accounts), cfg, as_of=AS_OF)
    assert df["entity_component_size"].to_list() == [1] * 5


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["phone", "address", "device"]), st.integers(0, 4)), min_size=8, max_size=8
    )
)
def test_components_match_networkx(ids: list[tuple[str, int]]) -> None:
    accounts = [{"id": f"u{i}", kind: f"v{value}"} for i, (kind, value) in enumerate(ids)]
    frame = account_frame(accounts)
    codes = frame.select("account_id").sort("account_id").with_row_index("acct")
    got = components(frame, codes, FeatureConfig()).join(codes.collect(), on="acct")
    sizes = dict(zip(got["account_id"], got["size"], strict=True))
    graph = nx.Graph()
    graph.add_nodes_from(a["id"] for a in accounts)
    by_value: dict[tuple[str, int], list[str]] = defaultdict(list)
    for a, (kind, value) in zip(accounts, ids, strict=True):
        by_value[(kind, value)].append(a["id"])
    for members in by_value.values():
        graph.add_edges_from(itertools.pairwise(members))
    for comp in nx.connected_components(graph):
        for node in comp:
            assert sizes.get(node, 1) == len(comp)
