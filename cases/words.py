"""Words for the analyst: typology and status names as the catalogue writes them."""

from __future__ import annotations

#: Typology ids (``../shared/TYPOLOGIES.md``) and their names.
TYPOLOGY_NAMES: dict[str, str] = {
    "fan_out": "fan-out: one account pays many distinct accounts within a short window",
    "fan_in": "fan-in: many distinct accounts pay one account within a short window",
    "scatter_gather": "scatter-gather: money split across middle accounts and gathered again",
    "gather_scatter": "gather-scatter: money gathered from many and paid on to many",
    "cycle": "round-tripping: money travels a loop back to where it started",
    "layering": "stacked layers: accounts paying through successive layers",
    "pass_through": "rapid movement of funds: money arrives and leaves within hours",
    "structuring": "structuring / smurfing: cash deposits just under the reporting threshold",
    "funnel": "funnel account: cash deposited in many distant regions, moved out soon after",
    "tbml": "trade-based laundering: a trader paid by unrelated third parties",
    "shell": "shell-company layering: a new business account passing money through",
    "bribery": "corruption payments: a politically exposed person receiving beyond declared income",
    "cash_courier": "cash courier: repeated large cash withdrawals without matching income",
    "mule_network": "money-mule ring: accounts sharing identifiers forwarding money to one collector",
    "smuggling_fees": "human-smuggling payments: many small transfers from unrelated senders",
    "dormant": "dormant-account reactivation: a silent account suddenly moving large sums",
}

STATUS_NAMES: dict[str, str] = {
    "new": "new",
    "in_review": "in review",
    "escalated": "escalated",
    "closed_false_positive": "closed: false positive",
    "closed_reported": "closed: reported",
}


def typology_words(typology: str) -> str:
    """The catalogue's description of ``typology``, or the id itself when it is not catalogued."""
    return TYPOLOGY_NAMES.get(typology, typology)
