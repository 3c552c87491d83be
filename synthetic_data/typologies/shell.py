"""Shell-company layering: recently opened businesses with no ordinary expenses pass money on
quickly to offshore or high-risk jurisdictions."""

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
    new_businesses,
    offshore,
    register,
    reuse_or_new,
    times,
    urange,
    window,
)


@dataclass(frozen=True)
class ShellSpec(TypologySpec):
    #: Shell companies in the instance.
    accounts: tuple[int, int] = (1, 4)
    payers: tuple[int, int] = (1, 8)
    payments: tuple[int, int] = (3, 20)
    offshore_receivers: tuple[int, int] = (1, 3)
    amount: Range = (10_000.0, 400_000.0)
    span_days: Range = (5.0, 60.0)
    hold_hours: Range = (2.0, 120.0)
    out_share: Range = (0.85, 0.99)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.9), ("ach", 0.1))
    reuse_share: float = 0.6


@register
class Shell(Typology):
    name = "shell"
    spec_type = ShellSpec

    def plant_one(self, ctx, spec: ShellSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        shells = new_businesses(
            ctx,
            irange(rng, spec.accounts),
            "shell" if rng.random() < 0.6 else "holding",
            recent=True,
            turnover=np.round(rng.lognormal(np.log(20_000), 0.7), 2),
        )
        payers = reuse_or_new(
            ctx, "business", irange(rng, spec.payers), spec.reuse_share, lambda n: offshore(ctx, n)
        )
        receivers = offshore(ctx, irange(rng, spec.offshore_receivers))
        n = irange(rng, spec.payments)
        t0, t1 = window(ctx, spec.span_days, latest_start=0.9)
        ts = times(rng, t0, t1, n)
        amount = amounts(rng, spec, n)
        dst = shells[rng.integers(0, len(shells), n)]
        src = payers[rng.integers(0, len(payers), n)]
        ctx.tx.add(src, dst, ts, amount, channels(rng, spec, n), instance=instance)
        used_shells = [dst]
        # Shell-to-shell hops when there are several, then out to the offshore receivers.
        hop = len(shells) > 1
        out_ts = ts + (rng.uniform(*spec.hold_hours, n) * US_PER_HOUR).astype(np.int64) + 1
        out = amount * urange(rng, spec.out_share)
        if hop:
            nxt = shells[(np.searchsorted(np.sort(shells), dst) + 1) % len(shells)]
            nxt = np.where(nxt == dst, shells[0], nxt)
            ok = nxt != dst
            ctx.tx.add(
                dst[ok], nxt[ok], out_ts[ok], out[ok], channels(rng, spec, int(ok.sum())), instance=instance
            )
            used_shells.append(nxt[ok])
            dst = np.where(ok, nxt, dst)
            out_ts = out_ts + (rng.uniform(*spec.hold_hours, n) * US_PER_HOUR).astype(np.int64) + 1
        final = receivers[rng.integers(0, len(receivers), n)]
        ctx.tx.add(dst, final, out_ts, out, w.WIRE, instance=instance)
        ctx.labels.roles(instance, src, "originator")
        ctx.labels.roles(instance, np.concatenate(used_shells), "intermediary")
        ctx.labels.roles(instance, final, "beneficiary")
