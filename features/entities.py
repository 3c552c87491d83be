"""Entity resolution: accounts linked by a shared phone, address or device hash.

Components are the connected components of the graph "two accounts share an identifier
value". An identifier value shared by more than ``config.max_accounts_per_identifier``
accounts is ignored (a call centre, a placeholder). Components come from min-label
propagation: every round each account takes the smallest label among the accounts sharing a
value with it; rounds repeat until nothing changes (at most the component diameter, and never
more than ``MAX_ROUNDS``; a component not settled by then is split and the run logs nothing:
in practice identifier graphs have tiny diameters).

* ``entity_component_size``: accounts in the account's component (1 when it shares nothing).
* ``entity_collector_share_{P}d``: of the money all accounts of the component sent in the
  pattern window, the share that went to the single largest recipient (the common collector of
  a mule ring); 0 for a component of one.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from features.config import FeatureConfig
from features.patterns import date_instances

IDENTIFIERS: tuple[str, ...] = ("phone_hash", "address_hash", "device_hash")
MAX_ROUNDS = 64


def entity_columns(config: FeatureConfig) -> list[tuple[str, str, str]]:
    """``(name, unit, description)`` of the entity columns."""
    p = config.pattern_window_days
    return [
        (
            "entity_component_size",
            "count",
            "accounts linked to this one by a shared phone, address or device",
        ),
        (
            f"entity_collector_share_{p}d",
            "ratio",
            f"share of the money the linked accounts sent in {p} days that went to one common recipient",
        ),
    ]


def link_components(links: pl.DataFrame, *, node: str, link: list[str]) -> pl.DataFrame:
    """``node``, ``label``: connected components of the nodes of ``links`` joined by equal ``link`` values.

    ``links`` holds one row per (node, link value); the label of a component is its smallest
    node. Min-label propagation: each round every node takes the smallest label among the nodes
    sharing a value with it, until nothing changes or ``MAX_ROUNDS`` have run.
    """
    labels = links.select(node).unique().with_columns(pl.col(node).alias("label"))
    for _ in range(MAX_ROUNDS):
        by_value = links.join(labels, on=node).group_by(link).agg(pl.col("label").min())
        new = (
            links.join(by_value, on=link)
            .group_by(node)
            .agg(pl.col("label").min())
            .join(labels, on=node, suffix="_old")
            .select(node, pl.min_horizontal("label", "label_old").alias("label"))
        )
        changed = (
            new.join(labels, on=node, suffix="_old").filter(pl.col("label") != pl.col("label_old")).height
        )
        labels = new
        if changed == 0:
            break
    return labels


def components(accounts: pl.LazyFrame, codes: pl.LazyFrame, config: FeatureConfig) -> pl.DataFrame:
    """``acct``, ``component`` (smallest account code in it), ``size`` for accounts that share
    an identifier with at least one other account."""
    links = (
        pl.concat(
            [
                accounts.select(
                    "account_id", pl.lit(i, dtype=pl.UInt8).alias("kind"), pl.col(c).alias("value")
                )
                for i, c in enumerate(IDENTIFIERS)
            ]
        )
        .filter(pl.col("value").is_not_null())
        .unique()
    )
    links = (
        links.join(codes.select("account_id", "acct"), on="account_id", how="inner")
        .select("acct", "kind", "value")
        .filter(pl.len().over("kind", "value").is_between(2, config.max_accounts_per_identifier))
        .collect()
    )
    labels = link_components(links, node="acct", link=["kind", "value"]).rename({"label": "component"})
    return labels.with_columns(size=pl.len().over("component").cast(pl.UInt32))


def entity_features(
    accounts: pl.LazyFrame,
    codes: pl.LazyFrame,
    outflows: pl.LazyFrame,
    evals: pl.LazyFrame,
    config: FeatureConfig,
    *,
    as_of: dt.date | None,
) -> pl.LazyFrame:
    """Entity columns per evaluation row.

    Parameters
    ----------
    outflows : LazyFrame
        Money-moving outgoing legs: ``acct``, ``cp`` (recipient, null for cash), ``day``,
        ``amount``.
    """
    p = config.pattern_window_days
    comp = components(accounts, codes, config).lazy()
    sent = (
        outflows.join(comp.select("acct", "component"), on="acct", how="inner").rename(
            {"acct": "sender", "component": "acct"}
        )  # date by component, then fan out
    )
    dated = date_instances(
        sent,
        evals.select(pl.col("acct").alias("_a"), "eval_day")
        .rename({"_a": "acct"})
        .join(comp.select("acct", "component"), on="acct")
        .select(pl.col("component").alias("acct"), "eval_day")
        .unique(),
        config,
        as_of,
    )
    # Integer cents: a float sum's result depends on the (parallel) summation order.
    cents = (pl.col("amount") * 100).round().cast(pl.Int64)
    per_recipient = dated.group_by("acct", "eval_day", "cp").agg(cents.sum().alias("amount"))
    share = (
        per_recipient.group_by("acct", "eval_day")
        .agg(
            pl.when(pl.col("amount").sum() > 0)
            .then(
                pl.col("amount").filter(pl.col("cp").is_not_null()).max().fill_null(0)
                / pl.col("amount").sum()
            )
            .otherwise(0.0)
            .alias(f"entity_collector_share_{p}d")
        )
        .rename({"acct": "component"})
    )
    return (
        evals.select("acct", "eval_day")
        .join(comp, on="acct", how="left", maintain_order="left")
        .join(share, on=["component", "eval_day"], how="left", maintain_order="left")
        .select(
            "acct",
            "eval_day",
            pl.col("size").fill_null(1).alias("entity_component_size"),
            pl.col(f"entity_collector_share_{p}d").fill_null(0.0),
        )
    )
