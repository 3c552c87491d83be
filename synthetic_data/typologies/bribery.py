"""Corruption payments: a public official (PEP) receives inflows far beyond declared income."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
    channels,
    irange,
    new_businesses,
    new_individuals,
    register,
    reuse_or_new,
    times,
    window,
)


@dataclass(frozen=True)
class BriberySpec(TypologySpec):
    #: Distinct payers.
    accounts: tuple[int, int] = (1, 3)
    payments: tuple[int, int] = (1, 5)
    #: Typical bribe: USD 50,000-100,000 (drawn widely around it).
    amount: Range = (15_000.0, 150_000.0)
    span_days: Range = (1.0, 60.0)
    #: Declared monthly income of a newly created official.
    official_income: Range = (900.0, 9_000.0)
    #: Probability that a payment arrives as an anonymous cash deposit.
    cash_share: Range = (0.0, 0.5)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.6), ("cheque", 0.25), ("ach", 0.15))
    reuse_share: float = 0.7


@register
class Bribery(Typology):
    name = "bribery"
    spec_type = BriberySpec

    def plant_one(self, ctx, spec: BriberySpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        official = reuse_or_new(
            ctx,
            "pep",
            1,
            spec.reuse_share,
            lambda n: new_individuals(
                ctx,
                n,
                is_pep=True,
                sector="public_administration",
                income=np.round(rng.uniform(*spec.official_income, n), 2),
            ),
        )
        sector = rng.choice(["shell", "construction", "holding", "logistics"])
        payers = reuse_or_new(
            ctx,
            "business",
            irange(rng, spec.accounts),
            0.5 if sector == "construction" else 0.0,
            lambda n: new_businesses(ctx, n, sector, recent=sector == "shell"),
        )
        n = irange(rng, spec.payments)
        t0, t1 = window(ctx, spec.span_days)
        amount = np.round(np.exp(rng.uniform(*np.log(spec.amount), n)), rng.choice([-3, -2, 0]))
        cash = rng.random(n) < rng.uniform(*spec.cash_share)
        src = np.where(cash, -1, payers[rng.integers(0, len(payers), n)])
        ch = np.where(cash, w.CASH_DEP, channels(rng, spec, n))
        region = np.where(cash, ctx.book.column("region")[official[0]], -1)
        ctx.tx.add(
            src,
            official[0],
            times(rng, t0, t1, n),
            np.minimum(amount, spec.amount[1]),
            ch,
            region=region,
            instance=instance,
        )
        ctx.labels.roles(instance, src, "originator")
        ctx.labels.roles(instance, official, "beneficiary")
