"""Geometry for the case page's inline SVG: the amount-over-time chart and the network graph.

These functions return numbers and the data strings as they are; the templates write them into
SVG with Jinja's autoescaping, so a hostile account id is shown as text, never markup.
"""

from __future__ import annotations

import math
from datetime import date

import polars as pl

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 760, 200, 40
GRAPH_WIDTH, GRAPH_HEIGHT = 760, 560
LABEL_CHARS = 18


def amount_chart(daily: pl.DataFrame, alert_days: list[date], first: date, last: date) -> dict | None:
    """Bars of daily money in and out over ``first..last``, the y scale and the alert days' x.

    ``daily`` has ``day, amount_in, amount_out`` (see :func:`cases.details.daily_amounts`);
    ``None`` when there is nothing to draw.
    """
    if daily.is_empty():
        return None
    days = max((last - first).days + 1, 1)
    peak = daily.select(pl.max_horizontal(pl.col("amount_in").max(), pl.col("amount_out").max())).item()
    top = max(float(peak or 0.0), 1.0)
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    slot = inner_w / days
    base = CHART_HEIGHT - CHART_PAD
    scaled = daily.select(
        ((pl.col("day") - first).dt.total_days() * slot + CHART_PAD).alias("x"),
        (pl.col("amount_in").fill_null(0) / top * inner_h).alias("h_in"),
        (pl.col("amount_out").fill_null(0) / top * inner_h).alias("h_out"),
    )
    bars = [
        {"x": x, "w": slot / 2, "h_in": h_in, "h_out": h_out, "y_in": base - h_in, "y_out": base - h_out}
        for x, h_in, h_out in scaled.iter_rows()
    ]
    markers = [CHART_PAD + slot * ((d - first).days + 0.5) for d in alert_days if first <= d <= last]
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "pad": CHART_PAD,
        "bars": bars,
        "top": top,
        "first": first,
        "last": last,
        "markers": markers,
    }


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def network_layout(net: dict, flagged: set[str]) -> dict:
    """Radial layout: subject accounts at the centre, first hop on a ring, second hop outside it
    next to the first-hop node they hang from. Edges carry a width by amount and a ``scheme`` flag
    (inside an alert window, or both ends flagged in some case)."""
    cx, cy = GRAPH_WIDTH / 2, GRAPH_HEIGHT / 2
    hop0 = [n for n in net["nodes"] if n["hop"] == 0]
    hop1 = [n for n in net["nodes"] if n["hop"] == 1]
    hop2 = [n for n in net["nodes"] if n["hop"] == 2]
    pos: dict[str, tuple[float, float]] = {}
    for i, node in enumerate(hop0):
        angle = 2 * math.pi * i / max(len(hop0), 1)
        radius = 0 if len(hop0) == 1 else 40
        pos[node["id"]] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    angles: dict[str, float] = {}
    for i, node in enumerate(hop1):
        angles[node["id"]] = 2 * math.pi * i / max(len(hop1), 1) - math.pi / 2
        pos[node["id"]] = (cx + 150 * math.cos(angles[node["id"]]), cy + 150 * math.sin(angles[node["id"]]))
    spread = math.pi / max(len(hop1), 1)
    children: dict[str, list[str]] = {}
    for node in hop2:
        children.setdefault(node["via"], []).append(node["id"])
    for parent, kids in children.items():
        for j, kid in enumerate(kids):
            offset = spread * ((j + 0.5) / len(kids) - 0.5)
            angle = angles[parent] + offset
            pos[kid] = (cx + 250 * math.cos(angle), cy + 250 * math.sin(angle))
    top = max((e["amount"] for e in net["edges"]), default=1.0) or 1.0
    edges = [
        {
            **e,
            "x1": pos[e["src_account"]][0],
            "y1": pos[e["src_account"]][1],
            "x2": pos[e["dst_account"]][0],
            "y2": pos[e["dst_account"]][1],
            "width": 0.8 + 4 * math.sqrt(max(e["amount"], 0.0) / top),
            "scheme": bool(e["in_alert"]) or (e["src_account"] in flagged and e["dst_account"] in flagged),
        }
        for e in net["edges"]
        if e["src_account"] in pos and e["dst_account"] in pos
    ]
    nodes = [
        {
            **n,
            "x": pos[n["id"]][0],
            "y": pos[n["id"]][1],
            "label": _label(n["id"]),
            "flagged": n["id"] in flagged,
        }
        for n in net["nodes"]
    ]
    return {"width": GRAPH_WIDTH, "height": GRAPH_HEIGHT, "nodes": nodes, "edges": edges}
