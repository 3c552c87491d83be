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
    with console.status(f"ingesting {path}..."):
        report = run_ingest(path, format.value, lake or settings.paths.lake, settings.currency)
    console.print(report.summary(), highlight=False)


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
    with console.status("computing features..."):
        path = build_features(lake or settings.paths.lake, out, _parse_date(as_of), settings.features)
    console.print(f"wrote {path}")


@app.command()
@_user_errors
def run(
    lake: Annotated[Path | None, typer.Option(help="Parquet lake (default: the config's).")] = None,
    db: Annotated[Path | None, typer.Option(help="DuckDB results file (default: the config's).")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Nightly run for this date; omit to score the whole history."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run the monitoring flow: features, detectors, alerts (a Prefect flow run)."""
    from flows.nightly import nightly_flow
    from moneytrail.config import load_config

    settings = load_config(config)
    summary = nightly_flow(
        lake=lake or settings.paths.lake,
        db=db or settings.paths.db,
        as_of=_parse_date(as_of),
        config_path=config,
    )
    console.print(summary.markdown(), highlight=False)
    console.print(f"results: {db or settings.paths.db} (tables runs, account_scores, alerts)")
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
    from flows.schedule import backfill_flow
    from moneytrail.config import load_config

    settings = load_config(config)
    summaries = backfill_flow(
        lake=lake or settings.paths.lake,
        db=db or settings.paths.db,
        start=_parse_date(start),
        end=_parse_date(end),
        config_path=config,
    )
    for summary in summaries:
        console.print(
            f"{summary.as_of}: {summary.accounts_scored:,} accounts scored, {summary.alerts} alerts "
            f"(run {summary.run_id})",
            highlight=False,
        )


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
