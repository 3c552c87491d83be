"""``score_accounts``: run every rule and the peer-group anomaly model, then combine."""

from __future__ import annotations

import numpy as np
import polars as pl

from detectors.base import MissingFeatureError
from detectors.combiner import (
    ANOMALY_COLUMN,
    ANOMALY_FLAG_COLUMN,
    NEAR_MISS_COLUMN,
    combine,
    typology_column,
)
from detectors.config import DetectorConfig, RuleSpec
from detectors.ensemble import PeerGroupEnsemble
from detectors.isolation import PeerGroupIsolationForest, numeric_feature_columns
from detectors.peers import PeerGroupModel
from detectors.rules import RuleDetector, check_columns, rule_columns, rule_proximity, rule_score

KEYS = ("account_id", "eval_date")
_ROW = "__row"
_POS = "__pos"


def enabled_rules(config: DetectorConfig) -> list[RuleSpec]:
    """Rules of ``config`` that are switched on, in configuration order."""
    return config.active_rules()


def anomaly_model(
    config: DetectorConfig, rng: np.random.Generator, features: pl.DataFrame | None = None
) -> PeerGroupModel:
    """The unfitted peer-group anomaly model configured by ``config``, seeded from ``rng``.

    ``config.anomaly_method`` picks a :class:`PeerGroupIsolationForest` or a
    :class:`PeerGroupEnsemble`. Without ``config.anomaly_features`` the model uses every numeric
    column of ``features`` (keys, segments and ``__``-private columns excluded).
    """
    names = config.anomaly_features
    if names is None and features is not None:
        names = tuple(numeric_feature_columns(features))
    common = {
        "features": names,
        "group_by": config.anomaly_group_by,
        "min_group_rows": config.anomaly_min_group_rows,
        "contamination": config.anomaly_contamination,
        "random_state": int(rng.integers(2**31 - 1)),
        "n_jobs": config.anomaly_n_jobs,
    }
    if config.anomaly_method == "ensemble":
        return PeerGroupEnsemble(
            methods=config.anomaly_ensemble_methods,
            max_fit_samples=config.anomaly_ensemble_fit_rows,
            **common,
        )
    return PeerGroupIsolationForest(
        n_estimators=config.isolation_forest_trees, max_fit_samples=config.anomaly_max_fit_rows, **common
    )


def _validate(features: pl.DataFrame, config: DetectorConfig, rules: list[RuleSpec]) -> None:
    if not isinstance(features, pl.DataFrame):
        raise TypeError(f"score_accounts expects a polars DataFrame, got {type(features).__name__}")
    missing = [k for k in KEYS if k not in features.columns]
    if config.anomaly_features is not None:
        missing += [f for f in config.anomaly_features if f not in features.columns]
    if config.anomaly_group_by is not None and config.anomaly_group_by not in features.columns:
        missing.append(config.anomaly_group_by)
    if missing:
        raise MissingFeatureError(f"missing feature column(s) {missing} required by score_accounts")
    check_columns(features, rules)
    anomaly = config.anomaly_features or numeric_feature_columns(features)
    used = {c for r in rules for c in rule_columns(r)} | set(anomaly) | set(KEYS)
    nulls = [c for c in features.columns if c in used and features.get_column(c).null_count()]
    nans = [c for c in anomaly if features.schema[c].is_float() and features.get_column(c).is_nan().any()]
    nulls += [c for c in nans if c not in nulls]
    if nulls:
        raise ValueError(
            f"feature column(s) {sorted(nulls)} hold nulls or NaN; the feature contract forbids them"
        )


def key_order(features: pl.DataFrame) -> pl.DataFrame:
    """``features`` with its row number as ``__row``, sorted by the keys (then that number): the
    order the anomaly model is fitted and scored in, so that the input's row order does not matter."""
    return features.with_row_index(_ROW).sort([*KEYS, _ROW])


def fit_anomaly_model(
    features: pl.DataFrame, config: DetectorConfig, rng: np.random.Generator
) -> PeerGroupModel:
    """The anomaly model :func:`score_accounts` fits on ``features`` with the same ``rng``.

    Its ``decision_scores_`` are the suspicion of the rows of :func:`key_order`, in that order, and
    ``suspicion_score`` of any slice of those rows returns the same values (each group model scores
    a row alone), so the rows can be scored in parts and passed back with ``fitted``.
    """
    _validate(features, config, enabled_rules(config))
    return anomaly_model(config, rng, features).fit(key_order(features))


def _empty(typologies: list[str], features: pl.DataFrame) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "account_id": features.schema["account_id"],
        "eval_date": features.schema["eval_date"],
        "score": pl.Float64(),
        "top_typology": pl.String(),
        "reasons": pl.List(pl.String),
    }
    schema |= {typology_column(t): pl.Float64() for t in typologies}
    schema[ANOMALY_COLUMN] = pl.Float64()
    schema[NEAR_MISS_COLUMN] = pl.Float64()
    return pl.DataFrame(schema=schema)


def score_accounts(
    features: pl.DataFrame,
    config: DetectorConfig,
    rng: np.random.Generator,
    *,
    fitted: tuple[PeerGroupModel, np.ndarray] | None = None,
) -> pl.DataFrame:
    """Score every ``(account_id, eval_date)`` row of a feature table.

    Parameters
    ----------
    features : polars.DataFrame
        Output of ``features.compute_features`` (keys, segment columns, numeric features).
    config : DetectorConfig
        Rules, anomaly-model and combiner settings.
    rng : numpy.random.Generator
        Seeds the anomaly model; the same seed and input give the same output.
    fitted : (PeerGroupModel, numpy.ndarray), optional
        The model :func:`fit_anomaly_model` fitted on ``features`` and the suspicion of the rows of
        :func:`key_order` (its ``decision_scores_``, or ``suspicion_score`` computed in parts);
        then ``rng`` is not used.

    Returns
    -------
    polars.DataFrame
        One row per input row, in input order: ``account_id, eval_date, score`` (in [0, 1],
        higher = more suspicious), ``top_typology`` (typology id, ``"anomaly"`` or null),
        ``reasons`` (list of reason codes), ``score_<typology>`` per typology,
        ``score_anomaly`` (peer-group percentile of the anomaly score) and ``score_near_miss``
        (how close the row came to firing a rule).

    Raises
    ------
    MissingFeatureError
        A column a rule or the anomaly model needs is absent (the message names it).
    """
    rules = enabled_rules(config)
    typologies = list(dict.fromkeys(r.typology for r in rules))
    _validate(features, config, rules)
    if features.height == 0:
        return _empty(typologies, features)

    # Fit and score in key order so the result does not depend on the input's row order.
    frame = key_order(features)
    if fitted is None:
        model = anomaly_model(config, rng, features).fit(frame)
        fitted = model, model.decision_scores_  # fit scored every row once; flag and percentile use it
    model, suspicion = fitted
    if suspicion.shape != (frame.height,):
        raise ValueError(f"fitted suspicion has shape {suspicion.shape}; expected ({frame.height},)")
    frame = frame.with_columns(
        pl.Series(ANOMALY_COLUMN, model.peer_percentile(frame, suspicion=suspicion)),
        pl.Series(ANOMALY_FLAG_COLUMN, suspicion > model.threshold_),
        *[rule_score(r, config.rule_floor) for r in rules],
        (pl.max_horizontal([rule_proximity(r) for r in rules]) if rules else pl.lit(0.0)).alias(
            NEAR_MISS_COLUMN
        ),
    )
    frame = frame.with_columns(
        pl.max_horizontal([pl.col(r.name) for r in rules if r.typology == t]).alias(typology_column(t))
        for t in typologies
    ).with_columns(combine(typologies, config))

    out = _with_reasons(frame, rules, model, config).sort(_ROW)
    return out.select(
        *KEYS,
        "score",
        "top_typology",
        "reasons",
        *[typology_column(t) for t in typologies],
        ANOMALY_COLUMN,
        NEAR_MISS_COLUMN,
    )


def _with_reasons(
    frame: pl.DataFrame, rules: list[RuleSpec], model: PeerGroupModel, config: DetectorConfig
) -> pl.DataFrame:
    """Add ``reasons``: fired rules by descending rule score, then anomaly reasons.

    Only rows with a rule hit or an anomaly flag get text (a small share), and the column is
    assembled by a join, so no Python object is built for the other rows.
    """
    found: dict[int, list[tuple[float, int, str]]] = {}
    for order, rule in enumerate(rules):
        scores = frame.get_column(rule.name).to_numpy()
        rows = np.flatnonzero(scores > 0)
        if rows.size == 0:
            continue
        detector = RuleDetector(
            rule,
            floor=config.rule_floor,
            reporting_threshold=config.reporting_threshold,
            near_threshold_floor=config.near_threshold_floor,
        ).fit(frame)
        for i, text in zip(rows.tolist(), detector.explain(frame[rows]), strict=True):
            found.setdefault(i, []).extend((-scores[i], order, t) for t in text)
    flagged = np.flatnonzero(frame.get_column(ANOMALY_FLAG_COLUMN).to_numpy())
    if flagged.size:
        texts = model.explain(frame[flagged], top_k=3, flagged=np.ones(flagged.size, dtype=bool))
        for i, text in zip(flagged.tolist(), texts, strict=True):
            found.setdefault(i, []).extend((1.0, len(rules) + k, t) for k, t in enumerate(text))
    positions = sorted(found)
    sparse = pl.DataFrame(
        {
            _POS: pl.Series(positions, dtype=pl.UInt32),
            "reasons": pl.Series(
                [[t for *_, t in sorted(found[i])][: config.max_reasons] for i in positions],
                dtype=pl.List(pl.String),
            ),
        }
    )
    return (
        frame.with_row_index(_POS)
        .join(sparse, on=_POS, how="left")
        .with_columns(pl.col("reasons").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .drop(_POS)
    )
