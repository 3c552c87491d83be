"""Vectorised account and graph-pattern features (the hot path).

Public API: :func:`compute_features`, :func:`write_features`, :data:`registry.FEATURES`,
:func:`registry.feature_specs`. See ``docs/FEATURES.md``.
"""

from features.config import FeatureConfig
from features.engine import compute_features
from features.io import write_features
from features.prepare import FeatureInputError
from features.registry import FEATURES, FEATURES_SCHEMA_ID, FeatureSpec, feature_specs

__all__ = [
    "FEATURES",
    "FEATURES_SCHEMA_ID",
    "FeatureConfig",
    "FeatureInputError",
    "FeatureSpec",
    "compute_features",
    "feature_specs",
    "write_features",
]
