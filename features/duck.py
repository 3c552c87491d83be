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
        own = duckdb.connect(":memory:")
        try:
            # SET values cannot be prepared-statement parameters; they come from the typed
            # config (a size string and a path), never from transaction data.
            own.execute(f"SET memory_limit = '{_quote(config.duckdb_memory_limit)}'")
            own.execute(f"SET temp_directory = '{_quote(str(spill))}'")
            own.execute("SET preserve_insertion_order = false")
            if config.duckdb_threads:
                own.execute(f"SET threads = {int(config.duckdb_threads)}")
            yield own
        finally:
            own.close()


def _quote(value: str) -> str:
    return value.replace("'", "''")
