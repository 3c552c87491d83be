"""What an ingest returns (:class:`IngestReport`) and how it fails (:class:`IngestError`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


class IngestError(ValueError):
    """A whole input file cannot be ingested (missing, empty, wrong header, unknown format).

    The message names the file, and the line or field where that applies. Row-level problems
    never raise: those rows go to the quarantine table.
    """


@dataclass(frozen=True)
class IngestReport:
    """Outcome of one :func:`moneytrail.ingest.ingest` call.

    Row accounting: ``rows_in == rows_loaded + rows_quarantined`` for transaction rows, always.
    ``rows_duplicate`` counts the quarantined rows whose tx_id was a duplicate (within the file
    or already in the lake); account rows are accounted for separately
    (``accounts_in == accounts_loaded + accounts_quarantined``).
    """

    batch_id: str
    source: str
    format: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    accounts_loaded: int
    label_rows: int
    partitions: list[date] = field(default_factory=list)
    already_ingested: bool = False
    rows_duplicate: int = 0
    accounts_in: int = 0
    accounts_quarantined: int = 0
    content_sha256: str = ""

    def summary(self) -> str:
        """One line for a person: what was loaded, rejected and where it went."""
        if self.already_ingested:
            return f"{self.source}: already ingested as batch {self.batch_id}; nothing loaded"
        if self.partitions:
            first, last = min(self.partitions), max(self.partitions)
            span = f"{len(self.partitions)} date partition(s) {first}..{last}"
        else:
            span = "no date partitions"
        text = (
            f"{self.source} ({self.format}) -> batch {self.batch_id}: {self.rows_in} rows in, "
            f"{self.rows_loaded} loaded, {self.rows_quarantined} quarantined"
        )
        if self.rows_duplicate:
            text += f" ({self.rows_duplicate} duplicate tx_id)"
        text += f"; {self.accounts_loaded} accounts"
        if self.accounts_quarantined:
            text += f" ({self.accounts_quarantined} account rows quarantined)"
        return text + f"; {self.label_rows} label rows; {span}"
