"""Versioned pyarrow schemas: the data contracts between ingest, features, detectors and stores.

Every table that crosses a package boundary is checked against one of these with
:func:`conform`. A schema's version is bumped whenever a column is added, removed or
changes meaning; it is stored in the Parquet metadata under ``moneytrail.schema``.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_METADATA_KEY = b"moneytrail.schema"

#: Channels a transaction may carry. ``cash_deposit`` credits ``dst_account`` with cash brought
#: in by ``src_account`` (the conducting customer's account, or ``CASH`` when unknown);
#: ``cash_withdrawal`` debits ``src_account`` and pays out to ``dst_account`` (or ``CASH``).
#: ``crypto`` and ``internal`` (reinvestment, own-account moves) come from outside formats.
CHANNELS = (
    "wire",
    "ach",
    "card",
    "cheque",
    "cash_deposit",
    "cash_withdrawal",
    "msb_transfer",
    "crypto",
    "internal",
)
CASH_CHANNELS = ("cash_deposit", "cash_withdrawal")
#: Placeholder account for the cash side of a deposit or withdrawal.
CASH_ACCOUNT = "CASH"

ACCOUNT_KINDS = ("individual", "business", "msb")
ROLES = ("originator", "intermediary", "beneficiary")

_TS = pa.timestamp("us", tz="UTC")


def _versioned(name: str, version: int, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={SCHEMA_METADATA_KEY: f"{name}/v{version}".encode()})


TRANSACTIONS = _versioned(
    "transactions",
    1,
    [
        pa.field("tx_id", pa.string(), nullable=False),
        pa.field("timestamp", _TS, nullable=False),
        pa.field("src_account", pa.string(), nullable=False),
        pa.field("dst_account", pa.string(), nullable=False),
        # Amount in the reporting currency (config ``currency.reporting``, USD by default).
        pa.field("amount", pa.float64(), nullable=False),
        # Amount and ISO 4217 currency exactly as the input gave them.
        pa.field("orig_amount", pa.float64(), nullable=False),
        pa.field("orig_currency", pa.string(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("src_country", pa.string()),
        pa.field("dst_country", pa.string()),
        # Branch region where cash changes hands (cash channels), else null.
        pa.field("region", pa.string()),
        # Free text from the payer: hostile, never interpreted.
        pa.field("reference", pa.string()),
    ],
)

ACCOUNTS = _versioned(
    "accounts",
    1,
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("sector", pa.string()),
        pa.field("country", pa.string()),
        pa.field("region", pa.string()),
        pa.field("opened_at", _TS),
        # Declared monthly income (individuals) or turnover (businesses), reporting currency.
        pa.field("declared_monthly_income", pa.float64()),
        pa.field("is_pep", pa.bool_(), nullable=False),
        pa.field("phone_hash", pa.string()),
        pa.field("address_hash", pa.string()),
        pa.field("device_hash", pa.string()),
    ],
)

LABEL_INSTANCES = _versioned(
    "label_instances",
    1,
    [
        pa.field("instance_id", pa.string(), nullable=False),
        pa.field("typology", pa.string(), nullable=False),
        pa.field("start", _TS),
        pa.field("end", _TS),
    ],
)

LABEL_INSTANCE_ACCOUNTS = _versioned(
    "label_instance_accounts",
    1,
    [
        pa.field("instance_id", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("role", pa.string(), nullable=False),
    ],
)

LABEL_TRANSACTIONS = _versioned(
    "label_transactions",
    1,
    [
        pa.field("tx_id", pa.string(), nullable=False),
        pa.field("instance_id", pa.string(), nullable=False),
    ],
)

#: Benign look-alikes planted by the generator (hard negatives), one row per account involved.
LABEL_BENIGN_BEHAVIOURS = _versioned(
    "label_benign_behaviours",
    1,
    [
        pa.field("behaviour_id", pa.string(), nullable=False),
        pa.field("behaviour", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
    ],
)

#: Label tables by the file stem they are stored under (``labels/<name>.parquet``).
LABEL_TABLES: dict[str, pa.Schema] = {
    "instances": LABEL_INSTANCES,
    "instance_accounts": LABEL_INSTANCE_ACCOUNTS,
    "transactions": LABEL_TRANSACTIONS,
    "benign_behaviours": LABEL_BENIGN_BEHAVIOURS,
}

ACCOUNT_SCORES = _versioned(
    "account_scores",
    1,
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        # Higher = more suspicious; comparable within one run.
        pa.field("score", pa.float64(), nullable=False),
        # The date whose end closes the trailing windows that produced this score.
        pa.field("eval_date", pa.date32(), nullable=False),
        pa.field("top_typology", pa.string()),
        pa.field("reasons", pa.list_(pa.string())),
    ],
)

ALERTS = _versioned(
    "alerts",
    2,
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("account_id", pa.string(), nullable=False),
        # v2: accounts of one entity (customer, shared identifiers) share a case key.
        pa.field("case_key", pa.string(), nullable=False),
        pa.field("typology", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("eval_date", pa.date32(), nullable=False),
        pa.field("reasons", pa.list_(pa.string())),
    ],
)


class SchemaError(ValueError):
    """A table does not match the schema it claims to follow."""


def schema_id(schema: pa.Schema) -> str:
    """Return ``name/vN`` for a moneytrail schema."""
    return (schema.metadata or {}).get(SCHEMA_METADATA_KEY, b"unversioned").decode()


def conform(table: pa.Table, schema: pa.Schema, *, where: str = "table") -> pa.Table:
    """Select, order and cast ``table`` to ``schema``; fail loudly on a missing column or a null
    in a required one.

    Parameters
    ----------
    table : pyarrow.Table
        Input with at least the schema's columns (extra columns are dropped).
    schema : pyarrow.Schema
        Target schema; its metadata (the version) is attached to the result.
    where : str
        Name of the data for error messages (a file path or a table name).
    """
    missing = [name for name in schema.names if name not in table.column_names]
    if missing:
        raise SchemaError(f"{where}: missing column(s) {missing} required by {schema_id(schema)}")
    columns = []
    for field in schema:
        column = table.column(field.name)
        try:
            column = column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise SchemaError(
                f"{where}: column {field.name!r} cannot be read as {field.type}: {exc}"
            ) from exc
        if not field.nullable and column.null_count:
            raise SchemaError(f"{where}: column {field.name!r} has {column.null_count} null(s)")
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)
