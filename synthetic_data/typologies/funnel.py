"""Funnel account: cash deposited in many distant regions, taken out soon near the border or abroad."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_DAY
from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
    irange,
    new_individuals,
    register,
    reuse_or_new,
    times,
    urange,
    window,
)


@dataclass(frozen=True)
class FunnelSpec(TypologySpec):
    #: Distinct deposit regions.
    accounts: tuple[int, int] = (3, 10)
    deposits: tuple[int, int] = (6, 40)
    amount: Range = (900.0, 9_800.0)
    span_days: Range = (5.0, 40.0)
    #: Delay between deposits and the outflow, days.
    lag_days: Range = (0.05, 3.0)
    #: Share of the deposited money taken out, drawn per instance.
    out_share: Range = (0.75, 0.99)
    outflows: tuple[int, int] = (1, 8)
    #: Share of deposits made by identifiable third parties (else CASH).
    identified_share: Range = (0.0, 0.7)
    #: Outflow channel mix: cash withdrawals at a border branch, wires or MSB to Mexico.
    channels: tuple[tuple[str, float], ...] = (
        ("cash_withdrawal", 0.45),
        ("wire", 0.35),
        ("msb_transfer", 0.2),
    )
    reuse_share: float = 0.4


@register
class Funnel(Typology):
    name = "funnel"
    spec_type = FunnelSpec

    def plant_one(self, ctx, spec: FunnelSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        funnel = reuse_or_new(ctx, "individual", 1, spec.reuse_share, lambda n: new_individuals(ctx, n))
        regions = rng.choice(w.N_US_REGIONS, min(irange(rng, spec.accounts), w.N_US_REGIONS), replace=False)
        n = max(irange(rng, spec.deposits), len(regions))
        t0, t1 = window(ctx, spec.span_days, latest_start=0.9)
        ts = times(rng, t0, t1, n)
        amount = np.round(np.exp(rng.uniform(*np.log(spec.amount), n)), rng.choice([0, -1, -2]))
        third = reuse_or_new(ctx, "individual", irange(rng, (1, 5)), 0.8, lambda k: new_individuals(ctx, k))
        src = np.where(
            rng.random(n) < urange(rng, spec.identified_share), third[rng.integers(0, len(third), n)], -1
        )
        branch = rng.permutation(np.r_[regions, regions[rng.integers(0, len(regions), n - len(regions))]])
        ctx.tx.add(src, funnel[0], ts, amount, w.CASH_DEP, region=branch, instance=instance)
        # Outflows: split the money out in a few chunks, each soon after some deposits.
        m = min(irange(rng, spec.outflows), n)
        cut = np.sort(rng.choice(np.arange(1, n + 1), m, replace=False))
        cut[-1] = n
        total = np.add.reduceat(amount, np.r_[0, cut[:-1]]) * urange(rng, spec.out_share)
        out_ts = ts[cut - 1] + (rng.uniform(*spec.lag_days, m) * US_PER_DAY).astype(np.int64)
        names = [c for c, _ in spec.channels]
        p = np.array([x for _, x in spec.channels])
        mode = w.CHANNEL_CODE[names[rng.choice(len(names), p=p / p.sum())]]
        if mode == w.CASH_WD:
            border = rng.choice(w.BORDER_REGIONS, irange(rng, (1, 2)))
            ctx.tx.add(
                funnel[0],
                -1,
                out_ts,
                np.floor(total),
                w.CASH_WD,
                region=border[rng.integers(0, len(border), m)],
                instance=instance,
            )
        else:
            pool = "mx_business" if rng.random() < 0.5 else "mx_individual"
            dest = reuse_or_new(ctx, pool, 1, 0.5, lambda k: new_individuals(ctx, k, country=w.MX))
            ctx.tx.add(funnel[0], dest[0], out_ts, np.round(total, 2), mode, instance=instance)
            ctx.labels.roles(instance, dest, "beneficiary")
        # The funnel passes the money on (wired abroad or withdrawn at the border): an intermediary.
        ctx.labels.roles(instance, funnel, "intermediary")
        ctx.labels.roles(instance, src, "originator")
