"""Detection quality on generated data from a seed the detectors were not tuned on.

Generates a data set, ingests it, runs the pipeline's steps (the same functions the Prefect flow
runs, without the server), evaluates the alerts against the labels and writes
``docs/DETECTION.md``. Rerun with ``python bench/detection.py [--preset demo] [--seed 101]``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

import synthetic_data
from evaluation.metrics import evaluate
from flows import steps
from moneytrail.config import Config
from moneytrail.ingest import ingest
from moneytrail.lake import read_labels

DOC = Path(__file__).resolve().parents[1] / "docs" / "DETECTION.md"


def _markdown_table(frame: pl.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.iter_rows()
    ]
    return "\n".join([header, rule, *rows])


def run(preset: str, seed: int, work: Path) -> str:
    config = Config()
    started = time.perf_counter()
    generated = work / "generated"
    synthetic_data.generate(preset, seed, generated)
    lake = work / "lake"
    ingest(generated, "canonical", lake, config.currency)
    features_path = steps.build_features(lake, work, None, config.features)
    scores_path = steps.score(features_path, work, config.detectors, config.seed)
    alerts_path = steps.select_alerts(scores_path, work, config.alerts, "detection-bench")
    scores = steps.best_score_per_account(pl.read_parquet(scores_path), "detection-bench")
    alerts = pl.read_parquet(alerts_path)
    report = evaluate(alerts, scores, read_labels(generated))
    elapsed = time.perf_counter() - started

    budget = f"{config.alerts.budget_share:.1%} of scored accounts"
    return "\n".join(
        [
            "# Detection quality",
            "",
            f"Produced by `python bench/detection.py --preset {preset} --seed {seed}` on "
            f"{datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, {platform.python_version()}), "
            f"{elapsed:.0f} s end to end. The detectors' defaults were not tuned on this seed.",
            "",
            f"- alert budget: {budget}; alerts: {report.alerts}, alerted accounts: {report.alerted_accounts}",
            f"- alert precision (alerted accounts that take part in a planted scheme): {report.alert_precision:.3f}",
            f"- instance recall, all typologies: {report.instance_recall:.3f}",
            f"- account-level average precision: {report.account_average_precision:.3f}, "
            f"ROC AUC: {report.account_roc_auc:.3f}",
            "",
            "An instance is caught when one of its originator or intermediary accounts is alerted.",
            "",
            "## Recall by typology",
            "",
            _markdown_table(report.recall_by_typology),
            "",
            "## False alerts by benign look-alike",
            "",
            _markdown_table(report.false_alerts_by_behaviour),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/DETECTION.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moneytrail-detection-") as work:
        text = run(args.preset, args.seed, Path(work))
    print(text)
    if not args.no_write:
        DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
