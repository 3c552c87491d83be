"""Gather-scatter: A1..Ak pay B, then B pays C1..Cm soon after (in ~ out at B)."""

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
class GatherScatterSpec(TypologySpec):
    #: Number of payers into the hub.
    accounts: tuple[int, int] = (3, 12)
    receivers: tuple[int, int] = (3, 12)
    amount: Range = (1_000.0, 30_000.0)
    span_days: Range = (0.5, 7.0)
    #: Delay (hours) between the gather and the scatter phase; share kept by the hub.
    hold_hours: Range = (2.0, 96.0)
    fee: Range = (0.0, 0.05)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.5), ("ach", 0.4), ("msb_transfer", 0.1))
    reuse_share: float = 0.5


@register
class GatherScatter(Typology):
    name = "gather_scatter"
    spec_type = GatherScatterSpec

    def plant_one(self, ctx, spec: GatherScatterSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        make = lambda n: new_individuals(ctx, n, recent=rng.random() < 0.5)  # noqa: E731
        payers = reuse_or_new(ctx, "individual", irange(rng, spec.accounts), spec.reuse_share, make)
        hub = reuse_or_new(
            ctx,
            "business",
            1,
            spec.reuse_share,
            lambda n: new_businesses(ctx, n, "holding", recent=rng.random() < 0.6),
        )
        receivers = reuse_or_new(ctx, "individual", irange(rng, spec.receivers), spec.reuse_share, make)
        t0, t1 = window(ctx, spec.span_days)
        ts_in = times(rng, t0, t1, len(payers))
        amount_in = amounts(rng, spec, len(payers))
        ctx.tx.add(payers, hub[0], ts_in, amount_in, channels(rng, spec, len(payers)), instance=instance)
        total = amount_in.sum() * (1 - urange(rng, spec.fee))
        share = rng.dirichlet(np.full(len(receivers), 3.0))
        start = ts_in[-1] + int(urange(rng, spec.hold_hours) * US_PER_HOUR)
        ts_out = times(rng, start, start + int(urange(rng, spec.hold_hours) * US_PER_HOUR), len(receivers))
        ctx.tx.add(
            hub[0], receivers, ts_out, total * share, channels(rng, spec, len(receivers)), instance=instance
        )
        ctx.labels.roles(instance, payers, "originator")
        ctx.labels.roles(instance, hub, "intermediary")
        ctx.labels.roles(instance, receivers, "beneficiary")
