"""Per-leg indicator expressions (pure ``pl.Expr`` builders over the legs frame).

Each returns a boolean or numeric expression over the columns produced by
:func:`features.prepare.legs`; the window machinery sums them per account and day.
"""

from __future__ import annotations

import polars as pl

from features.config import FeatureConfig

# --- on transactions (schemas.TRANSACTIONS columns) -------------------------------------------


def near_threshold_amount(config: FeatureConfig) -> pl.Expr:
    """Cash deposit with amount in ``[floor * threshold, threshold)``."""
    threshold = config.reporting_threshold
    low = config.near_threshold_floor * threshold
    return (pl.col("channel") == "cash_deposit") & (pl.col("amount") >= low) & (pl.col("amount") < threshold)


def cross_border_tx() -> pl.Expr:
    """Destination country differs from the source country (False when either is unknown)."""
    return (
        pl.col("src_country").is_not_null()
        & pl.col("dst_country").is_not_null()
        & (pl.col("src_country") != pl.col("dst_country"))
    ).fill_null(False)


def round_amount(unit: float) -> pl.Expr:
    """Amount is a positive multiple of ``unit`` (to the cent)."""
    remainder = pl.col("amount") % unit
    return (pl.col("amount") >= unit) & ((remainder < 0.005) | (remainder > unit - 0.005))


def destination_risk(config: FeatureConfig) -> pl.Expr:
    """Risk weight of the destination country (``config.country_risk``, else the default)."""
    table = config.country_risk
    return (
        pl.col("dst_country")
        .replace_strict(
            list(table),
            list(table.values()),
            default=config.default_country_risk,
            return_dtype=pl.Float64,
        )
        .fill_null(config.default_country_risk)
    )


def border_region(config: FeatureConfig) -> pl.Expr:
    """Branch region is a border region (configured names or the marker substring)."""
    region = pl.col("region")
    hit = region.is_in(list(config.border_regions)) if config.border_regions else pl.lit(False)
    if config.border_region_marker:
        hit = hit | region.str.to_lowercase().str.contains(config.border_region_marker.lower(), literal=True)
    return hit.fill_null(False)


# --- on legs (features.prepare.legs columns) ---------------------------------------------------


def money_in() -> pl.Expr:
    """Leg credits the account."""
    return ~pl.col("outgoing") & pl.col("moves_money")


def money_out() -> pl.Expr:
    """Leg debits the account."""
    return pl.col("outgoing") & pl.col("moves_money")


def cash_deposit() -> pl.Expr:
    """Cash deposited into the account (the credited side of a ``cash_deposit``)."""
    return ~pl.col("outgoing") & pl.col("is_cd")


def cash_withdrawal() -> pl.Expr:
    """Cash withdrawn from the account (the debited side of a ``cash_withdrawal``)."""
    return pl.col("outgoing") & pl.col("is_cw")


def near_threshold_cash() -> pl.Expr:
    """Cash deposit into the account just under the reporting threshold."""
    return ~pl.col("outgoing") & pl.col("near")


def cross_border() -> pl.Expr:
    """Outgoing money sent to another country."""
    return money_out() & pl.col("xb")


def cross_border_in() -> pl.Expr:
    """Incoming money sent from another country."""
    return money_in() & pl.col("xb")


def log_amount() -> pl.Expr:
    """Natural log of the amount (at least 1 USD): the scale on which amount similarity is read."""
    return pl.col("amount").clip(lower_bound=1.0).log()


def leg_values(config: FeatureConfig) -> list[pl.Expr]:
    """Additive per-leg values (summed per account and day by the window machinery; window
    features are differences of their running totals). Counts Boolean (one per leg), amounts Float64."""
    amount = pl.col("amount")

    def count(cond: pl.Expr, name: str) -> pl.Expr:
        return cond.alias(name)

    def total(cond: pl.Expr, name: str) -> pl.Expr:
        return pl.when(cond).then(amount).otherwise(0.0).alias(name)

    xb = cross_border()
    cash_out_border = cash_withdrawal() & pl.col("border")
    return [
        count(money_in(), "in_count"),
        total(money_in(), "in_amount"),
        count(money_out(), "out_count"),
        total(money_out(), "out_amount"),
        count(cash_deposit(), "cash_deposit_count"),
        total(cash_deposit(), "cash_deposit_amount"),
        count(cash_withdrawal(), "cash_withdrawal_count"),
        total(cash_withdrawal(), "cash_withdrawal_amount"),
        count(near_threshold_cash(), "near_threshold_cash_count"),
        total(xb, "cross_border_out_amount"),
        pl.when(xb).then(amount * pl.col("risk")).otherwise(0.0).alias("risk_weighted_out_amount"),
        count(pl.col("moves_money") & pl.col("round"), "round_count"),
        count(cash_out_border, "border_cash_withdrawal_count"),
        total(cash_out_border, "border_cash_withdrawal_amount"),
        total(cross_border_in(), "cross_border_in_amount"),
        count(money_in() & (amount >= config.reporting_threshold), "large_in_count"),
        *[
            pl.when(cond).then(power).otherwise(0.0).alias(f"{side}_log_amount{suffix}")
            for side, cond in (("in", money_in()), ("out", money_out()))
            for suffix, power in (("", log_amount()), ("_sq", log_amount() ** 2))
        ],
    ]


#: Names produced by :func:`leg_values`, in order.
DAILY_SUM_COLUMNS: tuple[str, ...] = (
    "in_count",
    "in_amount",
    "out_count",
    "out_amount",
    "cash_deposit_count",
    "cash_deposit_amount",
    "cash_withdrawal_count",
    "cash_withdrawal_amount",
    "near_threshold_cash_count",
    "cross_border_out_amount",
    "risk_weighted_out_amount",
    "round_count",
    "border_cash_withdrawal_count",
    "border_cash_withdrawal_amount",
    "cross_border_in_amount",
    "large_in_count",
    "in_log_amount",
    "in_log_amount_sq",
    "out_log_amount",
    "out_log_amount_sq",
)


def window_name(column: str, w: int) -> str:
    """Name of the internal ``w``-day window sum of ``column`` (``windows.additive_windows``)."""
    return f"__{column}_{w}d"


def _share(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(0.0).fill_null(0.0)


def log_amount_sd(count: pl.Expr, total: pl.Expr, squares: pl.Expr) -> pl.Expr:
    """Standard deviation of log amounts from their count, sum and sum of squares in a window;
    0 with fewer than two amounts. Close to the coefficient of variation for similar amounts
    (0.1 = amounts within about 10% of each other) and independent of their scale."""
    n = count.cast(pl.Float64)
    variance = (squares - total * total / n) / n
    return pl.when(n >= 2).then(variance.clip(lower_bound=0.0).sqrt()).otherwise(0.0).fill_null(0.0)


def profile_window_features(w: int) -> list[pl.Expr]:
    """Window-``w`` money-profile features (incoming cross-border share, large inflows, amount similarity)
    from the window sums of :data:`DAILY_SUM_COLUMNS` (named by :func:`window_name`)."""
    s = f"_{w}d"

    def diff(col: str) -> pl.Expr:
        return pl.col(window_name(col, w))

    return [
        _share(diff("cross_border_in_amount"), diff("in_amount")).alias(f"cross_border_in_share{s}"),
        diff("large_in_count").cast(pl.UInt32).alias(f"large_in_count{s}"),
        *[
            log_amount_sd(diff(f"{side}_count"), diff(f"{side}_log_amount"), diff(f"{side}_log_amount_sq"))
            .round(4)
            .alias(f"{side}_amount_log_sd{s}")
            for side in ("in", "out")
        ],
    ]
