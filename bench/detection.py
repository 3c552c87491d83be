"""Detection quality on generated data from seeds the detectors were not tuned on.

For each seed: generate a data set, ingest it, run the pipeline's steps (the same functions the
Prefect flow runs, without the server) and evaluate the alerts against the labels. Recall per
typology is pooled over the seeds. Writes ``docs/DETECTION.md``; rerun with
``python bench/detection.py [--preset demo] [--seeds 101 102 103]``.
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
from evaluation.metrics import DetectionReport, evaluate, instance_ranking_auc
from flows import steps
from moneytrail import lake
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


def evaluate_seed(preset: str, seed: int, work: Path, config: Config) -> tuple[DetectionReport, float]:
    """Run generate -> ingest -> features -> score -> alerts for one seed and evaluate it.

    Alerts get case keys from the lake's accounts and roll up over the transfers of the whole
    period (the nightly flow passes the run's partitions), without previous alerts.
    """
    generated, lake_path = work / "generated", work / "lake"
    scores_path = work / "scores.parquet"
    if not scores_path.exists():
        synthetic_data.generate(preset, seed, generated)
        ingest(generated, "canonical", lake_path, config.currency)
        features_path = steps.build_features(lake_path, work, None, config.features)
        scores_path = steps.score(features_path, work, config.detectors, config.seed, lake_path=lake_path)
    edges = lake.scan_transactions(lake_path).select("src_account", "dst_account").unique().collect()
    alerts_path = steps.select_alerts(
        scores_path,
        work,
        config.alerts,
        "detection-bench",
        accounts=lake.scan_accounts(lake_path).collect(),
        edges=edges,
    )
    alerts = pl.read_parquet(alerts_path)
    scores = steps.best_score_per_account(pl.read_parquet(scores_path), "detection-bench")
    labels = read_labels(generated)
    return evaluate(alerts, scores, labels), instance_ranking_auc(scores, labels)


def report(preset: str, seeds: list[int], keep: Path | None = None) -> str:
    """Evaluate every seed; with ``keep``, each seed's data and scores stay in ``keep/<preset>-<seed>``
    and a later run with the same ``keep`` reuses them (only alert selection and evaluation rerun)."""
    config = Config()
    started = time.perf_counter()
    per_seed = []
    for seed in seeds:
        if keep is not None:
            work = keep / f"{preset}-{seed}"
            work.mkdir(parents=True, exist_ok=True)
            per_seed.append((seed, *evaluate_seed(preset, seed, work, config)))
            continue
        with tempfile.TemporaryDirectory(prefix="moneytrail-detection-") as tmp:
            per_seed.append((seed, *evaluate_seed(preset, seed, Path(tmp), config)))
    elapsed = time.perf_counter() - started

    summary = pl.DataFrame(
        [
            {
                "seed": seed,
                "alerts": r.alerts,
                "alert_precision": r.alert_precision,
                "instance_recall": r.instance_recall,
                "instance_auc": auc,
                "account_ap": r.account_average_precision,
                "account_auc": r.account_roc_auc,
            }
            for seed, r, auc in per_seed
        ]
    )
    recall = (
        pl.concat([r.recall_by_typology for _, r, _ in per_seed])
        .group_by("typology")
        .agg(pl.col("instances").sum(), pl.col("caught").sum())
        .with_columns((pl.col("caught") / pl.col("instances")).alias("recall"))
        .sort("typology")
    )
    false_alerts = (
        pl.concat([r.false_alerts_by_behaviour for _, r, _ in per_seed])
        .group_by("behaviour")
        .agg(pl.col("false_alerts").sum())
        .sort(["false_alerts", "behaviour"], descending=[True, False])
    )
    seeds_text = " ".join(map(str, seeds))
    reused = (
        ""
        if keep is None
        else " (run with `--keep`: seeds whose scores were kept were only re-selected and evaluated)"
    )
    return "\n".join(
        [
            "# Detection quality",
            "",
            f"Produced by `python bench/detection.py --preset {preset} --seeds {seeds_text}` on "
            f"{datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, Python {platform.python_version()}), "
            f"{elapsed:.0f} s in all{reused}. The detectors' defaults were not tuned on these seeds.",
            "",
            f"Alert budget: {config.alerts.budget_share:.1%} of scored accounts, spent after hibernation "
            "(no previous alerts here), case roll-up (one alert per entity), transfer "
            "roll-up and hub hand-over (one slot for a hub and the payer derived from it; see "
            "docs/DETECTORS.md, Alert selection). An instance is caught when one of its "
            "originator or intermediary accounts is alerted (roles: docs/typologies.md, Roles); an "
            "alert is true when its account takes part in a planted instance (any role). "
            "`instance_auc` ranks each instance (its best-scored account) against the accounts in no "
            "instance.",
            "",
            "## Per seed",
            "",
            _markdown_table(summary),
            "",
            "## Recall by typology (pooled over seeds)",
            "",
            _markdown_table(recall),
            "",
            "## False alerts by benign look-alike (pooled over seeds)",
            "",
            _markdown_table(false_alerts),
            "",
        ]
    )


BEGIN = "<!-- BEGIN generated by bench/detection.py: edit outside these markers -->"
END = "<!-- END generated by bench/detection.py -->"


def splice(existing: str, generated: str) -> str:
    """Put ``generated`` between the markers of ``existing``, keeping everything outside them.

    Without markers (a first run) the generated block replaces the file's top section (up to
    the first level-2 heading that the generator does not write) and the rest is kept.
    """
    block = f"{BEGIN}\n{generated.rstrip()}\n{END}\n"
    if BEGIN in existing and END in existing:
        head, rest = existing.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        return head + block + ("\n" + tail if tail else "")
    ours = ("# Detection quality", "## Per seed", "## Recall by typology", "## False alerts by benign")
    kept = [
        part for part in existing.split("\n## ")[1:] if not any(("## " + part).startswith(h) for h in ours)
    ]
    return block + "".join("\n## " + part for part in kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/DETECTION.md alone")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each seed's data and scores in this folder and reuse them on the next run "
        "(for tuning alert selection only: delete the folder after changing features or rules)",
    )
    args = parser.parse_args()
    text = report(args.preset, args.seeds, args.keep)
    print(text)
    if not args.no_write:
        existing = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        tmp = DOC.with_suffix(".md.tmp")
        tmp.write_text(splice(existing, text), encoding="utf-8")
        tmp.replace(DOC)


if __name__ == "__main__":
    main()
