"""Fan-out: one account pays many distinct accounts within a short window."""

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
class FanOutSpec(TypologySpec):
    #: Distinct receivers.
    accounts: tuple[int, int] = (5, 20)
    amount: Range = (300.0, 9_500.0)
    span_days: Range = (0.3, 10.0)
    payments_per_receiver: tuple[int, int] = (1, 2)
    amount_spread: Range = (0.02, 0.4)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.3), ("ach", 0.5), ("msb_transfer", 0.2))
    reuse_share: float = 0.5


@register
class FanOut(Typology):
    name = "fan_out"
    spec_type = FanOutSpec

    def plant_one(self, ctx, spec: FanOutSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        if rng.random() < 0.5:
            source = reuse_or_new(
                ctx,
                "business",
                1,
                spec.reuse_share,
                lambda n: new_businesses(ctx, n, "holding", recent=rng.random() < 0.5),
            )
        else:
            source = reuse_or_new(ctx, "individual", 1, spec.reuse_share, lambda n: new_individuals(ctx, n))
        receivers = reuse_or_new(
            ctx,
            "individual",
            irange(rng, spec.accounts),
            spec.reuse_share,
            lambda n: new_individuals(ctx, n, recent=rng.random() < 0.5),
        )
        k = rng.integers(spec.payments_per_receiver[0], spec.payments_per_receiver[1] + 1, len(receivers))
        dst = rng.permutation(np.repeat(receivers, k))
        t0, t1 = window(ctx, spec.span_days)
        ts = times(rng, t0, t1, len(dst))
        amount = amounts(rng, spec, len(dst), similar=urange(rng, spec.amount_spread))
        ctx.tx.add(source[0], dst, ts, amount, channels(rng, spec, len(dst)), instance=instance)
        ctx.labels.roles(instance, source, "originator")
        ctx.labels.roles(instance, receivers, "beneficiary")
