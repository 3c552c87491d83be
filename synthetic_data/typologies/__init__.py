"""Laundering typologies, one module each, collected in :data:`REGISTRY` by name.

Importing a module registers its typology; the order below is the planting order.
"""

from synthetic_data.typologies import (  # noqa: F401  (importing registers them)
    bribery,
    cash_courier,
    cycle,
    dormant,
    fan_in,
    fan_out,
    funnel,
    gather_scatter,
    layering,
    mule_network,
    pass_through,
    scatter_gather,
    shell,
    smuggling_fees,
    structuring,
    tbml,
)
from synthetic_data.typologies.base import REGISTRY, Typology, TypologySpec

__all__ = ["REGISTRY", "Typology", "TypologySpec"]
