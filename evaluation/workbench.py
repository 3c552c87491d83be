"""The evaluation workbench: every metric of one or more stored runs against ground truth.

Notebook use, no Prefect needed::

    from evaluation.workbench import evaluate_store, write_outputs
    ev = evaluate_store("data/moneytrail.duckdb", "data/generated")
    ev.tables()["recall_at_budgets"]          # Polars frames, one column run_id
    write_outputs(ev, "reports/eval")         # report.html, metrics.json, CSV + Parquet

Several runs are evaluated side by side; with two or more, every run is also compared with the
first (the baseline). Threshold sweeps and tuning read the first run's feature table and the
rules of ``config`` (default: the embedded defaults).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from evaluation import metrics, report, sweeps, tuning
from evaluation.inputs import RunData, load_labels, load_run, run_ids, transactions_for_f1, transfers
from evaluation.transactions import TransactionF1, transaction_f1
from moneytrail.config import Config
from moneytrail.lake import write_atomic


@dataclass(frozen=True)
class RunEvaluation:
    """All metrics of one run."""

    run_id: str
    config_hash: str
    accounts_scored: int
    detection: metrics.DetectionReport
    instance_auc: float | None
    recall_at_budgets: pl.DataFrame
    account_at_budgets: pl.DataFrame
    pr_curve: pl.DataFrame
    alerts_per_day: pl.DataFrame
    transaction_f1: TransactionF1 | None

    def summary(self) -> dict:
        """The headline numbers as one flat JSON-ready row."""
        d, tx = self.detection, self.transaction_f1
        return {
            "run_id": self.run_id,
            "config_hash": self.config_hash,
            "accounts_scored": self.accounts_scored,
            "alerts": d.alerts,
            "alerted_accounts": d.alerted_accounts,
            "alert_precision": d.alert_precision,
            "instance_recall": d.instance_recall,
            "account_average_precision": d.account_average_precision,
            "account_roc_auc": d.account_roc_auc,
            "instance_auc": self.instance_auc,
            "transaction_precision": tx.precision if tx else None,
            "transaction_recall": tx.recall if tx else None,
            "transaction_f1": tx.f1 if tx else None,
        }


@dataclass(frozen=True)
class Evaluation:
    """Runs side by side, their comparison with the first, sweeps and an optional tuning."""

    runs: list[RunEvaluation]
    labels: str
    budgets: tuple[float, ...]
    false_alert_cost: float
    comparison: pl.DataFrame | None = None
    sweep: pl.DataFrame | None = None
    chosen_thresholds: pl.DataFrame | None = None
    tuning: tuning.TuningResult | None = None
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pl.DataFrame]:
        """Every table behind the report, runs stacked with a leading ``run_id`` column."""

        def stack(get: Callable[[RunEvaluation], pl.DataFrame]) -> pl.DataFrame:
            return pl.concat([get(r).select(pl.lit(r.run_id).alias("run_id"), pl.all()) for r in self.runs])

        out = {
            # Metrics that could not be computed are null floats, not a column of type Null.
            "summary": pl.DataFrame([r.summary() for r in self.runs]).with_columns(
                pl.col(pl.Null).cast(pl.Float64)
            ),
            "recall_by_typology": stack(lambda r: r.detection.recall_by_typology),
            "recall_at_budgets": stack(lambda r: r.recall_at_budgets),
            "account_at_budgets": stack(lambda r: r.account_at_budgets),
            "pr_curve": stack(lambda r: r.pr_curve),
            "alerts_per_day": stack(lambda r: r.alerts_per_day),
            "false_alerts_by_behaviour": stack(lambda r: r.detection.false_alerts_by_behaviour),
        }
        optional = {
            "comparison": self.comparison,
            "threshold_sweeps": self.sweep,
            "chosen_thresholds": self.chosen_thresholds,
            "tuning_changes": self.tuning.changes if self.tuning else None,
            "tuning_validation": self.tuning.validation if self.tuning else None,
        }
        return out | {k: v for k, v in optional.items() if v is not None}

    def metrics(self) -> dict:
        """What ``metrics.json`` holds: settings, headline numbers, tuning split and notes."""
        tuned = None
        if self.tuning:
            split = self.tuning.split
            tuned = {
                "cutoff": split.cutoff,
                "tune_dates": list(split.tune_dates),
                "validate_dates": list(split.validate_dates),
                "settings": self.tuning.settings,
                "config_fingerprint": self.tuning.config.fingerprint(),
            }
        return {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "labels": self.labels,
            "budgets": list(self.budgets),
            "false_alert_cost": self.false_alert_cost,
            "runs": [
                r.summary()
                | {"transaction_f1_detail": asdict(r.transaction_f1) if r.transaction_f1 else None}
                for r in self.runs
            ],
            "tuning": tuned,
            "notes": self.notes,
        }


def evaluate_run(
    run: RunData,
    labels: dict[str, pl.DataFrame],
    budgets: Sequence[float] = metrics.DEFAULT_BUDGETS,
    transactions: pl.LazyFrame | None = None,
) -> RunEvaluation:
    """Every metric of one run; ``transactions`` (``tx_id, src_account, dst_account, date``) for F1."""
    scores = run.scores
    has_both = metrics.account_truth(scores, labels)["y"].n_unique() == 2
    tx = None
    if transactions is not None and scores.height:
        period = (scores["eval_date"].min(), scores["eval_date"].max())
        tx = transaction_f1(run.alerts, transactions, labels, period=period)
    return RunEvaluation(
        run_id=run.run_id,
        config_hash=run.config_hash,
        accounts_scored=scores.height,
        detection=metrics.evaluate(run.alerts, scores, labels),
        instance_auc=metrics.instance_ranking_auc(scores, labels) if has_both else None,
        recall_at_budgets=metrics.recall_at_budgets(scores, labels, budgets),
        account_at_budgets=metrics.account_metrics_at_budgets(scores, labels, budgets),
        pr_curve=metrics.precision_recall_points(scores, labels),
        alerts_per_day=metrics.alerts_per_day(run.alerts),
        transaction_f1=tx,
    )


def caught_instances(alerts: pl.DataFrame, labels: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """``instance_id, typology, caught`` for every instance, by the alerted accounts of a run."""
    alerted = alerts["account_id"].unique().implode()
    caught = (
        labels["instance_accounts"]
        .filter(pl.col("role").is_in(metrics.CATCHING_ROLES) & pl.col("account_id").is_in(alerted))
        .select("instance_id")
        .unique()
        .with_columns(pl.lit(True).alias("caught"))
    )
    return (
        labels["instances"]
        .select("instance_id", "typology")
        .join(caught, on="instance_id", how="left")
        .with_columns(pl.col("caught").fill_null(False))
    )


def compare_runs(baseline: RunData, other: RunData, labels: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """What changed per typology from ``baseline`` to ``other``, by the instances their alerts catch.

    Columns ``baseline, other, typology, instances, caught_baseline, caught_other, gained, lost,
    recall_baseline, recall_other, recall_change, alerts_baseline, alerts_other``.
    """
    both = caught_instances(baseline.alerts, labels).join(
        caught_instances(other.alerts, labels).select("instance_id", pl.col("caught").alias("caught_other")),
        on="instance_id",
    )
    alert_counts = (
        pl.concat(
            [
                run.alerts.group_by("typology").len().with_columns(pl.lit(name).alias("side"))
                for name, run in (("baseline", baseline), ("other", other))
            ]
        )
        .pivot(on="side", index="typology", values="len")
        .rename(lambda c: c if c == "typology" else f"alerts_{c}")
    )
    for side in ("baseline", "other"):
        if f"alerts_{side}" not in alert_counts.columns:
            alert_counts = alert_counts.with_columns(pl.lit(0, dtype=pl.UInt32).alias(f"alerts_{side}"))
    per_typology = both.group_by("typology").agg(
        pl.len().alias("instances"),
        pl.col("caught").sum().alias("caught_baseline"),
        pl.col("caught_other").sum(),
        (pl.col("caught_other") & ~pl.col("caught")).sum().alias("gained"),
        (pl.col("caught") & ~pl.col("caught_other")).sum().alias("lost"),
    )
    return (
        per_typology.join(alert_counts, on="typology", how="full", coalesce=True)
        .with_columns(
            pl.col("instances", "caught_baseline", "caught_other", "gained", "lost")
            .fill_null(0)
            .cast(pl.Int64),
            pl.col("alerts_baseline", "alerts_other").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            (pl.col("caught_baseline") / pl.col("instances")).alias("recall_baseline"),
            (pl.col("caught_other") / pl.col("instances")).alias("recall_other"),
        )
        .with_columns((pl.col("recall_other") - pl.col("recall_baseline")).alias("recall_change"))
        .select(
            pl.lit(baseline.run_id).alias("baseline"),
            pl.lit(other.run_id).alias("other"),
            "typology",
            "instances",
            "caught_baseline",
            "caught_other",
            "gained",
            "lost",
            "recall_baseline",
            "recall_other",
            "recall_change",
            "alerts_baseline",
            "alerts_other",
        )
        .sort("typology")
    )


def evaluate_store(
    db: Path,
    labels_path: Path,
    runs: Sequence[str] | None = None,
    *,
    budgets: Sequence[float] = metrics.DEFAULT_BUDGETS,
    config: Config | None = None,
    sweep: bool = True,
    tune: bool = False,
    false_alert_cost: float = 0.05,
) -> Evaluation:
    """Evaluate runs of the store at ``db`` (default: the latest) against the labels at ``labels_path``.

    Parameters
    ----------
    runs : run ids; the first is the baseline of the comparison, sweeps and tuning
    config : the rules swept and tuned (default: those the baseline run used, kept in its folder;
        the embedded defaults for runs that predate that)
    sweep, tune : threshold sweeps per rule condition; the time-split threshold search
    false_alert_cost : cost of one false alert in caught schemes, when suggesting and tuning thresholds
    """
    labels = load_labels(Path(labels_path))
    wanted = list(runs) if runs else run_ids(db)[-1:]
    if not wanted:
        raise ValueError(f"{db}: the store holds no run; run `moneytrail run` first")
    loaded = [load_run(db, r) for r in wanted]
    notes: list[str] = []
    evaluations = []
    for run in loaded:
        transactions = transactions_for_f1(run.lake)
        if transactions is None:
            notes.append(f"run {run.run_id}: lake {run.lake} not found, no transaction-level F1")
        evaluations.append(evaluate_run(run, labels, budgets, transactions))
    comparison = (
        pl.concat([compare_runs(loaded[0], other, labels) for other in loaded[1:]])
        if len(loaded) > 1
        else None
    )
    sweep_table = chosen = tuned = None
    base = loaded[0]
    config = config or base.config or Config()
    if (sweep or tune) and base.features_path is None:
        notes.append(f"run {base.run_id}: no features.parquet under {base.run_dir}; no sweeps or tuning")
    elif sweep or tune:
        if config.fingerprint() != base.config_hash:
            notes.append(
                f"rules swept and tuned are those of the given configuration ({config.fingerprint()}), "
                f"not necessarily those of run {base.run_id} ({base.config_hash})"
            )
        features = pl.read_parquet(base.features_path)
        if sweep:
            sweep_table = sweeps.sweep_rules(features, labels, config.detectors)
            chosen = sweeps.choose_thresholds(sweep_table, false_alert_cost)
        if tune:
            tuned = tuning.tune(
                features, labels, config, false_alert_cost=false_alert_cost, edges=transfers(base.lake)
            )
    return Evaluation(
        runs=evaluations,
        labels=str(labels_path),
        budgets=tuple(budgets),
        false_alert_cost=false_alert_cost,
        comparison=comparison,
        sweep=sweep_table,
        chosen_thresholds=chosen,
        tuning=tuned,
        notes=notes,
    )


def _json_default(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value: object) -> object:
    """NaN and infinities become null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write_tables(evaluation: Evaluation, out: Path) -> dict[str, Path]:
    """Write ``tables/<name>.parquet`` and ``tables/<name>.csv`` and ``metrics.json`` under ``out``."""
    out = Path(out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in evaluation.tables().items():
        write_atomic(frame.to_arrow(), out / "tables" / f"{name}.parquet")
        flat = frame.with_columns(
            pl.col(c).list.join("; ") for c, t in frame.schema.items() if t == pl.List(pl.String)
        )
        report.write_text_atomically(out / "tables" / f"{name}.csv", flat.write_csv())
        written[name] = out / "tables" / f"{name}.parquet"
    report.write_text_atomically(
        out / "metrics.json", json.dumps(_clean(evaluation.metrics()), default=_json_default, indent=2)
    )
    if evaluation.tuning is not None:
        written["tuned_config"] = tuning.write_config(evaluation.tuning.config, out / "tuned_config.toml")
    return written


def write_outputs(evaluation: Evaluation, out: Path) -> Path:
    """Write the tables, ``metrics.json`` and ``report.html`` under ``out``; returns the report's path."""
    write_tables(evaluation, out)
    return report.write_report(Path(out))
