"""Detection metrics against ground truth (generator labels or ingested labels).

Conventions:
- An instance of a scheme is *caught* when one of its originator or intermediary accounts is
  alerted (beneficiaries alone do not count: they are often victims or unwitting payees).
- An alert is *true* when its account takes part in any planted instance, in any role.
- A false alert is attributed to the benign look-alike behaviour its account shows, if any.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

CATCHING_ROLES = ("originator", "intermediary")


@dataclass(frozen=True)
class DetectionReport:
    """Headline numbers of one run against its labels."""

    alerts: int
    alerted_accounts: int
    alert_precision: float
    instance_recall: float
    recall_by_typology: pl.DataFrame
    false_alerts_by_behaviour: pl.DataFrame
    account_average_precision: float | None
    account_roc_auc: float | None


def instance_recall_by_typology(alerted_accounts: pl.Series, labels: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Instances caught per typology: columns typology, instances, caught, recall."""
    catchers = labels["instance_accounts"].filter(pl.col("role").is_in(CATCHING_ROLES))
    caught = (
        catchers.with_columns(pl.col("account_id").is_in(alerted_accounts.implode()).alias("alerted"))
        .group_by("instance_id")
        .agg(pl.col("alerted").any())
    )
    return (
        labels["instances"]
        .select("instance_id", "typology")
        .join(caught, on="instance_id", how="left")
        .group_by("typology")
        .agg(pl.len().alias("instances"), pl.col("alerted").fill_null(False).sum().alias("caught"))
        .with_columns((pl.col("caught") / pl.col("instances")).alias("recall"))
        .sort("typology")
    )


def scheme_accounts(labels: dict[str, pl.DataFrame]) -> pl.Series:
    """Every account that takes part in a planted instance, in any role."""
    return labels["instance_accounts"]["account_id"].unique()


def false_alerts_by_behaviour(alerted_accounts: pl.Series, labels: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """False alerts grouped by the benign look-alike their account shows (``none`` if it shows none)."""
    false = alerted_accounts.filter(~alerted_accounts.is_in(scheme_accounts(labels).implode())).unique()
    behaviours = labels["benign_behaviours"].select("account_id", "behaviour").unique()
    return (
        pl.DataFrame({"account_id": false})
        .join(behaviours, on="account_id", how="left")
        .with_columns(pl.col("behaviour").fill_null("none"))
        .group_by("behaviour")
        .agg(pl.col("account_id").n_unique().alias("false_alerts"))
        .sort(["false_alerts", "behaviour"], descending=[True, False])
    )


def account_ranking_quality(
    scores: pl.DataFrame, labels: dict[str, pl.DataFrame]
) -> tuple[float, float] | None:
    """Average precision and ROC AUC of per-account ``score`` against scheme membership."""
    truth = scores.select(
        "score", pl.col("account_id").is_in(scheme_accounts(labels).implode()).cast(pl.Int8).alias("y")
    )
    if truth["y"].n_unique() < 2:
        return None
    return (
        float(average_precision_score(truth["y"], truth["score"])),
        float(roc_auc_score(truth["y"], truth["score"])),
    )


def instance_ranking_auc(scores: pl.DataFrame, labels: dict[str, pl.DataFrame]) -> float:
    """ROC AUC of planted instances against background accounts.

    An instance scores the maximum ``score`` of its accounts (any role); background accounts are
    scored accounts that take part in no instance. 1.0 means every scheme outranks every
    ordinary account, 0.5 is chance.
    """
    members = labels["instance_accounts"].select("instance_id", "account_id").unique()
    instance_scores = (
        members.join(scores.select("account_id", "score"), on="account_id", how="inner")
        .group_by("instance_id")
        .agg(pl.col("score").max())
    )
    background = scores.filter(~pl.col("account_id").is_in(members["account_id"].implode()))
    y = [1] * instance_scores.height + [0] * background.height
    return float(roc_auc_score(y, pl.concat([instance_scores["score"], background["score"]])))


def evaluate(alerts: pl.DataFrame, scores: pl.DataFrame, labels: dict[str, pl.DataFrame]) -> DetectionReport:
    """Score a run: ``alerts`` needs ``account_id``; ``scores`` has one ``score`` per account."""
    alerted = alerts["account_id"].unique()
    recall = instance_recall_by_typology(alerted, labels)
    true_alerted = alerted.is_in(scheme_accounts(labels).implode()).sum()
    ranking = account_ranking_quality(scores, labels)
    total_instances = recall["instances"].sum()
    return DetectionReport(
        alerts=alerts.height,
        alerted_accounts=alerted.len(),
        alert_precision=true_alerted / alerted.len() if alerted.len() else 0.0,
        instance_recall=recall["caught"].sum() / total_instances if total_instances else 0.0,
        recall_by_typology=recall,
        false_alerts_by_behaviour=false_alerts_by_behaviour(alerted, labels),
        account_average_precision=ranking[0] if ranking else None,
        account_roc_auc=ranking[1] if ranking else None,
    )


# --------------------------------------------------------------------------- alert budgets

#: Default alert budgets: shares of scored accounts a team could review.
DEFAULT_BUDGETS = (0.005, 0.01, 0.02, 0.05)


def budget_size(n_accounts: int, share: float) -> int:
    """Alerts a budget of ``share`` buys: ``ceil(share * n_accounts)``, as ``detectors.alert_budget``."""
    return math.ceil(share * n_accounts - 1e-9) if n_accounts else 0


def rank_accounts(scores: pl.DataFrame) -> pl.DataFrame:
    """``account_id, rank``: 0 for the best score; ties broken by ``account_id`` (as alert selection)."""
    return (
        scores.select("account_id", "score")
        .sort(["score", "account_id"], descending=[True, False])
        .with_row_index("rank")
        .select("account_id", "rank")
    )


def recall_at_budgets(
    scores: pl.DataFrame, labels: dict[str, pl.DataFrame], budgets: Sequence[float] = DEFAULT_BUDGETS
) -> pl.DataFrame:
    """Instance recall per typology if the top ``budget`` share of accounts were alerted.

    Columns ``budget, alerts, typology, instances, caught, recall``; one extra row per budget
    with typology ``all``. An instance is caught at budget ``k`` when one of its originator or
    intermediary accounts ranks among the top ``k`` (see the module's conventions).
    """
    ranks = rank_accounts(scores)
    first_rank = (
        labels["instances"]
        .select("instance_id", "typology")
        .join(
            labels["instance_accounts"]
            .filter(pl.col("role").is_in(CATCHING_ROLES))
            .join(ranks, on="account_id", how="inner")
            .group_by("instance_id")
            .agg(pl.col("rank").min()),
            on="instance_id",
            how="left",
        )
        .with_columns(pl.lit("all").alias("all"))
    )
    shares = sorted(set(budgets))  # a budget named twice is one row, not twice the catches
    grid = pl.DataFrame(
        {"budget": shares, "alerts": [budget_size(scores.height, b) for b in shares]},
        schema={"budget": pl.Float64, "alerts": pl.UInt32},
    )
    per_budget = first_rank.join(grid, how="cross").with_columns(
        (pl.col("rank") < pl.col("alerts")).fill_null(False).alias("caught")
    )
    tables = [
        per_budget.group_by("budget", "alerts", pl.col(by).alias("typology")).agg(
            pl.len().alias("instances"), pl.col("caught").sum()
        )
        for by in ("typology", "all")
    ]
    return (
        pl.concat(tables)
        .with_columns(
            pl.col("caught").cast(pl.UInt32),
            pl.col("instances").cast(pl.UInt32),
            (pl.col("caught") / pl.col("instances")).alias("recall"),
        )
        .sort("budget", pl.col("typology") == "all", "typology")
    )


def account_truth(scores: pl.DataFrame, labels: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """``account_id, score, y``: ``y`` is 1 for accounts that take part in a planted instance."""
    return scores.select(
        "account_id",
        "score",
        pl.col("account_id").is_in(scheme_accounts(labels).implode()).cast(pl.Int8).alias("y"),
    )


def account_metrics_at_budgets(
    scores: pl.DataFrame, labels: dict[str, pl.DataFrame], budgets: Sequence[float] = DEFAULT_BUDGETS
) -> pl.DataFrame:
    """Account-level precision and recall of the top ``budget`` share of accounts.

    Columns ``budget, alerts, true_alerts, precision, recall``; recall is over the scheme
    accounts among the scored ones.
    """
    truth = account_truth(scores, labels).join(rank_accounts(scores), on="account_id")
    positives = int(truth["y"].sum())
    rows = []
    for share in budgets:
        k = budget_size(truth.height, share)
        hits = int(truth.filter(pl.col("rank") < k)["y"].sum())
        rows.append(
            {
                "budget": share,
                "alerts": k,
                "true_alerts": hits,
                "precision": hits / k if k else 0.0,
                "recall": hits / positives if positives else 0.0,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "budget": pl.Float64,
            "alerts": pl.Int64,
            "true_alerts": pl.Int64,
            "precision": pl.Float64,
            "recall": pl.Float64,
        },
    )


def precision_recall_points(
    scores: pl.DataFrame, labels: dict[str, pl.DataFrame], max_points: int = 200
) -> pl.DataFrame:
    """The account-level precision-recall curve (scikit-learn's), thinned to ``max_points``.

    Columns ``recall, precision, threshold``; empty when the scores hold a single class.
    """
    truth = account_truth(scores, labels)
    schema = {"recall": pl.Float64, "precision": pl.Float64, "threshold": pl.Float64}
    if truth["y"].n_unique() < 2:
        return pl.DataFrame(schema=schema)
    precision, recall, thresholds = precision_recall_curve(truth["y"], truth["score"])
    thresholds = np.append(thresholds, np.inf)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(max_points, len(recall))).round().astype(int))
    return pl.DataFrame(
        {"recall": recall[keep], "precision": precision[keep], "threshold": thresholds[keep]}, schema=schema
    )


def alerts_per_day(alerts: pl.DataFrame) -> pl.DataFrame:
    """Alert volume per evaluation date: ``eval_date, alerts`` (dates without alerts omitted)."""
    return alerts.group_by("eval_date").agg(pl.len().cast(pl.Int64).alias("alerts")).sort("eval_date")
