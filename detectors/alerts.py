"""Alert selection: spend the alert budget on the highest-scoring (account, typology) pairs,
skip pairs in hibernation, and give each alert the case key of its account's entity."""

from __future__ import annotations

import math

import polars as pl

from detectors.cases import with_case_keys
from detectors.config import AlertConfig
from detectors.propagation import PROPAGATED_COLUMN, SOURCE_COLUMN
from moneytrail.schemas import CASH_ACCOUNT

ALERT_COLUMNS = ("account_id", "case_key", "typology", "score", "eval_date", "reasons")
_KEY = ["account_id", "typology"]
_ROW = "__alert_row"


def alert_budget(n_accounts: int, config: AlertConfig) -> int:
    """Return ``min(ceil(budget_share * n_accounts), budget_max)`` (no cap when ``budget_max`` is None)."""
    budget = math.ceil(config.budget_share * n_accounts - 1e-9) if n_accounts else 0
    return max(0, budget if config.budget_max is None else min(budget, config.budget_max))


def hibernate_alerts(candidates: pl.DataFrame, previous: pl.DataFrame, config: AlertConfig) -> pl.DataFrame:
    """Drop candidates whose (account, typology) is in hibernation.

    A candidate is in hibernation when the latest previous alert of the same ``account_id``
    and ``typology`` dated strictly before the candidate's ``eval_date`` is less than
    ``config.hibernation_days`` days older, and the candidate's score does not exceed that
    alert's score by at least ``config.hibernation_margin``. Previous alerts dated on or after
    the candidate's date are ignored, so rerunning a date gives the same result.

    Parameters
    ----------
    candidates : polars.DataFrame
        At least ``account_id, typology, score, eval_date`` (e.g. :func:`select_alerts` output).
    previous : polars.DataFrame
        Stored alerts with at least ``account_id, typology, score, eval_date``; may be empty.

    Returns
    -------
    polars.DataFrame
        The candidates kept, with their columns, in their order.
    """
    needed = [*_KEY, "score", "eval_date"]
    for name, frame in (("candidates", candidates), ("previous", previous)):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise KeyError(f"{name} lack column(s) {missing} needed by hibernate_alerts")
    if config.hibernation_days == 0 or previous.height == 0 or candidates.height == 0:
        return candidates
    prior = previous.select(
        pl.col("account_id").cast(candidates.schema["account_id"]),
        pl.col("typology").cast(pl.String),
        pl.col("score").cast(pl.Float64).alias("_prev_score"),
        pl.col("eval_date").cast(pl.Date).alias("_prev_date"),
    )
    indexed = candidates.with_row_index(_ROW)
    latest = (
        indexed.select(_ROW, *_KEY, pl.col("eval_date").cast(pl.Date).alias("_date"))
        .join(prior, on=_KEY, how="inner")
        .filter(pl.col("_prev_date") < pl.col("_date"))
        # The latest earlier alert (ties on the date: the higher score).
        .sort([_ROW, "_prev_date", "_prev_score"], descending=[False, True, True])
        .group_by(_ROW, maintain_order=True)
        .first()
    )
    asleep = latest.join(indexed.select(_ROW, "score"), on=_ROW).filter(
        ((pl.col("_date") - pl.col("_prev_date")).dt.total_days() < config.hibernation_days)
        & (pl.col("score") < pl.col("_prev_score") + config.hibernation_margin)
    )
    return indexed.join(asleep.select(_ROW), on=_ROW, how="anti", maintain_order="left").drop(_ROW)


_DERIVED = "__derived"
_SOURCE = SOURCE_COLUMN


def _derived(scores: pl.DataFrame) -> pl.Expr:
    """True where the row's score comes from counterparty propagation."""
    if PROPAGATED_COLUMN not in scores.columns:
        return pl.lit(False)
    return (pl.col(PROPAGATED_COLUMN) > 0) & (pl.col(PROPAGATED_COLUMN) >= pl.col("score"))


def _roll_up_transfers(
    ranked: pl.DataFrame, edges: pl.DataFrame, max_shared_degree: int | None
) -> pl.DataFrame:
    """Drop candidates that paid or were paid by a higher-ranked candidate of the same typology
    or, with ``max_shared_degree``, were paid by the same payer (one with at most that many
    counterparties: a common funder or depositor) as one.

    With ``max_shared_degree``, two candidates that paid the same such quiet account (a common
    collector: the middles of a scatter-gather) are linked too. A payer of one and a payee of the
    other are never linked that way: that would join a scheme's source to its final receiver
    through the middles and could drop the source.
    """
    missing = [c for c in ("src_account", "dst_account") if c not in edges.columns]
    if missing:
        raise KeyError(f"edges lack column(s) {missing} needed by select_alerts")
    key_type = ranked.schema["account_id"]
    own = ranked.with_row_index(_ROW).filter(~pl.col(_DERIVED)).select(_ROW, "account_id", "typology")
    paid = (
        edges.lazy()
        .select(
            pl.col("src_account").cast(key_type).alias("payer"),
            pl.col("dst_account").cast(key_type).alias("account_id"),
        )
        .filter(
            (pl.col("payer") != CASH_ACCOUNT)
            & (pl.col("account_id") != CASH_ACCOUNT)
            & (pl.col("payer") != pl.col("account_id"))
        )
        .unique()
    )
    flagged = own.lazy().select("account_id").unique()
    # (account, linked) pairs: one paid the other, or both were paid by one quiet payer.
    payers = paid.join(flagged, on="account_id", how="semi").select(
        "account_id", pl.col("payer").alias("linked")
    )
    links = pl.concat(
        [payers, payers.select(pl.col("linked").alias("account_id"), pl.col("account_id").alias("linked"))]
    )
    if max_shared_degree is not None:
        degree = pl.concat(
            [
                paid.select(pl.col("payer").alias("a"), pl.col("account_id").alias("b")),
                paid.select(pl.col("account_id").alias("a"), pl.col("payer").alias("b")),
            ]
        ).unique()
        quiet = (
            degree.group_by("a").agg(pl.len().alias("_degree")).filter(pl.col("_degree") <= max_shared_degree)
        )
        # A quiet common payer (funder, depositor) or, likewise, a quiet common payee (collector).
        payees = paid.join(
            flagged.select(pl.col("account_id").alias("payer")), on="payer", how="semi"
        ).select(pl.col("payer").alias("account_id"), pl.col("account_id").alias("linked"))
        quiet_ids = quiet.select(pl.col("a").alias("linked"))
        shared = pl.concat(
            [
                via.join(via.select(pl.col("account_id").alias("other"), "linked"), on="linked")
                for via in (payers.join(quiet_ids, on="linked"), payees.join(quiet_ids, on="linked"))
            ]
        ).filter(pl.col("other") != pl.col("account_id"))
        shared = shared.select("account_id", pl.col("other").alias("linked"))
        links = pl.concat([links, shared]).unique()
    dropped = (
        own.lazy()
        .join(links, on="account_id")
        .join(
            own.lazy().select(pl.col(_ROW).alias("_other"), pl.col("account_id").alias("linked"), "typology"),
            on=["linked", "typology"],
        )
        .filter(pl.col("_other") < pl.col(_ROW))
        .select(_ROW)
        .unique()
        .collect()
    )
    return ranked.with_row_index(_ROW).join(dropped, on=_ROW, how="anti", maintain_order="left").drop(_ROW)


def _hand_over(ranked: pl.DataFrame) -> pl.DataFrame:
    """Let a hub candidate hand its budget slot to the derived candidate propagated from it.

    A hub that keeps the money (a fan-in collector, a bribed official) and the payer that
    :func:`detectors.propagate_scores` derived from it describe one scheme, and only the payer
    catches it. Where both are candidates (of any typologies: a collector found by its shape
    may be flagged by a rule for another), the hub's candidates are dropped and the payer's
    takes the hub's best score (its place in the ranking) and a reason naming the hub, so the
    analyst still sees it in the one case.
    """
    indexed = ranked.with_row_index(_ROW)
    hubs = indexed.filter(~pl.col(_DERIVED)).select(
        pl.col(_ROW).alias("_hub_row"),
        pl.col("account_id").cast(pl.String).alias(_SOURCE),
        pl.col("score").alias("_hub_score"),
    )
    pairs = (
        indexed.filter(pl.col(_DERIVED) & pl.col(_SOURCE).is_not_null())
        .select(_ROW, _SOURCE)
        .join(hubs, on=_SOURCE)
        # One payer per hub: the highest-ranked (propagation keeps the largest payer first).
        .sort(_ROW)
        .unique("_hub_row", keep="first", maintain_order=True)
    )
    if pairs.height == 0:
        return ranked
    note = pl.concat_str(
        pl.lit("takes the alert of hub account "),
        pl.col(_SOURCE),
        pl.lit(" (score "),
        pl.col("_hub_score").round(2).cast(pl.String),
        pl.lit(", same case)"),
    )
    handed = indexed.join(pairs.select(_ROW, "_hub_score"), on=_ROW, how="left").with_columns(
        pl.max_horizontal("score", pl.col("_hub_score").fill_null(0.0)).alias("score"),
        pl.when(pl.col("_hub_score").is_null())
        .then(pl.col("reasons"))
        .otherwise(pl.concat_list("reasons", note))
        .alias("reasons"),
    )
    return (
        handed.join(pairs.select(pl.col("_hub_row").alias(_ROW)), on=_ROW, how="anti")
        .sort(["score", *_KEY], descending=[True, False, False])
        .drop(_ROW, "_hub_score")
    )


def select_alerts(
    scores: pl.DataFrame,
    config: AlertConfig,
    *,
    case_keys: pl.DataFrame | None = None,
    previous: pl.DataFrame | None = None,
    edges: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Select the run's alerts from ``score_accounts`` (or ``propagate_scores``) output.

    Candidates are rows with a ``top_typology`` whose score reaches ``min_score`` and the
    typology's ``min_score_by_typology``. Each (account, typology) keeps its highest-scoring
    row (ties: earliest ``eval_date``). Candidates in hibernation against ``previous`` alerts
    (:func:`hibernate_alerts`) are dropped before the budget is spent. The rest are ranked by
    score desc, then account_id, then typology; each case key (each (case key, typology) with
    ``config.case_rollup_per_typology``) keeps its first ``config.max_alerts_per_case`` candidates
    (the case roll-up: one entity, one case), and the
    first :func:`alert_budget` of what is left (counted over the distinct accounts in ``scores``)
    become alerts.

    Parameters
    ----------
    case_keys : polars.DataFrame, optional
        ``account_id, case_key`` (:func:`detectors.case_keys`); without it each account is its
        own case.
    previous : polars.DataFrame, optional
        Alerts already raised (see :func:`hibernate_alerts`).
    edges : polars.DataFrame, optional
        Transfers (``src_account, dst_account``) of the scored period. With
        ``config.rollup_transfers``, a candidate whose account paid or was paid by a
        higher-ranked candidate of the same typology joins that one's case and takes no budget
        (candidates derived by ``propagate_scores`` never roll up). Then, with
        ``config.hub_hands_over``, a hub candidate and the candidate derived from it
        (``propagated_from``, any typology) take one slot: the derived one, at the hub's score
        (:func:`_hand_over`).

    Returns
    -------
    polars.DataFrame
        ``account_id, case_key, typology, score, eval_date, reasons``, ordered by score desc.
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
        .sort([*_KEY, "score", "eval_date"], descending=[False, False, True, False])
        .group_by(_KEY, maintain_order=True)
        .first()
        .select(
            "account_id",
            "typology",
            "score",
            "eval_date",
            "reasons",
            _derived(scores).alias(_DERIVED),
            (pl.col(_SOURCE) if _SOURCE in scores.columns else pl.lit(None, dtype=pl.String)).alias(_SOURCE),
        )
        .collect()
    )
    if previous is not None:
        candidates = hibernate_alerts(candidates, previous, config)
    ranked = with_case_keys(candidates, case_keys).sort(["score", *_KEY], descending=[True, False, False])
    if edges is not None and config.rollup_transfers:
        ranked = _roll_up_transfers(ranked, edges, config.rollup_shared_max_degree)
    if config.hub_hands_over:
        ranked = _hand_over(ranked)
    if config.max_alerts_per_case is not None:
        case_columns = ["case_key", "typology"] if config.case_rollup_per_typology else ["case_key"]
        ranked = ranked.filter(pl.int_range(pl.len()).over(case_columns) < config.max_alerts_per_case)
    return ranked.head(budget).select(ALERT_COLUMNS)
