"""Benign look-alikes (hard negatives): legitimate behaviour that resembles a scheme on single
features. Every one is labelled in ``labels/benign_behaviours`` with its behaviour name."""

from __future__ import annotations

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_DAY, day_times, round_to
from synthetic_data.context import GenContext

_REF = w.REF_CODE


def _per_account_counts(ctx: GenContext, n: int, per_month: np.ndarray | float) -> np.ndarray:
    return ctx.rng.poisson(np.broadcast_to(per_month, (n,)) * ctx.days / 30)


def _at_least_one(rng: np.random.Generator, accounts: np.ndarray, share: float) -> np.ndarray:
    """A random ``share`` of ``accounts`` (at least one, so small runs still show the behaviour)."""
    if len(accounts) == 0 or share <= 0:
        return accounts[:0]
    return np.sort(rng.choice(accounts, max(1, int(rng.binomial(len(accounts), share))), replace=False))


def family_remittances(ctx: GenContext) -> None:
    """Small regular transfers between US residents and family in Mexico through MSBs, some
    quoted in pesos; most flow US -> MX, some families send money north (students, relatives)."""
    rng, pop, book, bg = ctx.rng, ctx.pop, ctx.book, ctx.params.background
    region = book.column("region")[pop.individuals]
    p = np.where(np.isin(region, w.BORDER_REGIONS), 2.0, 1.0) * bg.remittance_share
    senders = pop.individuals[rng.random(len(pop.individuals)) < p]
    if len(senders) == 0 or len(pop.mx_individuals) == 0:
        return
    family = pop.mx_individuals[rng.integers(0, len(pop.mx_individuals), len(senders))]
    k = _per_account_counts(ctx, len(senders), rng.uniform(*bg.remittances_per_month, len(senders)))
    who = np.repeat(np.arange(len(senders)), k)
    base = rng.lognormal(np.log(300), 0.5, len(senders)).clip(50, 2500)
    amount = base[who] * rng.normal(1, 0.1, len(who)).clip(0.5)
    in_mxn = (rng.random(len(senders)) < bg.mxn_remittance_share)[who]
    orig = np.where(in_mxn, np.round(amount / w.MXN_TO_USD, -1), np.round(amount, 2))
    amount = np.where(in_mxn, orig * w.MXN_TO_USD, orig)
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, len(who)), hour_mean=16, hour_sd=3)
    refs = np.array([_REF["para mamá"], _REF["para la familia"], _REF["gift"], -1])
    north = (rng.random(len(senders)) < bg.northbound_remittance_share)[who]
    ctx.tx.add(
        np.where(north, family[who], senders[who]),
        np.where(north, senders[who], family[who]),
        ts,
        amount,
        np.where(rng.random(len(who)) < 0.85, w.MSB, w.WIRE),
        currency=np.where(in_mxn, w.MXN, w.USD),
        orig_amount=orig,
        reference=refs[rng.integers(0, len(refs), len(who))],
    )
    ctx.labels.benign(
        "family_remittance", np.concatenate([senders, family]), np.concatenate([np.arange(len(senders))] * 2)
    )


def savings_moves(ctx: GenContext) -> None:
    """People move money to their own savings account and back (short benign cycles)."""
    rng, pop = ctx.rng, ctx.pop
    owner, saving = pop.second_owner, pop.second_accounts
    if len(owner) == 0:
        return
    k = _per_account_counts(ctx, len(owner), ctx.params.background.savings_moves_per_month)
    who = np.repeat(np.arange(len(owner)), k)
    back = rng.random(len(who)) < 0.35
    amount = round_to(rng.lognormal(np.log(400), 0.9, len(who)), 10)
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, len(who)), hour_mean=19, hour_sd=3)
    ctx.tx.add(
        np.where(back, saving[who], owner[who]),
        np.where(back, owner[who], saving[who]),
        ts,
        amount,
        w.INTERNAL,
        reference=_REF["savings"],
    )
    ctx.labels.benign(
        "own_account_savings", np.concatenate([owner, saving]), np.concatenate([np.arange(len(owner))] * 2)
    )


def seasonal_produce(ctx: GenContext) -> None:
    """Produce importers/exporters: seasonal peaks, cross-border, invoice amounts (some round)."""
    rng, pop = ctx.rng, ctx.pop
    sellers = np.concatenate([pop.businesses["produce_import"], pop.businesses["produce_export"]])
    buyers_us = np.concatenate([pop.businesses["retail"], pop.businesses["restaurant"]])
    buyers = np.concatenate([buyers_us, pop.mx_businesses]) if len(pop.mx_businesses) else buyers_us
    n_sellers = len(sellers)
    peak = rng.uniform(0, 365, n_sellers)
    sharp = rng.uniform(1.0, 4.0, n_sellers)
    k = _per_account_counts(
        ctx,
        n_sellers,
        ctx.params.background.produce_payments_per_month * rng.lognormal(0, 0.5, n_sellers) * 2.5,
    )
    who = np.repeat(np.arange(n_sellers), k)
    day = rng.integers(0, ctx.days, len(who))
    season = 0.5 * (1 + np.cos(2 * np.pi * (ctx.day_of_year()[day] - peak[who]) / 365))
    keep = rng.random(len(who)) < season ** sharp[who]
    who, day = who[keep], day[keep]
    n_buyers = rng.integers(5, 40, n_sellers)
    buyer = buyers[(who * 7919 + rng.integers(0, n_buyers[who])) % len(buyers)]
    amount = rng.lognormal(np.log(12_000), 0.8, len(who)).clip(500, 400_000)
    amount = np.where(rng.random(len(who)) < 0.2, round_to(amount, 500), amount)
    ts = day_times(rng, ctx.start_us, day, hour_mean=11, hour_sd=2.5)
    channel = rng.choice(np.array([w.WIRE, w.ACH, w.CHEQUE]), len(who), p=[0.6, 0.3, 0.1])
    refs = np.array([_REF[r] for r in ("produce shipment", "aguacates", "limones", "invoice", "factura")])
    ctx.tx.add(buyer, sellers[who], ts, amount, channel, reference=refs[rng.integers(0, len(refs), len(who))])
    # Importers pay their Mexican growers in season.
    importers = pop.businesses["produce_import"]
    growers = pop.mx_businesses if len(pop.mx_businesses) else buyers_us
    imp_sel = np.isin(sellers[who], importers) & (rng.random(len(who)) < 0.4)
    grower = growers[
        (np.searchsorted(sellers, sellers[who][imp_sel]) * 31 + rng.integers(0, 5, imp_sel.sum()))
        % len(growers)
    ]
    ctx.tx.add(
        sellers[who][imp_sel],
        grower,
        ts[imp_sel] + 2 * US_PER_DAY,
        amount[imp_sel] * rng.uniform(0.6, 0.9, imp_sel.sum()),
        w.WIRE,
        reference=_REF["produce shipment"],
    )
    ctx.labels.benign("seasonal_produce", sellers)


def cash_businesses(ctx: GenContext) -> None:
    """Restaurants, car dealers and shops deposit the day's cash almost daily at their branch."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    medians = {"restaurant": (1200.0, 0.5), "car_dealer": (5000.0, 0.55), "retail": (800.0, 0.6)}
    open_day = ctx.weekday() != 6
    labelled = []
    for sector, share in ctx.params.background.cash_business_share.items():
        accounts = pop.businesses.get(sector, np.empty(0, np.int32))
        accounts = accounts[rng.random(len(accounts)) < share]
        if len(accounts) == 0:
            continue
        labelled.append(accounts)
        median, sigma = medians.get(sector, (1000.0, 0.6))
        scale = rng.lognormal(0, 0.4, len(accounts))
        dep_prob = rng.uniform(0.6, 0.98, len(accounts))
        rows, day = np.nonzero(
            (rng.random((len(accounts), ctx.days)) < dep_prob[:, None]) & open_day[None, :]
        )
        amount = median * scale[rows] * rng.lognormal(0, sigma, len(rows))
        owner = pop.owner_of[accounts]
        src = np.where(rng.random(len(rows)) < 0.6, owner[rows], -1)
        region = np.where(
            rng.random(len(rows)) < 0.95,
            book.column("region")[accounts][rows],
            rng.integers(0, w.N_US_REGIONS, len(rows)),
        )
        ts = day_times(rng, ctx.start_us, day, hour_mean=17, hour_sd=1.5)
        ctx.tx.add(src, accounts[rows], ts, amount, w.CASH_DEP, region=region, reference=_REF["deposit"])
    if labelled:
        ctx.labels.benign("cash_intensive_business", np.concatenate(labelled))


def occasional_cash(ctx: GenContext) -> None:
    """People who once deposit 5,000-9,999 in cash (a car sale), and border-region people who
    withdraw a few thousand in cash for travel; both sit near the structuring/courier zones."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    thr = ctx.params.reporting_threshold
    people = pop.individuals
    dep = _at_least_one(rng, people, ctx.params.background.near_threshold_cash_share)
    k = rng.integers(1, 3, len(dep))
    who = np.repeat(dep, k)
    amount = round_to(rng.uniform(0.5, 0.999, len(who)) * thr, 10)
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, len(who)))
    ctx.tx.add(who, who, ts, amount, w.CASH_DEP, region=book.column("region")[who])
    ctx.labels.benign("occasional_large_cash", dep)
    region = book.column("region")[people]
    border = people[np.isin(region, w.BORDER_REGIONS)]
    trav = _at_least_one(rng, border, 0.01)
    k = rng.integers(1, 4, len(trav))
    who = np.repeat(trav, k)
    amount = round_to(rng.uniform(0.1, 0.95, len(who)) * thr, 100)
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, len(who)))
    ctx.tx.add(who, -1, ts, amount, w.CASH_WD, region=book.column("region")[who])
    ctx.labels.benign("border_cash_traveller", trav)


def large_inflows(ctx: GenContext) -> None:
    """A house sale or an inheritance: one large wire in, often a large payment out later."""
    rng, pop = ctx.rng, ctx.pop
    people = pop.individuals
    share = ctx.params.background.large_inflow_share
    # Public officials sell houses too: PEPs get legitimate large inflows at a higher rate.
    lucky = np.union1d(
        _at_least_one(rng, people, share),
        _at_least_one(rng, pop.peps, ctx.params.background.pep_large_inflow_share),
    )
    n = len(lucky)
    if n == 0:
        return
    payers = np.concatenate([pop.businesses["law_firm"], pop.businesses["real_estate"]])
    amount = rng.lognormal(np.log(250_000), 0.6, n).clip(40_000, 3e6)
    day = rng.integers(0, ctx.days, n)
    ts = day_times(rng, ctx.start_us, day)
    refs = np.array([_REF["transfer"], _REF["deposit"], -1])
    ctx.tx.add(
        payers[rng.integers(0, len(payers), n)],
        lucky,
        ts,
        amount,
        w.WIRE,
        reference=refs[rng.integers(0, 3, n)],
    )
    out = rng.random(n) < 0.5
    ctx.tx.add(
        lucky[out],
        pop.businesses["real_estate"][rng.integers(0, len(pop.businesses["real_estate"]), out.sum())],
        ts[out] + (rng.uniform(1, 20, out.sum()) * US_PER_DAY).astype(np.int64),
        amount[out] * rng.uniform(0.5, 1.0, out.sum()),
        w.WIRE,
    )
    ctx.labels.benign("large_one_off_inflow", lucky)


def international_trade(ctx: GenContext) -> None:
    """Importers and logistics firms pay suppliers in China, Hong Kong, the Gulf, Panama or
    Colombia (and get paid from there): legitimate flows to the jurisdictions shells use."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    traders = np.concatenate([pop.businesses[s] for s in ("logistics", "retail", "holding", "car_dealer")])
    traders = _at_least_one(rng, traders, ctx.params.background.international_trader_share)
    n_foreign = max(3, len(traders) // 3)
    region = rng.choice(w.OFFSHORE_REGION_CODES, n_foreign)
    foreign = book.add(
        n_foreign,
        kind=w.BUSINESS,
        sector=rng.choice([w.SECTOR_CODE[s] for s in ("logistics", "retail", "holding")], n_foreign),
        country=np.array([w.OFFSHORE_COUNTRY_OF_REGION[int(r)] for r in region]),
        region=region.astype(np.int16),
        opened_at=ctx.start_us - (rng.uniform(365, 20 * 365, n_foreign) * US_PER_DAY).astype(np.int64),
        income=np.round(rng.lognormal(np.log(400e3), 0.8, n_foreign), 2),
        is_pep=False,
        last=rng.integers(0, len(w.LAST_NAMES), n_foreign),
        suffix=rng.integers(0, len(w.BUSINESS_SUFFIXES), n_foreign),
    )
    k = _per_account_counts(ctx, len(traders), rng.uniform(0.5, 4.0, len(traders)))
    who = np.repeat(np.arange(len(traders)), k)
    partner = foreign[(who * 13 + rng.integers(0, 3, len(who))) % n_foreign]
    amount = rng.lognormal(np.log(40_000), 1.0, len(who)).clip(1_000, 2e6)
    amount = np.where(rng.random(len(who)) < 0.3, round_to(amount, 1_000), amount)
    inbound = rng.random(len(who)) < 0.2
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, len(who)), hour_mean=14, hour_sd=3)
    ctx.tx.add(
        np.where(inbound, partner, traders[who]),
        np.where(inbound, traders[who], partner),
        ts,
        amount,
        w.WIRE,
        reference=rng.choice(np.array([_REF["invoice"], _REF["freight"], _REF["支付"], -1]), len(who)),
    )
    ctx.labels.benign("international_trade", traders)


def msb_operations(ctx: GenContext) -> None:
    """Money services businesses: daily cash in, bulk wires to Mexican correspondents, cash out."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    msbs = pop.msbs
    if len(msbs) == 0:
        return
    k = rng.poisson(ctx.params.background.msb_ops_per_day * ctx.days * rng.lognormal(0, 0.5, len(msbs)))
    who = np.repeat(np.arange(len(msbs)), k)
    kind = rng.choice(3, len(who), p=[0.55, 0.3, 0.15])  # cash in, wire to MX, cash out
    amount = rng.lognormal(np.log(6000), 0.8, len(who)).clip(200, 150_000)
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, len(who)))
    region = book.column("region")[msbs][who]
    corr = pop.mx_msbs[rng.integers(0, len(pop.mx_msbs), len(who))] if len(pop.mx_msbs) else msbs[who]
    src = np.select([kind == 0, kind == 1], [-1, msbs[who]], msbs[who])
    dst = np.select([kind == 0, kind == 1], [msbs[who], corr], -1)
    ch = np.select([kind == 0, kind == 1], [w.CASH_DEP, w.WIRE], w.CASH_WD)
    ctx.tx.add(src, dst, ts, amount, ch, region=np.where(kind == 1, -1, region))
    ctx.labels.benign("msb_operations", msbs)


def identity_lookalikes(ctx: GenContext) -> None:
    """Label households sharing an address/device (like mule rings) and young businesses (like shells)."""
    pop = ctx.pop
    _keys, inverse, counts = np.unique(pop.households, return_inverse=True, return_counts=True)
    big = counts[inverse] >= 3
    ctx.labels.benign("shared_household", pop.individuals[big], pop.households[big])
    ctx.labels.benign("new_business", pop.new_businesses)
    shared = pop.owner_shared
    ctx.labels.benign(
        "owner_shared_identifiers",
        np.concatenate([shared, pop.owner_of[shared]]),
        np.concatenate([np.arange(len(shared))] * 2),
    )
    ctx.labels.benign("new_customer", pop.new_individuals)


STREAMS = (
    family_remittances,
    savings_moves,
    seasonal_produce,
    cash_businesses,
    occasional_cash,
    large_inflows,
    international_trade,
    msb_operations,
    identity_lookalikes,
)
