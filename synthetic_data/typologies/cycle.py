"""Round-tripping: A -> B -> ... -> A with each hop later than the last, amounts shrinking by fees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
    amounts,
    channels,
    irange,
    new_businesses,
    register,
    reuse_or_new,
    times,
    urange,
    window,
)


@dataclass(frozen=True)
class CycleSpec(TypologySpec):
    #: Number of accounts on the cycle (= number of hops).
    accounts: tuple[int, int] = (2, 8)
    amount: Range = (5_000.0, 250_000.0)
    span_days: Range = (1.0, 30.0)
    #: Fee kept by each hop (share of the amount), drawn per instance.
    fee: Range = (0.0, 0.04)
    #: Times the money goes round within one instance.
    rounds: tuple[int, int] = (1, 2)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.7), ("ach", 0.2), ("cheque", 0.1))
    reuse_share: float = 0.5


@register
class Cycle(Typology):
    name = "cycle"
    spec_type = CycleSpec

    def plant_one(self, ctx, spec: CycleSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        ring = reuse_or_new(
            ctx,
            "business",
            irange(rng, spec.accounts),
            spec.reuse_share,
            lambda n: new_businesses(ctx, n, "holding", recent=rng.random() < 0.4),
        )
        hops = len(ring)
        rounds = irange(rng, spec.rounds)
        t0, t1 = window(ctx, spec.span_days)
        n = hops * rounds
        ts = times(rng, t0, t1, n) + np.arange(n)  # strictly increasing
        src = np.tile(ring, rounds)
        dst = np.roll(src, -1)
        dst[-1] = ring[0]
        keep = 1 - urange(rng, spec.fee)
        amount = amounts(rng, spec, 1)[0] * keep ** np.arange(n)
        ctx.tx.add(src, dst, ts, amount, channels(rng, spec, n), instance=instance)
        ctx.labels.roles(instance, ring[:1], "originator")
        ctx.labels.roles(instance, ring[1:], "intermediary")
