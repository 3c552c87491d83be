"""``compute_features``: wires the feature families into one plan.

Execution: the encoded transactions (see :mod:`features.prepare`) are materialised once; each
family (graph patterns and degrees in DuckDB, window sums on a numpy grid, activity gaps,
entities, account attributes) is computed eagerly into a frame aligned with the evaluation rows,
the frames are stacked side by side (no join of wide frames) and one lazy Polars plan derives the
feature columns and peer z-scores from them.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from features import patterns
from features.config import FeatureConfig
from features.degrees import counterparty_events, new_columns
from features.duck import connection
from features.entities import entity_features
from features.exprs import DAILY_SUM_COLUMNS, leg_values, money_out, profile_window_features, window_name
from features.peers import SPIKE_AMOUNTS, SPIKE_SHORT, peer_zscore, spike
from features.prepare import (
    DAY_SPAN,
    EPOCH,
    REQUIRED_ACCOUNT_COLUMNS,
    REQUIRED_TX_COLUMNS,
    US_PER_DAY,
    account_codes,
    day_number,
    encode,
    eval_rows,
    legs,
    pack,
    require_columns,
)
from features.registry import KEY_COLUMNS, SEGMENT_COLUMNS, feature_specs
from features.windows import (
    Window,
    additive_windows,
    distinct_events,
    distinct_value,
    distinct_windows,
    window_sums,
)

#: Window of the non-configurable ``*_30d`` features (income ratio, new counterparties).
MONTH = 30
NEW_COUNTS = new_columns()
#: Value of a missing segment (peer-group) string.
UNKNOWN_SEGMENT = "unknown"


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den``, 0 where ``den`` is 0 or null."""
    return pl.when(den > 0).then(num / den).otherwise(0.0).fill_null(0.0)


def _window_features(config: FeatureConfig, w: int) -> list[pl.Expr]:
    """Window-``w`` features from the window sums of the daily-sum columns."""

    def diff(col: str) -> pl.Expr:
        value = pl.col(window_name(col, w))
        return value.round(2).abs() if col.endswith("amount") else value.cast(pl.UInt32)

    s = f"_{w}d"
    inn, out = diff("in_amount"), diff("out_amount")
    cd_count = diff("cash_deposit_count")
    money = diff("in_count") + diff("out_count")
    exprs = [
        diff(c).alias(f"{c}{s}")
        for c in (
            "in_count",
            "in_amount",
            "out_count",
            "out_amount",
            "cash_deposit_count",
            "cash_deposit_amount",
            "cash_withdrawal_count",
            "cash_withdrawal_amount",
            "near_threshold_cash_count",
        )
    ]
    exprs += [
        _ratio(diff("near_threshold_cash_count"), cd_count).alias(f"near_threshold_cash_share{s}"),
        _ratio(pl.min_horizontal(inn, out), pl.max_horizontal(inn, out)).alias(f"pass_through_ratio{s}"),
        _ratio(diff("cross_border_out_amount"), out).alias(f"cross_border_out_share{s}"),
        _ratio(diff("round_count"), money).alias(f"round_amount_share{s}"),
        _ratio(diff("risk_weighted_out_amount"), out).alias(f"risk_weighted_cross_border_share{s}"),
        diff("border_cash_withdrawal_count").alias(f"border_cash_withdrawal_count{s}"),
        diff("border_cash_withdrawal_amount").alias(f"border_cash_withdrawal_amount{s}"),
        *profile_window_features(w),
    ]
    return exprs


def _graph_edges(tx: pl.LazyFrame, start: int | None) -> pl.LazyFrame:
    """Transfers ``(src, dst, day)`` between two real accounts for the degree features.

    With a nightly ``start`` day: transfers from ``start`` on, plus, for each ordered pair whose
    accounts also traded (either way) from ``start`` on, its last earlier day (enough to know
    "seen before" and where covers began).
    """
    edges = tx.filter(pl.col("src").is_not_null() & pl.col("dst").is_not_null()).select("src", "dst", "day")
    if start is None:
        return edges
    pair = [pl.min_horizontal("src", "dst"), pl.max_horizontal("src", "dst")]
    recent = edges.filter(pl.col("day") >= start)
    recent_pairs = recent.select(pair[0].alias("lo"), pair[1].alias("hi")).unique()
    earlier = (
        edges.filter(pl.col("day") < start)
        .join(recent_pairs, left_on=pair, right_on=["lo", "hi"], how="semi")
        .group_by("src", "dst")
        .agg(pl.col("day").max())
        .select("src", "dst", "day")
    )
    return pl.concat([recent, earlier])


def _activity_days(lg: pl.LazyFrame, start: int | None) -> pl.LazyFrame:
    """Distinct active ``k`` = (account, day); before a nightly ``start`` only the last one."""
    days = lg.select("acct", "day")
    if start is not None:
        days = pl.concat(
            [
                days.filter(pl.col("day") >= start),
                days.filter(pl.col("day") < start).group_by("acct").agg(pl.col("day").max()),
            ]
        )
    return days.select(pack(pl.col("acct"), pl.col("day")).alias("k")).unique()


def _activity_gaps(activity: pl.LazyFrame, evals: pl.LazyFrame, longest: int) -> pl.LazyFrame:
    """``days_since_previous_activity`` (gap before the latest active day <= D) and
    ``reactivation_gap_days`` (gap before the first active day in the longest window)."""
    same_acct = (pl.col("k") // DAY_SPAN) == (pl.col("k").shift(1) // DAY_SPAN)
    days = (
        activity.sort("k")
        .with_columns(gap=pl.when(same_acct).then(pl.col("k") - pl.col("k").shift(1)).otherwise(0))
        .rename({"k": "_k"})
    )
    return (
        evals.select("k")
        .join_asof(
            days.rename({"gap": "days_since_previous_activity"}),
            left_on="k",
            right_on="_k",
            strategy="backward",
            check_sortedness=False,
        )
        .drop("_k")
        .with_columns(_start=pl.col("k") - (longest - 1))
        .join_asof(
            days.rename({"gap": "_g"}),
            left_on="_start",
            right_on="_k",
            strategy="forward",
            check_sortedness=False,
        )
        .with_columns(
            reactivation_gap_days=pl.when(pl.col("_k") <= pl.col("k")).then(pl.col("_g")).otherwise(0)
        )
        .select("days_since_previous_activity", "reactivation_gap_days")
        .with_columns(
            pl.col("days_since_previous_activity", "reactivation_gap_days").fill_null(0).cast(pl.UInt32)
        )
    )


def _account_attributes(accounts: pl.LazyFrame, codes: pl.LazyFrame) -> pl.LazyFrame:
    """``acct``, ``account_id`` and the account attributes (null for accounts not in
    ``accounts``; the first row wins for a duplicated id)."""
    attributes = accounts.select(
        "account_id", "kind", "sector", "region", "opened_at", "declared_monthly_income", "is_pep"
    ).unique("account_id", keep="first")
    return codes.join(attributes, on="account_id", how="left")


def _static_features() -> list[pl.Expr]:
    income = pl.col("declared_monthly_income").fill_null(0.0).clip(lower_bound=0.0)
    opened_day = pl.col("opened_at").dt.epoch("us") // US_PER_DAY
    return [
        pl.when(opened_day.is_not_null())
        .then((pl.col("eval_day") - opened_day).clip(lower_bound=0))
        .otherwise(0)
        .cast(pl.UInt32)
        .alias("account_age_days"),
        pl.col("is_pep").fill_null(False).cast(pl.UInt8).alias("is_pep"),
        income.alias("declared_monthly_income"),
        _ratio(pl.col(f"in_amount_{MONTH}d_raw"), income).alias(f"inflow_to_declared_income_{MONTH}d"),
        _ratio(pl.col(f"cash_withdrawal_amount_{MONTH}d_raw"), income).alias(
            f"cash_withdrawal_to_declared_income_{MONTH}d"
        ),
    ]


def compute_features(
    transactions: pl.LazyFrame,
    accounts: pl.LazyFrame,
    config: FeatureConfig,
    as_of: dt.date | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    eval_accounts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Compute every feature of :func:`features.registry.feature_specs` per account and date.

    Parameters
    ----------
    transactions : polars.LazyFrame
        Rows following ``schemas.TRANSACTIONS`` (at least the columns in
        ``prepare.REQUIRED_TX_COLUMNS``).
    accounts : polars.LazyFrame
        Rows following ``schemas.ACCOUNTS``; accounts missing from it are still scored, with
        segment ``"unknown"`` and zero static attributes.
    config : FeatureConfig
        Windows, thresholds and resources.
    as_of : datetime.date, optional
        Nightly run: one row per account active in the longest window ending ``as_of``
        (transactions after the end of that day are ignored). ``None``: the whole history, one
        row per account and history step in which it was active, in one vectorised pass.
    con : duckdb.DuckDBPyConnection, optional
        Connection for the DuckDB parts; by default a private one with
        ``config.duckdb_memory_limit`` that spills to a temporary directory.
    eval_accounts : polars.DataFrame, optional
        ``account_id`` column: produce only these accounts' rows (one shard of a scale-out run,
        :mod:`features.shards`); ``transactions`` must then hold every transaction of these
        accounts. Peer z-scores are over the rows produced (the shard reduce recomputes them).

    Returns
    -------
    polars.DataFrame
        ``account_id``, ``eval_date`` (Date), ``kind``, ``sector``, ``region``, then the
        feature columns in registry order; no nulls; sorted by ``account_id, eval_date``.
    """
    require_columns(transactions, REQUIRED_TX_COLUMNS, "transactions")
    require_columns(accounts, REQUIRED_ACCOUNT_COLUMNS, "accounts")
    codes = account_codes(transactions, accounts).collect()
    with connection(config, con) as duck:
        frame = _account_frame(
            transactions, accounts, codes, config, as_of=as_of, duck=duck, eval_accounts=eval_accounts
        )
    specs = feature_specs(config)
    raw = [
        pl.col(window_name(c, w)).round(2).abs().alias(f"{c}_{w}d_raw")
        for c in SPIKE_AMOUNTS
        for w in (SPIKE_SHORT, MONTH)
    ]
    windows = tuple(config.windows_days)
    distinct = ("cash_deposit_regions", "near_threshold_depositors", "fan_in_degree", "fan_out_degree")
    out = (
        frame.lazy()
        .with_columns(*raw, eval_date=(pl.lit(EPOCH) + pl.duration(days=pl.col("eval_day"))).cast(pl.Date))
        .with_columns(
            *[pl.col(c).cast(pl.UInt32) for c in NEW_COUNTS],
            *[e for w in windows for e in _window_features(config, w)],
            *[distinct_value(n, w) for n in distinct for w in windows],
            *_static_features(),
            pl.col(list(SEGMENT_COLUMNS)).cast(pl.String).fill_null(UNKNOWN_SEGMENT),
            *[spike(c, config) for c in SPIKE_AMOUNTS],
        )
        # rows follow the evaluation keys: sorted by account code (= account_id order), then date
        .select(
            *KEY_COLUMNS,
            *SEGMENT_COLUMNS,
            *[pl.col(n).fill_null(0) for n in specs if not n.endswith("_peer_z")],
        )
        .with_columns(peer_zscore(n.removesuffix("_peer_z"), config) for n in specs if n.endswith("_peer_z"))
        .select(*KEY_COLUMNS, *SEGMENT_COLUMNS, *specs)
    )
    return out.collect()


def _account_frame(
    transactions: pl.LazyFrame,
    accounts: pl.LazyFrame,
    codes: pl.DataFrame,
    config: FeatureConfig,
    *,
    as_of: dt.date | None,
    duck: duckdb.DuckDBPyConnection,
    eval_accounts: pl.DataFrame | None,
) -> pl.DataFrame:
    """One row per evaluation row (sorted by account, then day): keys, window sums, distinct
    counts, activity gaps, pattern and entity features and the account attributes, all
    computed eagerly and aligned (no join of wide frames; the transactions are released on
    return)."""
    windows = tuple(config.windows_days)
    longest = max(windows)
    offsets = sorted({*windows, MONTH, SPIKE_SHORT})
    tx_plan = encode(transactions, codes, config)
    if as_of is not None:
        tx_plan = tx_plan.filter(pl.col("day") <= day_number(as_of))
    tx = tx_plan.collect()
    if not tx["_ok"].all():  # 64-bit hash collision between two account ids: join exactly
        tx = (
            encode(transactions, codes, config, exact=True)
            .filter(pl.col("day") <= (day_number(as_of) if as_of is not None else pl.col("day").max()))
            .collect()
        )
    tx = tx.drop("_ok")
    lg = legs(tx.lazy())
    evals_df = eval_rows(lg, config, as_of).collect()
    if eval_accounts is not None:  # one account shard (features.shards)
        shard = codes.join(eval_accounts.select("account_id"), on="account_id", how="semi")["acct"]
        evals_df = evals_df.filter(pl.col("acct").is_in(shard.implode()))
    evals = evals_df.lazy()

    # Nightly run: window features only read the last max(offsets) days; history matters only
    # for "seen before" (new counterparties, activity gaps) and is compressed to one row per
    # (account, counterparty, direction) and per account (see docs/FEATURES.md).
    start = None if as_of is None else day_number(as_of) - max(offsets) + 1
    recent_tx = tx.lazy() if start is None else tx.lazy().filter(pl.col("day") >= start)
    deposits = recent_tx.filter(pl.col("is_cd") & pl.col("dst").is_not_null())
    region_pairs = deposits.filter(pl.col("region_h").is_not_null()).select(
        pl.col("dst").alias("acct"), pl.col("region_h").alias("key"), "day"
    )
    depositor_pairs = deposits.filter(pl.col("near") & pl.col("src").is_not_null()).select(
        pl.col("dst").alias("acct"), pl.col("src").alias("key"), "day"
    )
    families = {"cash_deposit_regions": region_pairs, "near_threshold_depositors": depositor_pairs}
    outflows = legs(tx.lazy(), incoming=False).filter(money_out()).select("acct", "cp", "day", "amount")
    entity_frame = entity_features(
        accounts, codes.lazy().select("acct", "account_id"), outflows, evals, config, as_of=as_of
    )
    keys = evals_df.select("acct", "eval_day")
    pieces = [
        evals_df,
        # first: the pattern search's working memory peaks before the window columns exist
        keys.join(
            patterns.pattern_features(duck, tx, evals_df, config, as_of),
            on=["acct", "eval_day"],
            how="left",
            maintain_order="left",
        ).drop("acct", "eval_day"),
        window_sums(
            evals_df,
            legs(recent_tx).select("k", *leg_values(config)),
            additive_windows(DAILY_SUM_COLUMNS, offsets),
        ),
        *[
            window_sums(evals_df, distinct_events(pairs, windows, name), distinct_windows(name, windows))
            for name, pairs in families.items()
        ],
        _degree_windows(duck, _graph_edges(tx.lazy(), start).collect(), evals_df, windows),
        _activity_gaps(_activity_days(lg, start), evals, longest).collect(),
        # entity_features keeps the order of the evaluation rows
        entity_frame.collect().drop("acct", "eval_day"),
        keys.join(
            _account_attributes(accounts, codes.lazy().select("acct", "account_id")).collect(),
            on="acct",
            how="left",
            maintain_order="left",
        ).drop("acct", "eval_day"),
    ]
    return pl.concat(pieces, how="horizontal")


def _degree_windows(
    duck: duckdb.DuckDBPyConnection, edges: pl.DataFrame, evals: pl.DataFrame, windows: tuple[int, ...]
) -> pl.DataFrame:
    """Fan-in/out degrees and new-counterparty counts per evaluation row (the counterparty
    events are released on return)."""
    events = counterparty_events(duck, edges, windows)
    return window_sums(
        evals,
        events.lazy(),
        {
            **distinct_windows("fan_in_degree", windows),
            **distinct_windows("fan_out_degree", windows),
            **{c: Window(c, c, MONTH) for c in NEW_COUNTS},
        },
    )
