"""Render ``report.html`` from an evaluation folder (``metrics.json`` and ``tables/*.parquet``).

The report is one self-contained file: inline SVG charts (:mod:`evaluation.svg`), no script,
no external resource. It is rendered by a Jinja2 template with autoescape on, because
typology, behaviour and run names come from data.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from evaluation.svg import Series, bar_chart, line_chart

TEMPLATE = "report.html.j2"
#: Rows shown per table in the report (the CSV and Parquet files hold all of them).
MAX_ROWS = 60


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("evaluation", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1_000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(frame: pl.DataFrame | None, max_rows: int = MAX_ROWS) -> dict | None:
    """A frame as ``{"columns", "rows", "more"}`` of display strings for the template."""
    if frame is None:
        return None
    rows = [[_cell(v) for v in row] for row in frame.head(max_rows).iter_rows()]
    return {"columns": frame.columns, "rows": rows, "more": max(0, frame.height - max_rows)}


def _read(out: Path, name: str) -> pl.DataFrame | None:
    path = out / "tables" / f"{name}.parquet"
    return pl.read_parquet(path) if path.exists() else None


def _per_run(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {
        str(k[0]): part for k, part in frame.partition_by("run_id", as_dict=True, maintain_order=True).items()
    }


def _day(value: float) -> str:
    return date.fromordinal(round(value)).isoformat()


def recall_chart(recall: pl.DataFrame) -> Markup:
    """Recall by typology at each run's own alerts, one bar per run."""
    typologies = recall["typology"].unique().sort().to_list()
    groups = {
        run: part.select("typology", "recall")
        .join(pl.DataFrame({"typology": typologies}), on="typology", how="right")
        .sort("typology")["recall"]
        .to_list()
        for run, part in _per_run(recall).items()
    }
    return bar_chart(typologies, groups, title="Instance recall by typology (run's alerts)", x_label="recall")


def budget_chart(budgets: pl.DataFrame) -> Markup:
    overall = budgets.filter(pl.col("typology") == "all")
    series = [
        Series(run, (part["budget"] * 100).to_list(), part["recall"].to_list())
        for run, part in _per_run(overall).items()
    ]
    return line_chart(
        series,
        x_ticks=sorted(set(overall["budget"] * 100)),
        title="Instance recall by alert budget",
        x_label="alert budget, % of scored accounts",
        y_label="instance recall",
        y_range=(0.0, 1.0),
    )


def pr_chart(curve: pl.DataFrame) -> Markup:
    series = [
        Series(run, part["recall"].to_list(), part["precision"].to_list())
        for run, part in _per_run(curve).items()
    ]
    return line_chart(
        series,
        title="Account-level precision-recall",
        x_label="recall",
        y_label="precision",
        y_range=(0.0, 1.0),
        steps=True,
    )


def volume_chart(per_day: pl.DataFrame) -> Markup:
    series = [
        Series(run, [d.toordinal() for d in part["eval_date"].to_list()], part["alerts"].to_list())
        for run, part in _per_run(per_day).items()
    ]
    return line_chart(
        series, title="Alert volume per evaluation date", x_label="date", y_label="alerts", x_format=_day
    )


def sweep_charts(sweep: pl.DataFrame) -> list[Markup]:
    """One chart per swept condition: alert volume and scheme recall against the threshold."""
    charts = []
    for (rule, _), part in sweep.partition_by(
        ["rule", "condition"], as_dict=True, maintain_order=True
    ).items():
        thresholds = part["threshold"].to_list()
        schemes = part["schemes_above"] + part["schemes_below"]
        peak = max(part["alerts"].max() or 0, 1)
        positive = min(thresholds) > 0
        current = part.filter("current")["threshold"]
        charts.append(
            line_chart(
                [
                    Series("alerts (share of max)", thresholds, (part["alerts"] / peak).to_list()),
                    Series(
                        "schemes above line",
                        thresholds,
                        (part["schemes_above"] / schemes.clip(lower_bound=1)).to_list(),
                    ),
                    Series(
                        "true alerts (share)",
                        thresholds,
                        (part["true_alerts"] / part["alerts"].clip(lower_bound=1)).to_list(),
                    ),
                ],
                title=f"{rule} · {part['value'][0]} {part['op'][0]}",
                x_label=f"threshold (dashed: current; max alerts {peak:,})",
                y_label="share",
                y_range=(0.0, 1.0),
                x_log=positive and max(thresholds) / min(thresholds) > 50,
                marker_x=current[0] if current.len() else None,
            )
        )
    return charts


def tuning_chart(validation: pl.DataFrame) -> Markup:
    overall = validation.filter(pl.col("typology") == "all")
    series = [
        Series(str(k[0]), (part["budget"] * 100).to_list(), part["recall"].to_list())
        for k, part in overall.partition_by("config", as_dict=True, maintain_order=True).items()
    ]
    return line_chart(
        series,
        x_ticks=sorted(set(overall["budget"] * 100)),
        title="Validation period: instance recall by budget",
        x_label="alert budget, %",
        y_label="instance recall",
        y_range=(0.0, 1.0),
    )


def _by_typology_pivot(budgets: pl.DataFrame) -> pl.DataFrame:
    return budgets.with_columns(pl.format("recall@{}%", (pl.col("budget") * 100).round(2)).alias("at")).pivot(
        on="at", index=["run_id", "typology"], values="recall"
    )


def _runs_as_columns(frame: pl.DataFrame, index: list[str], values: str) -> pl.DataFrame:
    """One column of ``values`` per run (the tables stack runs; the report puts them side by side)."""
    return frame.pivot(on="run_id", index=index, values=values, sort_columns=False).sort(index)


def render(out: Path) -> str:
    """The report's HTML for the evaluation folder ``out``."""
    out = Path(out)
    facts = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    recall, budgets = _read(out, "recall_by_typology"), _read(out, "recall_at_budgets")
    sweep, validation = _read(out, "threshold_sweeps"), _read(out, "tuning_validation")
    context = {
        "facts": facts,
        "summary": table(_read(out, "summary")),
        "recall_chart": recall_chart(recall) if recall is not None else None,
        "recall": table(_runs_as_columns(recall, ["typology", "instances"], "recall"))
        if recall is not None
        else None,
        "budget_chart": budget_chart(budgets) if budgets is not None else None,
        "budgets": table(_by_typology_pivot(budgets)) if budgets is not None else None,
        "pr_chart": pr_chart(_read(out, "pr_curve")),
        "accounts": table(_read(out, "account_at_budgets")),
        "volume_chart": volume_chart(_read(out, "alerts_per_day")),
        "false_alerts": table(
            _runs_as_columns(_read(out, "false_alerts_by_behaviour"), ["behaviour"], "false_alerts")
        ),
        "comparison": table(_read(out, "comparison")),
        "sweep_charts": sweep_charts(sweep) if sweep is not None else [],
        "chosen": table(_read(out, "chosen_thresholds")),
        "tuning_chart": tuning_chart(validation) if validation is not None else None,
        "tuning_changes": table(_read(out, "tuning_changes")),
    }
    return _environment().get_template(TEMPLATE).render(**context)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary name beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_report(out: Path) -> Path:
    """Render and write ``out/report.html``; returns its path."""
    path = Path(out) / "report.html"
    write_text_atomically(path, render(out))
    return path
