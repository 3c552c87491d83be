"""Subprocess of ``tests/test_crash_safety.py``: ingest day files, then score the pending dates.

Runs the nightly flow's steps without Prefect (``flows.pipeline.PLAIN``: the same step functions
the Prefect tasks wrap), so a kill costs no temporary-server start.
Usage: ``python tests/crash_worker.py``; it prints ``READY`` once imported, then reads one line
of stdin, ``LAKE<TAB>DB<TAB>DAY_FILE...``, and starts (so the test can start workers ahead).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from flows import pipeline
from moneytrail.config import Config
from moneytrail.ingest import ingest

#: The crash test's configuration (a small forest keeps a run around a second).
CONFIG = Config.model_validate({"detectors": {"isolation_forest_trees": 20}})


def _echo(line: str) -> None:
    """The run's log lines on stdout (run start, summary, failure)."""
    print(line, flush=True)


def main(lake: Path, db: Path, day_files: list[Path]) -> float:
    """Ingest ``day_files`` in order, score the pending dates; return the seconds it took."""
    started = time.perf_counter()
    for day_file in day_files:  # re-ingesting a committed file is a no-op
        if not ingest(day_file, "canonical", lake, CONFIG.currency).already_ingested:
            print("ingested", flush=True)  # progress markers tell the test where a kill landed
    pipeline.run_pending(lake, db, CONFIG, log=_echo)
    return time.perf_counter() - started


if __name__ == "__main__":
    print("READY", flush=True)
    lake, db, *day_files = sys.stdin.readline().rstrip("\n").split("\t")
    seconds = main(Path(lake), Path(db), [Path(p) for p in day_files])
    print(f"DONE {seconds:.3f}", flush=True)
