"""Case keys: alerts of accounts that belong to one entity roll up into one case candidate.

Two accounts belong to one entity when they have the same ``customer_id`` or share a phone,
address or device hash, transitively (the connected components of the graph "two accounts
share a value"). A value shared by more than ``max_accounts_per_identifier`` accounts (a call
centre, a placeholder) links nothing, as in the feature engine's entity components. The case
key of an account is the smallest ``account_id`` of its entity, so it only depends on the
accounts table, not on row order or on which accounts were alerted.
"""

from __future__ import annotations

import polars as pl

from features.entities import link_components

#: Columns whose equal values link two accounts into one entity.
LINK_COLUMNS: tuple[str, ...] = ("customer_id", "phone_hash", "address_hash", "device_hash")


def case_keys(accounts: pl.DataFrame, max_accounts_per_identifier: int = 50) -> pl.DataFrame:
    """Return ``account_id, case_key`` for every account of ``accounts``.

    ``accounts`` needs ``account_id`` and any of :data:`LINK_COLUMNS` (absent ones link
    nothing; nulls link nothing). An account that shares nothing is its own case.
    """
    if "account_id" not in accounts.columns:
        raise KeyError("accounts lack column 'account_id' needed by case_keys")
    ids = accounts.select(pl.col("account_id").cast(pl.String)).unique()
    present = [c for c in LINK_COLUMNS if c in accounts.columns]
    links = (
        pl.concat(
            [
                accounts.select(
                    pl.col("account_id").cast(pl.String),
                    pl.lit(c).alias("link"),
                    pl.col(c).cast(pl.String).alias("value"),
                )
                for c in present
            ]
        )
        .filter(pl.col("value").is_not_null())
        .unique()
        .filter(pl.len().over("link", "value").is_between(2, max_accounts_per_identifier))
        if present
        else pl.DataFrame(schema={"account_id": pl.String, "link": pl.String, "value": pl.String})
    )
    labels = link_components(links, node="account_id", link=["link", "value"]).rename({"label": "case_key"})
    return (
        ids.join(labels, on="account_id", how="left")
        .with_columns(pl.col("case_key").fill_null(pl.col("account_id")))
        .sort("account_id")
    )


def with_case_keys(alerts: pl.DataFrame, keys: pl.DataFrame | None) -> pl.DataFrame:
    """Add ``case_key`` to ``alerts`` from :func:`case_keys` output (the account id where unknown)."""
    if keys is None:
        return alerts.with_columns(pl.col("account_id").cast(pl.String).alias("case_key"))
    mapping = keys.select(pl.col("account_id").cast(alerts.schema["account_id"]), "case_key")
    return alerts.join(mapping, on="account_id", how="left", maintain_order="left").with_columns(
        pl.col("case_key").fill_null(pl.col("account_id").cast(pl.String))
    )


__all__ = ["LINK_COLUMNS", "case_keys", "with_case_keys"]
