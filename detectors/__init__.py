"""Typology rules and scikit-learn anomaly detectors behind one interface.

Public entry points: :func:`score_accounts` and :func:`select_alerts`; the detector classes
(:class:`RuleDetector`, :class:`IsolationForestDetector`, :class:`PeerGroupIsolationForest`)
share the contract of :class:`BaseDetector`.
"""

from detectors.alerts import alert_budget, select_alerts
from detectors.base import BaseDetector, MissingFeatureError
from detectors.config import (
    DEFAULT_RULES,
    AlertConfig,
    Condition,
    DetectorConfig,
    PropagationConfig,
    RuleSpec,
)
from detectors.isolation import IsolationForestDetector, PeerGroupIsolationForest
from detectors.propagation import propagate_scores
from detectors.rules import RuleDetector
from detectors.scoring import score_accounts

__all__ = [
    "DEFAULT_RULES",
    "AlertConfig",
    "BaseDetector",
    "Condition",
    "DetectorConfig",
    "IsolationForestDetector",
    "MissingFeatureError",
    "PeerGroupIsolationForest",
    "PropagationConfig",
    "RuleDetector",
    "RuleSpec",
    "alert_budget",
    "propagate_scores",
    "score_accounts",
    "select_alerts",
]
