"""The ``moneytrail`` command line: parses arguments and calls the pipeline; no logic of its own.

Commands are a public contract (benchmarks and outside checks call them): extend, never break.
Errors the user can fix end with a one-line message and exit code 2, not a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Prefect's telemetry can fail with "database is locked" on a temporary server; opt out unless the
# operator chose otherwise. Set before anything imports prefect.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect's temporary server gets 20 s to start by default: too short on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

app = typer.Typer(
    help="moneytrail: find money-laundering patterns in transaction data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML file overriding the embedded defaults.")
]


class IngestFormat(StrEnum):
    canonical = "canonical"
    ibm_amlworld = "ibm-amlworld"
    amlsim = "amlsim"


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn errors a user can act on into a one-line message and exit code 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from moneytrail.config import ConfigError
        from moneytrail.ingest import IngestError
        from moneytrail.schemas import SchemaError

        try:
            return command(*args, **kwargs)
        except (ConfigError, IngestError, SchemaError, FileNotFoundError, ValueError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2024-03-31") from None


@app.command()
@_user_errors
def generate(
    preset: Annotated[str | None, typer.Option(help="tiny, demo or 10m (default: the config's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the config's seed).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("data/generated"),
    amlworld_csv: Annotated[
        Path | None,
        typer.Option("--amlworld-csv", help="Also write the transactions in IBM AMLworld's CSV layout."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Generate synthetic transactions with planted, labelled laundering schemes."""
    import synthetic_data
    from moneytrail.config import load_config

    settings = load_config(config)
    preset = preset or settings.generator.preset
    with console.status(f"generating preset {preset!r}..."):
        summary = synthetic_data.generate(
            preset, settings.seed if seed is None else seed, out, settings.generator.overrides
        )
    console.print(summary)
    console.print(f"wrote {out}/transactions.parquet, {out}/accounts.parquet, {out}/labels/")
    if amlworld_csv is not None:
        rows = synthetic_data.write_amlworld_csv(out, amlworld_csv)
        console.print(f"wrote {amlworld_csv} ({rows:,} rows, IBM AMLworld layout)")


@app.command()
@_user_errors
def ingest(
    path: Annotated[Path, typer.Argument(help="File or folder to load.")],
    format: Annotated[IngestFormat, typer.Option("--format", "-f", help="Input layout.")] = (
        IngestFormat.canonical
    ),
    lake: Annotated[Path | None, typer.Option(help="Parquet lake (default: the config's).")] = None,
    config: ConfigOption = None,
) -> None:
    """Load transactions (and accounts and labels, if present) into the Parquet lake."""
    from moneytrail.config import load_config
    from moneytrail.ingest import ingest as run_ingest

    settings = load_config(config)
    with _progress() as progress:
        progress.add_task(f"ingesting {path}", total=None)
        report = run_ingest(path, format.value, lake or settings.paths.lake, settings.currency)
    console.print(report.summary(), highlight=False, soft_wrap=True)


@app.command()
@_user_errors
def features(
    lake: Annotated[Path | None, typer.Option(help="Parquet lake (default: the config's).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for features.parquet.")] = Path("data/features"),
    as_of: Annotated[str | None, typer.Option("--as-of", help="Trailing windows ending this date.")] = None,
    config: ConfigOption = None,
) -> None:
    """Compute and write the feature table alone (no Prefect, no detectors)."""
    from flows.steps import build_features
    from moneytrail.config import load_config

    settings = load_config(config)
    with _progress() as progress:
        progress.add_task("computing features", total=None)
        path = build_features(lake or settings.paths.lake, out, _parse_date(as_of), settings.features)
    console.print(f"wrote {path}")


def _progress() -> Any:
    """A progress bar on stderr when it is a terminal; disabled (silent) for pipes and files."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def _run_days(
    days: list[date | None], lake: Path, db: Path, config: Path | None, dask: str | None = None
) -> list[Any]:
    """One nightly flow run per date (``None``: the whole history), with a progress bar.

    A failed run ends the command with one line naming the step and exit code 1.
    """
    from flows.nightly import nightly_flow
    from flows.pipeline import RunFailed

    summaries = []
    with _progress() as progress:
        bar = progress.add_task("scoring", total=len(days))
        for day in days:
            progress.update(bar, description=f"scoring {day or 'the whole history'}")
            try:
                summaries.append(nightly_flow(lake=lake, db=db, as_of=day, config_path=config, dask=dask))
            except RunFailed as exc:
                err_console.print(Text(f"error: {exc}", style="bold red"), soft_wrap=True)
                raise typer.Exit(1) from None
            progress.advance(bar)
    return summaries


def _print_run_lines(summaries: list[Any]) -> None:
    for summary in summaries:
        console.print(
            f"{summary.as_of}: {summary.accounts_scored:,} accounts scored, {summary.alerts} alerts "
            f"(run {summary.run_id})",
            highlight=False,
        )


@app.command()
@_user_errors
def run(
    lake: Annotated[Path | None, typer.Option(help="Parquet lake (default: the config's).")] = None,
    db: Annotated[Path | None, typer.Option(help="DuckDB results file (default: the config's).")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Nightly run for this date; omit to score the whole history."),
    ] = None,
    new: Annotated[
        bool, typer.Option("--new", help="Incremental: score every date partition not scored yet.")
    ] = False,
    *,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Compute features as account shards on a Dask cluster: local:N (N local workers) "
            "or tcp://HOST:PORT (a running scheduler). Same results.",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the monitoring flow: features, detectors, alerts (a Prefect flow run per date)."""
    from flows.pipeline import pending_dates
    from moneytrail.config import ScaleOutConfig, load_config

    settings = load_config(config)
    if dask is not None:
        try:
            ScaleOutConfig(dask=dask)
        except ValueError as exc:
            raise typer.BadParameter(f"expected local:N or tcp://HOST:PORT, got {dask!r}") from exc
    lake, db = lake or settings.paths.lake, db or settings.paths.db
    if new and as_of:
        raise typer.BadParameter("--new scores the pending dates; leave out --as-of")
    if new:
        days = pending_dates(lake, db)
        console.print(f"{len(days)} new date(s) to score", highlight=False)
        _print_run_lines(_run_days(list(days), lake, db, config, dask))
        return
    (summary,) = _run_days([_parse_date(as_of)], lake, db, config, dask)
    console.print(summary.markdown(), highlight=False)
    console.print(f"results: {db} (tables runs, account_scores, alerts)")
    console.print(f"run files: {summary.run_dir}")


@app.command()
@_user_errors
def backfill(
    start: Annotated[str, typer.Option(help="First date to score (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last date to score, inclusive.")],
    lake: Annotated[Path | None, typer.Option(help="Parquet lake (default: the config's).")] = None,
    db: Annotated[Path | None, typer.Option(help="DuckDB results file (default: the config's).")] = None,
    config: ConfigOption = None,
) -> None:
    """Rerun the nightly run for each date in a range (idempotent: no duplicate alerts)."""
    from flows.schedule import backfill_dates
    from moneytrail.config import load_config

    settings = load_config(config)
    days = backfill_dates(_parse_date(start), _parse_date(end))
    _print_run_lines(_run_days(list(days), lake or settings.paths.lake, db or settings.paths.db, config))


@app.command()
@_user_errors
def serve(
    cron: Annotated[str, typer.Option(help="Cron schedule, UTC.")] = "0 2 * * *",
    name: Annotated[str, typer.Option(help="Deployment name.")] = "moneytrail-nightly",
    lake: Annotated[Path | None, typer.Option(help="Parquet lake (default: the config's).")] = None,
    db: Annotated[Path | None, typer.Option(help="DuckDB results file (default: the config's).")] = None,
    config: ConfigOption = None,
) -> None:
    """Register the nightly flow on a schedule and run it when due (needs a Prefect server)."""
    from prefect import serve as prefect_serve

    from flows.schedule import nightly_deployment
    from moneytrail.config import load_config

    settings = load_config(config)
    deployment = nightly_deployment(
        lake or settings.paths.lake, db or settings.paths.db, config, cron=cron, name=name
    )
    prefect_serve(deployment)


@app.command()
@_user_errors
def alerts(
    db: Annotated[Path | None, typer.Option(help="DuckDB results file (default: the config's).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.table,
    run_id: Annotated[str | None, typer.Option(help="Run to list (default: the latest).")] = None,
    config: ConfigOption = None,
) -> None:
    """List the alerts of a run, highest score first."""
    from moneytrail import store
    from moneytrail.config import load_config

    settings = load_config(config)
    frame = store.read_alerts(db or settings.paths.db, run_id=run_id, limit=limit)
    if format is OutputFormat.csv:
        sys.stdout.write(frame.with_columns(frame["reasons"].list.join("; ")).write_csv())
    elif format is OutputFormat.json:
        sys.stdout.write(json.dumps(frame.to_dicts(), default=_json_default, indent=2) + "\n")
    else:
        console.print(_alerts_table(frame))


@app.command()
@_user_errors
def review(
    *,
    db: Annotated[Path | None, typer.Option(help="DuckDB results file (default: the config's).")] = None,
    cases: Annotated[
        Path | None, typer.Option(help="Case store (default: <db stem>.cases.sqlite beside the db).")
    ] = None,
    lake: Annotated[Path | None, typer.Option(help="Parquet lake (default: the last sync's).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; beyond loopback needs a token.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    sync: Annotated[
        bool, typer.Option("--sync", help="Import every alert of DB into the case store and exit.")
    ] = False,
    export_labels: Annotated[
        Path | None, typer.Option("--export-labels", help="Write the dispositions as a Parquet label table.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Serve the case review app (reads the case store and the lake, never the DuckDB file)."""
    from cases import labels, review_app
    from cases.store import case_store_path
    from cases.sync import sync_from_db
    from moneytrail.config import load_config

    settings = load_config(config)
    db = db or settings.paths.db
    cases = cases or case_store_path(db)
    if sync:
        report = sync_from_db(cases, db, lake=lake)
        console.print(f"{cases}: {report.alerts_new} new alert(s), {report.cases_new} new case(s)")
    elif export_labels is not None:
        rows = labels.export_labels(cases, export_labels)
        console.print(f"wrote {export_labels} ({rows} label row(s))")
    else:
        review_app.serve(cases, lake, host, port, os.environ.get(review_app.TOKEN_ENV))


@app.command()
@_user_errors
def evaluate(
    *,
    labels: Annotated[
        Path, typer.Option(help="Ground truth: a generator output or lake (or its labels/), or dispositions.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for report.html, metrics.json and tables/.")] = Path(
        "reports/evaluation"
    ),
    db: Annotated[Path | None, typer.Option(help="DuckDB results file (default: the config's).")] = None,
    run: Annotated[
        list[str] | None,
        typer.Option("--run", help="Run id to evaluate (repeat; the first is the baseline; default latest)."),
    ] = None,
    budget: Annotated[
        list[float] | None,
        typer.Option("--budget", min=0.0, max=1.0, help="Alert budget, share of scored accounts (repeat)."),
    ] = None,
    sweep: Annotated[bool, typer.Option(help="Threshold sweeps per rule condition.")] = True,
    tune: Annotated[
        bool, typer.Option("--tune", help="Search thresholds on a time split; writes tuned_config.toml.")
    ] = False,
    false_alert_cost: Annotated[
        float, typer.Option(min=0.0, help="Cost of a false alert in schemes (0.05: 1 scheme = 20 alerts).")
    ] = 0.05,
    config: ConfigOption = None,
) -> None:
    """Evaluate runs against ground truth: metrics by typology, threshold sweeps, an HTML report."""
    from evaluation.metrics import DEFAULT_BUDGETS
    from flows.evaluate import evaluate_flow
    from moneytrail.config import load_config

    settings = load_config(config)
    summary = evaluate_flow(
        db=db or settings.paths.db,
        labels=labels,
        out=out,
        run_ids=run or None,
        config_path=config,
        budgets=tuple(budget or DEFAULT_BUDGETS),
        sweep=sweep,
        tune=tune,
        false_alert_cost=false_alert_cost,
    )
    console.print(summary.markdown(), highlight=False, markup=False)
    console.print(f"report: {summary.report}")


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value))


def _alerts_table(frame: Any) -> Table:
    table = Table(
        title=f"{frame.height} alert(s), highest score first",
        caption="top reason shown; `--format json` lists every reason",
    )
    for name, justify in [("account", "left"), ("typology", "left"), ("score", "right"), ("date", "left")]:
        table.add_column(name, justify=justify, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in frame.iter_rows(named=True):
        reasons = row["reasons"] or []
        more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
        # Data strings are shown literally: rich markup inside them is not interpreted.
        table.add_row(
            Text(row["account_id"]),
            Text(row["typology"]),
            f"{row['score']:.3f}",
            str(row["eval_date"]),
            Text((reasons[0] if reasons else "") + more),
        )
    return table


if __name__ == "__main__":
    app()
