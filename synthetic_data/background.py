"""Ordinary activity: payroll, bills, rent, p2p, ATM cash, business payments, card purchases.

Each stream is one vectorised function over all its accounts. The fan-out and fan-in hubs they
create (employers, utilities, landlords, busy merchants) are labelled as benign behaviours.
"""

from __future__ import annotations

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_HOUR, day_times
from synthetic_data.context import GenContext, monthly, weighted_choice

_REF = w.REF_CODE


def payroll(ctx: GenContext) -> None:
    """Employers pay employees on fixed days: biweekly Fridays, the 1st and 15th, or monthly."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    has_job = pop.employer >= 0
    emp, boss = pop.individuals[has_job], pop.employer[has_job]
    income = book.column("income")[emp] * rng.uniform(0.7, 1.0, len(emp))
    employers = np.unique(boss)
    freq = rng.choice(3, len(employers), p=[0.5, 0.3, 0.2])  # biweekly, semimonthly, monthly
    phase = rng.integers(0, 14, len(employers))
    fridays = np.flatnonzero(ctx.weekday() == 4)
    dom = ctx.day_of_month()
    semi = np.flatnonzero((dom == 1) | (dom == 15))
    month_end = np.flatnonzero(np.r_[dom[1:] == 1, False] | (np.arange(ctx.days) == ctx.days - 1))
    e_pos = np.searchsorted(employers, boss)
    for code, days, per_month in ((0, fridays, 26 / 12), (1, semi, 2.0), (2, month_end, 1.0)):
        sel = np.flatnonzero(freq[e_pos] == code)
        if code == 0:  # every other Friday, phase per employer
            keep = ((np.arange(len(days))[None, :] + phase[e_pos[sel]][:, None]) % 2) == 0
        else:
            keep = np.ones((len(sel), len(days)), bool)
        rows, cols = np.nonzero(keep)
        who = sel[rows]
        amount = income[who] / per_month * rng.normal(1.0, 0.03, len(who))
        ts = day_times(rng, ctx.start_us, days[cols], hour_mean=6.0, hour_sd=1.0)
        ctx.tx.add(boss[who], emp[who], ts, amount, w.ACH, reference=_REF["payroll"])
    sizes = np.bincount(e_pos, minlength=len(employers))
    ctx.labels.benign("payroll", employers[sizes >= 5])


def bills(ctx: GenContext) -> None:
    """Each household head pays 1-3 utilities monthly on a fixed day; utilities fan in."""
    rng, pop = ctx.rng, ctx.pop
    lo, hi = ctx.params.background.utilities_per_person
    k = rng.integers(lo, hi + 1, len(pop.individuals))
    payer = np.repeat(pop.individuals, k)
    utilities = pop.businesses["utility"]
    utility = utilities[rng.integers(0, len(utilities), len(payer))]
    base = rng.lognormal(np.log(90), 0.5, len(payer))
    who, days = monthly(ctx, rng.integers(1, 29, len(payer)))
    ts = day_times(rng, ctx.start_us, days, hour_mean=10, hour_sd=5)
    ctx.tx.add(
        payer[who],
        utility[who],
        ts,
        base[who] * rng.normal(1, 0.15, len(who)).clip(0.5),
        np.where(rng.random(len(who)) < 0.7, w.ACH, w.CARD),
        reference=_REF["utilities"],
    )
    ctx.labels.benign("merchant_utility_fan_in", utilities)


def rent(ctx: GenContext) -> None:
    """Renting households pay landlords (property managers or individuals) early each month."""
    rng, pop = ctx.rng, ctx.pop
    _, first = np.unique(pop.households, return_index=True)
    heads = pop.individuals[first]
    tenants = heads[rng.random(len(heads)) < ctx.params.background.rent_share]
    managers = pop.businesses["real_estate"]
    n_ind_landlords = max(1, len(tenants) // 15)
    small = rng.choice(pop.individuals, n_ind_landlords, replace=False)
    by_manager = rng.random(len(tenants)) < 0.7
    landlord = np.where(
        by_manager,
        weighted_choice(rng, managers, rng.lognormal(0, 1, len(managers)), len(tenants)),
        small[rng.integers(0, len(small), len(tenants))],
    )
    landlord = np.where(landlord == tenants, managers[0], landlord)
    amount = np.round(rng.lognormal(np.log(1500), 0.35, len(tenants)), 0)
    who, days = monthly(ctx, rng.integers(1, 6, len(tenants)))
    ts = day_times(rng, ctx.start_us, days, hour_mean=12, hour_sd=4)
    ctx.tx.add(
        tenants[who],
        landlord[who],
        ts,
        amount[who],
        np.where(rng.random(len(who)) < 0.75, w.ACH, w.CHEQUE),
        reference=_REF["rent"],
    )
    ll, counts = np.unique(landlord, return_counts=True)
    ctx.labels.benign("rent_collection", ll[counts >= 3])


def _activity(ctx: GenContext, accounts: np.ndarray, sigma: float) -> np.ndarray:
    """Heavy-tailed activity weights (a few very active accounts)."""
    return ctx.rng.lognormal(0, sigma, len(accounts))


def p2p(ctx: GenContext) -> None:
    """Small transfers between people, mostly within a circle of neighbours of the same region."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    people = pop.individuals
    n = int(len(people) * ctx.params.background.p2p_per_month * ctx.days / 30)
    order = people[np.argsort(book.column("region")[people], kind="stable")]
    pos = weighted_choice(rng, np.arange(len(order)), _activity(ctx, order, 1.0), n)
    near = (pos + rng.integers(1, 40, n)) % len(order)
    far = rng.integers(0, len(order), n)
    dst = order[np.where(rng.random(n) < 0.75, near, far)]
    amount = np.round(rng.lognormal(np.log(60), 1.0, n).clip(5, 5000), 0)
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, n), hour_mean=15, hour_sd=4)
    refs = np.array([_REF[r] for r in ("thanks!", "dinner", "gift", "loan repayment", "", "ref ✓")])
    ctx.tx.add(order[pos], dst, ts, amount, w.ACH, reference=refs[rng.integers(0, len(refs), n)])


def atm(ctx: GenContext) -> None:
    """Cash withdrawals, in multiples of 20, mostly in the account's home region."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    n = int(len(pop.individuals) * ctx.params.background.atm_per_month * ctx.days / 30)
    src = weighted_choice(rng, pop.individuals, _activity(ctx, pop.individuals, 0.8), n)
    amount = np.round(rng.lognormal(np.log(120), 0.7, n).clip(20, 1000) / 20) * 20
    region = np.where(rng.random(n) < 0.92, book.column("region")[src], rng.integers(0, w.N_US_REGIONS, n))
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, n), hour_mean=14, hour_sd=5)
    ctx.tx.add(src, -1, ts, amount, w.CASH_WD, region=region)


def b2b(ctx: GenContext) -> None:
    """Businesses pay suppliers: heavy-tailed amounts by wire, ACH or cheque."""
    rng, pop, book = ctx.rng, ctx.pop, ctx.book
    bus = np.concatenate(list(pop.businesses.values()))
    n = int(len(bus) * ctx.params.background.b2b_per_month * ctx.days / 30)
    turnover = book.column("income")[bus]
    src = weighted_choice(rng, bus, turnover, n)
    dst = weighted_choice(rng, bus, rng.lognormal(0, 1.2, len(bus)), n)
    dst = np.where(dst == src, bus[0], dst)
    amount = rng.lognormal(np.log(3000), 1.2, n).clip(50, 2e6)
    ts = day_times(rng, ctx.start_us, rng.integers(0, ctx.days, n), hour_mean=12, hour_sd=2.5)
    channel = rng.choice(np.array([w.WIRE, w.ACH, w.CHEQUE]), n, p=[0.3, 0.5, 0.2])
    refs = np.array([_REF[r] for r in ("invoice", "factura", "freight", "services rendered", "")])
    ctx.tx.add(src, dst, ts, amount, channel, reference=refs[rng.integers(0, len(refs), n)])


def card(ctx: GenContext, n: int) -> None:
    """Card purchases at merchants with heavy-tailed popularity (fills up the row budget)."""
    rng, pop = ctx.rng, ctx.pop
    sectors = {
        "retail": 55.0,
        "restaurant": 30.0,
        "healthcare": 120.0,
        "car_dealer": 400.0,
        "education": 200.0,
        "professional_services": 150.0,
    }
    merchants = np.concatenate([pop.businesses[s] for s in sectors])
    median = np.concatenate([np.full(len(pop.businesses[s]), m) for s, m in sectors.items()])
    popularity = rng.lognormal(0, 1.3, len(merchants))
    popularity[np.isin(merchants, pop.businesses["car_dealer"])] *= 0.05
    people = pop.individuals
    src = weighted_choice(rng, people, _activity(ctx, people, 0.9), n)
    m = weighted_choice(rng, np.arange(len(merchants)), popularity, n)
    amount = (median[m] * rng.lognormal(0, 0.8, n)).clip(1, 50_000)
    day = rng.integers(0, ctx.days, n)
    ts = (
        ctx.start_us
        + day.astype(np.int64) * 86_400_000_000
        + (rng.uniform(7, 23, n) * US_PER_HOUR).astype(np.int64)
    )
    ctx.tx.add(src, merchants[m], ts, amount, w.CARD)
    top = merchants[popularity >= np.quantile(popularity, 0.8)]
    ctx.labels.benign("merchant_utility_fan_in", top)
