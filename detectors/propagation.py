"""Second stage: propagate hub scores to the counterparties that fed (or were fed by) the hub.

Many schemes are detected at their *hub*: the collector of a fan-in, the account receiving
structured cash, the smuggling-fee collector, the bribed official. The accounts that move the
money into the hub (senders, smurfs, the bribe payer) often look ordinary on their own. After
:func:`detectors.score_accounts` has scored every account, :func:`propagate_scores` finds, for
each hub (a row whose rule hit reaches ``min_hub_score``), the counterparties that paid it (or,
for outbound typologies, that it paid) within ``window_days`` up to the hub's evaluation date,
and gives the strongest of them a derived score and the hub's typology, with a reason such as
"paid USD 48,200 to account A0012 flagged for structuring within 30 days (85% of its outflow)".

Everything is a Polars join or group-by: no Python loop over accounts or edges. Labels are
never read. The result is deterministic (ties broken by account id).
"""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl

from detectors.config import DetectorConfig, PropagationConfig
from moneytrail.schemas import CASH_ACCOUNT

#: Column added to the scores: the derived (propagated) score of the row, 0 when none.
PROPAGATED_COLUMN = "score_propagated"
#: Column added to the scores: the hub account the derived score came from, null when none.
SOURCE_COLUMN = "propagated_from"

_EDGE_COLUMNS = ("src_account", "dst_account", "amount")


def _edge_dates(edges: pl.DataFrame) -> pl.DataFrame:
    if not isinstance(edges, pl.DataFrame):
        raise TypeError(f"propagate_scores expects polars DataFrames, got {type(edges).__name__}")
    missing = [c for c in _EDGE_COLUMNS if c not in edges.columns]
    if "eval_date" in edges.columns:
        day = pl.col("eval_date").cast(pl.Date)
    elif "timestamp" in edges.columns:
        day = pl.col("timestamp").dt.date()
    else:
        missing.append("eval_date or timestamp")
    if missing:
        raise KeyError(f"edges lack column(s) {missing} needed by propagate_scores")
    return edges.select(
        pl.col("src_account").cast(pl.String),
        pl.col("dst_account").cast(pl.String),
        pl.col("amount").cast(pl.Float64),
        day.alias("_day"),
    ).filter(pl.col("amount") > 0)


def _thousands(amount: pl.Expr) -> pl.Expr:
    """Whole dollars with thousands separators ("48,200"), vectorised."""
    v = amount.round(0).cast(pl.Int64)
    groups = [(v // 10**9), (v // 10**6) % 1000, (v // 1000) % 1000, v % 1000]
    text = pl.lit("")
    for i, g in enumerate(groups):
        lead = v >= 10 ** (3 * (len(groups) - 1 - i))
        first = v < 10 ** (3 * (len(groups) - i)) if i else pl.lit(True)
        part = pl.when(first).then(g.cast(pl.String)).otherwise(pl.lit(",") + g.cast(pl.String).str.zfill(3))
        text = text + pl.when(lead | pl.lit(i == len(groups) - 1)).then(part).otherwise(pl.lit(""))
    return text


def _settings(config: DetectorConfig | PropagationConfig | None) -> tuple[PropagationConfig, int]:
    if config is None:
        return PropagationConfig(), DetectorConfig().max_reasons
    if isinstance(config, DetectorConfig):
        return config.propagation, config.max_reasons
    return config, DetectorConfig().max_reasons


def propagate_scores(
    scores: pl.DataFrame,
    edges: pl.DataFrame,
    config: DetectorConfig | PropagationConfig | None = None,
) -> pl.DataFrame:
    """Add derived scores for the counterparties of high-scoring hubs.

    Parameters
    ----------
    scores : polars.DataFrame
        Output of :func:`detectors.score_accounts` (at least ``account_id, eval_date, score,
        top_typology, reasons``).
    edges : polars.DataFrame
        Transactions: ``src_account, dst_account, amount`` and ``eval_date`` (a date) or
        ``timestamp`` (its date is used). Pseudo-accounts such as ``CASH`` and accounts
        absent from ``scores`` never receive a derived score.
    config : DetectorConfig or PropagationConfig
        ``DetectorConfig.propagation`` holds the settings (see docs/DETECTORS.md).

    Returns
    -------
    polars.DataFrame
        ``scores`` with ``score_propagated`` (derived score, 0 where none) and
        ``propagated_from`` (hub account id) added. Where the derived score beats a row's own
        score, ``score`` and ``top_typology`` take the derived values and the derived reason is
        put first in ``reasons``. A counterparty without a row at the hub's evaluation date gets
        a new row (other score columns 0). Row order: the input rows first, in input order,
        then the new rows sorted by account id and date.
    """
    settings, max_reasons = _settings(config)
    needed = [
        c for c in ("account_id", "eval_date", "score", "top_typology", "reasons") if c not in scores.columns
    ]
    if needed:
        raise KeyError(f"scores lack column(s) {needed} needed by propagate_scores")
    edge_days = _edge_dates(edges)
    out = scores.with_columns(
        pl.lit(0.0).alias(PROPAGATED_COLUMN), pl.lit(None, dtype=pl.String).alias(SOURCE_COLUMN)
    )
    directions = {t: "in" for t in settings.inbound_typologies} | {
        t: "out" for t in settings.outbound_typologies
    }
    if not settings.enabled or scores.height == 0 or edge_days.height == 0 or not directions:
        return out

    derived = _derived(scores, edge_days, settings, directions)
    if derived.height == 0:
        return out
    return _merge(out, derived, max_reasons)


def _derived(
    scores: pl.DataFrame, edges: pl.DataFrame, s: PropagationConfig, directions: dict[str, str]
) -> pl.DataFrame:
    """One row per (counterparty, eval_date): the best derived score, its typology, hub and reason."""
    window = timedelta(days=s.window_days - 1)
    hubs = (
        scores.lazy()
        .filter(pl.col("top_typology").is_in(list(directions)) & (pl.col("score") >= s.min_hub_score))
        .select(
            pl.col("account_id").cast(pl.String).alias("hub"),
            pl.col("eval_date").cast(pl.Date).alias("hub_date"),
            pl.col("score").alias("hub_score"),
            pl.col("top_typology").alias("typology"),
        )
    )
    if s.collector_min_payers is not None:
        directions = directions | {s.collector_typology: "in"}
        hubs = pl.concat([hubs, _collectors(scores, edges, s, s.collector_min_payers)])
    hubs = (
        # Each (hub, typology) propagates from its best evaluation (ties: earliest date).
        hubs.sort(["hub", "typology", "hub_score", "hub_date"], descending=[False, False, True, False])
        .group_by(["hub", "typology"], maintain_order=True)
        .first()
        .with_columns(
            pl.col("typology").replace_strict(directions, return_dtype=pl.String).alias("direction")
        )
    )
    known = scores.lazy().select(pl.col("account_id").cast(pl.String).alias("peer")).unique()
    lazy_edges = edges.lazy()
    # Orient every edge from the hub's point of view: "in" hubs look at their payers, "out" hubs
    # at their payees. ``peer`` is the counterparty, ``total`` its flow in the same direction.
    oriented = pl.concat(
        [
            lazy_edges.select(
                pl.col("dst_account").alias("hub"),
                pl.col("src_account").alias("peer"),
                "amount",
                "_day",
                pl.lit("in").alias("direction"),
            ),
            lazy_edges.select(
                pl.col("src_account").alias("hub"),
                pl.col("dst_account").alias("peer"),
                "amount",
                "_day",
                pl.lit("out").alias("direction"),
            ),
        ]
    )
    in_window = (pl.col("_day") <= pl.col("hub_date")) & (pl.col("_day") >= pl.col("hub_date") - window)
    pairs = (
        hubs.join(oriented, on=["hub", "direction"], how="inner")
        .filter(in_window & (pl.col("peer") != pl.col("hub")) & (pl.col("peer") != CASH_ACCOUNT))
        .join(known, on="peer", how="semi")
        .group_by(["hub", "typology", "direction", "hub_date", "hub_score", "peer"])
        .agg(pl.col("amount").sum().alias("pair_amount"), pl.len().alias("pair_count"))
        .with_columns(
            (pl.col("pair_amount") / pl.col("pair_amount").sum().over(["hub", "typology"])).alias("hub_share")
        )
    )
    # The peer's own flow in the same direction (outflow of a payer, inflow of a payee) within
    # the ``peer_window_days`` ending on the hub's date: how much of its activity went to (came
    # from) the hub. A longer peer window asks for a lasting, exclusive relationship.
    peer_side = pl.concat(
        [
            lazy_edges.select(
                pl.col("src_account").alias("peer"), "amount", "_day", pl.lit("in").alias("direction")
            ),
            lazy_edges.select(
                pl.col("dst_account").alias("peer"), "amount", "_day", pl.lit("out").alias("direction")
            ),
        ]
    )
    windows = pairs.select("peer", "direction", "hub_date").unique()
    totals = (
        windows.join(peer_side, on=["peer", "direction"], how="inner")
        .filter(
            (pl.col("_day") <= pl.col("hub_date"))
            & (pl.col("_day") >= pl.col("hub_date") - timedelta(days=s.peer_window_days - 1))
        )
        .group_by(["peer", "direction", "hub_date"])
        .agg(pl.col("amount").sum().alias("peer_total"))
    )
    strength = pl.max_horizontal(pl.col("peer_share"), pl.col("hub_share"))
    candidates = (
        pairs.join(totals, on=["peer", "direction", "hub_date"], how="left")
        .with_columns((pl.col("pair_amount") / pl.col("peer_total")).clip(0.0, 1.0).alias("peer_share"))
        .filter(
            (pl.col("pair_amount") >= s.min_amount)
            & ((pl.col("peer_share") >= s.min_peer_share) | (pl.col("hub_share") >= s.min_hub_share))
        )
        .with_columns(
            (pl.col("hub_score") * (s.decay + (1.0 - s.decay) * strength)).alias("derived"),
        )
        # Keep the strongest few counterparties per hub (largest amount first; ties: account id).
        .sort(["hub", "typology", "pair_amount", "peer"], descending=[False, False, True, False])
        .with_columns(pl.int_range(pl.len()).over(["hub", "typology"]).alias("_rank"))
        .filter(pl.col("_rank") < s.max_per_hub)
    )
    verb = pl.when(pl.col("direction") == "in").then(pl.lit("paid")).otherwise(pl.lit("received"))
    prep = pl.when(pl.col("direction") == "in").then(pl.lit(" to ")).otherwise(pl.lit(" from "))
    flow = (
        pl.when(pl.col("direction") == "in")
        .then(pl.lit(" of its outflow"))
        .otherwise(pl.lit(" of its inflow"))
    )
    reason = pl.concat_str(
        verb,
        pl.lit(" USD "),
        _thousands(pl.col("pair_amount")),
        prep,
        pl.lit("account "),
        pl.col("hub"),
        pl.lit(" flagged for "),
        pl.col("typology"),
        pl.lit(f" within {s.window_days} days ("),
        (pl.col("peer_share") * 100).round(0).cast(pl.Int64).cast(pl.String),
        pl.lit("%"),
        flow,
        pl.lit(")"),
    )
    return (
        candidates.with_columns(reason.alias("_reason"))
        .select(
            pl.col("peer").alias("account_id"),
            pl.col("hub_date").alias("eval_date"),
            pl.col("derived").alias(PROPAGATED_COLUMN),
            pl.col("typology").alias("_typology"),
            pl.col("hub").alias(SOURCE_COLUMN),
            "_reason",
        )
        .sort(
            ["account_id", "eval_date", PROPAGATED_COLUMN, SOURCE_COLUMN],
            descending=[False, False, True, False],
        )
        .group_by(["account_id", "eval_date"], maintain_order=True)
        .first()
        .collect()
    )


def _window_sum(daily: pl.LazyFrame, queries: pl.LazyFrame, keys: list[str], days: int) -> pl.LazyFrame:
    """Add ``total``: the sum of ``daily.amount`` per ``keys`` over the ``days`` days ending on each
    query's ``hub_date`` (cumulative sums read as of the date and as of ``days`` days before).
    Both sides are sorted by date overall, hence within every ``keys`` group, as the as-of join
    needs (it cannot check that itself when joining by groups)."""
    cumulative = (
        daily.sort([*keys, "_day"])
        .with_columns(pl.col("amount").cum_sum().over(keys).alias("_cum"))
        .select(*keys, "_day", "_cum")
        .sort("_day")
    )
    queries = queries.with_columns((pl.col("hub_date") - timedelta(days=days)).alias("_before"))

    def as_of(on: str, name: str) -> pl.LazyFrame:
        return queries.sort(on).join_asof(
            cumulative.rename({"_day": on, "_cum": name}),
            on=on,
            by=keys,
            strategy="backward",
            check_sortedness=False,
        )

    upto = as_of("hub_date", "_upto")
    before = as_of("_before", "_start").select(*keys, "hub_date", "_start")
    return upto.join(before, on=[*keys, "hub_date"], how="left").select(
        pl.exclude("_before", "_upto", "_start"),
        (pl.col("_upto").fill_null(0.0) - pl.col("_start").fill_null(0.0)).alias("total"),
    )


def _collectors(
    scores: pl.DataFrame, edges: pl.DataFrame, s: PropagationConfig, min_payers: int
) -> pl.LazyFrame:
    """Hubs found by shape, not by a rule: on each evaluation date of ``scores``, accounts with at
    least ``min_payers`` exclusive payers (each paid the account at least ``collector_min_amount``
    within ``window_days``, at least ``min_peer_share`` of its outflow over ``peer_window_days``).
    Columns as the rule hubs: ``hub, hub_date, hub_score, typology``."""
    flows = edges.lazy().filter(
        (pl.col("src_account") != pl.col("dst_account"))
        & (pl.col("src_account") != CASH_ACCOUNT)
        & (pl.col("dst_account") != CASH_ACCOUNT)
    )
    pair_keys = ["src_account", "dst_account"]
    daily_pair = flows.group_by([*pair_keys, "_day"]).agg(pl.col("amount").sum())
    # Only pairs that reach collector_min_amount over the whole period can reach it in a window.
    daily_pair = daily_pair.join(
        daily_pair.group_by(pair_keys)
        .agg(pl.col("amount").sum().alias("_all"))
        .filter(pl.col("_all") >= s.collector_min_amount),
        on=pair_keys,
        how="semi",
    )
    # Dates whose window reaches back before the first transfer given are skipped: there, a payer
    # seen for a few days looks exclusive (the first rent payment is all a tenant has paid yet).
    observed = pl.lit(edges.get_column("_day").min(), dtype=pl.Date) + timedelta(days=s.window_days - 1)
    dates = (
        scores.lazy()
        .select(pl.col("eval_date").cast(pl.Date).alias("hub_date"))
        .unique()
        .filter(pl.col("hub_date") >= observed)
    )
    # (pair, date) queries: the dates whose window holds a transfer of the pair.
    queries = (
        daily_pair.select(*pair_keys, "_day")
        .join(dates, how="cross")
        .filter(
            (pl.col("_day") <= pl.col("hub_date"))
            & (pl.col("_day") > pl.col("hub_date") - timedelta(days=s.window_days))
        )
        .select(*pair_keys, "hub_date")
        .unique()
    )
    paid = _window_sum(daily_pair, queries, pair_keys, s.window_days).rename({"total": "pair_amount"})
    # A payer's outflow counts cash withdrawals too (as the rule hubs' peer share does).
    daily_out = (
        edges.lazy()
        .filter(pl.col("src_account") != CASH_ACCOUNT)
        .group_by(["src_account", "_day"])
        .agg(pl.col("amount").sum())
    )
    outflow = _window_sum(
        daily_out, paid.select("src_account", "hub_date").unique(), ["src_account"], s.peer_window_days
    ).rename({"total": "peer_total"})
    low, high = s.collector_scores
    span = math.log(s.collector_saturation_payers / min_payers)
    grade = (pl.col("_payers") / min_payers).log() / span if span > 0 else pl.lit(1.0)
    return (
        paid.join(outflow, on=["src_account", "hub_date"])
        .filter(
            (pl.col("pair_amount") >= s.collector_min_amount)
            & (pl.col("pair_amount") >= s.min_peer_share * pl.col("peer_total"))
        )
        .group_by("dst_account", "hub_date")
        .agg(pl.len().alias("_payers"))
        .filter(pl.col("_payers") >= min_payers)
        .select(
            pl.col("dst_account").alias("hub"),
            "hub_date",
            (low + (high - low) * grade.clip(0.0, 1.0)).alias("hub_score"),
            pl.lit(s.collector_typology).alias("typology"),
        )
    )


def _merge(out: pl.DataFrame, derived: pl.DataFrame, max_reasons: int) -> pl.DataFrame:
    key_types = {"account_id": out.schema["account_id"], "eval_date": out.schema["eval_date"]}
    derived = derived.with_columns(pl.col(k).cast(t) for k, t in key_types.items())
    row = "__propagation_row"
    indexed = out.with_row_index(row)
    new_keys = derived.join(
        indexed.select("account_id", "eval_date"), on=["account_id", "eval_date"], how="anti"
    )
    if new_keys.height:
        fill: list[pl.Expr] = []
        for name, dtype in out.schema.items():
            if name in ("account_id", "eval_date"):
                continue
            if name == "reasons":
                fill.append(pl.lit([], dtype=dtype).alias(name))
            elif dtype.is_float():
                fill.append(pl.lit(0.0, dtype=dtype).alias(name))
            else:
                fill.append(pl.lit(None, dtype=dtype).alias(name))
        blank = (
            new_keys.select("account_id", "eval_date")
            .sort(["account_id", "eval_date"])
            .with_columns(fill)
            .select(out.columns)
            .with_row_index(row, offset=out.height)
        )
        indexed = pl.concat([indexed, blank])
    merged = indexed.join(
        derived.rename({PROPAGATED_COLUMN: "_derived", SOURCE_COLUMN: "_source"}),
        on=["account_id", "eval_date"],
        how="left",
    )
    wins = pl.col("_derived").fill_null(0.0) > pl.col("score")
    return (
        merged.with_columns(
            pl.col("_derived").fill_null(0.0).alias(PROPAGATED_COLUMN),
            pl.col("_source").alias(SOURCE_COLUMN),
            pl.when(wins).then(pl.col("_derived")).otherwise(pl.col("score")).alias("score"),
            pl.when(wins).then(pl.col("_typology")).otherwise(pl.col("top_typology")).alias("top_typology"),
            pl.when(pl.col("_reason").is_null())
            .then(pl.col("reasons"))
            .when(wins)
            .then(pl.concat_list(pl.col("_reason"), pl.col("reasons")).list.head(max_reasons))
            .otherwise(pl.concat_list(pl.col("reasons").list.head(max_reasons - 1), pl.col("_reason")))
            .alias("reasons"),
        )
        .sort(row)
        .select(out.columns)
    )


__all__ = ["PROPAGATED_COLUMN", "SOURCE_COLUMN", "propagate_scores"]
