"""DuckDB connection handling: the caller may pass a connection; otherwise a private one is
opened with a memory limit and a spill directory, and closed afterwards."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from features.config import FeatureConfig


@contextmanager
def connection(
    config: FeatureConfig, con: duckdb.DuckDBPyConnection | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield ``con`` unchanged, or a new in-memory connection that spills to disk."""
    if con is not None:
        yield con
        return
    with tempfile.TemporaryDirectory(prefix="moneytrail-duckdb-") as tmp:
        spill = Path(config.duckdb_temp_directory or tmp)
        settings: dict[str, str | int | bool] = {
            "memory_limit": config.duckdb_memory_limit,
            "temp_directory": str(spill),
            "preserve_insertion_order": False,
        }
        if config.duckdb_threads:
            settings["threads"] = int(config.duckdb_threads)
        # Settings go through the driver's config mapping: no SQL text is built from them.
        own = duckdb.connect(":memory:", config=settings)
        try:
            yield own
        finally:
            own.close()
