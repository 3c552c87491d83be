"""Names, units and analyst-facing descriptions of every feature column.

The detectors use :data:`FEATURES` (default windows) or :func:`feature_specs` (configured
windows) to validate their inputs and to phrase reason codes. Every numeric column that
:func:`features.compute_features` returns is listed here, and nothing else is.

Missing values are never emitted: a feature that has no data (no transactions in the window,
no declared income, ...) is 0; each description below says what 0 means when it is not obvious.
"""

from __future__ import annotations

from dataclasses import dataclass

from features.config import FeatureConfig
from features.entities import entity_columns
from features.patterns import pattern_columns
from features.peers import peer_columns, spike_columns

#: Schema id stored in the Parquet metadata of ``features.parquet``.
FEATURES_SCHEMA_ID = "features/v1"

#: Key and segment columns that precede the numeric features.
KEY_COLUMNS: tuple[str, ...] = ("account_id", "eval_date")
SEGMENT_COLUMNS: tuple[str, ...] = ("kind", "sector", "region")


@dataclass(frozen=True)
class FeatureSpec:
    """One numeric feature column.

    Parameters
    ----------
    name : str
        Column name in the feature table.
    unit : str
        ``"count"``, ``"USD"``, ``"ratio"``, ``"days"``, ``"hours"``, ``"flag"`` or ``"zscore"``.
    description : str
        One line an analyst reads (used in reason codes).
    window_days : int or None
        Trailing window the feature covers, ``None`` when not windowed.
    """

    name: str
    unit: str
    description: str
    window_days: int | None = None


# (stem, unit, description template); ``{w}`` is replaced by the window length in days.
_WINDOWED: tuple[tuple[str, str, str], ...] = (
    ("in_count", "count", "incoming transactions in the last {w} days"),
    ("in_amount", "USD", "amount received in the last {w} days"),
    ("out_count", "count", "outgoing transactions in the last {w} days"),
    ("out_amount", "USD", "amount sent in the last {w} days"),
    ("cash_deposit_count", "count", "cash deposits into the account in the last {w} days"),
    ("cash_deposit_amount", "USD", "cash deposited into the account in the last {w} days"),
    ("cash_withdrawal_count", "count", "cash withdrawals from the account in the last {w} days"),
    ("cash_withdrawal_amount", "USD", "cash withdrawn from the account in the last {w} days"),
    (
        "near_threshold_cash_count",
        "count",
        "cash deposits just under the reporting threshold in the last {w} days",
    ),
    (
        "near_threshold_cash_share",
        "ratio",
        "share of cash deposits just under the reporting threshold in the last {w} days "
        "(0 without cash deposits)",
    ),
    (
        "near_threshold_depositors",
        "count",
        "distinct known depositors making just-under-threshold cash deposits in the last {w} days",
    ),
    ("cash_deposit_regions", "count", "distinct branch regions of cash deposits in the last {w} days"),
    ("fan_in_degree", "count", "distinct accounts paying in over the last {w} days"),
    ("fan_out_degree", "count", "distinct accounts paid over the last {w} days"),
    (
        "pass_through_ratio",
        "ratio",
        "money in vs money out balance (min/max) over the last {w} days (0 without flow)",
    ),
    (
        "cross_border_out_share",
        "ratio",
        "share of outgoing amount sent across borders in the last {w} days (0 without outflow)",
    ),
    (
        "round_amount_share",
        "ratio",
        "share of transactions in round amounts in the last {w} days (0 without transactions)",
    ),
    # --- beyond the core contract ---
    (
        "risk_weighted_cross_border_share",
        "ratio",
        "share of outgoing amount sent abroad, weighted by destination-country risk, in the last {w} days",
    ),
    (
        "border_cash_withdrawal_count",
        "count",
        "cash withdrawals at border-region branches in the last {w} days",
    ),
    (
        "border_cash_withdrawal_amount",
        "USD",
        "cash withdrawn at border-region branches in the last {w} days",
    ),
    (
        "cross_border_in_share",
        "ratio",
        "share of incoming amount received from abroad in the last {w} days (0 without inflow)",
    ),
    (
        "large_in_count",
        "count",
        "incoming transactions of at least the reporting threshold in the last {w} days",
    ),
    (
        "in_amount_log_sd",
        "ratio",
        "spread of incoming amounts (standard deviation of their logs, about the coefficient of "
        "variation; 0 = identical) in the last {w} days (0 with fewer than two)",
    ),
    (
        "out_amount_log_sd",
        "ratio",
        "spread of outgoing amounts (standard deviation of their logs, about the coefficient of "
        "variation; 0 = identical) in the last {w} days (0 with fewer than two)",
    ),
)

_STATIC: tuple[tuple[str, str, str], ...] = (
    ("account_age_days", "days", "days since the account was opened (0 when unknown)"),
    ("is_pep", "flag", "account holder is a politically exposed person"),
    ("declared_monthly_income", "USD", "declared monthly income or turnover (0 when unknown)"),
    (
        "inflow_to_declared_income_30d",
        "ratio",
        "inflows over 30 days relative to declared monthly income (0 when income unknown or 0)",
    ),
    (
        "days_since_previous_activity",
        "days",
        "dormancy gap before the latest activity (0 when no earlier activity)",
    ),
    ("new_counterparties_30d", "count", "counterparties in the last 30 days never seen before"),
    ("new_payees_30d", "count", "accounts paid in the last 30 days that the account had never paid before"),
    ("new_payers_30d", "count", "accounts paying in the last 30 days that had never paid the account before"),
    # --- beyond the core contract ---
    (
        "cash_withdrawal_to_declared_income_30d",
        "ratio",
        "cash withdrawn over 30 days relative to declared monthly income (0 when income unknown)",
    ),
    (
        "reactivation_gap_days",
        "days",
        "days of inactivity before the first activity in the longest window (0 when none before)",
    ),
)


def feature_specs(config: FeatureConfig) -> dict[str, FeatureSpec]:
    """Return every feature column for ``config``, in output column order.

    Parameters
    ----------
    config : FeatureConfig
        Supplies the trailing windows.

    Returns
    -------
    dict[str, FeatureSpec]
        Keyed by column name.
    """
    specs: dict[str, FeatureSpec] = {}
    for w in config.windows_days:
        for stem, unit, template in _WINDOWED:
            name = f"{stem}_{w}d"
            specs[name] = FeatureSpec(name, unit, template.format(w=w), w)
    for name, unit, description in _STATIC:
        window = 30 if name.endswith("_30d") else None
        specs[name] = FeatureSpec(name, unit, description, window)
    for name, unit, description in pattern_columns(config):
        specs[name] = FeatureSpec(name, unit, description, config.pattern_window_days)
    for name, unit, description in entity_columns(config):
        window = None if name == "entity_component_size" else config.pattern_window_days
        specs[name] = FeatureSpec(name, unit, description, window)
    for name, unit, description in spike_columns():
        specs[name] = FeatureSpec(name, unit, description, 7)
    for name, unit, description in peer_columns(config, {n: s.description for n, s in specs.items()}):
        specs[name] = FeatureSpec(name, unit, description, specs[name.removesuffix("_peer_z")].window_days)
    return specs


#: Feature columns for the default :class:`FeatureConfig`.
FEATURES: dict[str, FeatureSpec] = feature_specs(FeatureConfig())
