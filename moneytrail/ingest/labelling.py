"""Label helpers shared by the formats that carry ground truth (AMLworld, AMLSim)."""

from __future__ import annotations

import polars as pl


def roles(transactions: pl.DataFrame, group: str) -> pl.DataFrame:
    """(group, account_id, role) from the transactions of each group (alert, attempt).

    An account that only sends is the ``originator``, one that only receives the
    ``beneficiary``, one that does both an ``intermediary``.
    """
    rows = transactions.filter(pl.col(group).is_not_null())
    sides = pl.concat(
        [
            rows.select(group, pl.col("src_account").alias("account_id"), sends=True, receives=False),
            rows.select(group, pl.col("dst_account").alias("account_id"), sends=False, receives=True),
        ]
    )
    return (
        sides.group_by(group, "account_id", maintain_order=True)
        .agg(pl.col("sends").any(), pl.col("receives").any())
        .select(
            group,
            "account_id",
            pl.when(pl.col("sends") & pl.col("receives"))
            .then(pl.lit("intermediary"))
            .when(pl.col("sends"))
            .then(pl.lit("originator"))
            .otherwise(pl.lit("beneficiary"))
            .alias("role"),
        )
    )


def span(transactions: pl.DataFrame, group: str) -> pl.DataFrame:
    """(group, start, end): first and last timestamp of each group's transactions."""
    return (
        transactions.filter(pl.col(group).is_not_null())
        .group_by(group, maintain_order=True)
        .agg(start=pl.col("timestamp").min(), end=pl.col("timestamp").max())
    )


def typology_name(name: pl.Expr) -> pl.Expr:
    """A source's typology name in lake form: lower case, runs of ``-`` or space -> ``_``."""
    return name.str.strip_chars().str.to_lowercase().str.replace_all(r"[\- ]+", "_")
