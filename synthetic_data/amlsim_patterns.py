"""AMLSim's AML typologies as data (:class:`AlertPattern`) and shapes (:data:`TYPOLOGIES`).

Used by :mod:`synthetic_data.amlsim_like`. Each shape lays out one alert instance the way
AMLSim's Java simulator does (``src/main/java/amlsim/model/aml/*Typology.java``): only the
alert's *main* account acts (``Account.handleAction`` calls ``Alert.registerTransactions`` for
the main account, once per step), amounts come from the pattern's range and each hop that
passes money on keeps exactly ``margin_ratio`` of it (``AMLTypology.marginRatio``):

* ``fan_in`` / ``fan_out`` (``FanInTypology`` / ``FanOutTypology``, schedule 2 = fixed
  interval): one payment per other member, spaced ``period // n`` days apart, one random amount
  per day;
* ``cycle`` (``CycleTypology``, schedule 2 = unordered): hop days random (first on the start
  day, one on the end day), the first payment in time is ``max_amount`` and every later one
  ``(1 - margin)`` of the previous, never below ``min_amount``;
* ``bipartite`` / ``stack`` (``BipartiteTypology`` / ``StackTypology``): on *every* day of the
  period the main account (first originator) pays every account of the next layer one random
  amount; the other members never send (they are not the main account);
* ``scatter_gather`` (``ScatterGatherTypology``): the main account pays each intermediary
  ``max_amount`` in the first half, each intermediary pays the beneficiary
  ``max(max_amount * (1 - margin), min_amount)`` in the second half;
* ``gather_scatter`` (``GatherScatterTypology``): originators pay the main account random
  amounts in the first half; it pays each beneficiary ``total * (1 - margin) / n`` after;
* ``random`` (``RandomTypology``): on up to ``n`` random days, the current holder pays one of
  its *graph* neighbours (a normal counterparty, not an alert member) and that one holds next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class AlertPattern:
    """One row of AMLSim's ``alertPatterns.csv`` (shipped files: 5-10 members, period 5-20)."""

    type: str
    count: int
    min_accounts: int
    max_accounts: int
    min_amount: float = 100.0
    max_amount: float = 1_000.0
    min_period: int = 5
    max_period: int = 20
    is_sar: bool = True


def amounts(size: int | tuple[int, ...], rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """Uniform amounts in [lo, hi], rounded to cents."""
    return np.round(rng.uniform(lo, hi, size), 2)


class Graph(NamedTuple):
    """Out-neighbours of every account in CSR form: ``dst[starts[a] : starts[a] + counts[a]]``."""

    starts: np.ndarray
    counts: np.ndarray
    dst: np.ndarray

    @classmethod
    def from_edges(cls, edges: np.ndarray, n: int) -> Graph:
        """CSR of directed ``edges`` (m, 2) over ``n`` accounts."""
        order = np.argsort(edges[:, 0], kind="stable")
        starts = np.searchsorted(edges[order, 0], np.arange(n))
        return cls(starts, np.bincount(edges[:, 0], minlength=n), edges[order, 1])


class Plan(NamedTuple):
    """One alert instance to lay out: members (main account first), day range (inclusive),
    pattern, margin ratio and the normal account graph (for ``random``)."""

    members: np.ndarray
    start: int
    end: int
    pattern: AlertPattern
    margin: float
    graph: Graph


Typology = Callable[[Plan, np.random.Generator], list[tuple]]


def _hops(src, dst, day, amount) -> list[tuple]:
    return [(np.atleast_1d(src), np.atleast_1d(dst), np.atleast_1d(day), np.atleast_1d(amount))]


def _per_day(days: np.ndarray, rng: np.random.Generator, p: AlertPattern) -> np.ndarray:
    """One random amount per distinct day (AMLSim draws once per ``sendTransactions`` call)."""
    unique, index = np.unique(days, return_inverse=True)
    return amounts(unique.size, rng, p.min_amount, p.max_amount)[index]


def _fixed_interval(start: int, end: int, n: int) -> np.ndarray:
    """``FanInTypology`` schedule 2: ``n`` days from ``start`` spaced ``(end - start + 1) // n``."""
    span = end - start + 1
    i = np.arange(n)
    return start + (i * (span // n) if n < span else i // max(n // span, 1))


def _split(
    start: int, end: int, first: int, second: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Days of a two-phase scheme: ``first`` in [start, mid) (one on start), ``second`` in
    [mid + 1, end) (one on end), as ``getRandomStepRange`` draws them."""
    mid = (start + end) // 2
    a = np.r_[start, rng.integers(start, max(mid, start + 1), max(first - 1, 0))][:first]
    b = np.r_[end, rng.integers(min(mid + 1, end - 1), end, max(second - 1, 0))][:second]
    return a, b


def _after_margin(p: AlertPattern, margin: float) -> float:
    """``max_amount`` less the margin, never below ``min_amount`` (``ScatterGatherTypology``)."""
    return max(p.max_amount * (1.0 - margin), p.min_amount)


def fan_out(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """The main account pays every other member, one member per interval."""
    m, start, end, p, _margin, _g = plan
    days = _fixed_interval(start, end, m.size - 1)
    return _hops(m[0], m[1:], days, _per_day(days, rng, p))


def fan_in(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Every other member pays the main account, one member per interval."""
    m, start, end, p, _margin, _g = plan
    days = _fixed_interval(start, end, m.size - 1)
    return _hops(m[1:], m[0], days, _per_day(days, rng, p))


def cycle(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Member i pays member i + 1 (the last pays the main account); amounts shrink in time order."""
    m, start, end, p, margin, _g = plan
    n = m.size
    days = np.r_[start, end, rng.integers(start, end + 1, n - 2)][:n]
    order = np.lexsort((np.arange(n), days))
    amount = np.empty(n)
    amount[order] = np.maximum(p.max_amount * (1.0 - margin) ** np.arange(n), p.min_amount)
    return _hops(m, np.roll(m, -1), days, np.round(amount, 2))


def _every_day(src: int, dst: np.ndarray, plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """``src`` pays every account of ``dst`` on every day of the period, one amount per day."""
    days = np.arange(plan.start, plan.end + 1)
    amount = amounts(days.size, rng, plan.pattern.min_amount, plan.pattern.max_amount)
    return _hops(src, dst[None, :], days[:, None], amount[:, None])


def bipartite(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """The main account (first of the originating half) pays the other half, every day."""
    m = plan.members
    return _every_day(int(m[0]), m[m.size // 2 :], plan, rng)


def stack(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """The main account (first of the first third) pays the middle third, every day."""
    m = plan.members
    third = m.size // 3
    return _every_day(int(m[0]), m[third : 2 * third], plan, rng)


def scatter_gather(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Main account -> intermediaries (``max_amount`` each) -> one beneficiary (less the margin)."""
    m, start, end, p, margin, _g = plan
    orig, bene, mids = m[0], m[1], m[2:]
    scatter, gather = _split(start, end, mids.size, mids.size, rng)
    return _hops(orig, mids, scatter, p.max_amount) + _hops(mids, bene, gather, _after_margin(p, margin))


def gather_scatter(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """Originators -> main account (random amounts) -> beneficiaries (equal shares less the margin)."""
    m, start, end, p, margin, _g = plan
    hub, rest = m[0], m[1:]
    origs, benes = rest[: rest.size // 2], rest[rest.size // 2 :]
    gather, scatter = _split(start, end, origs.size, benes.size, rng)
    amount = amounts(origs.size, rng, p.min_amount, p.max_amount)
    share = np.round(amount.sum() * (1.0 - margin) / benes.size, 2)
    return _hops(origs, hub, gather, amount) + _hops(hub, benes, scatter, share)


def random_walk(plan: Plan, rng: np.random.Generator) -> list[tuple]:
    """On up to ``n`` distinct random days the holder pays a random graph neighbour, who holds next."""
    m, start, end, p, _margin, g = plan
    days = np.unique(rng.integers(start, end + 1, m.size))
    path = [int(m[0])]
    for _ in days:  # at most ~10 hops per instance
        holder = path[-1]
        if g.counts[holder] == 0:
            break
        path.append(int(g.dst[g.starts[holder] + rng.integers(g.counts[holder])]))
    path = np.array(path)
    n = path.size - 1
    return _hops(path[:-1], path[1:], days[:n], amounts(n, rng, p.min_amount, p.max_amount))


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
