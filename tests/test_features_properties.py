"""Property tests: the vectorised features against slow, obvious references on random small
temporal graphs (Hypothesis), and nightly vs history mode agreeing."""

from __future__ import annotations

import datetime as dt
import random

import networkx as nx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_features_helpers import account_frame, tx_frame

from features import FeatureConfig, compute_features
from features import windows as windows_module
from features.prepare import pack
from features.windows import Window, window_sums

UTC = dt.UTC
START = dt.datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNTS = [f"a{i}" for i in range(6)]
CFG = FeatureConfig(windows_days=(1, 7, 30), history_step_days=7)
SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def transaction(draw: st.DrawFn) -> dict:
    channel = draw(st.sampled_from(["wire", "wire", "ach", "cash_deposit", "cash_withdrawal"]))
    src, dst = draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from(ACCOUNTS))
    if channel == "cash_deposit":
        src = draw(st.sampled_from([*ACCOUNTS, "CASH", "CASH"]))
    if channel == "cash_withdrawal":
        dst = "CASH"
    # whole days (exact midnights), hours, or arbitrary microseconds over ~50 days
    day = draw(st.integers(0, 50))
    micros = (
        draw(st.sampled_from([0, 1, 3_600_000_000 * 12, 86_400_000_000 - 1]))
        if draw(st.booleans())
        else draw(st.integers(0, 86_400_000_000 - 1))
    )
    return {
        "timestamp": START + dt.timedelta(days=day, microseconds=micros),
        "src": src,
        "dst": dst,
        "amount": draw(st.sampled_from([50.0, 1000.0, 8000.0, 9999.0, 10000.0, 12345.67])),
        "channel": channel,
        "region": draw(st.sampled_from(["R1", "R2", "R3"])) if channel.startswith("cash") else None,
    }


def window_end(eval_date: dt.date) -> dt.datetime:
    return dt.datetime.combine(eval_date + dt.timedelta(days=1), dt.time(), tzinfo=UTC)


def in_window(t: dt.datetime, eval_date: dt.date, w: int) -> bool:
    end = window_end(eval_date)
    return end - dt.timedelta(days=w) < t <= end  # closed right


def reference(txs: list[dict], account: str, eval_date: dt.date, cfg: FeatureConfig) -> dict:
    """Slow, obvious per-(account, date) computation of a subset of the features."""
    end = window_end(eval_date)
    seen = [t for t in txs if t["timestamp"] <= end]
    out: dict[str, float] = {}
    low = cfg.near_threshold_floor * cfg.reporting_threshold
    for w in cfg.windows_days:
        win = [t for t in seen if in_window(t["timestamp"], eval_date, w)]
        credits = [t for t in win if t["dst"] == account and t["channel"] != "cash_withdrawal"]
        debits = [t for t in win if t["src"] == account and t["channel"] != "cash_deposit"]
        deposits = [t for t in win if t["dst"] == account and t["channel"] == "cash_deposit"]
        near = [t for t in deposits if low <= t["amount"] < cfg.reporting_threshold]
        out[f"in_count_{w}d"] = len(credits)
        out[f"in_amount_{w}d"] = round(sum(t["amount"] for t in credits), 2)
        out[f"out_count_{w}d"] = len(debits)
        out[f"out_amount_{w}d"] = round(sum(t["amount"] for t in debits), 2)
        out[f"near_threshold_cash_count_{w}d"] = len(near)
        out[f"near_threshold_depositors_{w}d"] = len({t["src"] for t in near} - {"CASH"})
        out[f"cash_deposit_regions_{w}d"] = len({t["region"] for t in deposits})
        # graph degree with networkx: every transaction between two real accounts is an edge
        graph = nx.MultiDiGraph()
        graph.add_edges_from((t["src"], t["dst"]) for t in win if "CASH" not in (t["src"], t["dst"]))
        graph.add_node(account)
        out[f"fan_in_degree_{w}d"] = len(set(graph.predecessors(account)))
        out[f"fan_out_degree_{w}d"] = len(set(graph.successors(account)))
    first_seen: dict[str, dt.datetime] = {}
    for t in sorted(seen, key=lambda t: t["timestamp"]):
        for me, other in ((t["src"], t["dst"]), (t["dst"], t["src"])):
            if me == account and other != "CASH":
                first_seen.setdefault(other, t["timestamp"])
    out["new_counterparties_30d"] = sum(end - dt.timedelta(days=30) < f for f in first_seen.values())
    # activity days (window buckets: the day of t - 1us for closed-right windows)
    days = sorted(
        {
            (t["timestamp"] - dt.timedelta(microseconds=1)).date()
            for t in seen
            if account in (t["src"], t["dst"])
        }
    )
    out["days_since_previous_activity"] = (days[-1] - days[-2]).days if len(days) > 1 else 0
    return out


def history_rows(txs: list[dict], cfg: FeatureConfig) -> set[tuple[str, dt.date]]:
    """Expected (account, eval_date) rows of history mode."""
    origin = cfg.history_origin
    rows = set()
    for t in txs:
        day = (t["timestamp"] - dt.timedelta(microseconds=1)).date()
        step = (day - origin).days // cfg.history_step_days
        end = origin + dt.timedelta(days=(step + 1) * cfg.history_step_days - 1)
        rows |= {(a, end) for a in (t["src"], t["dst"]) if a != "CASH"}
    return rows


def compute(txs: list[dict], as_of: dt.date | None = None, cfg: FeatureConfig = CFG) -> pl.DataFrame:
    return compute_features(tx_frame(txs), account_frame([{"id": a} for a in ACCOUNTS]), cfg, as_of=as_of)


@SETTINGS
@given(st.lists(transaction(), min_size=1, max_size=40))
def test_history_mode_matches_reference(txs: list[dict]) -> None:
    df = compute(txs)
    got_rows = set(zip(df["account_id"], df["eval_date"], strict=True))
    assert got_rows == history_rows(txs, CFG)
    for row in df.iter_rows(named=True):
        expected = reference(txs, row["account_id"], row["eval_date"], CFG)
        got = {k: row[k] for k in expected}
        assert got == expected, (row["account_id"], row["eval_date"])


@settings(SETTINGS, max_examples=4)
@given(st.lists(transaction(), min_size=1, max_size=40), st.integers(0, 8))
def test_as_of_agrees_with_history_at_step_ends(txs: list[dict], step: int) -> None:
    # step ends of the default 7-day grid (origin Monday 2000-01-03) are Sundays: 2026-01-04, ...
    as_of = dt.date(2026, 1, 4) + dt.timedelta(days=7 * step)
    nightly = compute(txs, as_of=as_of)
    history = compute(txs).filter(pl.col("eval_date") == as_of)
    # history rows are accounts active in the 7-day step; nightly ones in the 30-day window
    assert set(history["account_id"]) <= set(nightly["account_id"])
    joined = nightly.join(history, on=["account_id", "eval_date"], how="inner", suffix="_h")
    assert joined.height == history.height
    # peer z-scores compare with the other rows of the run: different populations by design
    for col in [c for c in nightly.columns[2:] if not c.endswith("_peer_z")]:
        assert joined[col].equals(joined[f"{col}_h"], check_names=False), col


def test_hub_counts_are_exact() -> None:
    """A hub with many counterparties: degrees count every distinct one."""
    txs = [
        {
            "timestamp": START + dt.timedelta(minutes=i),
            "src": f"c{i % 300}",
            "dst": "hub",
            "amount": 10.0,
            "channel": "card",
            "region": None,
        }
        for i in range(900)
    ]
    df = compute_features(tx_frame(txs), account_frame([{"id": "hub"}]), CFG, as_of=dt.date(2026, 1, 5))
    hub = df.filter(pl.col("account_id") == "hub").row(0, named=True)
    assert hub["fan_in_degree_30d"] == 300 and hub["in_count_30d"] == 900


@st.composite
def grid_case(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evaluation rows of accounts 0-5 and events of accounts 0-7 (6 and 7 never evaluated)
    on days -40..40 (some before the first read, some after the last evaluation)."""
    eval_keys = draw(st.sets(st.tuples(st.integers(0, 5), st.integers(0, 30)), min_size=1, max_size=15))
    evals = pl.DataFrame(sorted(eval_keys), schema={"acct": pl.UInt32, "eval_day": pl.Int32}, orient="row")
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, 7),
                st.integers(-40, 40),
                st.booleans(),
                st.sampled_from([0.0, 0.1, 1.5, 1e6, 2.25]),
            ),
            max_size=40,
        )
    )
    events = pl.DataFrame(
        rows, schema={"acct": pl.UInt32, "day": pl.Int32, "b": pl.Boolean, "x": pl.Float64}, orient="row"
    )
    return evals, events


@SETTINGS
@given(grid_case(), st.sampled_from([1, 7, 50, None]))
def test_window_sums_match_brute_force_in_any_account_batches(
    case: tuple[pl.DataFrame, pl.DataFrame], cells: int | None
) -> None:
    """``window_sums`` = sums over the account's events in ``(D - w, D]`` (or starts up to
    ``D`` minus ends up to ``D - w``), whatever the account batches (``cells``)."""
    evals, events = case
    windows = {
        "b7": Window("b", "b", 7),
        "x1": Window("x", "x", 1),
        "x30": Window("x", "x", 30),
        "mixed": Window("b", "x", 3),  # a distinct-style window: two columns
    }
    keyed = events.lazy().select(pack(pl.col("acct"), pl.col("day")).alias("k"), "b", "x")
    got = window_sums(evals, keyed, windows, cells=cells)
    assert got.columns == list(windows)
    assert got.dtypes == [pl.Int32, pl.Float64, pl.Float64, pl.Float64]
    for i, (acct, day) in enumerate(evals.iter_rows()):
        mine = events.filter(pl.col("acct") == acct)

        def total(col: str, upto: int, mine: pl.DataFrame = mine) -> float:
            return mine.filter(pl.col("day") <= upto)[col].cast(pl.Float64).sum()

        for name, win in windows.items():
            expected = total(win.plus, day) - total(win.minus, day - win.days)
            assert got[name][i] == pytest.approx(expected, abs=1e-6), (name, acct, day)


def test_batched_grid_gives_identical_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """One account per grid batch (the memory bound at its tightest) gives the same bytes."""
    rng = random.Random(3)
    txs = [
        {
            "timestamp": START + dt.timedelta(hours=rng.randrange(24 * 60)),
            "src": rng.choice(ACCOUNTS),
            "dst": rng.choice(ACCOUNTS),
            "amount": rng.choice([9_500.0, 120.35, 1_000.0, 77.7]),
            "channel": rng.choice(["wire", "cash_deposit", "ach"]),
            "region": rng.choice([None, "TX-El Paso border", "NY-NYC"]),
        }
        for _ in range(300)
    ]
    whole = compute(txs)
    monkeypatch.setattr(windows_module, "GRID_CELLS", 1)
    batched = compute(txs)
    assert batched.equals(whole)
