"""What every generation step receives: the rng, the parameters and the builders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data.book import US_PER_DAY, AccountBook, LabelLog, TxLog
from synthetic_data.config import GeneratorParams
from synthetic_data.population import Population


@dataclass
class GenContext:
    """Shared state of one run. ``rng`` is the run's single random generator."""

    rng: np.random.Generator
    params: GeneratorParams
    book: AccountBook
    tx: TxLog
    labels: LabelLog
    pop: Population
    start_us: int

    @property
    def days(self) -> int:
        return self.params.days

    @property
    def end_us(self) -> int:
        return self.start_us + self.days * US_PER_DAY

    def day_of_month(self) -> np.ndarray:
        """Day of month (1-31) of every day of the period."""
        d = np.datetime64(self.params.start.replace(tzinfo=None).date()) + np.arange(self.days)
        return (d - d.astype("datetime64[M]")).astype(np.int64) + 1

    def weekday(self) -> np.ndarray:
        """Weekday (0 = Monday) of every day of the period."""
        d = np.datetime64(self.params.start.replace(tzinfo=None).date()) + np.arange(self.days)
        return (d.astype(np.int64) + 3) % 7

    def day_of_year(self) -> np.ndarray:
        d = np.datetime64(self.params.start.replace(tzinfo=None).date()) + np.arange(self.days)
        return (d - d.astype("datetime64[Y]")).astype(np.int64)


def monthly(ctx: GenContext, payer_dom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For payers each paying on day-of-month ``payer_dom`` (1-28): (payer position, day) pairs."""
    month_first = np.flatnonzero(ctx.day_of_month() == 1)
    if len(month_first) == 0 or month_first[0] != 0:
        month_first = np.concatenate([[month_first[0] - 31 if len(month_first) else 0], month_first])
    n = len(payer_dom)
    days = month_first[None, :] + (np.asarray(payer_dom)[:, None] - 1)
    payer = np.broadcast_to(np.arange(n)[:, None], days.shape)
    ok = (days >= 0) & (days < ctx.days)
    return payer[ok], days[ok]


def weighted_choice(
    rng: np.random.Generator, items: np.ndarray, weights: np.ndarray, size: int
) -> np.ndarray:
    """``size`` draws from ``items`` with probability proportional to ``weights``."""
    # Lay out ``size`` draws by multinomial counts, then sample positions from that table: no
    # per-draw search, and as random as independent weighted draws for our purposes.
    p = np.asarray(weights, dtype=np.float64)
    table = np.repeat(np.asarray(items), rng.multinomial(size, p / p.sum()))
    return table[rng.integers(0, len(table), size)] if size else table
