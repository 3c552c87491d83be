r"""Rules as data: a :class:`RuleSpec` is one typology scenario made of :class:`Condition`\ s.

See ``docs/DETECTORS.md`` for how a rule fires and how its score is graded.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test on one feature (optionally a ratio of two features).

    The value tested is ``feature`` or, with ``per``, ``feature / max(per, per_floor)`` (for
    averages and ratios such as "cash withdrawn per month of declared income").

    ``op=">="``: the condition holds when ``value >= threshold``; its severity grows from 0 at
    the threshold to 1 at ``saturation``. ``op="<="`` mirrors that (``saturation`` below
    ``threshold``). ``scale="log"`` grades on the log of the value (counts and amounts).
    """

    feature: str
    op: Literal[">=", "<="] = ">="
    threshold: float
    #: Value at which severity reaches 1 (None: the threshold itself, i.e. severity 1 on a hit).
    saturation: float | None = None
    #: Per account kind overrides of ``threshold``; ``None`` means "never holds for this kind".
    by_kind: dict[str, float | None] = Field(default_factory=dict)
    per: str | None = None
    per_floor: float = 1.0
    scale: Literal["linear", "log"] = "linear"
    #: False: a booster that raises severity when it holds but does not gate the rule.
    required: bool = True
    #: False: a pure gate (e.g. ``is_pep``) that does not take part in the severity average.
    graded: bool = True

    @model_validator(mode="after")
    def _check(self) -> Condition:
        sat = self.saturation
        if sat is not None and (
            (self.op == ">=" and sat < self.threshold) or (self.op == "<=" and sat > self.threshold)
        ):
            raise ValueError(
                f"condition on {self.feature!r}: saturation {sat} lies on the wrong "
                f"side of threshold {self.threshold} for op {self.op!r}"
            )
        if self.scale == "log" and self.threshold <= 0:
            raise ValueError(f"condition on {self.feature!r}: scale='log' needs a threshold > 0")
        if not self.required and not self.graded:
            raise ValueError(f"condition on {self.feature!r}: a booster must be graded")
        return self


class RuleSpec(_Strict):
    """One scenario: all required conditions hold -> the rule fires with a graded score."""

    #: Unique rule id (several rules may serve one typology, e.g. 7- and 30-day structuring).
    name: str
    #: Typology id from TYPOLOGIES.md that this rule evidences.
    typology: str
    #: Account kinds the rule applies to (empty: all kinds).
    kinds: tuple[str, ...] = ()
    conditions: tuple[Condition, ...]
    #: Reason code: a ``str.format`` template over feature names and ``near_low``/``near_high``;
    #: ``{name:#noun}`` prints a count with its noun, e.g. ``{fan_in_degree_7d:#distinct payer}``.
    reason: str
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> RuleSpec:
        if not any(c.required for c in self.conditions):
            raise ValueError(f"rule {self.name!r} needs at least one required condition")
        try:
            list(string.Formatter().parse(self.reason))
        except ValueError as exc:
            raise ValueError(f"rule {self.name!r}: malformed reason template: {exc}") from exc
        return self
