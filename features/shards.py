"""Account shards of a scale-out feature run: what each shard reads, and the reduce.

The accounts are split into ``n`` shards; shard ``k`` computes the feature rows of its own
accounts with :func:`features.compute_features` (``eval_accounts``) over the transactions
:func:`shard_transactions` selects, and :func:`reduce_shards` puts the shards together. The
union equals ``compute_features`` over everything (floats within rounding), family by family:

* **Account windows** (amounts, counts, cash, profile, spikes, activity gaps, distinct regions
  and depositors, fan-in/out degrees, new counterparties): map by account. A shard reads every
  transaction with an end in the shard, so each of its accounts sees all its legs; a transfer
  between two shards is read by both (shuffle: at most two copies of a transaction).
* **Entity components**: computed once from the (small) accounts table by the existing linking
  (:func:`features.entities.components`) and used as the shard key: an account's shard is
  the hash of the smallest account id of its component, so a component never spans shards and
  ``entity_collector_share`` (the component's outflows) is local.
* **Graph patterns** (scatter-gather, gather-scatter, cycles, fast forwards, chains): the
  pattern edge list (non-cash transfers between two real accounts) is broadcast to every shard,
  so every multi-hop instance through a shard's accounts is found whatever shards its other
  accounts fall in (hub caps included, as they rank each node's whole edge list); the shard
  keeps the rows of its own accounts (map: instances, reduce: group by account, as in the
  single-process engine). A nightly run broadcasts only the pattern lookback (about
  ``2 * pattern_window_days`` days), a history run the whole edge list.
* **Peer z-scores** compare an account with the other accounts of its peer group evaluated the
  same day, across shards: :func:`reduce_shards` recomputes them over the concatenated table.

Shards are assigned by Polars' 64-bit hash with a fixed seed: the driver and the workers must
run the same Polars version (they run the same package anyway).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from features.config import FeatureConfig
from features.engine import compute_features
from features.entities import components
from features.peers import peer_zscore
from features.prepare import REQUIRED_TX_COLUMNS
from features.registry import KEY_COLUMNS
from moneytrail.schemas import CASH_ACCOUNT

#: Seed of the hash that places an account (its component's root) in a shard.
SHARD_SEED = 0x7368617264
CASH_CHANNELS: tuple[str, ...] = ("cash_deposit", "cash_withdrawal")
PEER_SUFFIX = "_peer_z"


def component_roots(accounts: pl.LazyFrame, config: FeatureConfig) -> pl.DataFrame:
    """``account_id``, ``root``: every account linked to another by a shared identifier, with
    the smallest account id of its entity component (unlinked accounts are their own root)."""
    codes = accounts.select("account_id").unique().sort("account_id").with_row_index("acct")
    linked = components(accounts, codes, config).lazy()
    ids = codes.select("acct", "account_id")
    return (
        linked.join(ids, on="acct")
        .join(ids.rename({"acct": "component", "account_id": "root"}), on="component")
        .select("account_id", "root")
        .sort("account_id")
        .collect()
    )


def shard_of(account: str, roots: pl.DataFrame, n: int, alias: str) -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    """A transform adding column ``alias``: the shard (``0..n-1``) of column ``account``.

    The shard is the 64-bit hash of the account's component root (:func:`component_roots`; the
    account itself when unlinked) modulo ``n``; the roots are joined in by hash (integers, not
    strings). A pure function of the account id, so every task places an account alike.
    """
    key, root = f"_{alias}_key", f"_{alias}_root"
    right = roots.lazy().select(
        pl.col("account_id").hash(SHARD_SEED).alias(key), pl.col("root").hash(SHARD_SEED).alias(root)
    )

    def place(frame: pl.LazyFrame) -> pl.LazyFrame:
        return (
            frame.with_columns(pl.col(account).hash(SHARD_SEED).alias(key))
            .join(right, on=key, how="left")
            .with_columns((pl.coalesce(root, key) % n).cast(pl.UInt32).alias(alias))
            .drop(key, root)
        )

    return place


def with_shards(transactions: pl.LazyFrame, roots: pl.DataFrame, n: int) -> pl.LazyFrame:
    """``transactions`` with ``_src_shard`` and ``_dst_shard`` (the shards of both ends) and
    ``_row`` (the input position: the joins do not keep the row order)."""
    out = transactions.with_row_index("_row")
    for side in ("src", "dst"):
        out = out.pipe(shard_of(f"{side}_account", roots, n, f"_{side}_shard"))
    return out


def broadcast_edges(config: FeatureConfig, as_of: dt.date | None) -> pl.Expr:
    """Transactions every shard reads: the candidate pattern edges (non-cash transfers between
    two real accounts), in a nightly run only those the pattern features can reach back to."""
    real = (pl.col("src_account") != CASH_ACCOUNT) & (pl.col("dst_account") != CASH_ACCOUNT)
    edge = real & ~pl.col("channel").is_in(CASH_CHANNELS)
    if as_of is None:
        return edge
    # patterns.pattern_features keeps edges after day(as_of) - 2P - chain days; one day spare
    chain_days = int(config.max_cycle_length * config.pass_through_hours // 24) + 1
    since = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC) - dt.timedelta(
        days=2 * config.pattern_window_days + chain_days + 1
    )
    return edge & (pl.col("timestamp") >= since)


def shard_transactions(
    transactions: pl.LazyFrame,
    roots: pl.DataFrame,
    n: int,
    shard: int,
    *,
    config: FeatureConfig,
    as_of: dt.date | None,
) -> pl.LazyFrame:
    """What shard ``shard`` of ``n`` reads: every transaction with an end in the shard, plus the
    broadcast pattern edges (:func:`broadcast_edges`); only the columns the feature engine reads
    (:data:`features.prepare.REQUIRED_TX_COLUMNS`)."""
    needed = transactions.select(REQUIRED_TX_COLUMNS)
    if n == 1:
        return needed
    mine = (pl.col("_src_shard") == shard) | (pl.col("_dst_shard") == shard)
    return (
        with_shards(needed, roots, n)
        .filter(mine | broadcast_edges(config, as_of))
        .sort("_row")  # the input order, as the single-process run reads it
        .select(REQUIRED_TX_COLUMNS)
    )


def shard_accounts(transactions: pl.LazyFrame, roots: pl.DataFrame, n: int, shard: int) -> pl.DataFrame:
    """``account_id`` of the real accounts of ``transactions`` that belong to shard ``shard``."""
    ids = pl.concat(
        [
            transactions.select(pl.col("src_account").alias("account_id")),
            transactions.select(pl.col("dst_account").alias("account_id")),
        ]
    ).unique()
    return (
        ids.filter(pl.col("account_id") != CASH_ACCOUNT)
        .pipe(shard_of("account_id", roots, n, "_shard"))
        .filter(pl.col("_shard") == shard)
        .select("account_id")
        .collect()
    )


def shard_features(
    transactions: pl.LazyFrame,
    accounts: pl.LazyFrame,
    config: FeatureConfig,
    as_of: dt.date | None,
    *,
    roots: pl.DataFrame,
    n: int,
    shard: int,
) -> pl.DataFrame:
    """The feature rows of shard ``shard`` of ``n`` (``compute_features`` columns; peer
    z-scores are provisional until :func:`reduce_shards`)."""
    if not 0 <= shard < n:
        raise ValueError(f"shard {shard} is not in 0..{n - 1}")
    tx = shard_transactions(transactions, roots, n, shard, config=config, as_of=as_of).collect()
    mine = shard_accounts(tx.lazy(), roots, n, shard)
    return compute_features(tx.lazy(), accounts, config, as_of, eval_accounts=mine)


def reduce_shards(frames: list[pl.DataFrame], config: FeatureConfig) -> pl.DataFrame:
    """The shards' rows as one feature table, sorted by key, peer z-scores over all of them."""
    if not frames:
        raise ValueError("no feature shards to reduce")
    table = pl.concat(frames, how="vertical").sort(list(KEY_COLUMNS))
    peers = [c.removesuffix(PEER_SUFFIX) for c in table.columns if c.endswith(PEER_SUFFIX)]
    return table.with_columns(peer_zscore(f, config) for f in peers)
