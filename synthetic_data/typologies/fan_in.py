"""Fan-in: many distinct accounts pay one account within a short window."""

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
    new_individuals,
    register,
    reuse_or_new,
    times,
    urange,
    window,
)


@dataclass(frozen=True)
class FanInSpec(TypologySpec):
    #: Distinct senders.
    accounts: tuple[int, int] = (5, 20)
    amount: Range = (300.0, 9_500.0)
    span_days: Range = (0.5, 10.0)
    payments_per_sender: tuple[int, int] = (1, 2)
    #: Relative spread of amounts around the instance's base amount (drawn per instance).
    amount_spread: Range = (0.02, 0.4)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.35), ("ach", 0.45), ("msb_transfer", 0.2))
    reuse_share: float = 0.5


@register
class FanIn(Typology):
    name = "fan_in"
    spec_type = FanInSpec

    def plant_one(self, ctx, spec: FanInSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        senders = reuse_or_new(
            ctx,
            "individual",
            irange(rng, spec.accounts),
            spec.reuse_share,
            lambda n: new_individuals(ctx, n, recent=rng.random() < 0.5),
        )
        if rng.random() < 0.5:
            target = reuse_or_new(
                ctx, "business", 1, spec.reuse_share, lambda n: new_businesses(ctx, n, "holding", recent=True)
            )
        else:
            target = reuse_or_new(ctx, "individual", 1, spec.reuse_share, lambda n: new_individuals(ctx, n))
        k = rng.integers(spec.payments_per_sender[0], spec.payments_per_sender[1] + 1, len(senders))
        src = np.repeat(senders, k)
        t0, t1 = window(ctx, spec.span_days)
        ts = times(rng, t0, t1, len(src))
        amount = amounts(rng, spec, len(src), similar=urange(rng, spec.amount_spread))
        ctx.tx.add(
            rng.permutation(src), target[0], ts, amount, channels(rng, spec, len(src)), instance=instance
        )
        ctx.labels.roles(instance, senders, "originator")
        ctx.labels.roles(instance, target, "beneficiary")
