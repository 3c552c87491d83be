"""Trade-based laundering (black market peso exchange): a produce importer/exporter is paid by
unrelated third parties or MSBs instead of its buyers, in round invoice-like amounts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
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
class TbmlSpec(TypologySpec):
    #: Unrelated third-party payers.
    accounts: tuple[int, int] = (3, 12)
    payments: tuple[int, int] = (4, 20)
    amount: Range = (8_000.0, 150_000.0)
    span_days: Range = (10.0, 60.0)
    #: Round to this step (drawn from the list per instance).
    round_steps: tuple[float, ...] = (500.0, 1_000.0, 5_000.0, 10_000.0)
    #: Share of payers that are MSBs (US or Mexican casas de cambio), drawn per instance.
    msb_share: Range = (0.0, 0.7)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.6), ("cheque", 0.2), ("msb_transfer", 0.2))
    reuse_share: float = 0.6


@register
class Tbml(Typology):
    name = "tbml"
    spec_type = TbmlSpec

    def plant_one(self, ctx, spec: TbmlSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        sector = "produce_export" if rng.random() < 0.5 else "produce_import"
        trader = reuse_or_new(ctx, "produce", 1, 0.9, lambda n: new_businesses(ctx, n, sector))
        n_payers = irange(rng, spec.accounts)
        n_msb = int(rng.binomial(n_payers, urange(rng, spec.msb_share)))
        msbs = np.concatenate(
            [
                reuse_or_new(ctx, "msb", n_msb // 2, 0.8, lambda n: new_businesses(ctx, n, "msb")),
                reuse_or_new(
                    ctx,
                    "mx_msb",
                    n_msb - n_msb // 2,
                    0.8,
                    lambda n: new_businesses(ctx, n, "msb", country=w.MX),
                ),
            ]
        )
        people = reuse_or_new(
            ctx, "individual", n_payers - n_msb, spec.reuse_share, lambda n: new_individuals(ctx, n)
        )
        payers = np.concatenate([msbs, people]).astype(np.int32)
        n = max(irange(rng, spec.payments), len(payers))
        src = np.r_[payers, payers[rng.integers(0, len(payers), n - len(payers))]]
        step = rng.choice(spec.round_steps)
        amount = np.maximum(np.round(np.exp(rng.uniform(*np.log(spec.amount), n)) / step) * step, step)
        t0, t1 = window(ctx, spec.span_days)
        ctx.tx.add(
            rng.permutation(src),
            trader[0],
            times(rng, t0, t1, n),
            amount,
            channels(rng, spec, n),
            reference=w.REF_CODE[rng.choice(["invoice", "factura", "produce shipment", "aguacates"])],
            instance=instance,
        )
        ctx.labels.roles(instance, payers, "originator")
        ctx.labels.roles(instance, trader, "beneficiary")
