"""``ingest()``: read one input in a known format, validate every row, commit one batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from moneytrail import lake as lk
from moneytrail import schemas
from moneytrail.ingest import amlsim, amlworld, canonical, writer
from moneytrail.ingest.report import IngestError, IngestReport
from moneytrail.ingest.validate import Staged, validate_accounts, validate_transactions

if TYPE_CHECKING:  # config imports every package's settings; ingest only needs the rates
    from moneytrail.config import CurrencyConfig


@dataclass(frozen=True)
class Format:
    """An input format: which files make up a batch, and how to stage them."""

    input_files: Callable[[Path], dict[str, Path]]
    stage: Callable[[dict[str, Path], dict[str, str]], Staged]


FORMATS: dict[str, Format] = {
    "canonical": Format(canonical.input_files, canonical.stage),
    "ibm-amlworld": Format(amlworld.input_files, amlworld.stage),
    "amlsim": Format(amlsim.input_files, amlsim.stage),
}


def _stage(fmt: Format, files: dict[str, Path], shas: dict[str, str], source: Path, name: str) -> Staged:
    try:
        return fmt.stage(files, shas)
    except IngestError:
        raise
    except (pl.exceptions.PolarsError, pa.ArrowException, schemas.SchemaError, OSError) as exc:
        raise IngestError(f"{source}: cannot be read as {name}: {exc}") from exc


def _known_ids(lake: Path, ids: pl.Series) -> pl.Series:
    """The ids among ``ids`` that committed batches already hold (reads only the tx_id column)."""
    if ids.len() == 0 or not lk.lake_partitions(lake):
        return pl.Series("tx_id", [], dtype=pl.String)
    scan = lk.scan_transactions(lake).select("tx_id")
    return scan.filter(pl.col("tx_id").is_in(ids.implode())).collect()["tx_id"]


def ingest(path: Path, fmt: str, lake: Path, currency: CurrencyConfig) -> IngestReport:
    """Load ``path`` (format ``fmt``) into the Parquet lake at ``lake``.

    Parameters
    ----------
    path : Path
        Input file or folder (see ``docs/INGEST.md`` for what each format expects).
    fmt : str
        ``canonical``, ``ibm-amlworld`` or ``amlsim``.
    lake : Path
        Lake directory (created if absent).
    currency : CurrencyConfig
        ``amount = orig_amount * rates_to_reporting[orig_currency]``; unknown currency rows
        are quarantined.

    Returns
    -------
    IngestReport
        ``rows_in == rows_loaded + rows_quarantined``. Re-ingesting content already in the
        manifest loads nothing and reports ``already_ingested=True``.

    Raises
    ------
    IngestError
        For whole-input problems: unknown format, missing or empty file, wrong header.
    """
    path, lake = Path(path), Path(lake)
    if fmt not in FORMATS:
        raise IngestError(f"{path}: unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    if not path.exists():
        raise IngestError(f"{path}: no such file or folder")
    spec = FORMATS[fmt]
    files = spec.input_files(path)
    try:
        shas = {role: writer.sha256_file(file) for role, file in files.items()}
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from exc
    content_sha = writer.batch_content_sha256(shas)
    try:
        lake.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"{lake}: cannot create the lake directory: {exc}") from exc
    with writer.locked(lake):
        writer.recover(lake)
        manifest = lk.read_manifest(lake)
        earlier = manifest.filter(pl.col("content_sha256") == content_sha)
        if earlier.height:
            return IngestReport(
                batch_id=earlier["batch_id"][0],
                source=str(path),
                format=fmt,
                rows_in=0,
                rows_loaded=0,
                rows_quarantined=0,
                accounts_loaded=0,
                label_rows=0,
                partitions=[],
                already_ingested=True,
                content_sha256=content_sha,
            )
        staged = _stage(spec, files, shas, path, fmt)
        result = validate_transactions(staged, currency.rates_to_reporting, lambda ids: _known_ids(lake, ids))
        if staged.accounts is not None:
            accounts, account_rejects = validate_accounts(staged.accounts)
        else:
            accounts, account_rejects = lk.empty_frame(schemas.ACCOUNTS), None
        labels = staged.labels(result.loaded)
        rejected = (
            result.rejected if account_rejects is None else pl.concat([result.rejected, account_rejects])
        )

        batch_id = writer.new_batch_id(content_sha)
        partitions = writer.write_partitions(lake, batch_id, result.loaded)
        writer.write_quarantine(lake, batch_id, rejected)
        counts = writer.stage_merged(lake, batch_id, {"accounts": accounts, **labels})
        report = IngestReport(
            batch_id=batch_id,
            source=str(path),
            format=fmt,
            rows_in=staged.transactions.height,
            rows_loaded=result.loaded.height,
            rows_quarantined=result.rejected.height,
            accounts_loaded=counts.get("accounts", 0),
            label_rows=sum(n for name, n in counts.items() if name != "accounts"),
            partitions=partitions,
            rows_duplicate=result.duplicates,
            accounts_in=0 if staged.accounts is None else staged.accounts.height,
            accounts_quarantined=0 if account_rejects is None else account_rejects.height,
            content_sha256=content_sha,
        )
        writer.commit_manifest(
            lake,
            {
                "batch_id": batch_id,
                "source": str(path),
                "format": fmt,
                "content_sha256": content_sha,
                "rows_in": report.rows_in,
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
                "ingested_at": datetime.now(UTC),
            },
        )
        writer.promote(lake, batch_id)
    return report
