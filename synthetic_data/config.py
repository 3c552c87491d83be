"""Generator settings: presets as data, and how to override any parameter.

A preset is a plain dict of :class:`GeneratorParams` fields (:data:`PRESETS`). ``overrides`` is
deep-merged over it before validation, so any parameter can be changed, e.g.::

    generate("demo", 7, out, overrides={
        "n_accounts": 5000,
        "n_transactions": 200_000,
        "background": {"remittance_share": 0.2},
        "typologies": {"structuring": {"count": 50, "amount": [7000, 9999]}},
        "instances_per_typology": 10,   # default count of every typology
        "hostile_strings": True,
    })

Typology overrides are checked against that typology's spec (unknown fields fail loudly).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GeneratorConfig(_Strict):
    """Which preset ``moneytrail generate`` uses by default, plus optional overrides."""

    preset: str = "demo"
    overrides: dict[str, Any] = Field(default_factory=dict)


class PopulationParams(_Strict):
    """Shape of the ordinary customer base."""

    business_share: float = 0.10
    msb_share: float = 0.006
    #: Share of individuals (and businesses) that are foreign counterparties (mostly Mexico).
    foreign_individual_share: float = 0.07
    foreign_business_share: float = 0.06
    #: Share of individual customers holding a second (savings) account.
    second_account_share: float = 0.08
    #: Mean household size (accounts sharing an address hash); households share devices sometimes.
    household_mean_size: float = 1.6
    shared_device_share: float = 0.3
    pep_share: float = 0.006
    #: Share of business accounts opened shortly before the period (legitimate new businesses).
    new_business_share: float = 0.04
    #: Share of individual accounts opened shortly before the period (new customers, students).
    new_individual_share: float = 0.06
    #: Share of businesses sharing the owner's phone hash (half of them also the address).
    owner_shares_phone: float = 0.3


class BackgroundParams(_Strict):
    """Rates of the ordinary activity and the benign look-alikes (per account and month)."""

    employment_rate: float = 0.85
    utilities_per_person: tuple[int, int] = (1, 3)
    rent_share: float = 0.45
    remittance_share: float = 0.10
    remittances_per_month: tuple[float, float] = (1.0, 4.0)
    mxn_remittance_share: float = 0.3
    #: Share of remittance pairs where the money flows north (Mexico -> US).
    northbound_remittance_share: float = 0.12
    #: Share of logistics/retail/holding/car-dealer businesses trading with offshore partners.
    international_trader_share: float = 0.15
    p2p_per_month: float = 1.5
    atm_per_month: float = 2.0
    b2b_per_month: float = 6.0
    savings_moves_per_month: float = 1.5
    produce_payments_per_month: float = 10.0
    #: Share of restaurants / car dealers / retail that deposit cash (almost) daily.
    cash_business_share: dict[str, float] = Field(
        default_factory=lambda: {"restaurant": 0.85, "car_dealer": 0.9, "retail": 0.35}
    )
    large_inflow_share: float = 0.003
    #: Share of PEPs with a legitimate large inflow (house sale, inheritance, family wealth).
    pep_large_inflow_share: float = 0.3
    near_threshold_cash_share: float = 0.003
    msb_ops_per_day: float = 3.0
    #: Card purchases fill the remainder up to ``n_transactions``; this floors them.
    min_card_share: float = 0.2


class GeneratorParams(_Strict):
    """Every knob of one generation run (a preset merged with overrides)."""

    n_accounts: int = Field(20_000, ge=50)
    #: Target total number of transactions (card purchases absorb the difference).
    n_transactions: int = Field(1_000_000, ge=100)
    days: int = Field(90, ge=7)
    start: dt.datetime = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    #: Cash reporting threshold (USD 10,000 in the US): structuring sits just under it.
    reporting_threshold: float = 10_000.0
    hostile_strings: bool = False
    #: Share of names and references replaced by hostile payloads when ``hostile_strings``.
    hostile_share: float = 0.02
    population: PopulationParams = PopulationParams()
    background: BackgroundParams = BackgroundParams()
    #: Default ``count`` of every typology (a typology override's ``count`` wins).
    instances_per_typology: int | None = None
    #: Per-typology overrides of spec fields, e.g. ``{"fan_in": {"count": 10}}``.
    typologies: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: Presets as data. ``tiny``: unit tests; ``demo``: recall measurements; ``10m``: benchmarks.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "n_accounts": 200,
        "n_transactions": 4_000,
        "days": 30,
        "instances_per_typology": 2,
        # Smaller schemes so that ~300 accounts hold every typology twice.
        "typologies": {
            "fan_in": {"accounts": [5, 8]},
            "fan_out": {"accounts": [5, 8]},
            "smuggling_fees": {"accounts": [6, 10]},
            "mule_network": {"accounts": [4, 6], "payments_per_mule": [1, 2]},
            "scatter_gather": {"accounts": [3, 5]},
            "gather_scatter": {"accounts": [3, 5], "receivers": [3, 5]},
            "layering": {"accounts": [2, 3], "layers": [3, 4]},
            "tbml": {"accounts": [3, 5]},
        },
    },
    # demo: 10 instances per typology (160 in all) so that a 1% alert budget (~230 accounts)
    # can in principle reach every scheme; recall is measured over several seeds.
    "demo": {"n_accounts": 20_000, "n_transactions": 1_000_000, "days": 90, "instances_per_typology": 10},
    "10m": {"n_accounts": 50_000, "n_transactions": 10_000_000, "days": 365, "instances_per_typology": 60},
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_params(preset: str, overrides: dict[str, Any] | None = None) -> GeneratorParams:
    """Merge ``overrides`` over preset ``preset`` and validate the result."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    defaults = GeneratorParams().model_dump()  # so nested dicts merge key by key, not replace
    return GeneratorParams.model_validate(_merge(_merge(defaults, PRESETS[preset]), overrides or {}))
