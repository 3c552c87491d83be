"""``select_alerts``: spend the alert budget on the highest-scoring (account, typology) pairs."""

from __future__ import annotations

import math

import polars as pl

from detectors.config import AlertConfig

ALERT_COLUMNS = ("account_id", "typology", "score", "eval_date", "reasons")


def alert_budget(n_accounts: int, config: AlertConfig) -> int:
    """Return ``min(ceil(budget_share * n_accounts), budget_max)`` (no cap when ``budget_max`` is None)."""
    budget = math.ceil(config.budget_share * n_accounts - 1e-9) if n_accounts else 0
    return max(0, budget if config.budget_max is None else min(budget, config.budget_max))


def select_alerts(scores: pl.DataFrame, config: AlertConfig) -> pl.DataFrame:
    """Select the run's alerts from ``score_accounts`` output.

    Candidates are rows with a ``top_typology`` whose score reaches ``min_score`` and the
    typology's ``min_score_by_typology``. Each (account, typology) keeps its highest-scoring
    row (ties: earliest ``eval_date``). Candidates are ranked by score desc, then account_id,
    then typology, and the first :func:`alert_budget` of them (counted over the distinct
    accounts in ``scores``) become alerts.

    Returns
    -------
    polars.DataFrame
        ``account_id, typology, score, eval_date, reasons``, ordered by score desc.
    """
    missing = [
        c for c in ("account_id", "eval_date", "score", "top_typology", "reasons") if c not in scores.columns
    ]
    if missing:
        raise KeyError(f"scores lack column(s) {missing} needed by select_alerts")
    budget = alert_budget(scores.get_column("account_id").n_unique(), config)
    min_by_typology = (
        pl.col("typology").replace_strict(
            config.min_score_by_typology, default=config.min_score, return_dtype=pl.Float64
        )
        if config.min_score_by_typology
        else pl.lit(config.min_score)
    )
    candidates = (
        scores.lazy()
        .filter(pl.col("top_typology").is_not_null())
        .rename({"top_typology": "typology"})
        .filter(pl.col("score") >= pl.max_horizontal(min_by_typology, pl.lit(config.min_score)))
        .sort(["account_id", "typology", "score", "eval_date"], descending=[False, False, True, False])
        .group_by(["account_id", "typology"], maintain_order=True)
        .first()
        .sort(["score", "account_id", "typology"], descending=[True, False, False])
        .head(budget)
        .select(ALERT_COLUMNS)
    )
    return candidates.collect()
