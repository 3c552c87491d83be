"""Turn typology rule scores and the anomaly percentile into one ranked account score.

Inputs per row: typology scores ``T_t`` (max over that typology's rules; 0 or in
``[floor, 1]``), the anomaly percentile ``a`` in (0, 1] within the peer group, the anomaly
model's flag and the near-miss proximity ``p``. With ``w_a = anomaly_weight``,
``w_m = multi_typology_weight`` and ``w_p = near_miss_weight``::

    fired rows (some T_t > 0):
        s     = (max_t T_t - floor) / (1 - floor)                  # severity of the best rule
        m     = min(k - 1, 2) / 2                                  # k = typologies that fired
        score = 0.5 + 0.5 * ((1 - w_a - w_m) * s + w_m * m + w_a * a)      in [0.5, 1]
    other rows:
        p     = max over rules of the mean progress of its required conditions towards
                their thresholds (value / threshold, clipped to [0, 1]): the "near miss"
        score = anomaly_only_ceiling * (w_p * p + (1 - w_p) * a)             in [0, 0.5)

So every rule hit ranks above every row without one; among hits the best rule's severity
dominates and the anomaly percentile and corroborating typologies add weight and break ties;
below them, rows that came close to firing a rule rank first, the anomaly percentile adding
weight and breaking ties.
``top_typology`` is the typology with the highest score (ties: configuration order), else
``"anomaly"`` when only the anomaly model flags the row, else null.
"""

from __future__ import annotations

import polars as pl

from detectors.config import DetectorConfig

ANOMALY = "anomaly"


def typology_column(typology: str) -> str:
    """Name of the per-typology score column."""
    return f"score_{typology}"


ANOMALY_COLUMN = typology_column(ANOMALY)
ANOMALY_FLAG_COLUMN = "anomaly_flag"
NEAR_MISS_COLUMN = "score_near_miss"


def combine(typologies: list[str], config: DetectorConfig) -> list[pl.Expr]:
    """Return expressions for ``score`` and ``top_typology``.

    Expects columns ``score_<typology>`` for each of ``typologies``, ``score_anomaly`` (the
    peer percentile), ``score_near_miss`` and ``anomaly_flag`` (bool).
    """
    floor = config.rule_floor
    w_a, w_m = config.anomaly_weight, config.multi_typology_weight
    anomaly = pl.col(ANOMALY_COLUMN)
    if typologies:
        cols = [pl.col(typology_column(t)) for t in typologies]
        best = pl.max_horizontal(cols)
        fired_count = pl.sum_horizontal([(c > 0).cast(pl.Int32) for c in cols])
    else:
        best, fired_count = pl.lit(0.0), pl.lit(0)
    severity = ((best - floor) / (1.0 - floor)).clip(0.0, 1.0)
    multi = (pl.min_horizontal(fired_count - 1, pl.lit(2)).clip(0, 2) / 2.0).cast(pl.Float64)
    fired_score = 0.5 + 0.5 * ((1.0 - w_a - w_m) * severity + w_m * multi + w_a * anomaly)
    w_p = config.near_miss_weight
    quiet_score = config.anomaly_only_ceiling * (w_p * pl.col(NEAR_MISS_COLUMN) + (1.0 - w_p) * anomaly)
    score = pl.when(best > 0).then(fired_score).otherwise(quiet_score).alias("score")
    top: pl.Expr = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for t, c in zip(typologies, [pl.col(typology_column(t)) for t in typologies], strict=True):
        top = top.when((best > 0) & (c == best)).then(pl.lit(t))
    top = top.when(pl.col(ANOMALY_FLAG_COLUMN)).then(pl.lit(ANOMALY))
    return [score, top.otherwise(pl.lit(None, dtype=pl.String)).alias("top_typology")]
