"""Generator settings: presets and how to override them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GeneratorConfig(BaseModel):
    """Which preset ``moneytrail generate`` uses by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str = "demo"
