"""Stacked layers: layer 1 pays layer 2, which pays layer 3, ... (dense, synchronised bipartite blocks)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from synthetic_data.book import US_PER_DAY, US_PER_HOUR
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
    urange,
)


@dataclass(frozen=True)
class LayeringSpec(TypologySpec):
    #: Width of each layer.
    accounts: tuple[int, int] = (2, 5)
    #: Number of layers (including the first and the last).
    layers: tuple[int, int] = (3, 5)
    amount: Range = (5_000.0, 150_000.0)
    #: Days between layers; spread (hours) of the payments of one layer.
    layer_gap_days: Range = (0.3, 4.0)
    jitter_hours: Range = (0.2, 8.0)
    #: Probability that an account pays a given account of the next layer (density of the block).
    density: Range = (0.6, 1.0)
    fee: Range = (0.0, 0.03)
    span_days: Range = (1.0, 20.0)
    channels: tuple[tuple[str, float], ...] = (("wire", 0.8), ("ach", 0.2))
    reuse_share: float = 0.4


@register
class Layering(Typology):
    name = "layering"
    spec_type = LayeringSpec

    def plant_one(self, ctx, spec: LayeringSpec, instance: int) -> None:  # type: ignore[override]
        rng = ctx.rng
        n_layers = irange(rng, spec.layers)
        widths = rng.integers(spec.accounts[0], spec.accounts[1] + 1, n_layers)
        layers = [
            reuse_or_new(
                ctx,
                "business",
                int(k),
                spec.reuse_share,
                lambda n: new_businesses(ctx, n, "holding", recent=rng.random() < 0.5),
            )
            for k in widths
        ]
        gap = urange(rng, spec.layer_gap_days) * US_PER_DAY
        jitter = urange(rng, spec.jitter_hours) * US_PER_HOUR
        length = (gap + jitter) * (n_layers - 1)
        t = ctx.start_us + int(rng.uniform(0, max(ctx.days * US_PER_DAY - length, 1)))
        held = amounts(rng, spec, len(layers[0]))
        density, keep = urange(rng, spec.density), 1 - urange(rng, spec.fee)
        for a, b in itertools.pairwise(layers):
            edges = rng.random((len(a), len(b))) < density
            edges[np.arange(len(a)), rng.integers(0, len(b), len(a))] = True  # everyone pays someone
            edges[rng.integers(0, len(a), len(b)), np.arange(len(b))] = True  # everyone is paid
            i, j = np.nonzero(edges)
            amount = held[i] / edges.sum(axis=1)[i] * keep
            ts = t + rng.uniform(0, jitter, len(i)).astype(np.int64)
            ctx.tx.add(a[i], b[j], ts, amount, channels(rng, spec, len(i)), instance=instance)
            held = np.bincount(j, weights=amount, minlength=len(b))
            t += int(gap + jitter)  # a layer pays only after the previous one is done
        ctx.labels.roles(instance, layers[0], "originator")
        ctx.labels.roles(instance, np.concatenate(layers[1:-1]), "intermediary")
        ctx.labels.roles(instance, layers[-1], "beneficiary")
