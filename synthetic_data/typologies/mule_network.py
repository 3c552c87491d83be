"""Money-mule ring: new accounts sharing identifiers receive funds and forward them to one collector."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_HOUR
from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
    amounts,
    channels,
    irange,
    new_individuals,
    register,
    reuse_or_new,
    times,
    urange,
    window,
)


@dataclass(frozen=True)
class MuleNetworkSpec(TypologySpec):
    #: Mule accounts in the ring.
    accounts: tuple[int, int] = (4, 15)
    amount: Range = (400.0, 6_000.0)
    span_days: Range = (2.0, 30.0)
    payments_per_mule: tuple[int, int] = (1, 3)
    #: Forwarded share and delay before forwarding (hours), drawn per instance.
    forward_share: Range = (0.8, 0.97)
    forward_hours: Range = (0.5, 24.0)
    #: Probability that the ring shares an address / a phone / a device (at least one is shared).
    share_probability: tuple[float, float, float] = (0.6, 0.4, 0.7)
    channels: tuple[tuple[str, float], ...] = (("ach", 0.5), ("wire", 0.3), ("msb_transfer", 0.2))
    reuse_share: float = 0.7


@register
class MuleNetwork(Typology):
    name = "mule_network"
    spec_type = MuleNetworkSpec

    def plant_one(self, ctx, spec: MuleNetworkSpec, instance: int) -> None:  # type: ignore[override]
        rng, book = ctx.rng, ctx.book
        n_mules = irange(rng, spec.accounts)
        share = rng.random(3) < np.array(spec.share_probability)
        if not share.any():
            share[rng.integers(0, 3)] = True
        shared = {
            key: int(book.keys(1)[0])
            for key, on in zip(("address", "phone", "device"), share, strict=False)
            if on
        }
        region = np.int16(rng.integers(0, w.N_US_REGIONS))
        mules = new_individuals(
            ctx,
            n_mules,
            recent=True,
            shared=shared,
            region=region,
            income=np.round(rng.lognormal(np.log(1800), 0.4, n_mules), 2),
        )
        collector = reuse_or_new(
            ctx, "individual", 1, 0.3, lambda n: new_individuals(ctx, n, recent=rng.random() < 0.5)
        )
        k = rng.integers(spec.payments_per_mule[0], spec.payments_per_mule[1] + 1, n_mules)
        dst = np.repeat(mules, k)
        senders = reuse_or_new(
            ctx, "individual", len(dst), spec.reuse_share, lambda n: new_individuals(ctx, n)
        )
        t0, t1 = window(ctx, spec.span_days)
        ts = times(rng, t0, t1, len(dst))
        amount = amounts(rng, spec, len(dst))
        ctx.tx.add(senders, dst, ts, amount, channels(rng, spec, len(dst)), instance=instance)
        fwd = amount * urange(rng, spec.forward_share)
        delay = (rng.uniform(*spec.forward_hours, len(dst)) * US_PER_HOUR).astype(np.int64)
        ctx.tx.add(
            dst, collector[0], ts + delay, np.round(fwd, 2), channels(rng, spec, len(dst)), instance=instance
        )
        ctx.labels.roles(instance, senders, "originator")
        ctx.labels.roles(instance, mules, "intermediary")
        ctx.labels.roles(instance, collector, "beneficiary")
