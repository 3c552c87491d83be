"""Ingest: read canonical, IBM AMLworld or AMLSim input into the Parquet lake.

``ingest(path, fmt, lake, currency) -> IngestReport`` is the entry point; see ``docs/INGEST.md``.
"""

from moneytrail.ingest.pipeline import FORMATS, ingest
from moneytrail.ingest.report import IngestError, IngestReport

__all__ = ["FORMATS", "IngestError", "IngestReport", "ingest"]
