"""Dormant-account reactivation: an old account silent for months suddenly moves large sums."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_DAY, US_PER_HOUR
from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
    amounts,
    channels,
    irange,
    new_businesses,
    new_individuals,
    offshore,
    register,
    reuse_or_new,
    times,
    urange,
)


@dataclass(frozen=True)
class DormantSpec(TypologySpec):
    #: Accounts paying into the reactivated account.
    accounts: tuple[int, int] = (1, 4)
    inflows: tuple[int, int] = (1, 6)
    outflows: tuple[int, int] = (1, 6)
    amount: Range = (20_000.0, 500_000.0)
    #: Minimum silence before the spike, days (capped at 60 % of the period).
    gap_days: Range = (45.0, 150.0)
    #: Age of the account when the period starts, days.
    age_days: Range = (400.0, 3_000.0)
    span_days: Range = (0.5, 10.0)
    out_share: Range = (0.7, 0.99)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.85), ("ach", 0.15))
    reuse_share: float = 0.4


@register
class Dormant(Typology):
    name = "dormant"
    spec_type = DormantSpec

    def plant_one(self, ctx, spec: DormantSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        age = urange(rng, spec.age_days)
        if rng.random() < 0.6:
            acct = new_individuals(ctx, 1, age_days=age)
        else:
            acct = new_businesses(ctx, 1, rng.choice(["retail", "holding", "logistics"]), age_days=age)
        gap = min(urange(rng, spec.gap_days), 0.6 * ctx.days)
        # One small ordinary payment early on (not part of the scheme), then silence.
        if rng.random() < 0.6:
            first = ctx.start_us + int(rng.uniform(0, 0.1 * ctx.days) * US_PER_DAY)
            ctx.tx.add(
                acct,
                ctx.pop.businesses["utility"][:1],
                np.array([first]),
                rng.uniform(20, 200),
                w.ACH,
                reference=w.REF_CODE["utilities"],
            )
        span = urange(rng, spec.span_days)
        lo = 0.1 * ctx.days + gap
        t0 = ctx.start_us + int(rng.uniform(lo, max(lo, ctx.days - span)) * US_PER_DAY)
        t1 = min(t0 + int(span * US_PER_DAY), ctx.start_us + ctx.days * US_PER_DAY - 1)
        payers = reuse_or_new(
            ctx, "business", irange(rng, spec.accounts), spec.reuse_share, lambda n: offshore(ctx, n)
        )
        n_in = irange(rng, spec.inflows)
        ts_in = times(rng, t0, (t0 + t1) // 2, n_in)
        amount = amounts(rng, spec, n_in)
        src = payers[rng.integers(0, len(payers), n_in)]
        ctx.tx.add(src, acct[0], ts_in, amount, channels(rng, spec, n_in), instance=instance)
        n_out = irange(rng, spec.outflows)
        receivers = reuse_or_new(
            ctx, "business", rng.integers(1, n_out + 1), spec.reuse_share, lambda n: offshore(ctx, n)
        )
        ts_out = times(rng, ts_in[-1] + US_PER_HOUR, max(t1, ts_in[-1] + 2 * US_PER_HOUR), n_out)
        out = amount.sum() * urange(rng, spec.out_share) * rng.dirichlet(np.full(n_out, 2.0))
        dst = receivers[rng.integers(0, len(receivers), n_out)]
        ctx.tx.add(acct[0], dst, ts_out, out, channels(rng, spec, n_out), instance=instance)
        ctx.labels.roles(instance, src, "originator")
        ctx.labels.roles(instance, acct, "intermediary")
        ctx.labels.roles(instance, dst, "beneficiary")
