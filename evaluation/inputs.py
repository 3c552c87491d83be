"""Read what an evaluation needs: a run's scores, alerts and run files, and the ground truth.

Everything here returns plain Polars frames or dataclasses, so a notebook can call it without
Prefect. The store is opened read-only and every value is bound as a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from moneytrail import store
from moneytrail.config import RUN_CONFIG_FILE, Config
from moneytrail.lake import LABELS_DIR, read_labels, scan_transactions
from moneytrail.schemas import SchemaError


@dataclass(frozen=True)
class RunData:
    """One stored run: its best score per account, its alerts and where its files are."""

    run_id: str
    config_hash: str
    lake: Path
    scores: pl.DataFrame
    alerts: pl.DataFrame
    run_dir: Path

    @property
    def config(self) -> Config | None:
        """The configuration the run used (kept in its folder), or None for runs that predate it."""
        path = self.run_dir / RUN_CONFIG_FILE
        return Config.model_validate_json(path.read_text(encoding="utf-8")) if path.exists() else None

    @property
    def features_path(self) -> Path | None:
        """The run's feature table, or None when it was not kept."""
        path = self.run_dir / "features.parquet"
        return path if path.exists() else None


def run_ids(db: Path) -> list[str]:
    """Every successful run in the store, oldest first."""
    with store.connect(db, read_only=True) as con:
        rows = con.execute(
            "SELECT run_id FROM runs WHERE status = 'succeeded' ORDER BY finished_at, run_id"
        ).fetchall()
    return [r[0] for r in rows]


def load_run(db: Path, run_id: str | None = None) -> RunData:
    """Read run ``run_id`` (default: the latest) from the store at ``db``.

    Raises
    ------
    ValueError
        The store holds no such run (the message lists the runs it holds).
    """
    db = Path(db)
    with store.connect(db, read_only=True) as con:
        run_id = run_id or store.latest_run_id(con)
        meta = con.execute("SELECT config_hash, lake FROM runs WHERE run_id = ?", [run_id]).fetchall()
        if not meta:
            known = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
            raise ValueError(f"{db}: no run {run_id!r}; the store holds {known or 'no runs'}")
        scores = con.sql(
            "SELECT account_id, score, eval_date, top_typology, reasons FROM account_scores "
            "WHERE run_id = ? ORDER BY account_id",
            params=[run_id],
        ).pl()
    alerts = store.read_alerts(db, run_id=run_id)
    return RunData(
        run_id=run_id,
        config_hash=meta[0][0],
        lake=Path(meta[0][1]),
        scores=scores,
        alerts=alerts,
        run_dir=db.parent / "runs" / run_id,
    )


#: Columns read from an analysts' dispositions file (``moneytrail review --export-labels``).
DISPOSITION_COLUMNS = ("account_id", "case_id", "typology", "label")
#: Behaviour that dispositions give an account closed as a false positive.
ANALYST_FALSE_POSITIVE = "analyst_false_positive"


def labels_from_dispositions(path: Path) -> dict[str, pl.DataFrame]:
    """Label tables from analysts' dispositions: one row per (closed case, account).

    A case closed as reported (``label`` 1) becomes an instance of its typology whose accounts
    count as originators (so alerting them catches it); an account of a case closed as a false
    positive (``label`` 0) shows the look-alike ``analyst_false_positive``. Dispositions only
    cover what was alerted and reviewed: recall against them is recall among reviewed cases.

    Raises
    ------
    moneytrail.schemas.SchemaError
        A column of :data:`DISPOSITION_COLUMNS` is missing.
    """
    frame = pl.read_parquet(path)
    missing = [c for c in DISPOSITION_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(f"{path}: missing column(s) {missing} of a dispositions file")
    reported = frame.filter(pl.col("label") == 1).with_columns(
        pl.format("case-{}", pl.col("case_id")).alias("instance_id")
    )
    instances = reported.group_by("instance_id").agg(pl.col("typology").first()).sort("instance_id")
    return {
        "instances": instances.with_columns(
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("start"),
            pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("end"),
        ),
        "instance_accounts": reported.select("instance_id", "account_id", pl.lit("originator").alias("role"))
        .unique()
        .sort("instance_id", "account_id"),
        "transactions": pl.DataFrame(schema={"tx_id": pl.String, "instance_id": pl.String}),
        "benign_behaviours": frame.filter(pl.col("label") == 0)
        .select(
            pl.format("case-{}", pl.col("case_id")).alias("behaviour_id"),
            pl.lit(ANALYST_FALSE_POSITIVE).alias("behaviour"),
            "account_id",
        )
        .unique()
        .sort("behaviour_id", "account_id"),
    }


def load_labels(path: Path) -> dict[str, pl.DataFrame]:
    """Ground truth from a generator output folder, a lake, either one's ``labels/`` folder, or
    an analysts' dispositions Parquet file (:func:`labels_from_dispositions`).

    Raises
    ------
    FileNotFoundError
        ``path`` is no Parquet file and neither ``path/labels/instances.parquet`` nor
        ``path/instances.parquet`` exists.
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".parquet":
        return labels_from_dispositions(path)
    if not (path / LABELS_DIR).is_dir() and path.name == LABELS_DIR:
        path = path.parent
    if not any((path / LABELS_DIR).glob("instances.parquet*")):
        raise FileNotFoundError(f"{path}: no label tables here (expected {LABELS_DIR}/instances.parquet)")
    return read_labels(path)


def transactions_for_f1(lake: Path) -> pl.LazyFrame | None:
    """The lake's ``tx_id, src_account, dst_account, date``; None when the lake is gone."""
    if not (Path(lake) / "transactions").is_dir():
        return None
    return scan_transactions(Path(lake)).select(
        "tx_id", "src_account", "dst_account", pl.col("timestamp").dt.date().alias("date")
    )


def transfers(lake: Path) -> pl.DataFrame | None:
    """The lake's ``src_account, dst_account, amount, timestamp`` (propagation's edges); None when gone."""
    if not (Path(lake) / "transactions").is_dir():
        return None
    return scan_transactions(Path(lake)).select("src_account", "dst_account", "amount", "timestamp").collect()
