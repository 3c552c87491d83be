"""The evaluation flow: stored runs + ground truth -> tables, ``metrics.json``, ``report.html``.

A thin composition of :mod:`evaluation.workbench` (usable without Prefect from a notebook).
Tasks pass paths; the markdown summary and the headline tables are published as artifacts.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from evaluation import metrics, report, workbench
from moneytrail.config import load_config


@dataclass(frozen=True)
class EvaluationSummary:
    """Where the evaluation wrote its outputs, and its headline rows."""

    out: Path
    report: Path
    runs: list[dict]

    def markdown(self) -> str:
        """The headline numbers as a markdown table (data strings escaped)."""
        columns = [
            "run_id",
            "alerts",
            "alert_precision",
            "instance_recall",
            "account_average_precision",
            "account_roc_auc",
            "transaction_f1",
        ]
        lines = [
            "# moneytrail evaluation",
            "",
            f"Report: `{self.report}`",
            "",
            "| " + " | ".join(columns) + " |",
            "|" + "---|" * len(columns),
        ]
        lines += ["| " + " | ".join(_md(run.get(c)) for c in columns) + " |" for run in self.runs]
        return "\n".join(lines)


def _md(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value)).replace("|", "\\|")


@task(name="evaluate-runs")
def evaluate_task(
    db: Path,
    labels: Path,
    out: Path,
    *,
    run_ids: list[str] | None,
    config_path: Path | None,
    budgets: tuple[float, ...],
    sweep: bool,
    tune: bool,
    false_alert_cost: float,
) -> Path:
    evaluation = workbench.evaluate_store(
        db,
        labels,
        run_ids,
        budgets=budgets,
        config=load_config(config_path),
        sweep=sweep,
        tune=tune,
        false_alert_cost=false_alert_cost,
    )
    workbench.write_tables(evaluation, out)
    return out


@task(name="report")
def report_task(out: Path) -> Path:
    return report.write_report(out)


def _table_rows(out: Path, name: str) -> list[dict] | None:
    path = out / "tables" / f"{name}.parquet"
    if not path.exists():
        return None
    frame = pl.read_parquet(path)
    return frame.with_columns(pl.col(pl.Date).cast(pl.String)).to_dicts()


@flow(name="moneytrail-evaluate", log_prints=False)
def evaluate_flow(
    db: Path,
    labels: Path,
    out: Path,
    *,
    run_ids: list[str] | None = None,
    config_path: Path | None = None,
    budgets: tuple[float, ...] = metrics.DEFAULT_BUDGETS,
    sweep: bool = True,
    tune: bool = False,
    false_alert_cost: float = 0.05,
) -> EvaluationSummary:
    """Evaluate runs of ``db`` (default: the latest) against ``labels`` and write ``out``."""
    logger = get_run_logger()
    out = evaluate_task(
        Path(db),
        Path(labels),
        Path(out),
        run_ids=run_ids,
        config_path=config_path,
        budgets=tuple(budgets),
        sweep=sweep,
        tune=tune,
        false_alert_cost=false_alert_cost,
    )
    page = report_task(out)
    facts = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    summary = EvaluationSummary(out=out, report=page, runs=facts["runs"])
    for note in facts["notes"]:
        logger.warning(note)
    create_markdown_artifact(
        summary.markdown(), key="moneytrail-evaluation", description="Evaluation summary"
    )
    for name in ("recall_at_budgets", "comparison", "chosen_thresholds"):
        rows = _table_rows(out, name)
        if rows is not None:
            key = "moneytrail-evaluation-" + name.replace("_", "-")
            create_table_artifact(rows, key=key, description=name.replace("_", " "))
    logger.info("evaluation of %d run(s) written to %s", len(summary.runs), out)
    return summary
