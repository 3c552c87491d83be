"""Input checks, account encoding, day buckets and the per-account "legs" of each transaction.

A transaction becomes up to two *legs*, one per real (non-``CASH``) account:

* the source leg (``out``) of ``src_account`` and the destination leg (``in``) of ``dst_account``;
* ``moves_money`` says whether the leg debits/credits the account: a ``cash_deposit`` credits
  ``dst_account`` only (the conducting ``src_account`` hands over cash, its balance does not
  move), a ``cash_withdrawal`` debits ``src_account`` only;
* ``cp`` is the counterparty account, null when it is the ``CASH`` placeholder. Every leg with a
  counterparty is an edge of the transaction graph, whatever ``moves_money`` says (a customer
  depositing cash into someone else's account is linked to that account).

Accounts are encoded as ``UInt32`` codes in account-id order (so sorting by code sorts by id);
days are ``Int32`` days since 1970-01-01 (the window bucket, see :func:`bucket_day`).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from features import exprs
from features.config import FeatureConfig
from moneytrail.schemas import CASH_ACCOUNT

US_PER_DAY = 86_400_000_000
EPOCH = dt.date(1970, 1, 1)
#: ``key = acct * 2**DAY_BITS + (day + DAY_OFFSET)``: one sortable Int64 per (account, day), so that
#: per-account windows become ranges of one integer column (as-of joins without ``by``).
DAY_BITS = 22
DAY_SPAN = 1 << DAY_BITS
DAY_OFFSET = 1 << (DAY_BITS - 1)

REQUIRED_TX_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "src_account",
    "dst_account",
    "amount",
    "channel",
    "src_country",
    "dst_country",
    "region",
)
REQUIRED_ACCOUNT_COLUMNS: tuple[str, ...] = (
    "account_id",
    "kind",
    "sector",
    "region",
    "opened_at",
    "declared_monthly_income",
    "is_pep",
)


class FeatureInputError(ValueError):
    """An input frame lacks a column the feature engine needs."""


def require_columns(frame: pl.LazyFrame, required: tuple[str, ...], where: str) -> None:
    """Fail loudly when ``frame`` lacks any of ``required`` (checks the schema only)."""
    names = frame.collect_schema().names()
    missing = [c for c in required if c not in names]
    if missing:
        raise FeatureInputError(f"{where}: missing column(s) {missing}")


def day_number(date: dt.date) -> int:
    """Days since 1970-01-01."""
    return (date - EPOCH).days


def bucket_day(timestamp: pl.Expr, closed: str) -> pl.Expr:
    """Day bucket of a timestamp such that a ``w``-day window evaluated on day ``D`` holds
    exactly the buckets ``D-w+1 .. D``.

    ``closed="right"``: windows are ``(D+1-w, D+1]`` so the instant at midnight belongs to the
    previous day (bucket = floor((t - 1us) / day)); ``"left"``: calendar day of ``t``.
    """
    micros = timestamp.dt.epoch("us")
    if closed == "right":
        micros = micros - 1
    return (micros // US_PER_DAY).cast(pl.Int32)


def pack(acct: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Int64 key ordering rows by account, then day (days within +-2**21 of 1970)."""
    return acct.cast(pl.Int64) * DAY_SPAN + (day.cast(pl.Int64) + DAY_OFFSET)


#: Seeds of the two 64-bit hashes of account ids: the first keys the dictionary join, the
#: second verifies it (a collision of the first is detected and triggers the exact path).
_HASH_SEEDS = (0x6D6F6E6579, 0x747261696C)


def _hashed(col: str) -> list[pl.Expr]:
    return [
        pl.col(col).hash(_HASH_SEEDS[0]).alias(f"{col}_h"),
        pl.col(col).hash(_HASH_SEEDS[1]).alias(f"{col}_h2"),
    ]


def account_codes(transactions: pl.LazyFrame, accounts: pl.LazyFrame) -> pl.LazyFrame:
    """Dictionary ``account_id -> acct`` (UInt32, in account-id order) over every real account
    of either input, with the two hashes of the id (``h``, ``h2``)."""
    ids = pl.concat(
        [
            transactions.select(pl.col("src_account").alias("account_id")),
            transactions.select(pl.col("dst_account").alias("account_id")),
            accounts.select("account_id"),
        ]
    ).with_columns(h=pl.col("account_id").hash(_HASH_SEEDS[0]), h2=pl.col("account_id").hash(_HASH_SEEDS[1]))
    # one row per distinct hash without hashing the strings into a table: keep first positions
    first = ids.filter(pl.int_range(pl.len()).is_in(pl.col("h").arg_unique().implode()))
    return first.filter(pl.col("account_id") != CASH_ACCOUNT).sort("account_id").with_row_index("acct")


def encode(
    transactions: pl.LazyFrame, codes: pl.DataFrame, config: FeatureConfig, *, exact: bool = False
) -> pl.LazyFrame:
    """Transactions as numbers: account codes (null for ``CASH``), day bucket, time, amount and
    the per-transaction flags the features use.

    Columns: ``src``, ``dst`` (UInt32), ``day`` (Int32), ``ts`` (Int64 us), ``amount``,
    ``is_cd`` / ``is_cw`` (cash deposit / withdrawal), ``near`` (near-threshold amount),
    ``xb`` (cross-border), ``risk`` (destination risk weight), ``round``, ``border`` (border
    branch region), ``region_h`` (hash of the branch region, null when none), ``_ok`` (False
    where the account dictionary join hit a hash collision).

    Account ids are joined to the dictionary by a 64-bit hash (fast) and verified with a
    second, independent hash; ``exact=True`` joins on the id strings instead (the fallback
    when verification fails).
    """
    numbers = transactions.select(
        "src_account",
        "dst_account",
        *_hashed("src_account"),
        *_hashed("dst_account"),
        day=bucket_day(pl.col("timestamp"), config.window_closed),
        ts=pl.col("timestamp").dt.epoch("us"),
        amount=pl.col("amount"),
        is_cd=pl.col("channel") == "cash_deposit",
        is_cw=pl.col("channel") == "cash_withdrawal",
        near=exprs.near_threshold_amount(config),
        xb=exprs.cross_border_tx(),
        risk=exprs.destination_risk(config),
        round=exprs.round_amount(config.round_amount_unit),
        border=exprs.border_region(config),
        region_h=pl.when(pl.col("region").is_not_null()).then(pl.col("region").hash(_HASH_SEEDS[0])),
    )
    for side in ("src", "dst"):
        if exact:
            right = codes.lazy().select(
                pl.col("account_id").alias(f"{side}_account"), pl.col("acct").alias(side)
            )
            numbers = numbers.join(right, on=f"{side}_account", how="left", maintain_order="left")
        else:
            right = codes.lazy().select(
                pl.col("h").alias(f"{side}_account_h"),
                pl.col("h2").alias(f"_{side}_h2"),
                pl.col("acct").alias(side),
            )
            numbers = numbers.join(
                right, on=f"{side}_account_h", how="left", maintain_order="left"
            ).with_columns(pl.col(f"_{side}_h2").fill_null(pl.col(f"{side}_account_h2")))
    ok = (
        pl.lit(True)
        if exact
        else (pl.col("_src_h2") == pl.col("src_account_h2")) & (pl.col("_dst_h2") == pl.col("dst_account_h2"))
    )
    return numbers.with_columns(_ok=ok).select(
        "src",
        "dst",
        "day",
        "ts",
        "amount",
        "is_cd",
        "is_cw",
        "near",
        "xb",
        "risk",
        "round",
        "border",
        "region_h",
        "_ok",
    )


def legs(tx: pl.LazyFrame, *, incoming: bool = True) -> pl.LazyFrame:
    """One row per (transaction, real account side): see the module docstring.

    Columns: ``acct``, ``cp`` (UInt32, null for CASH), ``day``, ``k`` (packed key),
    ``outgoing``, ``moves_money``, ``amount`` and the leg's flags (``is_cd``, ``is_cw``,
    ``near``, ``xb``, ``risk``, ``round``, ``border``). ``incoming=False``: the source legs only.
    """
    flags = ["amount", "is_cd", "is_cw", "near", "xb", "risk", "round", "border"]
    out_legs = tx.filter(pl.col("src").is_not_null()).select(
        pl.col("src").alias("acct"),
        pl.col("dst").alias("cp"),
        "day",
        pl.lit(True).alias("outgoing"),
        (~pl.col("is_cd")).alias("moves_money"),
        *flags,
    )
    in_legs = tx.filter(pl.col("dst").is_not_null()).select(
        pl.col("dst").alias("acct"),
        pl.col("src").alias("cp"),
        "day",
        pl.lit(False).alias("outgoing"),
        (~pl.col("is_cw")).alias("moves_money"),
        *flags,
    )
    both = pl.concat([out_legs, in_legs]) if incoming else out_legs
    return both.with_columns(k=pack(pl.col("acct"), pl.col("day")))


def step_end_day(day: pl.Expr, config: FeatureConfig) -> pl.Expr:
    """Evaluation day (last day of the history step) holding bucket ``day``."""
    origin = day_number(config.history_origin)
    step = config.history_step_days
    return (((day - origin) // step + 1) * step - 1 + origin).cast(pl.Int32)


def eval_rows(legs_frame: pl.LazyFrame, config: FeatureConfig, as_of: dt.date | None) -> pl.LazyFrame:
    """``(acct, eval_day, k)`` rows to evaluate, sorted by ``k`` (= by account, then day).

    With ``as_of``: accounts with a leg in the longest window ending ``as_of``. Without: each
    account at the end of every history step in which it has a leg.
    """
    if as_of is not None:
        end = day_number(as_of)
        start = end - max(config.windows_days) + 1
        return (
            legs_frame.filter(pl.col("day").is_between(start, end))
            .select("acct")
            .unique()
            .with_columns(eval_day=pl.lit(end, dtype=pl.Int32))
            .with_columns(k=pack(pl.col("acct"), pl.col("eval_day")))
            .sort("k")
        )
    return (
        legs_frame.select(pack(pl.col("acct"), step_end_day(pl.col("day"), config)).alias("k"))
        .unique()
        .sort("k")
        .select(
            (pl.col("k") // DAY_SPAN).cast(pl.UInt32).alias("acct"),
            (pl.col("k") % DAY_SPAN - DAY_OFFSET).cast(pl.Int32).alias("eval_day"),
            "k",
        )
    )
