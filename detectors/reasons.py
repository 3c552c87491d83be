"""Phrasing of feature values in reason codes (units from ``features.registry``)."""

from __future__ import annotations

import math
import string

from features.registry import FEATURES, FeatureSpec


def unit_of(name: str, registry: dict[str, FeatureSpec] | None = None) -> str:
    """Return the unit of feature ``name``; guess it from the name when it is not registered."""
    spec = (registry if registry is not None else FEATURES).get(name)
    if spec is not None:
        return spec.unit
    if "amount" in name or "income" in name:
        return "USD"
    if name.endswith(("_share", "_ratio")) or "_share_" in name or "_ratio_" in name:
        return "ratio"
    if name.startswith("is_"):
        return "flag"
    if "days" in name:
        return "days"
    return "count"


def describe(name: str, registry: dict[str, FeatureSpec] | None = None) -> str:
    """Return the analyst-facing description of ``name`` (the name itself if unregistered)."""
    spec = (registry if registry is not None else FEATURES).get(name)
    return spec.description if spec is not None else name.replace("_", " ")


def format_value(value: float, unit: str) -> str:
    """Format ``value`` for a reason code: ``USD 12,500``, ``85%``, ``12 days``, ``1,234``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "USD":
        return f"USD {value:,.0f}"
    if unit == "ratio":
        return f"{value:.0%}" if 0.0 <= value <= 1.0 else f"{value:,.1f}x"
    if unit == "days":
        return f"{value:,.0f} days"
    if unit == "flag":
        return "yes" if value else "no"
    if unit == "zscore":
        return f"{value:+.1f} sd"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


class ReasonFormatter(string.Formatter):
    """``str.format`` plus a count-with-noun spec: ``{n:#depositor}`` -> ``1 depositor``, ``4 depositors``."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec.startswith("#"):
            noun = format_spec[1:]
            count = float(value)  # type: ignore[arg-type]
            return f"{count:,.0f} {noun}{'' if count == 1 else 's'}"
        return super().format_field(value, format_spec)


REASON_FORMATTER = ReasonFormatter()
