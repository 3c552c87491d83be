"""Row validation shared by every input format: one reason per bad row, computed with expressions.

A format reader hands over a *staged* frame (:data:`STAGED_COLUMNS` plus ``csvfile.META_COLUMNS``
and any ``label_*`` columns it needs later). :func:`validate_transactions` splits it into rows to
load and quarantine rows, so that every staged row lands in exactly one of the two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from moneytrail import schemas

#: Columns of a staged transaction frame (all strings, except ``timestamp``: Datetime(us, UTC),
#: null when ``timestamp_raw`` could not be parsed).
STAGED_COLUMNS = (
    "tx_id",
    "timestamp_raw",
    "timestamp",
    "src_account",
    "dst_account",
    "orig_amount_raw",
    "orig_currency",
    "channel",
    "src_country",
    "dst_country",
    "region",
    "reference",
)
#: Columns of a quarantine frame before the batch id is attached.
REJECT_COLUMNS = ("file", "line", "field", "reason", "raw")

#: ISO 8601 forms accepted for canonical timestamps. Naive ones are taken as UTC.
ISO_NAIVE = (
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%d %H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%MZ",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)
ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%:z")
_UTC = pl.Datetime("us", "UTC")
_SHOWN = 60  # characters of a bad value repeated in the reason


@dataclass(frozen=True)
class Staged:
    """What a format reader hands to the ingest pipeline.

    ``fields`` maps staged columns to the source field names used in quarantine messages.
    ``labels`` builds the label tables from the rows that were loaded. ``accounts`` holds ACCOUNTS
    columns plus META columns (``_field``/``_reason`` null for good rows).
    """

    transactions: pl.DataFrame
    fields: dict[str, str]
    accounts: pl.DataFrame | None = None
    labels: Callable[[pl.DataFrame], dict[str, pl.DataFrame]] = field(default=lambda loaded: {})


def missing(column: str | pl.Expr) -> pl.Expr:
    """True where a string is null or blank."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.is_null() | (expr.str.strip_chars() == "")


def blank_to_null(column: str) -> pl.Expr:
    """The column with blank strings replaced by null."""
    return pl.when(missing(column)).then(None).otherwise(pl.col(column)).alias(column)


def shown(column: str | pl.Expr) -> pl.Expr:
    """A bad value, quoted and shortened, for a reason text."""
    expr = pl.col(column) if isinstance(column, str) else column
    return pl.concat_str([pl.lit("'"), expr.fill_null("").str.slice(0, _SHOWN), pl.lit("'")])


def parse_timestamps(
    raw: pl.Series, naive: tuple[str, ...] = ISO_NAIVE, aware: tuple[str, ...] = ISO_AWARE
) -> pl.Series:
    """Parse strings with the first matching format into Datetime(us, UTC); null if none match.

    Each format is tried only on the rows no earlier format could parse, so a column in one
    format costs one pass.
    """
    formats = [(fmt, False) for fmt in naive] + [(fmt, True) for fmt in aware]
    frame = pl.DataFrame({"text": raw.cast(pl.String).str.strip_chars()}).with_row_index("_i")
    todo = frame.filter(~missing("text"))
    found = [pl.DataFrame(schema={"_i": pl.get_index_type(), "ts": _UTC})]
    for fmt, has_offset in formats:
        if todo.height == 0:
            break
        parsed = pl.col("text").str.to_datetime(fmt, strict=False, time_unit="us")
        parsed = parsed.dt.convert_time_zone("UTC") if has_offset else parsed.dt.replace_time_zone("UTC")
        step = todo.with_columns(ts=parsed.cast(_UTC))
        found.append(step.filter(pl.col("ts").is_not_null()).select("_i", "ts"))
        todo = step.filter(pl.col("ts").is_null()).drop("ts")
    parsed_rows = pl.concat(found)
    return frame.join(parsed_rows, on="_i", how="left", maintain_order="left")["ts"].alias(raw.name)


def _checks(fields: dict[str, str]) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(field, failing condition, reason) in the order they are tried."""

    def name(column: str) -> str:
        return fields.get(column, column)

    amount = pl.col("orig_amount")
    return [
        (name("tx_id"), missing("tx_id"), pl.lit("missing tx_id")),
        (name("timestamp_raw"), missing("timestamp_raw"), pl.lit("missing timestamp")),
        (
            name("timestamp_raw"),
            pl.col("timestamp").is_null(),
            pl.concat_str([pl.lit("unparsable timestamp "), shown("timestamp_raw")]),
        ),
        (name("src_account"), missing("src_account"), pl.lit("missing source account id")),
        (name("dst_account"), missing("dst_account"), pl.lit("missing destination account id")),
        (name("orig_amount_raw"), missing("orig_amount_raw"), pl.lit("missing amount")),
        (
            name("orig_amount_raw"),
            amount.is_null(),
            pl.concat_str([pl.lit("non-numeric amount "), shown("orig_amount_raw")]),
        ),
        (name("orig_amount_raw"), ~amount.is_finite(), pl.lit("amount is not a finite number")),
        (
            name("orig_amount_raw"),
            amount <= 0,
            pl.concat_str([pl.lit("non-positive amount "), shown("orig_amount_raw")]),
        ),
        (name("orig_currency"), missing("orig_currency"), pl.lit("missing currency")),
        (
            name("orig_currency"),
            pl.col("_rate").is_null(),
            pl.concat_str([pl.lit("unknown currency "), shown("orig_currency")]),
        ),
        (
            name("orig_amount_raw"),
            ~(amount * pl.col("_rate")).is_finite(),
            pl.lit("amount out of range after conversion to the reporting currency"),
        ),
        (name("channel"), missing("channel"), pl.lit("missing channel")),
        (
            name("channel"),
            ~pl.col("channel").is_in(list(schemas.CHANNELS)),
            pl.concat_str([pl.lit("unknown channel "), shown("channel")]),
        ),
    ]


def split_checked(
    frame: pl.DataFrame, checks: list[tuple[str, pl.Expr, pl.Expr]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split rows into (good, bad) by the first failing check; bad rows get ``_field``/``_reason``.

    A row that already has a ``_reason`` (found while reading) keeps it. Each condition is
    evaluated once per row; the reason texts only for the bad rows.
    """
    first = pl.when(checks[0][1]).then(pl.lit(0, pl.Int32))
    for index, (_, failing, _) in enumerate(checks[1:], start=1):
        first = first.when(failing).then(pl.lit(index, pl.Int32))
    frame = frame.with_columns(_check=first)
    is_bad = pl.col("_reason").is_not_null() | pl.col("_check").is_not_null()
    reason = pl.when(pl.col("_check") == 0).then(checks[0][2])
    for index, (_, _, text) in enumerate(checks[1:], start=1):
        reason = reason.when(pl.col("_check") == index).then(text)
    names = {index: name for index, (name, _, _) in enumerate(checks)}
    bad = frame.filter(is_bad).with_columns(
        pl.coalesce(
            pl.col("_field"), pl.col("_check").replace_strict(names, default=None, return_dtype=pl.String)
        ).alias("_field"),
        pl.coalesce(pl.col("_reason"), reason).alias("_reason"),
    )
    return frame.filter(~is_bad).drop("_check"), bad.drop("_check")


def rejects(frame: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows (``REJECT_COLUMNS``) from frames carrying META columns.

    ``_raw`` is the record's text, or (Parquet input) a struct of its values, written as JSON.
    """
    raw = pl.col("_raw")
    if isinstance(frame.schema["_raw"], pl.Struct):
        raw = raw.struct.json_encode()
    return frame.select(
        pl.col("_file").alias("file"),
        pl.col("_line").cast(pl.Int64).alias("line"),
        pl.col("_field").alias("field"),
        pl.col("_reason").alias("reason"),
        raw.cast(pl.String).alias("raw"),
    )


@dataclass(frozen=True)
class Validated:
    """Rows to load (staged columns plus ``amount`` and numeric ``orig_amount``) and rejects."""

    loaded: pl.DataFrame
    rejected: pl.DataFrame
    duplicates: int


def validate_transactions(
    staged: Staged, rates: dict[str, float], known_ids: Callable[[pl.Series], pl.Series]
) -> Validated:
    """Split staged rows into rows to load and quarantine rows (first failing check wins).

    Within the file the first row of a tx_id is kept and later ones are quarantined; rows whose
    tx_id is already in the lake are quarantined as "already loaded": ``known_ids`` returns
    those of the given ids that the lake holds.
    """
    frame = staged.transactions.with_columns(
        pl.when(missing("src_account") & (pl.col("channel") == "cash_deposit"))
        .then(pl.lit(schemas.CASH_ACCOUNT))
        .otherwise(pl.col("src_account"))
        .alias("src_account"),
        pl.when(missing("dst_account") & (pl.col("channel") == "cash_withdrawal"))
        .then(pl.lit(schemas.CASH_ACCOUNT))
        .otherwise(pl.col("dst_account"))
        .alias("dst_account"),
        pl.col("orig_amount_raw").str.strip_chars().cast(pl.Float64, strict=False).alias("orig_amount"),
        pl.col("orig_currency").replace_strict(rates, default=None, return_dtype=pl.Float64).alias("_rate"),
    )
    good, bad = split_checked(frame, _checks(staged.fields))
    good = good.with_columns(_dup=~pl.col("tx_id").is_first_distinct())
    tx_field = staged.fields.get("tx_id", "tx_id")
    dup_in_file = good.filter(pl.col("_dup"))
    if dup_in_file.height:
        firsts = good.filter(~pl.col("_dup") & pl.col("tx_id").is_in(dup_in_file["tx_id"].implode()))
        dup_in_file = dup_in_file.join(
            firsts.select("tx_id", _first_line=pl.col("_line")), on="tx_id", how="left", maintain_order="left"
        ).with_columns(
            _field=pl.lit(tx_field),
            _reason=pl.concat_str(
                [
                    pl.lit("duplicate tx_id "),
                    shown("tx_id"),
                    pl.lit(" in file (first at line "),
                    pl.col("_first_line").cast(pl.String),
                    pl.lit(")"),
                ]
            ),
        )
    good = good.filter(~pl.col("_dup"))
    in_lake = pl.col("tx_id").is_in(known_ids(good["tx_id"]).implode())
    already = good.filter(in_lake).with_columns(
        _field=pl.lit(tx_field),
        _reason=pl.concat_str([pl.lit("already loaded: tx_id "), shown("tx_id"), pl.lit(" is in the lake")]),
    )
    good = (
        good.filter(~in_lake)
        .with_columns((pl.col("orig_amount") * pl.col("_rate")).alias("amount"))
        .drop("_rate", "_dup")
    )
    rejected = pl.concat([rejects(bad), rejects(dup_in_file), rejects(already)]).sort("file", "line")
    return Validated(loaded=good, rejected=rejected, duplicates=dup_in_file.height + already.height)


def validate_accounts(accounts: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split account rows (ACCOUNTS columns + META) into ACCOUNTS rows to upsert and rejects.

    A missing ``account_id``, an unknown ``kind`` or a repeated ``account_id`` (first kept)
    sends the row to quarantine; a missing ``customer_id`` defaults to the account id and a
    missing ``is_pep`` to false.
    """
    frame = accounts.with_columns(
        pl.coalesce(pl.col("customer_id"), pl.col("account_id")).alias("customer_id"),
        pl.col("is_pep").fill_null(False),
    )
    failing = [
        ("account_id", missing("account_id"), pl.lit("missing account id")),
        (
            "kind",
            ~pl.col("kind").is_in(list(schemas.ACCOUNT_KINDS)).fill_null(False),
            pl.concat_str([pl.lit("unknown account kind "), shown("kind")]),
        ),
    ]
    good, bad = split_checked(frame, failing)
    dup = ~pl.col("account_id").is_first_distinct()
    repeated = good.filter(dup).with_columns(
        _field=pl.lit("account_id"),
        _reason=pl.concat_str([pl.lit("duplicate account id "), shown("account_id"), pl.lit(" in file")]),
    )
    good = good.filter(~dup)
    return good.select(schemas.ACCOUNTS.names), pl.concat([rejects(bad), rejects(repeated)])
