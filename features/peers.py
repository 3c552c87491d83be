"""Deviation features: from the account's own recent history and from its peer group.

* ``{x}_spike_7d``: the last 7 days of ``x`` against the account's average week over the 23
  days before them: ``x_7d / (weekly average of (x_30d - x_7d) + spike_floor)``. The floor (USD)
  keeps it finite: a dormant account that suddenly moves money gets a large value.
* ``{f}_peer_z``: robust z-score of ``log1p(f)`` within the peer group (``kind``, ``sector``,
  ``region``) at the same evaluation date: ``(v - median) / max(1.4826 * MAD, peer_mad_floor)``.
  Peers are the rows of the same run, so these depend on who else was evaluated (a nightly
  run compares the accounts active in the longest window, a history run those active in the
  step); 0 in a peer group of one.
"""

from __future__ import annotations

import polars as pl

from features.config import FeatureConfig

SPIKE_SHORT, SPIKE_LONG = 7, 30
SPIKE_AMOUNTS: tuple[str, ...] = ("in_amount", "out_amount", "cash_deposit_amount", "cash_withdrawal_amount")
PEER_KEYS: tuple[str, ...] = ("eval_date", "kind", "sector", "region")


def spike_columns() -> list[tuple[str, str, str]]:
    """``(name, unit, description)`` of the own-history deviation columns."""
    words = {
        "in_amount": "inflow",
        "out_amount": "outflow",
        "cash_deposit_amount": "cash deposited",
        "cash_withdrawal_amount": "cash withdrawn",
    }
    return [
        (
            f"{c}_spike_{SPIKE_SHORT}d",
            "ratio",
            f"{words[c]} in the last {SPIKE_SHORT} days relative to the account's usual week before",
        )
        for c in SPIKE_AMOUNTS
    ]


def spike(column: str, config: FeatureConfig) -> pl.Expr:
    """Spike ratio from the raw window totals ``{column}_7d_raw`` and ``{column}_30d_raw``."""
    short = pl.col(f"{column}_{SPIKE_SHORT}d_raw")
    before = (pl.col(f"{column}_{SPIKE_LONG}d_raw") - short).clip(lower_bound=0.0)
    weekly = before * SPIKE_SHORT / (SPIKE_LONG - SPIKE_SHORT)
    # rounded: the last bits depend on how Polars fuses the arithmetic in a plan
    return (short / (weekly + config.spike_floor)).round(6).alias(f"{column}_spike_{SPIKE_SHORT}d")


def peer_columns(config: FeatureConfig, descriptions: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(name, unit, description)`` of the peer z-scores of the configured features present in
    ``descriptions`` (feature name -> its description)."""
    return [
        (f"{f}_peer_z", "zscore", f"{descriptions[f]}, against the peer group (kind, sector, region)")
        for f in config.peer_features
        if f in descriptions
    ]


def peer_zscore(feature: str, config: FeatureConfig) -> pl.Expr:
    """Robust z-score of ``log1p(feature)`` within :data:`PEER_KEYS`."""
    value = pl.col(feature).cast(pl.Float64).clip(lower_bound=0.0).log1p()
    median = value.median().over(PEER_KEYS)
    mad = (value - median).abs().median().over(PEER_KEYS)
    scale = pl.max_horizontal(mad * 1.4826, pl.lit(config.peer_mad_floor))
    return ((value - median) / scale).fill_null(0.0).alias(f"{feature}_peer_z")
