"""Structuring / smurfing: cash deposits kept just under the reporting threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_HOUR
from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
    irange,
    new_individuals,
    register,
    reuse_or_new,
    urange,
    window,
)


@dataclass(frozen=True)
class StructuringSpec(TypologySpec):
    #: Beneficiary accounts receiving the deposits.
    accounts: tuple[int, int] = (1, 4)
    depositors: tuple[int, int] = (1, 6)
    deposits: tuple[int, int] = (5, 30)
    #: Deposit amounts lie in [floor, ceiling) x threshold; both drawn per instance.
    floor_share: Range = (0.60, 0.92)
    ceiling_share: Range = (0.95, 0.999)
    span_days: Range = (2.0, 25.0)
    branches: tuple[int, int] = (1, 4)
    #: Share of deposits made anonymously (``src_account`` = CASH), drawn per instance.
    anonymous_share: Range = (0.0, 0.6)
    channels: tuple[tuple[str, float], ...] = (("cash_deposit", 1.0),)
    reuse_share: float = 0.6


@register
class Structuring(Typology):
    name = "structuring"
    spec_type = StructuringSpec

    def plant_one(self, ctx, spec: StructuringSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        make = lambda n: new_individuals(ctx, n)  # noqa: E731
        bens = reuse_or_new(ctx, "individual", irange(rng, spec.accounts), spec.reuse_share, make)
        deps = reuse_or_new(ctx, "individual", irange(rng, spec.depositors), spec.reuse_share, make)
        n = irange(rng, spec.deposits)
        thr = ctx.params.reporting_threshold
        lo, hi = urange(rng, spec.floor_share) * thr, urange(rng, spec.ceiling_share) * thr
        step = rng.choice([1.0, 10.0, 50.0, 100.0])
        amount = np.minimum(np.floor(rng.uniform(lo, hi, n) / step) * step, thr - 0.01)
        src = np.where(
            rng.random(n) < urange(rng, spec.anonymous_share), -1, deps[rng.integers(0, len(deps), n)]
        )
        dst = bens[rng.integers(0, len(bens), n)]
        home = ctx.book.column("region")[dst[0]]
        branches = np.r_[home, rng.integers(0, w.N_US_REGIONS, irange(rng, spec.branches) - 1)]
        t0, t1 = window(ctx, spec.span_days)
        day = np.sort(rng.uniform(0, (t1 - t0) / (24 * US_PER_HOUR), n)).astype(np.int64)
        ts = t0 + day * 24 * US_PER_HOUR + (rng.uniform(9, 17, n) * US_PER_HOUR).astype(np.int64)
        ctx.tx.add(
            src,
            dst,
            ts,
            amount,
            w.CASH_DEP,
            region=branches[rng.integers(0, len(branches), n)],
            instance=instance,
        )
        # Depositors conduct the placement; the accounts credited are where the cash enters the
        # banking system, for their holders: both originate the scheme (docs/typologies.md, Roles).
        ctx.labels.roles(instance, np.r_[src, dst], "originator")
