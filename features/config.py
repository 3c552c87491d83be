"""Feature-engine settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
