"""AMLSim's AML typologies as data (:class:`AlertPattern`) and shapes (:data:`TYPOLOGIES`).

Used by :mod:`synthetic_data.amlsim_like`. Each shape lays out one alert instance: which member
pays which, on which day, how much. Amounts are drawn from the pattern's range; a hop that
passes money on keeps a random margin of up to the simulation's ``margin_ratio``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class AlertPattern:
    """One row of AMLSim's ``alertPatterns.csv``."""

    type: str
    count: int
    min_accounts: int
    max_accounts: int
    min_amount: float = 100.0
    max_amount: float = 1_000.0
    min_period: int = 2
    max_period: int = 28
    is_sar: bool = True


def amounts(size: int | tuple[int, ...], rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """Uniform amounts in [lo, hi], rounded to cents."""
    return np.round(rng.uniform(lo, hi, size), 2)


class Plan(NamedTuple):
    """One alert instance to lay out: members (main account first), day range, pattern, margin."""

    members: np.ndarray
    start: int
    end: int
    pattern: AlertPattern
    margin: float


Typology = Callable[[Plan, np.random.Generator], list[tuple]]


def _hops(src, dst, day, amount) -> list[tuple]:
    return [(np.atleast_1d(src), np.atleast_1d(dst), np.atleast_1d(day), np.atleast_1d(amount))]


def _margin(rng: np.random.Generator, ratio: float, size=None) -> np.ndarray:
    return 1.0 - rng.uniform(0.0, ratio, size)


def fan_out(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """The main account pays every other member."""
    m, start, end, p, _ratio = plan
    n = m.size - 1
    return _hops(m[0], m[1:], rng.integers(start, end + 1, n), amounts(n, rng, p.min_amount, p.max_amount))


def fan_in(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Every other member pays the main account."""
    m, start, end, p, _ratio = plan
    n = m.size - 1
    return _hops(m[1:], m[0], rng.integers(start, end + 1, n), amounts(n, rng, p.min_amount, p.max_amount))


def cycle(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Money goes round the members and back to the first, each hop keeping a margin."""
    m, start, end, p, ratio = plan
    n = m.size
    days = np.sort(rng.integers(start, end + 1, n))
    amount = rng.uniform(p.min_amount, p.max_amount) * np.cumprod(_margin(rng, ratio, n))
    return _hops(m, np.roll(m, -1), days, np.round(amount, 2))


def bipartite(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Every originator (first half) pays every beneficiary (second half)."""
    m, start, end, p, _ratio = plan
    h = m.size // 2
    src, dst = np.meshgrid(m[:h], m[h:], indexing="ij")
    n = src.size
    return _hops(
        src.ravel(),
        dst.ravel(),
        rng.integers(start, end + 1, n),
        amounts(n, rng, p.min_amount, p.max_amount),
    )


def stack(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Three layers; every account of a layer pays every account of the next (layered bipartite)."""
    m, start, end, p, ratio = plan
    layers = np.array_split(m, 3)
    mid = (start + end) // 2
    out = []
    for i, (a, b) in enumerate(itertools.pairwise(layers)):
        src, dst = np.meshgrid(a, b, indexing="ij")
        lo, hi = (start, mid) if i == 0 else (mid, end)
        amount = amounts(src.size, rng, p.min_amount, p.max_amount) * (_margin(rng, ratio) if i else 1.0)
        out += _hops(src.ravel(), dst.ravel(), rng.integers(lo, hi + 1, src.size), np.round(amount, 2))
    return out


def scatter_gather(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """The originator pays intermediaries, who each pass it on (less a margin) to one beneficiary."""
    m, start, end, p, ratio = plan
    orig, mids, bene = m[0], m[1:-1], m[-1]
    mid = (start + end) // 2
    amount = amounts(mids.size, rng, p.min_amount, p.max_amount)
    first = rng.integers(start, mid + 1, mids.size)
    second = np.minimum(first + rng.integers(1, max(2, end - mid + 1), mids.size), end)
    return _hops(orig, mids, first, amount) + _hops(
        mids, bene, second, np.round(amount * _margin(rng, ratio, mids.size), 2)
    )


def gather_scatter(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Originators pay one hub, which then pays the beneficiaries the total less a margin."""
    m, start, end, p, ratio = plan
    hub, rest = m[0], m[1:]
    h = rest.size // 2
    origs, benes = rest[:h], rest[h:]
    mid = (start + end) // 2
    amount = amounts(origs.size, rng, p.min_amount, p.max_amount)
    total = amount.sum() * _margin(rng, ratio)
    shares = rng.dirichlet(np.ones(benes.size)) * total
    return _hops(origs, hub, rng.integers(start, mid + 1, origs.size), amount) + _hops(
        hub, benes, rng.integers(mid + 1, end + 1, benes.size), np.round(shares, 2)
    )


def random_walk(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Money moves between randomly chosen members, each hop from the last receiver."""
    m, start, end, p, ratio = plan
    n = m.size
    path = [0]
    for _ in range(n - 1):
        path.append(int(rng.choice(np.setdiff1d(np.arange(n), [path[-1]]))))
    path = np.array(path)
    days = np.sort(rng.integers(start, end + 1, n - 1))
    amount = rng.uniform(p.min_amount, p.max_amount) * np.cumprod(_margin(rng, ratio, n - 1))
    return _hops(m[path[:-1]], m[path[1:]], days, np.round(amount, 2))


#: AMLSim typology name -> shape (one function per typology, chosen from this registry).
TYPOLOGIES: dict[str, Typology] = {
    "fan_in": fan_in,
    "fan_out": fan_out,
    "cycle": cycle,
    "bipartite": bipartite,
    "stack": stack,
    "scatter_gather": scatter_gather,
    "gather_scatter": gather_scatter,
    "random": random_walk,
}
