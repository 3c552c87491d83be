"""Detector and alert settings.

Rule thresholds are data: :class:`RuleSpec` lists the conditions of one typology scenario, so a
TOML file (``[[detectors.rules]]``) or a sweep can replace or retune them without code changes.
The default rule set is :data:`DEFAULT_RULES`; ``docs/DETECTORS.md`` explains every entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.default_rules import DEFAULT_RULES
from detectors.rule_spec import Condition, RuleSpec

__all__ = [
    "DEFAULT_RULES",
    "AlertConfig",
    "Condition",
    "DetectorConfig",
    "PropagationConfig",
    "RuleSpec",
    "SupervisedConfig",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropagationConfig(_Strict):
    """Second stage (``detectors.propagate_scores``): hub scores passed on to counterparties."""

    #: Switch the stage off (``propagate_scores`` then only adds the empty columns).
    enabled: bool = True
    #: Typologies whose hub passes its score to the accounts that paid it.
    inbound_typologies: tuple[str, ...] = (
        "structuring",
        "fan_in",
        "smuggling_fees",
        "bribery",
        "cash_courier",
        "funnel",
        "tbml",
    )
    #: Typologies whose hub passes its score to the accounts it paid.
    outbound_typologies: tuple[str, ...] = ()
    #: Hubs: rows whose ``score`` reaches this (0.5 = any rule hit) with one of the typologies above.
    min_hub_score: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Transfers counted: the ``window_days`` days ending on the hub's evaluation date.
    window_days: int = Field(default=30, ge=1)
    #: A counterparty qualifies when its transfers with the hub total at least ``min_amount`` and
    #: are at least ``min_peer_share`` of its own outflow (inflow for outbound hubs) in the window
    #: or at least ``min_hub_share`` of the hub's inflow (outflow) from scored accounts (1.0, the
    #: default: only a hub's single counterparty qualifies this way).
    #: 250 reaches single smuggling fees and fan-in payments (a few hundred dollars each); a hub
    #: hands its slot to the payer derived from it, so a derived payer costs no extra budget.
    min_amount: float = Field(default=250.0, ge=0.0)
    #: The counterparty's own outflow (inflow) for ``min_peer_share`` is summed over this many
    #: days ending on the hub's date (at least ``window_days``).
    peer_window_days: int = Field(default=90, ge=1)
    min_peer_share: float = Field(default=0.9, ge=0.0, le=1.0)
    min_hub_share: float = Field(default=1.0, ge=0.0, le=1.0)
    #: Derived score = hub score x (decay + (1 - decay) x max(peer share, hub share)).
    decay: float = Field(default=0.9, ge=0.0, le=1.0)
    #: Counterparties kept per (hub, typology), largest amount first.
    max_per_hub: int = Field(default=1, ge=1)
    #: Collectors: on any evaluation date of the scores, an account that at least this many payers
    #: each paid at least ``collector_min_amount`` within ``window_days``, and at least
    #: ``min_peer_share`` of their outflow over ``peer_window_days``, is a hub of
    #: ``collector_typology`` without a rule hit (exclusive payers: smurfs, senders, mules feeding
    #: one account). None: off.
    collector_min_payers: int | None = Field(default=2, ge=2)
    collector_min_amount: float = Field(default=1_000.0, ge=0.0)
    collector_typology: str = "fan_in"
    #: A collector's hub score: ``collector_scores[0]`` at ``collector_min_payers`` exclusive payers,
    #: rising (log scale) to ``collector_scores[1]`` at ``collector_saturation_payers``.
    collector_scores: tuple[float, float] = (0.6, 0.9)
    collector_saturation_payers: int = Field(default=10, ge=2)

    @model_validator(mode="after")
    def _check(self) -> PropagationConfig:
        both = sorted(set(self.inbound_typologies) & set(self.outbound_typologies))
        if both:
            raise ValueError(f"typologies {both} are both inbound and outbound")
        if self.peer_window_days < self.window_days:
            raise ValueError("peer_window_days must be at least window_days")
        low, high = self.collector_scores
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError("collector_scores must be two scores in [0, 1], the first not above the second")
        return self


class SupervisedConfig(_Strict):
    """Parameters of :func:`detectors.supervised.supervised_scores`: a transaction classifier
    trained on labels (library API and ``bench/supervised.py``; not yet a run option, see
    docs/DETECTORS.md, Supervised mode).

    ``labels`` is a Parquet or CSV file with ``tx_id`` (laundering transactions), optionally
    ``label`` (1/0, default 1) and ``known_at`` (timestamp: when the label became known), or a
    generator output folder / lake holding ``labels/transactions.parquet``. The model trains on
    the transactions of the ``train_days`` days before the first evaluation date, with the
    labels known before that date, and scores the transactions of the evaluation dates.
    """

    labels: Path
    train_days: int = Field(default=60, ge=2)
    #: Boosting iterations of ``GradientBoostedDetector`` (HistGradientBoostingClassifier).
    max_iter: int = Field(default=100, ge=1)


class DetectorConfig(_Strict):
    """Parameters of the detectors."""

    isolation_forest_trees: int = Field(default=200, ge=1)
    #: Rule scenarios (see :data:`DEFAULT_RULES`); replace the tuple to sweep thresholds.
    rules: tuple[RuleSpec, ...] = DEFAULT_RULES
    #: Rules appended to ``rules`` (add a scenario without restating the defaults).
    extra_rules: tuple[RuleSpec, ...] = ()
    #: Names of rules to switch off (each must exist).
    disabled_rules: tuple[str, ...] = ()
    #: Names of rules shipped with ``enabled=False`` to switch on (each must exist).
    enabled_rules: tuple[str, ...] = ()
    #: Score of a rule that just meets its thresholds; severity fills the rest up to 1.
    rule_floor: float = Field(default=0.5, gt=0.0, lt=1.0)
    #: Cash reporting threshold and near-threshold floor, used in reason texts (keep them equal
    #: to the feature engine's ``FeatureConfig``).
    reporting_threshold: float = 10_000.0
    near_threshold_floor: float = 0.8
    #: Isolation-forest features (None: every numeric column except the keys).
    anomaly_features: tuple[str, ...] | None = None
    #: Peer-group column: one isolation forest per value (None: one model for everybody).
    anomaly_group_by: str | None = "kind"
    #: Peer groups with fewer rows are scored by a model fitted on all rows.
    anomaly_min_group_rows: int = Field(default=200, ge=2)
    #: Rows drawn (without replacement) to fit each forest; scoring always covers every row.
    anomaly_max_fit_rows: int = Field(default=100_000, ge=2)
    #: Parallel jobs per forest (None: 1, -1: all cores); results do not depend on it.
    anomaly_n_jobs: int | None = None
    #: Expected share of anomalies: the forest "fires" (predict == -1) on about this share.
    anomaly_contamination: float = Field(default=0.01, gt=0.0, le=0.5)
    #: Anomaly model: one isolation forest per peer group, or the rank ensemble of isolation
    #: forest, local outlier factor, one-class SVM and robust covariance (``PeerGroupEnsemble``).
    anomaly_method: Literal["isolation_forest", "ensemble"] = "isolation_forest"
    #: Ensemble members (names from ``detectors.ensemble.METHODS``).
    anomaly_ensemble_methods: tuple[str, ...] = (
        "isolation_forest",
        "local_outlier_factor",
        "one_class_svm",
        "robust_covariance",
    )
    #: Rows drawn per peer group to fit the ensemble's members (scoring covers every row).
    anomaly_ensemble_fit_rows: int = Field(default=20_000, ge=2)
    #: Combiner weights (see docs/DETECTORS.md): anomaly percentile and extra typologies.
    anomaly_weight: float = Field(default=0.2, ge=0.0, le=1.0)
    multi_typology_weight: float = Field(default=0.1, ge=0.0, le=1.0)
    #: Accounts without a rule hit score at most this (see docs/DETECTORS.md, Combiner).
    anomaly_only_ceiling: float = Field(default=0.45, ge=0.0, lt=0.5)
    #: Without a rule hit: weight of the near-miss proximity vs the anomaly percentile.
    near_miss_weight: float = Field(default=0.9, ge=0.0, le=1.0)
    #: Reasons kept per row.
    max_reasons: int = Field(default=5, ge=1)
    #: Second stage: counterparty propagation (``detectors.propagate_scores``).
    propagation: PropagationConfig = PropagationConfig()

    @model_validator(mode="after")
    def _check(self) -> DetectorConfig:
        names = [r.name for r in (*self.rules, *self.extra_rules)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate rule name(s): {dupes}")
        for field in ("disabled_rules", "enabled_rules"):
            unknown = sorted(set(getattr(self, field)) - set(names))
            if unknown:
                raise ValueError(f"{field} names unknown rule(s) {unknown}")
        both = sorted(set(self.disabled_rules) & set(self.enabled_rules))
        if both:
            raise ValueError(f"rule(s) {both} are both enabled and disabled")
        if self.anomaly_weight + self.multi_typology_weight > 1.0:
            raise ValueError("anomaly_weight + multi_typology_weight must not exceed 1")
        return self

    def active_rules(self) -> list[RuleSpec]:
        """``rules`` then ``extra_rules`` that are switched on, in configuration order."""
        off, on = set(self.disabled_rules), set(self.enabled_rules)
        return [
            r for r in (*self.rules, *self.extra_rules) if (r.enabled or r.name in on) and r.name not in off
        ]


class AlertConfig(_Strict):
    """How many alerts a run may raise."""

    #: Share of scored accounts that may be alerted in one run.
    budget_share: float = Field(default=0.01, ge=0.0, le=1.0)
    #: Hard cap on alerts per run (None: no cap beyond the share).
    budget_max: int | None = Field(default=None, ge=0)
    #: Minimum score for any alert.
    min_score: float = 0.0
    #: Per-typology minimum score (typology id -> score), on top of ``min_score``.
    min_score_by_typology: dict[str, float] = Field(default_factory=dict)
    #: Hibernation: no second alert for the same (account, typology) within this many days of the
    #: previous one (0: off) ...
    hibernation_days: int = Field(default=30, ge=0)
    #: ... unless its score exceeds the previous alert's score by at least this margin.
    hibernation_margin: float = Field(default=0.1, ge=0.0)
    #: Case roll-up: at most this many alerts per case key (per case key and typology when
    #: ``case_rollup_per_typology``), the highest-scoring ones; accounts of one entity (customer or
    #: shared identifiers) form one case (None: no limit).
    max_alerts_per_case: int | None = Field(default=1, ge=1)
    #: False (default): one entity's accounts take ``max_alerts_per_case`` slots whatever typologies
    #: they are flagged for (a mule ring flagged for mule_network on one mule and fan_in on another
    #: is one case). True: the cap applies per typology.
    case_rollup_per_typology: bool = False
    #: Also roll up candidates of one typology whose accounts paid each other (``edges`` given to
    #: ``select_alerts``): the lower-ranked one joins the higher-ranked one's case. Derived
    #: (propagated) candidates never roll up: they exist to bring a hub's counterparty into view.
    rollup_transfers: bool = True
    #: ... and candidates of one typology that share a counterparty with at most this many
    #: distinct counterparties (a common funder, depositor or collector; None: direct transfers
    #: only). Busy accounts (merchants, utilities, payroll) link nobody.
    rollup_shared_max_degree: int | None = Field(default=20, ge=1)
    #: A hub candidate hands its budget slot to the payer (payee) that propagation derived from
    #: it (in any typology): one alert, on the account that catches the scheme, at the hub's
    #: score, with a reason naming the hub.
    hub_hands_over: bool = True
