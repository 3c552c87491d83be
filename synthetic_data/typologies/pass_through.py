"""Rapid movement of funds: money arrives and leaves within hours along a chain of accounts."""

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
class PassThroughSpec(TypologySpec):
    #: Pass-through accounts on the chain (between the source and the destination).
    accounts: tuple[int, int] = (1, 5)
    rounds: tuple[int, int] = (1, 5)
    amount: Range = (2_000.0, 120_000.0)
    span_days: Range = (1.0, 30.0)
    dwell_hours: Range = (0.2, 12.0)
    fee: Range = (0.0, 0.02)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.6), ("ach", 0.3), ("msb_transfer", 0.1))
    reuse_share: float = 0.5


@register
class PassThrough(Typology):
    name = "pass_through"
    spec_type = PassThroughSpec

    def plant_one(self, ctx, spec: PassThroughSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        ends = reuse_or_new(ctx, "business", 2, spec.reuse_share, lambda n: new_businesses(ctx, n, "holding"))
        middle = reuse_or_new(
            ctx,
            "individual",
            irange(rng, spec.accounts),
            spec.reuse_share,
            lambda n: new_individuals(ctx, n, recent=rng.random() < 0.5),
        )
        chain = np.r_[ends[0], middle, ends[1]]
        rounds = irange(rng, spec.rounds)
        t0, t1 = window(ctx, spec.span_days)
        starts = times(rng, t0, t1, rounds)
        amount0 = amounts(rng, spec, rounds)
        keep = 1 - urange(rng, spec.fee)
        hops = len(chain) - 1
        dwell = (rng.uniform(*spec.dwell_hours, (rounds, hops)) * US_PER_HOUR).astype(np.int64)
        dwell[:, 0] = 0
        ts = starts[:, None] + np.cumsum(dwell, axis=1) + np.arange(hops)[None, :]
        amount = amount0[:, None] * keep ** np.arange(hops)[None, :]
        src = np.broadcast_to(chain[:-1], (rounds, hops)).ravel()
        dst = np.broadcast_to(chain[1:], (rounds, hops)).ravel()
        ctx.tx.add(src, dst, ts.ravel(), amount.ravel(), channels(rng, spec, src.size), instance=instance)
        ctx.labels.roles(instance, ends[:1], "originator")
        ctx.labels.roles(instance, middle, "intermediary")
        ctx.labels.roles(instance, ends[1:], "beneficiary")
