"""Scatter-gather: A pays B1..Bk, each Bi pays C soon after."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data.book import US_PER_HOUR
from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
    amounts,
    channels,
    irange,
    new_businesses,
    new_individuals,
    register,
    reuse_or_new,
    times,
    urange,
    window,
)


@dataclass(frozen=True)
class ScatterGatherSpec(TypologySpec):
    #: Number of middle accounts.
    accounts: tuple[int, int] = (3, 12)
    amount: Range = (1_000.0, 40_000.0)
    span_days: Range = (0.5, 7.0)
    #: Delay (hours) before a middle account pays on, and the fee it keeps.
    hop_hours: Range = (1.0, 72.0)
    fee: Range = (0.0, 0.05)
    amount_spread: Range = (0.02, 0.3)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.5), ("ach", 0.4), ("msb_transfer", 0.1))
    reuse_share: float = 0.5


@register
class ScatterGather(Typology):
    name = "scatter_gather"
    spec_type = ScatterGatherSpec

    def plant_one(self, ctx, spec: ScatterGatherSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        ends = reuse_or_new(
            ctx,
            "business",
            2,
            spec.reuse_share,
            lambda n: new_businesses(ctx, n, "holding", recent=rng.random() < 0.5),
        )
        middles = reuse_or_new(
            ctx,
            "individual",
            irange(rng, spec.accounts),
            spec.reuse_share,
            lambda n: new_individuals(ctx, n, recent=rng.random() < 0.5),
        )
        k = len(middles)
        t0, t1 = window(ctx, spec.span_days)
        ts = times(rng, t0, t1, k)
        amount = amounts(rng, spec, k, similar=urange(rng, spec.amount_spread))
        ctx.tx.add(ends[0], middles, ts, amount, channels(rng, spec, k), instance=instance)
        delay = (rng.uniform(*spec.hop_hours, k) * US_PER_HOUR).astype(np.int64) + 1
        ctx.tx.add(
            middles,
            ends[1],
            ts + delay,
            amount * (1 - urange(rng, spec.fee, k)),
            channels(rng, spec, k),
            instance=instance,
        )
        ctx.labels.roles(instance, ends[:1], "originator")
        ctx.labels.roles(instance, middles, "intermediary")
        ctx.labels.roles(instance, ends[1:], "beneficiary")
