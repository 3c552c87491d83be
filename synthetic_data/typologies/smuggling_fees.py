"""Human-smuggling payments: many small, similar transfers from unrelated first-time senders,
often cross-border through MSBs, to a collector in a border region."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
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
class SmugglingFeesSpec(TypologySpec):
    #: Distinct senders.
    accounts: tuple[int, int] = (6, 35)
    amount: Range = (300.0, 4_000.0)
    amount_spread: Range = (0.05, 0.35)
    span_days: Range = (3.0, 45.0)
    #: Share of senders abroad (Mexico) and of transfers quoted in pesos.
    foreign_share: Range = (0.2, 0.9)
    mxn_share: Range = (0.0, 0.5)
    channels: tuple[tuple[str, float], ...] = (("msb_transfer", 0.75), ("wire", 0.15), ("ach", 0.1))
    reuse_share: float = 0.3


@register
class SmugglingFees(Typology):
    name = "smuggling_fees"
    spec_type = SmugglingFeesSpec

    def plant_one(self, ctx, spec: SmugglingFeesSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        collector = reuse_or_new(
            ctx,
            "border_individual",
            1,
            0.5,
            lambda n: new_individuals(
                ctx, n, region=rng.choice(w.BORDER_REGIONS, n).astype(np.int16), recent=rng.random() < 0.5
            ),
        )
        n = irange(rng, spec.accounts)
        n_mx = int(rng.binomial(n, urange(rng, spec.foreign_share)))
        senders = np.concatenate(
            [
                new_individuals(ctx, n_mx, country=w.MX),
                reuse_or_new(
                    ctx, "individual", n - n_mx, spec.reuse_share, lambda k: new_individuals(ctx, k)
                ),
            ]
        )
        t0, t1 = window(ctx, spec.span_days)
        amount = amounts(rng, spec, n, similar=urange(rng, spec.amount_spread))
        in_mxn = (rng.random(n) < urange(rng, spec.mxn_share)) & (np.arange(n) < n_mx)
        orig = np.where(in_mxn, np.round(amount / w.MXN_TO_USD, -2), np.round(amount, 0))
        amount = np.where(in_mxn, orig * w.MXN_TO_USD, orig)
        ctx.tx.add(
            senders,
            collector[0],
            times(rng, t0, t1, n),
            amount,
            channels(rng, spec, n),
            currency=np.where(in_mxn, w.MXN, w.USD),
            orig_amount=orig,
            instance=instance,
        )
        ctx.labels.roles(instance, senders, "originator")
        ctx.labels.roles(instance, collector, "beneficiary")
