"""One monitoring run as a sequence of steps, independent of how the steps are executed.

:func:`run_monitoring` is the run; :class:`StepRunners` says how each step is called: the plain
functions of :mod:`flows.steps` (:data:`PLAIN`: no Prefect, used by the crash test and usable
from any script) or Prefect tasks wrapping them (:mod:`flows.nightly`). Either way a failing
step is recorded in the ``runs`` table (status ``failed``, the step and the error) and raised
as :class:`RunFailed` naming the step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from flows import history, steps
from moneytrail import lake as lk
from moneytrail import store
from moneytrail.config import Config

_log = logging.getLogger("moneytrail.run")


@dataclass
class RunSummary:
    """What a run did, for the log, the ``runs`` table and the Prefect artifact."""

    run_id: str
    mode: str
    as_of: date | None
    run_dir: Path
    rows_in: int = 0
    rows_quarantined: int = 0
    transactions_in_scope: int = 0
    rows_scored: int = 0
    accounts_scored: int = 0
    alerts_by_typology: dict[str, int] = field(default_factory=dict)
    seconds_by_step: dict[str, float] = field(default_factory=dict)

    @property
    def alerts(self) -> int:
        return sum(self.alerts_by_typology.values())

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "rows_in": self.rows_in,
            "rows_quarantined": self.rows_quarantined,
            "transactions_in_scope": self.transactions_in_scope,
            "rows_scored": self.rows_scored,
            "accounts_scored": self.accounts_scored,
            "alerts": self.alerts,
            "alerts_by_typology": self.alerts_by_typology,
            "seconds_by_step": self.seconds_by_step,
        }

    def log_line(self) -> str:
        """The summary on one line (for the log)."""
        steps_text = ", ".join(f"{name} {secs:.2f}s" for name, secs in self.seconds_by_step.items())
        return (
            f"run {self.run_id} ({self.mode}{', as of ' + str(self.as_of) if self.as_of else ''}): "
            f"{self.rows_in} rows in, {self.rows_quarantined} quarantined, "
            f"{self.accounts_scored} accounts scored, {self.alerts} alerts {self.alerts_by_typology}; "
            f"{steps_text}"
        )

    def markdown(self) -> str:
        lines = [
            f"# moneytrail run `{self.run_id}`",
            "",
            f"- mode: **{self.mode}**" + (f", as of {self.as_of}" if self.as_of else ""),
            f"- rows in (ingest batches that loaded the evaluated dates): {self.rows_in:,}",
            f"- rows quarantined (same batches): {self.rows_quarantined:,}",
            f"- transactions in the partitions read: {self.transactions_in_scope:,}",
            f"- rows scored (account x evaluation date): {self.rows_scored:,}",
            f"- accounts scored: {self.accounts_scored:,}",
            f"- alerts: {self.alerts:,}",
            "",
            "| typology | alerts |",
            "|---|---:|",
            *(f"| {name} | {count} |" for name, count in sorted(self.alerts_by_typology.items())),
            "",
            "| step | seconds |",
            "|---|---:|",
            *(f"| {name} | {secs:.2f} |" for name, secs in self.seconds_by_step.items()),
        ]
        return "\n".join(lines)


class RunFailed(RuntimeError):
    """A run stopped in ``step``; the message says which step and why, on one line."""

    def __init__(self, run_id: str, step: str, cause: BaseException) -> None:
        self.run_id, self.step = run_id, step
        reason = " ".join(str(cause).split()) or "no message"
        super().__init__(f"run {run_id} failed in step {step!r}: {type(cause).__name__}: {reason}")


@dataclass(frozen=True)
class StepRunners:
    """How each step is called (same signatures as the functions in :data:`PLAIN`)."""

    inputs: Callable[..., Path]
    features: Callable[..., Path]
    score: Callable[..., Path]
    previous: Callable[..., Path]
    alerts: Callable[..., Path]
    store: Callable[..., None]


def resolve_inputs(lake: Path, as_of: date | None, config: Config, cache: Path, run_dir: Path) -> Path:
    """Fix the files the run reads and save them as ``run_dir/inputs.json``."""
    return steps.resolve_inputs(lake, as_of, config.features, cache if as_of else None).write(run_dir)


def build_features(inputs_path: Path, lake: Path, run_dir: Path, config: Config) -> Path:
    return steps.features_from_inputs(inputs_path, lake, run_dir, config.features)


def score(features_path: Path, run_dir: Path, config: Config, lake: Path, as_of: date | None) -> Path:
    return steps.score(features_path, run_dir, config.detectors, config.seed, lake_path=lake, as_of=as_of)


def previous_alerts(db: Path, as_of: date | None, config: Config, run_dir: Path) -> Path:
    """Save the stored alerts hibernation compares with (nightly: the hibernation period before
    ``as_of``; history: all) as ``run_dir/previous_alerts.parquet``."""
    since = as_of - timedelta(days=config.alerts.hibernation_days) if as_of else None
    frame = store.previous_alerts(db, since, as_of)
    return steps.write_parquet_atomically(frame, run_dir / "previous_alerts.parquet")


def select_alerts(
    scores_path: Path,
    previous_path: Path,
    inputs_path: Path,
    *,
    lake: Path,
    run_dir: Path,
    config: Config,
    run_id: str,
) -> Path:
    """Alerts with case keys from the lake's accounts, hibernation against ``previous_path``
    and transfer roll-up over the run's partitions (not the older-history digest)."""
    edges = history.scan_files(steps.RunInputs.read(inputs_path).files).select("src_account", "dst_account")
    return steps.select_alerts(
        scores_path,
        run_dir,
        config.alerts,
        run_id,
        accounts=lk.scan_accounts(lake).collect(),
        previous=pl.read_parquet(previous_path),
        edges=edges.unique().collect(),
    )


def write_store(db: Path, record: store.RunRecord, best_scores_path: Path, alerts_path: Path) -> None:
    store.write_run(
        db, record, pl.read_parquet(best_scores_path).to_arrow(), pl.read_parquet(alerts_path).to_arrow()
    )


PLAIN = StepRunners(resolve_inputs, build_features, score, previous_alerts, select_alerts, write_store)


def digest_cache(db: Path) -> Path:
    """Where incremental runs keep their history digests: beside the database."""
    return Path(db).parent / "cache" / "history"


def lake_id(lake: Path) -> str:
    """How the ``runs`` table names a lake (its absolute path)."""
    return str(Path(lake).resolve())


class _Clock:
    """Times each step into the summary and remembers which one is running."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary, self.current = summary, "setup"

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.current, started = name, time.perf_counter()
        yield
        self.summary.seconds_by_step[name] = round(time.perf_counter() - started, 3)


def _ingest_counts(lake: Path, batches: list[str]) -> tuple[int, int]:
    """Rows in and rows quarantined of the given ingest batches (from the lake's manifest)."""
    manifest = lk.read_manifest(lake).filter(pl.col("batch_id").is_in(batches))
    return int(manifest["rows_in"].sum()), int(manifest["rows_quarantined"].sum())


def run_monitoring(
    lake: Path,
    db: Path,
    as_of: date | None,
    config: Config,
    *,
    runners: StepRunners = PLAIN,
    log: Callable[[str], None] = _log.info,
) -> RunSummary:
    """Score the lake's accounts for ``as_of`` (nightly, incremental inputs) or the whole
    history (``as_of=None``) and store scores and alerts in ``db`` in one transaction."""
    lake, db = Path(lake), Path(db)
    started_at = datetime.now(UTC)
    run_id = steps.new_run_id(started_at)
    summary = RunSummary(run_id, "nightly" if as_of else "history", as_of, db.parent / "runs" / run_id)
    clock = _Clock(summary)
    inputs = steps.RunInputs(as_of, [], [])

    def record() -> store.RunRecord:
        return store.RunRecord(
            run_id=run_id,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            mode=summary.mode,
            as_of=as_of,
            lake=lake_id(lake),
            input_partitions=inputs.partitions,
            config_hash=config.fingerprint(),
            code_version=steps.code_version(),
            summary=summary.as_dict(),
            rows_in=summary.rows_in,
            rows_quarantined=summary.rows_quarantined,
            input_batches=inputs.batches,
            history_digest=inputs.digest,
        )

    log(f"run {run_id} ({summary.mode}) config {config.fingerprint()} code {steps.code_version()}")
    steps.write_config(config, summary.run_dir)
    try:
        with clock.step("inputs"):
            inputs_path = runners.inputs(lake, as_of, config, digest_cache(db), summary.run_dir)
            inputs = steps.RunInputs.read(inputs_path)
            summary.rows_in, summary.rows_quarantined = _ingest_counts(lake, inputs.batches)
            summary.transactions_in_scope = history.scan_files(inputs.files).select(pl.len()).collect().item()
        with clock.step("features"):
            features_path = runners.features(inputs_path, lake, summary.run_dir, config)
        with clock.step("score"):
            scores_path = runners.score(features_path, summary.run_dir, config, lake, as_of)
            scores = pl.read_parquet(scores_path)
            best = steps.best_score_per_account(scores, run_id)
            best_path = steps.write_parquet_atomically(best, summary.run_dir / "account_scores.parquet")
            summary.rows_scored, summary.accounts_scored = scores.height, best.height
        with clock.step("previous alerts"):
            previous_path = runners.previous(db, as_of, config, summary.run_dir)
        with clock.step("alerts"):
            alerts_path = runners.alerts(
                scores_path,
                previous_path,
                inputs_path,
                lake=lake,
                run_dir=summary.run_dir,
                config=config,
                run_id=run_id,
            )
            alerts = pl.read_parquet(alerts_path, columns=["typology"])
            summary.alerts_by_typology = dict(alerts.group_by("typology").len().sort("typology").iter_rows())
        with clock.step("store"):
            runners.store(db, record(), best_path, alerts_path)
    except Exception as exc:
        failure = RunFailed(run_id, clock.current, exc)
        log(str(failure))
        with suppress(Exception):  # the store itself may be what failed
            store.record_failure(db, record(), clock.current, str(failure))
        raise failure from exc
    log(summary.log_line())
    return summary


def pending_dates(lake: Path, db: Path, until: date | None = None) -> list[date]:
    """Lake dates (up to ``until``) that an incremental run must score, oldest first.

    The dates after the latest one with a successful nightly run over this lake (a failed
    date stays pending); on a store that has scored nothing, only the latest date. Older
    dates, or dates whose data arrived late, are rescored with ``backfill``.
    """
    days = [d for d in lk.lake_partitions(lake) if until is None or d <= until]
    scored = store.scored_dates(db, lake_id(lake))
    if not scored:
        return days[-1:]
    return [d for d in days if d > max(scored)]


def run_pending(
    lake: Path,
    db: Path,
    config: Config,
    *,
    until: date | None = None,
    runners: StepRunners = PLAIN,
    log: Callable[[str], None] = _log.info,
) -> list[RunSummary]:
    """Score every pending date (:func:`pending_dates`), one run and one transaction each."""
    days = pending_dates(lake, db, until)
    return [run_monitoring(lake, db, day, config, runners=runners, log=log) for day in days]
