"""Typology rules and scikit-learn anomaly detectors behind one interface.

Public entry points: :func:`score_accounts` and :func:`select_alerts`; the detector classes
(:class:`RuleDetector`, :class:`IsolationForestDetector`, :class:`PeerGroupIsolationForest`,
:class:`PeerGroupEnsemble` and the members in ``detectors.unsupervised``) share the contract
of :class:`BaseDetector`.
"""

from detectors.alerts import alert_budget, hibernate_alerts, select_alerts
from detectors.base import BaseDetector, MissingFeatureError
from detectors.cases import case_keys
from detectors.config import (
    DEFAULT_RULES,
    AlertConfig,
    Condition,
    DetectorConfig,
    PropagationConfig,
    RuleSpec,
)
from detectors.ensemble import PeerGroupEnsemble, RankEnsembleDetector
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
    "PeerGroupEnsemble",
    "PeerGroupIsolationForest",
    "PropagationConfig",
    "RankEnsembleDetector",
    "RuleDetector",
    "RuleSpec",
    "alert_budget",
    "case_keys",
    "hibernate_alerts",
    "propagate_scores",
    "score_accounts",
    "select_alerts",
]
