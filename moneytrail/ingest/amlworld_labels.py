"""AMLworld ground truth: ``Is Laundering`` flags and the optional ``*_Patterns.txt`` file.

The patterns file lists each laundering attempt as a block of transaction lines written exactly
as in the transactions CSV::

    BEGIN LAUNDERING ATTEMPT - FAN-OUT:  Max 16-degree Fan-Out
    2022/09/01 00:06,021174,800737690,012,80011F990,2848.96,Euro,2848.96,Euro,ACH,1
    END LAUNDERING ATTEMPT - FAN-OUT

Each attempt becomes one label instance (``aw:<patterns sha16>:<n>``, typology ``fan_out``, ...)
holding the loaded transactions whose line text matches; roles come from the attempt's
transactions. A laundering transaction found in no attempt becomes an instance of its own
(``aw:<tx_id>``, typology ``amlworld_laundering``; payer originator, payee beneficiary).
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from moneytrail.ingest.csvfile import read_bytes
from moneytrail.ingest.labelling import roles, span, typology_name

TYPOLOGY = "amlworld_laundering"
_BEGIN = "BEGIN LAUNDERING ATTEMPT"
_END = "END LAUNDERING ATTEMPT"
_NAME = r"^BEGIN LAUNDERING ATTEMPT\s*-\s*([A-Za-z][A-Za-z\- ]*?)\s*(?::|$)"


def read_patterns(path: Path, content_sha256: str) -> pl.DataFrame:
    """(key, instance_id, typology) for every transaction line of every attempt."""
    text = read_bytes(path).decode("utf-8", errors="replace")
    lines = pl.read_lines(io.BytesIO(text.encode()), name="text").with_columns(
        pl.col("text").str.strip_chars()
    )
    begin = pl.col("text").str.starts_with(_BEGIN)
    marker = (
        pl.when(begin).then(pl.lit("begin")).when(pl.col("text").str.starts_with(_END)).then(pl.lit("end"))
    )
    typology = typology_name(pl.col("text").str.extract(_NAME, 1)).fill_null("unknown")
    return (
        lines.with_columns(
            _attempt=begin.cum_sum(),
            _inside=marker.forward_fill() == "begin",
            _typology=pl.when(begin).then(typology).forward_fill(),
        )
        .filter(pl.col("_inside") & ~begin & (pl.col("text") != ""))
        .select(
            pl.col("text").alias("key"),
            pl.concat_str([pl.lit(f"aw:{content_sha256[:16]}:"), pl.col("_attempt").cast(pl.String)]).alias(
                "instance_id"
            ),
            pl.col("_typology").alias("typology"),
        )
        .unique("key", keep="first", maintain_order=True)
    )


def build_labels(loaded: pl.DataFrame, patterns: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
    """Label tables from the loaded rows (``label_is_laundering``, ``_raw``) and the attempts."""
    if patterns is None:
        patterns = pl.DataFrame(schema={"key": pl.String, "instance_id": pl.String, "typology": pl.String})
    matched = loaded.with_columns(key=pl.col("_raw").str.strip_chars()).join(
        patterns, on="key", how="inner", maintain_order="left"
    )
    single = (
        loaded.filter(pl.col("label_is_laundering") == "1")
        .join(matched.select("tx_id"), on="tx_id", how="anti")
        .with_columns(
            instance_id=pl.concat_str([pl.lit("aw:"), pl.col("tx_id")]),
            typology=pl.lit(TYPOLOGY),
        )
    )
    members = pl.concat(
        [
            matched.select("tx_id", "timestamp", "src_account", "dst_account", "instance_id", "typology"),
            single.select("tx_id", "timestamp", "src_account", "dst_account", "instance_id", "typology"),
        ]
    )
    kinds = members.unique("instance_id", keep="first", maintain_order=True).select("instance_id", "typology")
    return {
        "instances": kinds.join(span(members, "instance_id"), on="instance_id", how="left"),
        "instance_accounts": roles(members, "instance_id"),
        "transactions": members.select("tx_id", "instance_id"),
    }
