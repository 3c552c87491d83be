"""Independent structural checks of every planted typology instance.

Each check reads only the written files (transactions, accounts, labels) and verifies the shape
TYPOLOGIES.md describes, without using the generator's internals.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import polars as pl
import pytest

import synthetic_data
from synthetic_data import world as w
from synthetic_data.typologies import REGISTRY

THRESHOLD = 10_000.0
DAYS = 30
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BORDER = {r[0] for r in w.US_REGIONS if r[1]}
HOUR = dt.timedelta(hours=1)


class Instance:
    """One planted instance: its transactions (time order), accounts by role, account facts."""

    def __init__(self, tx: pl.DataFrame, roles: pl.DataFrame, accounts: pl.DataFrame, all_tx: pl.DataFrame):
        self.tx = tx.sort("timestamp", maintain_order=True)
        self.roles = {
            r: set(roles.filter(pl.col("role") == r)["account_id"])
            for r in ("originator", "intermediary", "beneficiary")
        }
        self.accounts = accounts.filter(pl.col("account_id").is_in(roles["account_id"].to_list()))
        self.all_tx = all_tx

    def account(self, account_id: str) -> dict:
        return self.accounts.filter(pl.col("account_id") == account_id).row(0, named=True)

    def between(self, src: str | set, dst: str | set) -> pl.DataFrame:
        s = [src] if isinstance(src, str) else list(src)
        d = [dst] if isinstance(dst, str) else list(dst)
        return self.tx.filter(pl.col("src_account").is_in(s) & pl.col("dst_account").is_in(d))


def one(values: set[str]) -> str:
    assert len(values) == 1, values
    return next(iter(values))


# ------------------------------------------------------------------------------ shape checks
def check_fan_out(i: Instance) -> None:
    src = one(i.roles["originator"])
    assert set(i.tx["src_account"]) == {src}
    assert i.tx["dst_account"].n_unique() >= 5 and set(i.tx["dst_account"]) == i.roles["beneficiary"]
    assert i.tx["timestamp"].max() - i.tx["timestamp"].min() <= dt.timedelta(days=10)


def check_fan_in(i: Instance) -> None:
    dst = one(i.roles["beneficiary"])
    assert set(i.tx["dst_account"]) == {dst}
    assert i.tx["src_account"].n_unique() >= 5  # k distinct senders...
    assert i.tx["timestamp"].max() - i.tx["timestamp"].min() <= dt.timedelta(days=10)  # ...in the window


def check_scatter_gather(i: Instance) -> None:
    a, c = one(i.roles["originator"]), one(i.roles["beneficiary"])
    middles = i.roles["intermediary"]
    assert len(middles) >= 3
    for b in middles:
        (t_in,) = i.between(a, b)["timestamp"]
        (t_out,) = i.between(b, c)["timestamp"]
        assert t_in < t_out <= t_in + dt.timedelta(days=3, hours=1)


def check_gather_scatter(i: Instance) -> None:
    hub = one(i.roles["intermediary"])
    inflow, outflow = i.tx.filter(pl.col("dst_account") == hub), i.tx.filter(pl.col("src_account") == hub)
    assert inflow["src_account"].n_unique() >= 3 and outflow["dst_account"].n_unique() >= 3
    assert outflow["timestamp"].min() > inflow["timestamp"].max()
    assert (
        0.9 * inflow["amount"].sum()
        <= outflow["amount"].sum()
        <= inflow["amount"].sum() + 0.01 * len(outflow)
    )


def check_cycle(i: Instance) -> None:
    src, dst, ts = i.tx["src_account"].to_list(), i.tx["dst_account"].to_list(), i.tx["timestamp"].to_list()
    hops = len(set(src))
    assert 2 <= hops <= 8
    assert dst[:-1] == src[1:]  # a walk...
    assert dst[-1] == src[0] == one(i.roles["originator"])  # ...that returns to its start
    assert all(t0 < t1 for t0, t1 in itertools.pairwise(ts))  # each hop later
    amounts = i.tx["amount"].to_list()
    assert all(b <= a + 0.01 for a, b in itertools.pairwise(amounts))  # fees shrink it


def check_layering(i: Instance) -> None:
    first, last, middle = i.roles["originator"], i.roles["beneficiary"], i.roles["intermediary"]
    assert middle and not (set(i.tx["dst_account"]) & first) and not (set(i.tx["src_account"]) & last)
    for m in middle:  # every middle account pays on only after all of its money arrived
        ins, outs = i.tx.filter(pl.col("dst_account") == m), i.tx.filter(pl.col("src_account") == m)
        assert len(ins) and len(outs) and outs["timestamp"].min() > ins["timestamp"].max()
    # synchronised layers: dense bipartite blocks (>= 2 senders per block on average)
    assert len(i.tx) >= len(first) + len(middle)


def check_pass_through(i: Instance) -> None:
    for m in i.roles["intermediary"]:
        ins, outs = i.tx.filter(pl.col("dst_account") == m), i.tx.filter(pl.col("src_account") == m)
        assert len(ins) == len(outs) >= 1
        assert 0.97 * ins["amount"].sum() <= outs["amount"].sum() <= ins["amount"].sum() + 0.01 * len(outs)
        for t_in, t_out in zip(ins["timestamp"], outs["timestamp"], strict=True):
            assert t_in < t_out <= t_in + 12 * HOUR + dt.timedelta(seconds=1)  # dwell of hours


def check_structuring(i: Instance) -> None:
    assert (i.tx["channel"] == "cash_deposit").all()
    assert (i.tx["amount"] < THRESHOLD).all() and (i.tx["amount"] >= 0.59 * THRESHOLD).all()
    # The credited accounts are where the cash is placed: originators, like the depositors.
    assert set(i.tx["dst_account"]) <= i.roles["originator"] and not i.roles["beneficiary"]
    assert len(i.tx) >= 5


def check_funnel(i: Instance) -> None:
    deposits = i.tx.filter(pl.col("channel") == "cash_deposit")
    funnel = one(set(deposits["dst_account"]))
    assert i.roles["intermediary"] == {funnel}  # it passes the money on, by wire or border withdrawal
    assert deposits["region"].n_unique() >= 3  # many distinct regions
    out = i.tx.filter(pl.col("src_account") == funnel)
    assert len(out) >= 1 and out["timestamp"].min() > deposits["timestamp"].min()
    assert out["amount"].sum() <= deposits["amount"].sum()
    border_cash = (out["channel"] == "cash_withdrawal") & out["region"].is_in(list(BORDER))
    abroad = out["dst_country"] != "US"
    assert (border_cash | abroad).all()


def check_tbml(i: Instance) -> None:
    trader = one(i.roles["beneficiary"])
    assert i.account(trader)["sector"] in {"produce_import", "produce_export"}
    payers = i.accounts.filter(pl.col("account_id").is_in(list(i.roles["originator"])))
    assert (
        not payers.filter(pl.col("kind") == "business")["sector"]
        .is_in(["produce_import", "produce_export"])
        .any()
    )
    ordinary = i.all_tx.join(i.tx, on="tx_id", how="anti")
    buyers = set(ordinary.filter(pl.col("dst_account") == trader)["src_account"])
    assert not (buyers & i.roles["originator"])  # paid by third parties, not by its buyers
    assert ((i.tx["amount"] % 500) == 0).all()  # invoice-like round amounts


def check_shell(i: Instance) -> None:
    for s in i.roles["intermediary"]:
        acct = i.account(s)
        assert acct["kind"] == "business" and acct["sector"] in {"shell", "holding"}
        assert START - acct["opened_at"] <= dt.timedelta(days=90)  # recently opened
        everything = i.all_tx.filter((pl.col("src_account") == s) | (pl.col("dst_account") == s))
        assert len(everything) == len(
            i.tx.filter((pl.col("src_account") == s) | (pl.col("dst_account") == s))
        )
    receivers = i.accounts.filter(pl.col("account_id").is_in(list(i.roles["beneficiary"])))
    assert not receivers["country"].is_in(["US", "MX"]).any()  # offshore
    inflow = i.tx.filter(
        pl.col("dst_account").is_in(list(i.roles["intermediary"]))
        & ~pl.col("src_account").is_in(list(i.roles["intermediary"]))
    )
    assert (
        i.between(i.roles["intermediary"], i.roles["beneficiary"])["amount"].sum() <= inflow["amount"].sum()
    )


def check_bribery(i: Instance) -> None:
    official = i.account(one(i.roles["beneficiary"]))
    assert official["is_pep"]
    assert i.tx["amount"].sum() > 1.5 * official["declared_monthly_income"]


def check_cash_courier(i: Instance) -> None:
    out = i.tx.filter(pl.col("channel") == "cash_withdrawal")
    assert len(out) >= 4 and out["region"].is_in(list(BORDER)).all()
    assert not i.roles["beneficiary"]  # couriers pass the money on (as cash): intermediaries
    for courier in i.roles["intermediary"]:
        taken = out.filter(pl.col("src_account") == courier)["amount"].sum()
        assert taken == 0 or taken > i.account(courier)["declared_monthly_income"]
    assert (out["amount"] < THRESHOLD).mean() >= 0.3  # often just under the threshold


def check_mule_network(i: Instance) -> None:
    mules = i.accounts.filter(pl.col("account_id").is_in(list(i.roles["intermediary"])))
    assert len(mules) >= 4
    assert any(mules[c].n_unique() == 1 for c in ("phone_hash", "address_hash", "device_hash"))
    assert (START - mules["opened_at"] <= dt.timedelta(days=60)).all()
    collector = one(i.roles["beneficiary"])
    for m in mules["account_id"]:
        ins, outs = i.tx.filter(pl.col("dst_account") == m), i.tx.filter(pl.col("src_account") == m)
        assert set(outs["dst_account"]) == {collector}
        assert outs["amount"].sum() <= ins["amount"].sum()
        assert (outs["timestamp"].min() - ins["timestamp"].min()) <= dt.timedelta(days=1)


def check_smuggling_fees(i: Instance) -> None:
    collector = one(i.roles["beneficiary"])
    assert i.account(collector)["region"] in BORDER
    assert set(i.tx["dst_account"]) == {collector} and i.tx["src_account"].n_unique() >= 6
    assert i.tx["amount"].max() <= 4_000.01
    assert (i.tx["src_country"] != "US").any() or (i.tx["channel"] == "msb_transfer").any()


def check_dormant(i: Instance) -> None:
    acct = one(i.roles["intermediary"])
    assert START - i.account(acct)["opened_at"] >= dt.timedelta(days=400)
    first = i.tx["timestamp"].min()
    before = i.all_tx.filter(
        ((pl.col("src_account") == acct) | (pl.col("dst_account") == acct)) & (pl.col("timestamp") < first)
    )
    silent_since = before["timestamp"].max() if len(before) else START
    assert first - silent_since >= dt.timedelta(days=min(45, 0.6 * DAYS))
    assert i.tx["amount"].max() >= 20_000 * 0.99


CHECKS: dict[str, Callable[[Instance], None]] = {
    name[len("check_") :]: fn for name, fn in globals().items() if name.startswith("check_")
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Instance]]:
    out = tmp_path_factory.mktemp("typ") / "data"
    synthetic_data.generate("tiny", 7, out, {"instances_per_typology": 4})
    tx = pl.read_parquet(out / "transactions.parquet")
    accounts = pl.read_parquet(out / "accounts.parquet")
    inst = pl.read_parquet(out / "labels" / "instances.parquet")
    roles = pl.read_parquet(out / "labels" / "instance_accounts.parquet")
    ltx = pl.read_parquet(out / "labels" / "transactions.parquet").join(tx, on="tx_id")
    by_typology: dict[str, list[Instance]] = {}
    for iid, typ in inst.select("instance_id", "typology").iter_rows():
        by_typology.setdefault(typ, []).append(
            Instance(
                ltx.filter(pl.col("instance_id") == iid),
                roles.filter(pl.col("instance_id") == iid),
                accounts,
                tx,
            )
        )
    return by_typology


def test_every_typology_has_a_check() -> None:
    assert set(CHECKS) == set(REGISTRY)


@pytest.mark.parametrize("typology", sorted(REGISTRY))
def test_planted_instances_have_their_shape(planted: dict[str, list[Instance]], typology: str) -> None:
    assert len(planted[typology]) == 4
    for instance in planted[typology]:
        CHECKS[typology](instance)


def test_roles_follow_the_money(planted: dict[str, list[Instance]]) -> None:
    """Role definitions (docs/typologies.md, Roles) hold in every planted instance.

    Intermediaries receive scheme funds and pass them on (by transfer or cash withdrawal);
    beneficiaries receive and never pass on; originators send or conduct scheme transactions,
    except the accounts credited with structured cash, where the cash enters the banking system.
    """
    for typology, instances in planted.items():
        for i in instances:
            senders, receivers = set(i.tx["src_account"]), set(i.tx["dst_account"])
            placed = set(i.tx.filter(pl.col("channel") == "cash_deposit")["dst_account"])
            for m in i.roles["intermediary"]:
                assert m in receivers and m in senders, (typology, m)
                first_in = i.tx.filter(pl.col("dst_account") == m)["timestamp"].min()
                assert i.tx.filter(pl.col("src_account") == m)["timestamp"].max() > first_in, (typology, m)
            for b in i.roles["beneficiary"]:
                assert b in receivers and b not in senders, (typology, b)
            for o in i.roles["originator"]:
                assert o in senders or (typology == "structuring" and o in placed), (typology, o)
            assert len(i.roles["originator"] | i.roles["intermediary"] | i.roles["beneficiary"]) == sum(
                len(v) for v in i.roles.values()
            ), typology  # one role per account and instance


def test_parameters_vary_between_instances(planted: dict[str, list[Instance]]) -> None:
    """No single number separates schemes: sizes and amounts differ across instances."""
    for typology, instances in planted.items():
        sizes = {len(i.tx) for i in instances}
        medians = {round(i.tx["amount"].median(), 2) for i in instances}
        assert len(sizes) > 1 or len(medians) > 1, typology
