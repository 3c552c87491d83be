"""Threshold sweeps per rule condition: the above-the-line / below-the-line test.

For one required condition of a rule (:class:`detectors.config.RuleSpec`, read generically from
the configuration) and a set of candidate thresholds, the rule is re-evaluated on the feature
table with that threshold, the others unchanged, exactly as ``detectors.rules.rule_fires`` does.
For each candidate the sweep counts the accounts the rule would flag (``alerts``; an account
counts once however many evaluation dates it fires on), how many of them take part in a planted
instance (``true_alerts``), and the instances of the rule's typology that a flagged account
takes part in, in any role (``schemes_above``: above the line), or not (``schemes_below``).
Any role counts here, unlike instance recall, because a rule evidences the account it reads
(a structuring beneficiary, a fan-in hub); the run's second stage reaches the originators.

Candidates are quantiles of the condition's value among the rows where every *other*
required condition holds and the kind applies (the rows the threshold alone decides), plus the
current threshold. Per-kind overrides move with the threshold in proportion.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from detectors.config import Condition, DetectorConfig, RuleSpec
from detectors.rules import KIND_COLUMN, condition_holds, rule_fires
from evaluation.metrics import scheme_accounts

#: Quantile levels of the candidate thresholds.
DEFAULT_LEVELS = tuple(np.round(np.linspace(0.0, 1.0, 21), 3))
SWEEP_COLUMNS = (
    "rule",
    "typology",
    "condition",
    "value",
    "op",
    "threshold",
    "current",
    "alerts",
    "true_alerts",
    "false_alerts",
    "schemes_above",
    "schemes_below",
)


def condition_value(cond: Condition) -> pl.Expr:
    """The value ``cond`` tests: ``feature``, or ``feature / max(per, per_floor)``.

    Mirrors ``detectors.rules``; ``tests/test_evaluation_sweeps.py`` holds the two together.
    """
    value = pl.col(cond.feature).cast(pl.Float64)
    if cond.per is not None:
        value = value / pl.max_horizontal(pl.col(cond.per).cast(pl.Float64), pl.lit(cond.per_floor))
    return value


def condition_label(cond: Condition) -> str:
    """Readable name of the tested value, e.g. ``out_amount_30d / cash_deposit_amount_30d``."""
    return cond.feature if cond.per is None else f"{cond.feature} / {cond.per}"


def retune(cond: Condition, threshold: float) -> Condition:
    """``cond`` with a new threshold; per-kind overrides scale with it, saturation stays on its side."""
    factor = threshold / cond.threshold if cond.threshold else 1.0
    by_kind = {k: (None if v is None else v * factor) for k, v in cond.by_kind.items()}
    saturation = cond.saturation
    if saturation is not None:
        saturation = max(saturation, threshold) if cond.op == ">=" else min(saturation, threshold)
    return Condition.model_validate(
        cond.model_dump() | {"threshold": threshold, "by_kind": by_kind, "saturation": saturation}
    )


def with_condition(rule: RuleSpec, index: int, cond: Condition) -> RuleSpec:
    """``rule`` with condition ``index`` replaced by ``cond``."""
    conditions = list(rule.conditions)
    conditions[index] = cond
    return rule.model_copy(update={"conditions": tuple(conditions)})


def in_period(features: pl.DataFrame, period: tuple[date, date] | None) -> pl.DataFrame:
    """Rows whose ``eval_date`` lies in ``period`` (inclusive), or all rows."""
    return features if period is None else features.filter(pl.col("eval_date").is_between(*period))


def candidate_thresholds(
    features: pl.DataFrame, rule: RuleSpec, index: int, levels: Sequence[float] = DEFAULT_LEVELS
) -> list[float]:
    """Quantiles of condition ``index``'s value where it alone decides the rule, plus its threshold."""
    cond = rule.conditions[index]
    others = [condition_holds(c) for i, c in enumerate(rule.conditions) if c.required and i != index]
    if rule.kinds:
        others.append(pl.col(KIND_COLUMN).is_in(list(rule.kinds)).fill_null(False))
    values = (
        features.lazy()
        .filter(pl.all_horizontal(others) if others else pl.lit(True))
        .select(condition_value(cond).alias("v"))
        .filter(pl.col("v").is_finite())
        .select(pl.col("v").quantile(q, interpolation="lower").alias(str(i)) for i, q in enumerate(levels))
        .collect()
    )
    found = [v for v in values.row(0) if v is not None] if values.height else []
    candidates = {float(v) for v in found} | {float(cond.threshold)}
    if cond.scale == "log":
        candidates = {c for c in candidates if c > 0}
    return sorted(candidates)


def sweep_condition(
    features: pl.DataFrame,
    labels: dict[str, pl.DataFrame],
    rule: RuleSpec,
    index: int,
    thresholds: Sequence[float] | None = None,
) -> pl.DataFrame:
    """Alerts and schemes above / below the line for each candidate threshold of one condition.

    Returns the columns of :data:`SWEEP_COLUMNS`, one row per threshold, ascending.
    """
    cond = rule.conditions[index]
    if not cond.required:
        raise ValueError(f"rule {rule.name!r}: condition {index} is a booster; it does not gate the rule")
    thresholds = (
        sorted(set(thresholds)) if thresholds is not None else candidate_thresholds(features, rule, index)
    )
    columns = [f"t{i}" for i in range(len(thresholds))]
    flagged = (
        features.lazy()
        .select(
            "account_id",
            *[
                rule_fires(with_condition(rule, index, retune(cond, t))).alias(name)
                for name, t in zip(columns, thresholds, strict=True)
            ],
        )
        .group_by("account_id")
        .agg(pl.col(columns).any())
        .unpivot(index="account_id", variable_name="candidate", value_name="fired")
        .filter(pl.col("fired"))
        .select("candidate", "account_id")
    )
    own = (
        labels["instances"]
        .filter(pl.col("typology") == rule.typology)
        .join(labels["instance_accounts"], on="instance_id")
        .select("instance_id", "account_id")
        .lazy()
    )
    truth = flagged.with_columns(pl.col("account_id").is_in(scheme_accounts(labels).implode()).alias("y"))
    by_alerts = truth.group_by("candidate").agg(
        pl.len().alias("alerts"), pl.col("y").sum().alias("true_alerts")
    )
    by_schemes = (
        flagged.join(own, on="account_id").group_by("candidate").agg(pl.col("instance_id").n_unique())
    )
    n_own = labels["instances"].filter(pl.col("typology") == rule.typology).height
    grid = pl.LazyFrame(
        {"candidate": columns, "threshold": thresholds}, schema_overrides={"threshold": pl.Float64}
    )
    return (
        grid.join(by_alerts, on="candidate", how="left")
        .join(by_schemes, on="candidate", how="left")
        .select(
            pl.lit(rule.name).alias("rule"),
            pl.lit(rule.typology).alias("typology"),
            pl.lit(index, dtype=pl.Int64).alias("condition"),
            pl.lit(condition_label(cond)).alias("value"),
            pl.lit(cond.op).alias("op"),
            "threshold",
            (pl.col("threshold") == cond.threshold).alias("current"),
            pl.col("alerts").fill_null(0).cast(pl.Int64),
            pl.col("true_alerts").fill_null(0).cast(pl.Int64),
            (pl.col("alerts") - pl.col("true_alerts")).fill_null(0).cast(pl.Int64).alias("false_alerts"),
            pl.col("instance_id").fill_null(0).cast(pl.Int64).alias("schemes_above"),
            (n_own - pl.col("instance_id").fill_null(0)).cast(pl.Int64).alias("schemes_below"),
        )
        .sort("threshold")
        .collect()
    )


def sweep_rules(
    features: pl.DataFrame,
    labels: dict[str, pl.DataFrame],
    config: DetectorConfig,
    *,
    period: tuple[date, date] | None = None,
) -> pl.DataFrame:
    """:func:`sweep_condition` for every required condition of every active rule of ``config``."""
    rows = in_period(features, period)
    tables = [
        sweep_condition(rows, labels, rule, i)
        for rule in config.active_rules()
        for i, cond in enumerate(rule.conditions)
        if cond.required
    ]
    return pl.concat(tables) if tables else pl.DataFrame(schema=dict.fromkeys(SWEEP_COLUMNS))


def choose_thresholds(
    sweep: pl.DataFrame, false_alert_cost: float = 0.0, *, tighten: bool = True
) -> pl.DataFrame:
    """The threshold each swept condition should use: most schemes above the line.

    Maximises ``schemes_above - false_alert_cost * false_alerts``. With ``tighten`` ties go to
    fewer alerts, then to the strictest threshold (highest for ``>=``, lowest for ``<=``): with
    the default cost of 0 this is the classic tuning, tighten a threshold as far as it goes
    without losing a scheme or adding an alert. The result sits right at the last scheme's value
    on the sample swept; leave a margin before adopting it. Without ``tighten`` ties go to the
    threshold nearest the current one (move only to gain).
    Returns ``rule, condition, value, current_threshold, threshold`` plus the chosen row's counts.
    """
    current = sweep.filter("current").select(
        "rule", "condition", pl.col("threshold").alias("current_threshold")
    )
    # (column, descending): the best candidate sorts first.
    order = (
        [("objective", True), ("alerts", False), ("strictness", True)]
        if tighten
        else [("objective", True), ("distance", False)]
    )
    return (
        sweep.join(current, on=["rule", "condition"], how="left")
        .with_columns(
            (pl.col("schemes_above") - false_alert_cost * pl.col("false_alerts")).alias("objective"),
            (pl.col("threshold") - pl.col("current_threshold")).abs().alias("distance"),
            pl.when(pl.col("op") == "<=")
            .then(-pl.col("threshold"))
            .otherwise("threshold")
            .alias("strictness"),
        )
        .sort(
            ["rule", "condition", *(c for c, _ in order)], descending=[False, False, *(d for _, d in order)]
        )
        .group_by(["rule", "condition"], maintain_order=True)
        .first()
        .select(
            "rule",
            "typology",
            "condition",
            "value",
            "op",
            "current_threshold",
            "threshold",
            "alerts",
            "true_alerts",
            "false_alerts",
            "schemes_above",
            "schemes_below",
        )
    )
