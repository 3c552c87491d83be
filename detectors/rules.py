"""Typology rules: thresholds declared as data (:class:`~detectors.config.RuleSpec`), graded scores.

A rule fires when the account's kind is one it applies to and every required condition holds.
Its score is ``floor + (1 - floor) * severity`` when it fires and 0 otherwise, where severity is
the mean, over graded conditions (required ones and boosters), of how far each value lies past
its threshold towards its saturation point (0 at the threshold, 1 at or beyond saturation).
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np
import polars as pl
from sklearn.utils.validation import check_is_fitted

from detectors.base import BaseDetector, MissingFeatureError
from detectors.reasons import REASON_FORMATTER
from detectors.rule_spec import Condition, RuleSpec

KIND_COLUMN = "kind"
#: Placeholders a reason template may use besides feature names.
REASON_CONTEXT = ("near_low", "near_high")


def _reason_fields(rule: RuleSpec) -> list[str]:
    fields = [f for _, f, _, _ in string.Formatter().parse(rule.reason) if f]
    return [f for f in dict.fromkeys(fields) if f not in REASON_CONTEXT]


def rule_columns(rule: RuleSpec) -> list[str]:
    """Return every input column ``rule`` reads (features, ratio denominators, kind, reason fields)."""
    names: list[str] = []
    for cond in rule.conditions:
        names.append(cond.feature)
        if cond.per is not None:
            names.append(cond.per)
    if rule.kinds or any(c.by_kind for c in rule.conditions):
        names.append(KIND_COLUMN)
    names.extend(_reason_fields(rule))
    return list(dict.fromkeys(names))


def check_columns(frame: pl.DataFrame, rules: tuple[RuleSpec, ...] | list[RuleSpec]) -> None:
    """Raise :class:`MissingFeatureError` naming every column a rule needs and ``frame`` lacks."""
    problems = []
    for rule in rules:
        missing = [n for n in rule_columns(rule) if n not in frame.columns]
        if missing:
            problems.append(f"{missing} required by rule {rule.name!r}")
    if problems:
        raise MissingFeatureError("missing feature column(s) " + "; ".join(problems))


def _value(cond: Condition) -> pl.Expr:
    value = pl.col(cond.feature).cast(pl.Float64)
    if cond.per is not None:
        value = value / pl.max_horizontal(pl.col(cond.per).cast(pl.Float64), pl.lit(cond.per_floor))
    return value


def _threshold(cond: Condition) -> pl.Expr:
    if not cond.by_kind:
        return pl.lit(cond.threshold, dtype=pl.Float64)
    expr: Any = pl
    for kind, value in sorted(cond.by_kind.items()):
        expr = expr.when(pl.col(KIND_COLUMN) == kind).then(pl.lit(value, dtype=pl.Float64))
    return expr.otherwise(pl.lit(cond.threshold, dtype=pl.Float64))


def condition_holds(cond: Condition) -> pl.Expr:
    """Boolean expression: the condition holds (false where a kind override is ``None``)."""
    value, threshold = _value(cond), _threshold(cond)
    holds = value >= threshold if cond.op == ">=" else value <= threshold
    return holds.fill_null(False)


def condition_severity(cond: Condition) -> pl.Expr:
    """Expression in [0, 1]: 0 at (or short of) the threshold, 1 at or beyond saturation."""
    holds = condition_holds(cond)
    if cond.saturation is None:
        return holds.cast(pl.Float64)
    value, threshold = _value(cond), _threshold(cond)
    saturation = pl.lit(cond.saturation, dtype=pl.Float64)
    if cond.scale == "log":
        value, threshold, saturation = value.log(), threshold.log(), saturation.log()
    span = saturation - threshold
    direction = 1.0 if cond.op == ">=" else -1.0
    graded = ((value - threshold) / span).clip(0.0, 1.0).fill_nan(0.0)
    # A kind override at or past saturation leaves no room to grade: a hit counts in full.
    return pl.when(~holds).then(0.0).when(span * direction > 0).then(graded).otherwise(1.0).fill_null(0.0)


def rule_fires(rule: RuleSpec) -> pl.Expr:
    """Boolean expression: the rule applies to the row's kind and every required condition holds."""
    parts = [condition_holds(c) for c in rule.conditions if c.required]
    if rule.kinds:
        parts.append(pl.col(KIND_COLUMN).is_in(list(rule.kinds)).fill_null(False))
    return pl.all_horizontal(parts)


def rule_score(rule: RuleSpec, floor: float) -> pl.Expr:
    """Expression: ``floor + (1 - floor) * severity`` where the rule fires, else 0."""
    graded = [condition_severity(c) for c in rule.conditions if c.graded]
    severity = pl.mean_horizontal(graded) if graded else pl.lit(1.0)
    return pl.when(rule_fires(rule)).then(floor + (1.0 - floor) * severity).otherwise(0.0).alias(rule.name)


def condition_progress(cond: Condition) -> pl.Expr:
    """Expression in [0, 1]: how far the value has come towards the threshold (1 = reached).

    ``value / threshold`` for ``>=`` and ``threshold / value`` for ``<=``, clipped; 0 where a
    kind override is ``None``.
    """
    value, threshold = _value(cond), _threshold(cond)
    ratio = value / threshold if cond.op == ">=" else threshold / pl.max_horizontal(value, pl.lit(1e-9))
    return ratio.clip(0.0, 1.0).fill_nan(0.0).fill_null(0.0)


def rule_proximity(rule: RuleSpec) -> pl.Expr:
    """Expression in [0, 1]: mean progress of the required conditions (0 for kinds it skips).

    Ranks the rows no rule fires on by how close they came to firing ("near misses").
    """
    progress = pl.mean_horizontal([condition_progress(c) for c in rule.conditions if c.required])
    if rule.kinds:
        progress = pl.when(pl.col(KIND_COLUMN).is_in(list(rule.kinds)).fill_null(False)).then(progress)
        progress = progress.otherwise(0.0)
    return progress.alias(f"{rule.name}__proximity")


def format_reason(rule: RuleSpec, values: dict[str, Any], near_low: float, near_high: float) -> str:
    """Fill ``rule.reason`` with a row's feature values."""
    return REASON_FORMATTER.format(rule.reason, near_low=near_low, near_high=near_high, **values)


class RuleDetector(BaseDetector):
    """One typology rule behind the detector interface; works on Polars frames of named features.

    ``score_samples = -rule score`` and ``offset_ = -floor / 2``, so ``predict == -1`` exactly
    where the rule fires and ``suspicion_score`` is the graded rule score in {0} U [floor, 1].

    Parameters
    ----------
    rule : RuleSpec
    floor : float in (0, 1)
        Score of a rule that just meets its thresholds.
    reporting_threshold, near_threshold_floor : float
        Used to phrase near-threshold ranges in reason codes.
    """

    def __init__(
        self,
        rule: RuleSpec,
        *,
        floor: float = 0.5,
        reporting_threshold: float = 10_000.0,
        near_threshold_floor: float = 0.8,
    ) -> None:
        self.rule = rule
        self.floor = floor
        self.reporting_threshold = reporting_threshold
        self.near_threshold_floor = near_threshold_floor

    def _check(self, X: pl.DataFrame) -> None:
        if not isinstance(X, pl.DataFrame):
            raise TypeError(f"RuleDetector expects a polars DataFrame, got {type(X).__name__}")
        check_columns(X, [self.rule])

    def fit(self, X: pl.DataFrame, y: Any = None) -> RuleDetector:
        """Check that ``X`` holds every column the rule reads; nothing is learned from data."""
        if not 0.0 < self.floor < 1.0:
            raise ValueError(f"floor must lie in (0, 1), got {self.floor}")
        self._check(X)
        self.feature_names_in_ = np.array(rule_columns(self.rule), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.offset_ = -self.floor / 2.0
        return self

    def score_samples(self, X: pl.DataFrame) -> np.ndarray:
        """Return minus the graded rule score per row (lower = more abnormal)."""
        check_is_fitted(self)
        self._check(X)
        return -X.select(rule_score(self.rule, self.floor)).to_series().to_numpy()

    def explain(self, X: pl.DataFrame, top_k: int = 3) -> list[list[str]]:
        """Return the rule's reason code for rows where it fires, ``[]`` elsewhere."""
        fired = self.predict(X) == -1
        fields = _reason_fields(self.rule)
        near_high = self.reporting_threshold - 1.0
        near_low = self.near_threshold_floor * self.reporting_threshold
        out: list[list[str]] = [[] for _ in range(X.height)]
        rows = np.flatnonzero(fired)
        if rows.size:
            for i, values in zip(rows, X[rows].select(fields).iter_rows(named=True), strict=True):
                out[i] = [format_reason(self.rule, values, near_low, near_high)][:top_k]
        return out
