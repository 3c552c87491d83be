"""The ordinary customer base: individuals in households, businesses by sector, MSBs, foreign
counterparties; employment links. Fully vectorised (no loop per account)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic_data import world as w
from synthetic_data.book import US_PER_DAY, AccountBook
from synthetic_data.config import GeneratorParams

_US_REGION_P = np.array([r[2] for r in w.US_REGIONS]) / sum(r[2] for r in w.US_REGIONS)
#: Median monthly turnover (USD) by business sector; lognormal spread around it.
_TURNOVER = {
    "retail": 40e3,
    "restaurant": 45e3,
    "car_dealer": 250e3,
    "produce_import": 300e3,
    "produce_export": 300e3,
    "payroll_employer": 400e3,
    "utility": 5e6,
    "real_estate": 150e3,
    "construction": 200e3,
    "professional_services": 80e3,
    "logistics": 150e3,
    "agriculture": 100e3,
    "law_firm": 120e3,
    "holding": 500e3,
    "public_administration": 2e6,
    "healthcare": 200e3,
    "education": 300e3,
}


@dataclass
class Population:
    """Index arrays of the base population, for the background streams and typologies."""

    individuals: np.ndarray  # US individuals, primary accounts
    second_accounts: np.ndarray  # US savings accounts; ``second_owner`` is the primary
    second_owner: np.ndarray
    households: np.ndarray  # household key of each entry of ``individuals``
    employer: np.ndarray  # per entry of ``individuals``: employer index or -1
    mx_individuals: np.ndarray
    businesses: dict[str, np.ndarray]  # US businesses by sector
    mx_businesses: np.ndarray
    msbs: np.ndarray  # US MSBs
    mx_msbs: np.ndarray
    new_businesses: np.ndarray
    new_individuals: np.ndarray
    #: Owner (an individual) of each base account that is a US business, else -1.
    owner_of: np.ndarray
    #: US businesses sharing a phone with their owner.
    owner_shared: np.ndarray
    peps: np.ndarray


def _regions(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(w.N_US_REGIONS, size=n, p=_US_REGION_P).astype(np.int16)


def _opened(rng: np.random.Generator, start_us: int, n: int, mean_years: float) -> np.ndarray:
    age_days = 30 + rng.exponential(mean_years * 365, n)
    return start_us - (age_days * US_PER_DAY).astype(np.int64)


def build_population(
    params: GeneratorParams, rng: np.random.Generator, book: AccountBook, start_us: int
) -> Population:
    """Create the base accounts in ``book`` and return their index arrays."""
    pp = params.population
    n = params.n_accounts
    n_msb = max(2, round(n * pp.msb_share))
    n_bus = max(len(w.SECTORS), round(n * pp.business_share))
    n_ind = n - n_bus - n_msb
    n_mx_ind = round(n_ind * pp.foreign_individual_share)
    n_us = n_ind - n_mx_ind

    # --- US individuals: customers with optional second account, grouped in households.
    is_second = rng.random(n_us) < pp.second_account_share
    is_second[0] = False
    customer = np.cumsum(~is_second) - 1
    n_cust = int(customer[-1]) + 1
    new_house = rng.random(n_cust) < 1.0 / pp.household_mean_size
    new_house[0] = True
    house_of_cust = np.cumsum(new_house) - 1
    n_house = int(house_of_cust[-1]) + 1
    cust_keys, house_keys = book.keys(n_cust), book.keys(n_house)
    house_shares_device = rng.random(n_house) < pp.shared_device_share
    house = house_of_cust[customer]
    device = np.where(house_shares_device[house], house_keys[house], cust_keys[customer])
    income_c = np.round(rng.lognormal(np.log(3800), 0.6, n_cust), 2)
    pep_c = rng.random(n_cust) < pp.pep_share
    income_c[pep_c] = np.round(rng.uniform(900, 9000, pep_c.sum()), 2)
    last_h = rng.integers(0, len(w.LAST_NAMES), n_house)
    opened = _opened(rng, start_us, n_us, 6.0)
    is_new_ind = rng.random(n_us) < pp.new_individual_share
    opened[is_new_ind] = start_us - (rng.uniform(3, 90, is_new_ind.sum()) * US_PER_DAY).astype(np.int64)
    us_idx = book.add(
        n_us,
        kind=w.INDIVIDUAL,
        sector=-1,
        country=w.US,
        region=_regions(rng, n_house)[house],
        opened_at=opened,
        income=income_c[customer],
        is_pep=pep_c[customer],
        customer=cust_keys[customer],
        phone=cust_keys[customer] + 0,
        address=house_keys[house],
        device=device,
        first=rng.integers(0, len(w.FIRST_NAMES), n_cust)[customer],
        last=last_h[house],
        suffix=-1,
    )
    primary = us_idx[~is_second]
    first_of_cust = us_idx[np.searchsorted(customer, np.arange(n_cust))]
    second = us_idx[is_second]
    second_owner = first_of_cust[customer[is_second]]

    # --- Foreign individuals (family in Mexico and a few elsewhere).
    mx_ind = book.add(
        n_mx_ind,
        kind=w.INDIVIDUAL,
        sector=-1,
        country=w.MX,
        region=rng.choice(w.MX_REGION_CODES, n_mx_ind).astype(np.int16),
        opened_at=_opened(rng, start_us, n_mx_ind, 5.0),
        income=np.round(rng.lognormal(np.log(700), 0.5, n_mx_ind), 2),
        is_pep=False,
        first=rng.integers(0, len(w.FIRST_NAMES), n_mx_ind),
        last=rng.integers(0, 16, n_mx_ind),
    )

    # --- Businesses: US by sector weight, foreign mostly produce and logistics.
    n_mx_bus = round(n_bus * pp.foreign_business_share)
    n_us_bus = n_bus - n_mx_bus
    names = [s for s, _ in w.SECTORS]
    weights = np.array([p for _, p in w.SECTORS])
    sector = np.concatenate(
        [
            np.arange(len(names)),  # at least one of each sector
            rng.choice(len(names), n_us_bus - len(names), p=weights / weights.sum()),
        ]
    )
    turnover = np.array([_TURNOVER[s] for s in names])[sector] * rng.lognormal(0, 0.7, n_us_bus)
    opened_b = _opened(rng, start_us, n_us_bus, 8.0)
    is_new = rng.random(n_us_bus) < pp.new_business_share
    opened_b[is_new] = start_us - (rng.uniform(10, 90, is_new.sum()) * US_PER_DAY).astype(np.int64)
    us_bus = book.add(
        n_us_bus,
        kind=w.BUSINESS,
        sector=sector.astype(np.int16),
        country=w.US,
        region=_regions(rng, n_us_bus),
        opened_at=opened_b,
        income=np.round(turnover, 2),
        is_pep=False,
        last=rng.integers(0, len(w.LAST_NAMES), n_us_bus),
        suffix=rng.integers(0, len(w.BUSINESS_SUFFIXES), n_us_bus),
    )
    # Every business has an owner; sole proprietors share their phone (and some their address).
    owners = rng.choice(primary, n_us_bus)
    shares_phone = rng.random(n_us_bus) < pp.owner_shares_phone
    shares_address = shares_phone & (rng.random(n_us_bus) < 0.5)
    for key, mask in (("phone", shares_phone), ("address", shares_address)):
        column = book.column(key)
        column[us_bus[mask]] = column[owners[mask]]
    owner_of = np.full(book.size, -1, np.int32)
    owner_of[us_bus] = owners
    mx_sector = rng.choice(
        [
            w.SECTOR_CODE[s]
            for s in ("produce_export", "produce_import", "logistics", "agriculture", "retail")
        ],
        n_mx_bus,
        p=[0.4, 0.15, 0.15, 0.2, 0.1],
    )
    mx_bus = book.add(
        n_mx_bus,
        kind=w.BUSINESS,
        sector=mx_sector.astype(np.int16),
        country=w.MX,
        region=rng.choice(w.MX_REGION_CODES, n_mx_bus).astype(np.int16),
        opened_at=_opened(rng, start_us, n_mx_bus, 8.0),
        income=np.round(rng.lognormal(np.log(150e3), 0.7, n_mx_bus), 2),
        is_pep=False,
        last=rng.integers(0, 16, n_mx_bus),
        suffix=4,
    )

    # --- Money services businesses (a third sit in border regions; some are Mexican).
    n_mx_msb = max(1, round(n_msb * 0.2))
    n_us_msb = n_msb - n_mx_msb
    msb_region = np.where(
        rng.random(n_us_msb) < 0.35, rng.choice(w.BORDER_REGIONS, n_us_msb), _regions(rng, n_us_msb)
    ).astype(np.int16)
    msb = book.add(
        n_us_msb,
        kind=w.MSB_KIND,
        sector=w.SECTOR_CODE["msb"],
        country=w.US,
        region=msb_region,
        opened_at=_opened(rng, start_us, n_us_msb, 8.0),
        income=np.round(rng.lognormal(np.log(800e3), 0.6, n_us_msb), 2),
        is_pep=False,
        last=rng.integers(0, len(w.LAST_NAMES), n_us_msb),
        suffix=0,
    )
    mx_msb = book.add(
        n_mx_msb,
        kind=w.MSB_KIND,
        sector=w.SECTOR_CODE["msb"],
        country=w.MX,
        region=rng.choice(w.MX_REGION_CODES, n_mx_msb).astype(np.int16),
        opened_at=_opened(rng, start_us, n_mx_msb, 8.0),
        income=np.round(rng.lognormal(np.log(800e3), 0.6, n_mx_msb), 2),
        is_pep=False,
        last=rng.integers(0, 16, n_mx_msb),
        suffix=4,
    )

    by_sector = {s: us_bus[sector == i] for i, s in enumerate(names)}

    # --- Employment: heavy-tailed employer sizes; PEPs work in public administration.
    emp_weight = rng.lognormal(0, 1.5, n_us_bus) * np.where(
        sector == names.index("payroll_employer"), 8.0, 1.0
    )
    employed = rng.random(len(primary)) < params.background.employment_rate
    employer = np.where(
        employed, us_bus[rng.choice(n_us_bus, len(primary), p=emp_weight / emp_weight.sum())], -1
    ).astype(np.int32)
    is_pep_primary = book.column("is_pep")[primary]
    public = by_sector["public_administration"]
    employer[is_pep_primary] = rng.choice(public, is_pep_primary.sum())
    sectors_col = book.column("sector")
    sectors_col[primary[employer >= 0]] = sectors_col[employer[employer >= 0]]

    pop = Population(
        individuals=primary,
        second_accounts=second,
        second_owner=second_owner,
        households=house_keys[house[~is_second]],
        employer=employer,
        mx_individuals=mx_ind,
        businesses=by_sector,
        mx_businesses=mx_bus,
        msbs=msb,
        mx_msbs=mx_msb,
        new_businesses=us_bus[is_new],
        new_individuals=us_idx[is_new_ind],
        owner_of=owner_of,
        owner_shared=us_bus[shares_phone],
        peps=primary[is_pep_primary],
    )

    # Pools of existing accounts that typologies may reuse (each handed out once).
    non_pep = primary[~is_pep_primary]
    book.set_pool("individual", non_pep, rng)
    modest = non_pep[
        np.isin(book.column("region")[non_pep], w.BORDER_REGIONS) & (book.column("income")[non_pep] < 4_000)
    ]
    book.set_pool("border_individual", modest, rng)
    book.set_pool("pep", pop.peps, rng)
    book.set_pool("mx_individual", mx_ind, rng)
    book.set_pool("mx_business", mx_bus, rng)
    book.set_pool("msb", msb, rng)
    book.set_pool("mx_msb", mx_msb, rng)
    book.set_pool("produce", np.concatenate([by_sector["produce_import"], by_sector["produce_export"]]), rng)
    book.set_pool(
        "business",
        us_bus[~np.isin(sector, [names.index(s) for s in ("utility", "public_administration")])],
        rng,
    )
    return pop
