"""Writing the feature table."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from features.registry import FEATURES_SCHEMA_ID

#: Parquet metadata key of the feature-table schema id (same key as ``moneytrail.schemas``).
SCHEMA_METADATA_KEY = b"moneytrail.schema"
FILE_NAME = "features.parquet"


def write_features(df: pl.DataFrame, out_dir: Path) -> Path:
    """Write ``df`` to ``out_dir/features.parquet`` atomically (temp file + rename).

    The Parquet schema metadata carries ``moneytrail.schema = features/v1``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = df.to_arrow()
    metadata = dict(table.schema.metadata or {})
    metadata[SCHEMA_METADATA_KEY] = FEATURES_SCHEMA_ID.encode()
    table = table.replace_schema_metadata(metadata)
    target = out_dir / FILE_NAME
    fd, tmp = tempfile.mkstemp(prefix=".features-", suffix=".parquet.tmp", dir=out_dir)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
