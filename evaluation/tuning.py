"""Threshold search with a time-based split, and the tuned configuration file it writes.

The feature table's evaluation dates are split at a cutoff: thresholds are chosen on the rows
dated on or before it, with the labels of the instances that had started by then (a scheme
that begins later is unknown at tuning time), and judged on the rows after it. Nothing from
after the cutoff reaches the search: no look-ahead.

The search is coordinate descent over the required conditions of every active rule: each
condition in turn takes the candidate threshold that maximises ``schemes_above -
false_alert_cost * false_alerts`` on the tuning rows (:func:`evaluation.sweeps.choose_thresholds`)
with the rule's other conditions as last chosen; ``passes`` rounds. Candidates are quantiles of
the data, so the search has no randomness of its own; the validation re-scores with the
detectors seeded from ``Config.seed``, so a result is reproduced by the same data and seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import numpy as np
import polars as pl
import tomli_w

import detectors
from detectors.config import DetectorConfig, RuleSpec
from evaluation.metrics import DEFAULT_BUDGETS, recall_at_budgets
from evaluation.sweeps import (
    choose_thresholds,
    condition_label,
    in_period,
    retune,
    sweep_condition,
    with_condition,
)
from moneytrail.config import Config, load_config


@dataclass(frozen=True)
class TimeSplit:
    """Tune on evaluation dates ``<= cutoff``, validate on the later ones."""

    cutoff: date
    tune_dates: tuple[date, date]
    validate_dates: tuple[date, date]


def time_split(eval_dates: pl.Series, validate_share: float = 1 / 3) -> TimeSplit:
    """Split the distinct evaluation dates, the last ``validate_share`` of them for validation.

    Raises
    ------
    ValueError
        Fewer than two distinct dates (nothing to validate on).
    """
    dates = eval_dates.unique().sort().to_list()
    if len(dates) < 2:
        raise ValueError(f"a time split needs at least two evaluation dates, got {len(dates)}")
    n_validate = min(len(dates) - 1, max(1, round(len(dates) * validate_share)))
    cutoff = dates[-n_validate - 1]
    return TimeSplit(cutoff, (dates[0], cutoff), (dates[-n_validate], dates[-1]))


def restrict_labels(labels: dict[str, pl.DataFrame], keep: pl.Expr) -> dict[str, pl.DataFrame]:
    """Labels of the instances for which ``keep`` (over ``instances`` columns) holds."""
    instances = labels["instances"].filter(keep)
    ids = instances["instance_id"].implode()
    return labels | {
        "instances": instances,
        "instance_accounts": labels["instance_accounts"].filter(pl.col("instance_id").is_in(ids)),
        "transactions": labels["transactions"].filter(pl.col("instance_id").is_in(ids)),
    }


def labels_known_by(labels: dict[str, pl.DataFrame], day: date) -> dict[str, pl.DataFrame]:
    """Labels of the instances that had started by the end of ``day`` (null start: kept)."""
    end = datetime.combine(day, time.max, UTC)
    return restrict_labels(labels, pl.col("start").is_null() | (pl.col("start") <= end))


def labels_active_after(labels: dict[str, pl.DataFrame], day: date) -> dict[str, pl.DataFrame]:
    """Labels of the instances still active after ``day`` (null end: kept)."""
    end = datetime.combine(day, time.max, UTC)
    return restrict_labels(labels, pl.col("end").is_null() | (pl.col("end") > end))


def tune_rule(
    features: pl.DataFrame,
    labels: dict[str, pl.DataFrame],
    rule: RuleSpec,
    *,
    false_alert_cost: float,
    passes: int = 2,
) -> tuple[RuleSpec, pl.DataFrame]:
    """Coordinate descent over ``rule``'s required conditions; returns the tuned rule and its steps."""
    steps = []
    for round_ in range(passes):
        for index, cond in enumerate(rule.conditions):
            if not cond.required:
                continue
            chosen = choose_thresholds(
                sweep_condition(features, labels, rule, index), false_alert_cost, tighten=False
            )
            threshold = chosen["threshold"].item()
            steps.append(chosen.with_columns(pl.lit(round_, dtype=pl.Int64).alias("pass")))
            if threshold != cond.threshold:
                rule = with_condition(rule, index, retune(cond, threshold))
    return rule, pl.concat(steps)


@dataclass(frozen=True)
class TuningResult:
    """What the search chose and how the tuned configuration did after the cutoff."""

    split: TimeSplit
    config: Config
    steps: pl.DataFrame
    changes: pl.DataFrame
    validation: pl.DataFrame
    settings: dict = field(default_factory=dict)


def with_rules(config: Config, tuned: dict[str, RuleSpec]) -> Config:
    """``config`` with the rules named in ``tuned`` replaced (in ``rules`` or ``extra_rules``)."""
    det = config.detectors

    def swap(rules: tuple[RuleSpec, ...]) -> tuple[RuleSpec, ...]:
        return tuple(tuned.get(r.name, r) for r in rules)

    new = DetectorConfig.model_validate(
        det.model_dump() | {"rules": swap(det.rules), "extra_rules": swap(det.extra_rules)}
    )
    return config.model_copy(update={"detectors": new})


def threshold_changes(before: DetectorConfig, after: DetectorConfig) -> pl.DataFrame:
    """``rule, condition, value, before, after`` for every threshold that moved."""
    old = {r.name: r for r in before.active_rules()}
    rows = [
        {
            "rule": rule.name,
            "condition": i,
            "value": condition_label(cond),
            "before": old[rule.name].conditions[i].threshold,
            "after": cond.threshold,
        }
        for rule in after.active_rules()
        for i, cond in enumerate(rule.conditions)
        if cond.threshold != old[rule.name].conditions[i].threshold
    ]
    schema = {
        "rule": pl.String,
        "condition": pl.Int64,
        "value": pl.String,
        "before": pl.Float64,
        "after": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def validate(
    features: pl.DataFrame,
    labels: dict[str, pl.DataFrame],
    configs: dict[str, Config],
    budgets: tuple[float, ...] = DEFAULT_BUDGETS,
    edges: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Score ``features`` with each configuration and return recall at the budgets, per config.

    As a run does: the detectors seeded from each configuration's ``seed``, then (given the
    transfers ``edges``: ``src_account, dst_account, amount, timestamp``) the propagation stage,
    and each account keeps its best row. Columns: ``config`` plus those of ``recall_at_budgets``.
    """
    tables = []
    for name, config in configs.items():
        scores = detectors.score_accounts(features, config.detectors, np.random.default_rng(config.seed))
        if edges is not None and config.detectors.propagation.enabled and scores.height:
            scores = detectors.propagate_scores(scores, edges, config.detectors)
        best = scores.sort(["score", "eval_date"], descending=True).unique("account_id", keep="first")
        tables.append(recall_at_budgets(best, labels, budgets).select(pl.lit(name).alias("config"), pl.all()))
    return pl.concat(tables)


def tune(
    features: pl.DataFrame,
    labels: dict[str, pl.DataFrame],
    config: Config,
    *,
    validate_share: float = 1 / 3,
    false_alert_cost: float = 0.05,
    passes: int = 2,
    edges: pl.DataFrame | None = None,
) -> TuningResult:
    """Tune every active rule's thresholds on the early dates and validate on the later ones.

    ``edges`` (the lake's transfers) let the validation run the propagation stage as a run does.
    """
    split = time_split(features["eval_date"], validate_share)
    tune_rows = in_period(features, split.tune_dates)
    tune_labels = labels_known_by(labels, split.cutoff)
    tuned, steps = {}, []
    for rule in config.detectors.active_rules():
        tuned[rule.name], rule_steps = tune_rule(
            tune_rows, tune_labels, rule, false_alert_cost=false_alert_cost, passes=passes
        )
        steps.append(rule_steps)
    tuned_config = with_rules(config, tuned)
    validation = validate(
        in_period(features, split.validate_dates),
        labels_active_after(labels, split.cutoff),
        {"before": config, "tuned": tuned_config},
        edges=edges,
    )
    return TuningResult(
        split=split,
        config=tuned_config,
        steps=pl.concat(steps) if steps else pl.DataFrame(),
        changes=threshold_changes(config.detectors, tuned_config.detectors),
        validation=validation,
        settings={"validate_share": validate_share, "false_alert_cost": false_alert_cost, "passes": passes},
    )


def _drop_none(value: object) -> object:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


_MISSING = object()


def _differences(a: object, b: object, where: str = "") -> list[str]:
    """Dotted paths at which two ``model_dump`` trees differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [
            p
            for k in keys
            for p in _differences(a.get(k, _MISSING), b.get(k, _MISSING), f"{where}.{k}" if where else k)
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _differences(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [where]


def write_config(config: Config, path: Path) -> Path:
    """Write ``config`` as TOML that ``moneytrail run --config`` accepts, atomically.

    TOML has no null: unset options are left out, which restores their default. The file is
    read back with :func:`moneytrail.config.load_config` and must give ``config`` again.

    Raises
    ------
    ValueError
        ``config`` holds a null that is not its option's default (e.g. a per-kind ``None``).
    """
    text = tomli_w.dumps(_drop_none(config.model_dump(mode="json")))
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text("# written by moneytrail evaluate --tune\n" + text, encoding="utf-8")
    changed = _differences(load_config(tmp).model_dump(mode="json"), config.model_dump(mode="json"))
    if changed:
        tmp.unlink()
        raise ValueError(f"{path}: TOML cannot hold the null value of {', '.join(changed)}")
    tmp.replace(path)
    return path
