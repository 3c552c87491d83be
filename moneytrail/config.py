"""One typed configuration for a moneytrail deployment.

Defaults live in code; a TOML file overrides any subset of them::

    seed = 7
    [paths]
    lake = "data/lake"
    [alerts]
    budget_share = 0.01

Each package owns the model of its own knobs (``features.config``, ``detectors.config``,
``synthetic_data.config``); this module composes them and adds paths, currency and the seed.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from detectors.config import AlertConfig, DetectorConfig
from features.config import FeatureConfig
from synthetic_data.config import GeneratorConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsConfig(_Strict):
    """Where the embedded deployment keeps its data."""

    lake: Path = Path("data/lake")
    db: Path = Path("data/moneytrail.duckdb")
    generated: Path = Path("data/generated")


#: Units of reporting currency per unit of each currency (ISO 4217; XBT for bitcoin).
DEFAULT_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CAD": 0.73,
    "AUD": 0.66,
    "CHF": 1.13,
    "JPY": 0.0067,
    "CNY": 0.14,
    "INR": 0.012,
    "RUB": 0.011,
    "MXN": 0.055,
    "BRL": 0.18,
    "COP": 0.00025,
    "GTQ": 0.13,
    "PAB": 1.0,
    "ILS": 0.27,
    "SAR": 0.27,
    "XBT": 60000.0,
}


class CurrencyConfig(_Strict):
    """Reporting currency and conversion rates used at ingest."""

    reporting: str = "USD"
    rates_to_reporting: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_RATES))


#: ``local:N`` (a temporary local Dask cluster of N workers) or ``tcp://HOST:PORT`` (a scheduler).
DASK_LOCAL = re.compile(r"local:(?P<workers>[1-9][0-9]*)")
DASK_REMOTE = re.compile(r"(tcp|tls)://[^\s/]+:[0-9]+")


class ScaleOutConfig(_Strict):
    """Where the feature step runs (README "Running on a cluster"); results do not depend on it."""

    #: None: in the run's own process; ``local:N`` or ``tcp://HOST:PORT``: on that Dask cluster.
    dask: str | None = None
    #: Account shards (None: one per worker).
    shards: int | None = Field(default=None, ge=1)
    #: Folder or fsspec URL for the shard files, reachable by every worker (None: the run folder).
    scratch: str | None = None

    @field_validator("dask")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        if value is not None and not (DASK_LOCAL.fullmatch(value) or DASK_REMOTE.fullmatch(value)):
            raise ValueError(f"dask {value!r}: expected local:N (N >= 1 workers) or tcp://HOST:PORT")
        return value


class Config(_Strict):
    """The whole configuration; ``Config()`` is the embedded default deployment."""

    seed: int = 20261125
    paths: PathsConfig = PathsConfig()
    currency: CurrencyConfig = CurrencyConfig()
    generator: GeneratorConfig = GeneratorConfig()
    features: FeatureConfig = FeatureConfig()
    detectors: DetectorConfig = DetectorConfig()
    alerts: AlertConfig = AlertConfig()
    scaleout: ScaleOutConfig = ScaleOutConfig()

    @model_validator(mode="after")
    def _one_reporting_threshold(self) -> Config:
        """Features count near-threshold cash and reasons quote it: both must use one threshold."""
        for name in ("reporting_threshold", "near_threshold_floor"):
            if getattr(self.features, name) != getattr(self.detectors, name):
                raise ValueError(f"features.{name} and detectors.{name} must be equal")
        return self

    def fingerprint(self) -> str:
        """Short, stable hash of every setting that can change results (stored beside scores and
        alerts; ``scaleout`` only says where the work runs)."""
        canonical = json.dumps(self.model_dump(mode="json", exclude={"scaleout"}), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class ConfigError(ValueError):
    """The configuration file cannot be read or holds an invalid setting."""


#: Name of the file in a run's folder that keeps the configuration the run used.
RUN_CONFIG_FILE = "config.json"


def load_config(path: Path | None = None) -> Config:
    """Load ``path`` (TOML) over the defaults; ``None`` gives the defaults."""
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
