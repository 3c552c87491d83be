"""What a typology is: a frozen spec (the data) and a planter (the shape), in a registry.

Every spec shares count, accounts range, amount range, time span, channel mix and the share of
participants taken from the existing population; typologies add their own fields. Each instance
draws its own parameters from these ranges, so no single threshold separates the schemes.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_DAY
from synthetic_data.context import GenContext

Range = tuple[float, float]


@dataclass(frozen=True)
class TypologySpec:
    """Parameters shared by all typologies (ranges are drawn per instance)."""

    count: int = 30
    #: Number of participating accounts (meaning per typology, e.g. fan width or cycle length).
    accounts: tuple[int, int] = (5, 15)
    #: Amount per transaction (USD).
    amount: Range = (1_000.0, 10_000.0)
    #: Duration of one instance, in days.
    span_days: Range = (1.0, 7.0)
    #: Channel mix as (channel name, weight).
    channels: tuple[tuple[str, float], ...] = (("wire", 0.5), ("ach", 0.5))
    #: Share of participants reused from ordinary accounts (the rest are new accounts).
    reuse_share: float = 0.5


class Typology:
    """Base planter: ``plant`` loops over instances (not transactions) calling ``plant_one``."""

    name: ClassVar[str]
    spec_type: ClassVar[type[TypologySpec]] = TypologySpec

    def spec(self, overrides: dict[str, Any], default_count: int | None) -> TypologySpec:
        """The default spec with ``overrides`` applied (unknown fields fail loudly)."""
        base = self.spec_type()
        fields = {f.name for f in dataclasses.fields(base)}
        unknown = set(overrides) - fields
        if unknown:
            raise ValueError(f"typology {self.name!r}: unknown parameter(s) {sorted(unknown)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        if default_count is not None and "count" not in values:
            values["count"] = default_count
        return dataclasses.replace(base, **values)

    def plant(self, ctx: GenContext, spec: TypologySpec) -> None:
        for _ in range(spec.count):
            self.plant_one(ctx, spec, ctx.labels.new_instance(self.name))

    def plant_one(self, ctx: GenContext, spec: TypologySpec, instance: int) -> None:
        raise NotImplementedError


REGISTRY: dict[str, Typology] = {}


def register(cls: type[Typology]) -> type[Typology]:
    """Class decorator adding a typology to :data:`REGISTRY` under its ``name``."""
    REGISTRY[cls.name] = cls()
    return cls


# ---------------------------------------------------------------- helpers shared by typologies
def irange(rng: np.random.Generator, r: tuple[int, int]) -> int:
    return int(rng.integers(r[0], r[1] + 1))


def urange(rng: np.random.Generator, r: Range, size: int | None = None) -> Any:
    return rng.uniform(r[0], r[1], size)


def offshore(ctx: GenContext, n: int) -> np.ndarray:
    """``n`` new business accounts in offshore or high-risk jurisdictions."""
    region = ctx.rng.choice(w.OFFSHORE_REGION_CODES, n)
    country = np.array([w.OFFSHORE_COUNTRY_OF_REGION[int(r)] for r in region])
    return new_businesses(ctx, n, "holding", country=country, region=region.astype(np.int16))


@functools.lru_cache(maxsize=256)
def _channel_cdf(mix: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
    codes = np.array([w.CHANNEL_CODE[c] for c, _ in mix], np.int8)
    cdf = np.cumsum([x for _, x in mix], dtype=float)
    return codes, cdf / cdf[-1]


def channels(rng: np.random.Generator, spec: TypologySpec, n: int) -> np.ndarray:
    """``n`` channel codes drawn from ``spec.channels``."""
    codes, cdf = _channel_cdf(spec.channels)
    return codes[np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(codes) - 1)]


def window(ctx: GenContext, span_days: Range, *, latest_start: float = 1.0) -> tuple[int, int]:
    """A random [t0, t1] (µs) of a random length within the period."""
    span = min(urange(ctx.rng, span_days), 0.6 * ctx.days)  # leaves room for tails in short runs
    t0 = ctx.rng.uniform(0, (ctx.days - span) * latest_start)
    return ctx.start_us + int(t0 * US_PER_DAY), ctx.start_us + int((t0 + span) * US_PER_DAY)


def times(rng: np.random.Generator, t0: int, t1: int, n: int) -> np.ndarray:
    """``n`` sorted timestamps uniform in [t0, t1]."""
    return np.sort(rng.integers(t0, max(t1, t0 + 1), n))


def amounts(
    rng: np.random.Generator, spec: TypologySpec, n: int, *, similar: float | None = None
) -> np.ndarray:
    """Amounts in ``spec.amount``: independent, or around one instance base (``similar`` = rel. sd)."""
    lo, hi = spec.amount
    if similar is None:
        return np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    base = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    return np.clip(base * rng.normal(1, similar, n), lo, hi)


def new_individuals(
    ctx: GenContext,
    n: int,
    *,
    recent: bool = False,
    region: Any = None,
    shared: dict[str, int] | None = None,
    country: int = w.US,
    income: Any = None,
    is_pep: bool = False,
    sector: str | None = None,
    age_days: Any = None,
) -> np.ndarray:
    """``n`` new individual accounts (``recent``: opened within weeks before their use)."""
    rng, book = ctx.rng, ctx.book
    age = rng.uniform(3, 60, n) if recent else 90 + rng.exponential(4 * 365, n)
    if age_days is not None:
        age = np.broadcast_to(np.asarray(age_days, dtype=float), (n,))
    if region is None:
        region = (
            rng.integers(0, w.N_US_REGIONS, n) if country == w.US else rng.choice(w.MX_REGION_CODES, n)
        ).astype(np.int16)
    if income is None:
        income = np.round(rng.lognormal(np.log(2500), 0.5, n), 2)
    return book.add(
        n,
        kind=w.INDIVIDUAL,
        sector=-1 if sector is None else w.SECTOR_CODE[sector],
        country=country,
        region=region,
        opened_at=ctx.start_us - (age * US_PER_DAY).astype(np.int64),
        income=income,
        is_pep=is_pep,
        first=rng.integers(0, len(w.FIRST_NAMES), n),
        last=rng.integers(0, len(w.LAST_NAMES), n),
        **(shared or {}),
    )


def new_businesses(
    ctx: GenContext,
    n: int,
    sector: str,
    *,
    recent: bool = False,
    country: int = w.US,
    region: Any = None,
    turnover: Any = None,
    age_days: Any = None,
) -> np.ndarray:
    """``n`` new business accounts of ``sector``."""
    rng, book = ctx.rng, ctx.book
    age = rng.uniform(5, 75, n) if recent else 180 + rng.exponential(5 * 365, n)
    if age_days is not None:
        age = np.broadcast_to(np.asarray(age_days, dtype=float), (n,))
    if region is None:
        region = (
            rng.integers(0, w.N_US_REGIONS, n) if country == w.US else rng.choice(w.MX_REGION_CODES, n)
        ).astype(np.int16)
    if turnover is None:
        turnover = np.round(rng.lognormal(np.log(60_000), 0.8, n), 2)
    kind = w.MSB_KIND if sector == "msb" else w.BUSINESS
    return book.add(
        n,
        kind=kind,
        sector=w.SECTOR_CODE[sector],
        country=country,
        region=region,
        opened_at=ctx.start_us - (age * US_PER_DAY).astype(np.int64),
        income=turnover,
        is_pep=False,
        last=rng.integers(0, len(w.LAST_NAMES), n),
        suffix=rng.integers(0, len(w.BUSINESS_SUFFIXES), n),
    )


def reuse_or_new(ctx: GenContext, pool: str, n: int, share: float, make_new: Any) -> np.ndarray:
    """``n`` participants: about ``share`` of them existing accounts from ``pool``, the rest new."""
    want = int(ctx.rng.binomial(n, share)) if n else 0
    old = ctx.book.take(pool, want)
    new = make_new(n - len(old)) if n - len(old) > 0 else np.empty(0, np.int32)
    return ctx.rng.permutation(np.concatenate([old, new]).astype(np.int32))
