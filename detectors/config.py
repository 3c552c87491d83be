"""Detector and alert settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DetectorConfig(BaseModel):
    """Parameters of the detectors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    isolation_forest_trees: int = 200


class AlertConfig(BaseModel):
    """How many alerts a run may raise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Share of scored accounts that may be alerted in one run.
    budget_share: float = 0.01
    #: Hard cap on alerts per run (None: no cap beyond the share).
    budget_max: int | None = None
