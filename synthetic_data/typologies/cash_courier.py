"""Cash courier: individuals without matching income make repeated large cash withdrawals in
border regions, often just under the threshold, from funds wired in by others."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_DAY
from synthetic_data.typologies.base import (
    Range,
    Typology,
    TypologySpec,
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
class CashCourierSpec(TypologySpec):
    #: Couriers in the instance.
    accounts: tuple[int, int] = (1, 3)
    funders: tuple[int, int] = (1, 4)
    withdrawals: tuple[int, int] = (4, 20)
    #: Withdrawal amounts as a share of the threshold; share of them kept under the threshold.
    amount_share: Range = (0.5, 0.999)
    under_threshold: Range = (0.5, 1.0)
    above_share: Range = (1.0, 2.5)
    span_days: Range = (7.0, 60.0)
    courier_income: Range = (1_200.0, 3_500.0)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.4), ("ach", 0.3), ("cash_deposit", 0.3))
    reuse_share: float = 0.5


@register
class CashCourier(Typology):
    name = "cash_courier"
    spec_type = CashCourierSpec

    def plant_one(self, ctx, spec: CashCourierSpec, instance: int) -> None:  # type: ignore[override]
        rng, thr = ctx.rng, ctx.params.reporting_threshold
        n_c = irange(rng, spec.accounts)
        couriers = reuse_or_new(
            ctx,
            "border_individual",
            n_c,
            spec.reuse_share,
            lambda n: new_individuals(
                ctx,
                n,
                region=rng.choice(w.BORDER_REGIONS, n).astype(np.int16),
                income=np.round(rng.uniform(*spec.courier_income, n), 2),
            ),
        )
        funders = reuse_or_new(
            ctx,
            "business",
            irange(rng, spec.funders),
            0.3,
            lambda n: new_businesses(ctx, n, "holding", recent=rng.random() < 0.5),
        )
        n = irange(rng, spec.withdrawals)
        t0, t1 = window(ctx, spec.span_days, latest_start=0.9)
        ts = times(rng, t0 + US_PER_DAY, t1, n)
        under = rng.permutation(np.arange(n) < max(1, round(urange(rng, spec.under_threshold) * n)))
        amount = np.where(under, rng.uniform(*spec.amount_share, n), rng.uniform(*spec.above_share, n)) * thr
        amount = np.minimum(np.round(amount, -2), np.where(under, thr - 100, np.inf))
        who = couriers[rng.integers(0, len(couriers), n)]
        border = rng.choice(w.BORDER_REGIONS, irange(rng, (1, 3)))
        ctx.tx.add(
            who, -1, ts, amount, w.CASH_WD, region=border[rng.integers(0, len(border), n)], instance=instance
        )
        # Funding: before the withdrawals, roughly what they take out.
        m = max(len(couriers), int(np.ceil(n / 3)))
        dst = np.r_[couriers, couriers[rng.integers(0, len(couriers), m - len(couriers))]]
        fund_ts = times(rng, t0, t0 + (ts[-1] - t0) // 2 + 1, m)
        # every courier is funded within the first day, before the first trip (>= t0 + 1 day)
        fund_ts[: len(couriers)] = times(rng, t0, t0 + US_PER_DAY - 1, len(couriers))
        each = amount.sum() / m * rng.uniform(0.95, 1.1, m)
        ch = channels(rng, spec, m)
        src = funders[rng.integers(0, len(funders), m)]
        src = np.where(ch == w.CASH_DEP, -1, src)
        region = np.where(ch == w.CASH_DEP, rng.choice(w.INTERIOR_REGIONS, m), -1)
        ctx.tx.add(src, dst, fund_ts, each, ch, region=region, instance=instance)
        ctx.labels.roles(instance, src, "originator")
        # Couriers take the money on (withdraw it at the border for transport): intermediaries.
        ctx.labels.roles(instance, couriers, "intermediary")
