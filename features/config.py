"""Feature-engine settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Jurisdiction risk weights in [0, 1] by ISO 3166 alpha-2 country (destination of a wire).
#: High: the drug-trafficking corridor of the typology catalogue and offshore centres.
DEFAULT_COUNTRY_RISK: dict[str, float] = {
    "MX": 1.0,
    "CO": 1.0,
    "EC": 1.0,
    "GT": 1.0,
    "PA": 1.0,
    "KY": 1.0,
    "VG": 1.0,
    "BZ": 1.0,
    "HN": 0.7,
    "SV": 0.7,
    "VE": 0.7,
    "PE": 0.5,
    "BS": 0.7,
    "AE": 0.5,
    "HK": 0.5,
    "CN": 0.3,
}


DEFAULT_BORDER_REGIONS: tuple[str, ...] = (
    "TX-El Paso",
    "TX-Laredo",
    "TX-McAllen",
    "TX-Brownsville",
    "AZ-Nogales",
    "AZ-Yuma",
    "CA-San Diego",
    "CA-Calexico",
    "NM-Las Cruces",
)


class FeatureConfig(BaseModel):
    """Windows and thresholds the feature engine uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Trailing windows, in days, ending at each evaluation date.
    windows_days: tuple[int, ...] = (1, 7, 30)
    #: Cash reporting threshold in reporting currency (USD 10,000 is the US default).
    reporting_threshold: float = 10_000.0
    #: Cash amounts in [near_threshold_floor * threshold, threshold) count as "just under".
    near_threshold_floor: float = 0.8
    #: Without --as-of, accounts are evaluated at the end of every step in which they were active.
    history_step_days: int = 7

    #: Which end of a window holds the midnight boundary instant. ``"right"``: a window of ``w``
    #: days evaluated on day ``D`` is ``(D+1 - w days, D+1]`` (a transaction at exactly midnight
    #: belongs to the day before); ``"left"``: ``[D+1 - w days, D+1)`` (calendar days).
    window_closed: Literal["right", "left"] = "right"
    #: History steps are aligned to this date (a Monday, so 7-day steps end on Sundays).
    history_origin: dt.date = dt.date(2000, 1, 3)
    #: An amount is "round" when it is a positive multiple of this (in reporting currency).
    round_amount_unit: float = 1_000.0
    #: Branch regions treated as border regions (exact match; default: US-Mexico border
    #: branches in the generator's "ST-City" naming) ...
    border_regions: tuple[str, ...] = DEFAULT_BORDER_REGIONS
    #: ... plus any region whose name contains this marker (case-insensitive; None: off).
    border_region_marker: str | None = "border"
    #: Risk weight of a destination country (missing countries get ``default_country_risk``).
    country_risk: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_COUNTRY_RISK))
    default_country_risk: float = 0.0

    #: Graph patterns: trailing window (days) for scatter-gather, gather-scatter, cycles, chains.
    pattern_window_days: int = 7
    #: Longest temporal cycle searched (hops); cycles of 2..max_cycle_length are counted.
    max_cycle_length: int = 6
    #: A hop "passes through" a node when money leaves within this many hours of arriving.
    pass_through_hours: float = 24.0
    #: Hub bound: per node and pattern window, only the ``max_edges_per_node`` largest edges
    #: (by amount) in each direction take part in 2-hop, cycle and chain joins. Exact below it.
    max_edges_per_node: int = 50
    #: Cycle search: at most this many temporal paths of each length per start node and block
    #: of ``pattern_window_days`` (the earliest-ending first). Exact below it.
    max_paths_per_node: int = 2_000

    #: Own-history spike ratios: USD added to the usual weekly amount (keeps ratios finite).
    spike_floor: float = 100.0
    #: Features compared with the peer group (kind, sector, region) as robust z-scores.
    peer_features: tuple[str, ...] = (
        "in_amount_30d",
        "out_amount_30d",
        "cash_deposit_amount_30d",
        "cash_withdrawal_amount_30d",
        "fan_in_degree_30d",
        "fan_out_degree_30d",
        "cross_border_out_share_30d",
        "round_amount_share_30d",
    )
    #: Lower bound of the robust spread (in log1p units) of a peer group.
    peer_mad_floor: float = 0.5
    #: Entity resolution: identifier values (phone, address, device) shared by more accounts
    #: than this are ignored as links (call centres, placeholders).
    max_accounts_per_identifier: int = 50

    #: DuckDB resources (work spills to ``duckdb_temp_directory``; None: a private temp dir).
    duckdb_memory_limit: str = "2GB"
    duckdb_threads: int | None = None
    duckdb_temp_directory: Path | None = None

    @field_validator("windows_days")
    @classmethod
    def _positive_windows(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(w < 1 for w in value):
            raise ValueError("windows_days must hold positive day counts")
        return tuple(sorted(set(value)))

    @field_validator("history_step_days", "pattern_window_days", "max_edges_per_node")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be >= 1")
        return value
