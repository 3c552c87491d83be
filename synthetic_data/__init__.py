"""Synthetic transactions with planted, labelled laundering schemes.

Public API: :func:`generate`, :func:`write_amlworld_csv`, :class:`GenerationSummary`,
:class:`GeneratorConfig`, :data:`PRESETS` and the typology :data:`REGISTRY`.
"""

from synthetic_data.amlworld import write_amlworld_csv
from synthetic_data.config import PRESETS, GeneratorConfig, GeneratorParams, resolve_params
from synthetic_data.generator import GenerationSummary, generate
from synthetic_data.typologies import REGISTRY

__all__ = [
    "PRESETS",
    "REGISTRY",
    "GenerationSummary",
    "GeneratorConfig",
    "GeneratorParams",
    "generate",
    "resolve_params",
    "write_amlworld_csv",
]
