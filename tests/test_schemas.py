import pyarrow as pa
import pytest

from moneytrail import schemas


def _accounts(**overrides: list) -> pa.Table:
    columns = {
        "account_id": ["A1"],
        "customer_id": ["C1"],
        "name": ["<b>Ana</b>"],
        "kind": ["individual"],
        "sector": [None],
        "country": ["US"],
        "region": ["TX-El Paso"],
        "opened_at": pa.array([0], pa.timestamp("us", tz="UTC")),
        "declared_monthly_income": [3200],
        "is_pep": [False],
        "phone_hash": ["p"],
        "address_hash": ["a"],
        "device_hash": ["d"],
        "extra": [1],
    }
    columns.update(overrides)
    return pa.table(columns)


def test_conform_orders_casts_drops_extras_and_versions() -> None:
    table = schemas.conform(_accounts(), schemas.ACCOUNTS)
    assert table.schema.names == schemas.ACCOUNTS.names
    assert table.schema.field("declared_monthly_income").type == pa.float64()
    assert schemas.schema_id(table.schema) == "accounts/v1"


def test_missing_column_is_named() -> None:
    table = _accounts().drop_columns(["kind"])
    with pytest.raises(schemas.SchemaError, match=r"accounts.parquet: missing column\(s\) \['kind'\]"):
        schemas.conform(table, schemas.ACCOUNTS, where="accounts.parquet")


def test_null_in_required_column_is_refused() -> None:
    with pytest.raises(schemas.SchemaError, match="'account_id' has 1 null"):
        schemas.conform(_accounts(account_id=pa.array([None], pa.string())), schemas.ACCOUNTS)


def test_uncastable_column_is_named() -> None:
    with pytest.raises(schemas.SchemaError, match="'declared_monthly_income'"):
        schemas.conform(_accounts(declared_monthly_income=["lots"]), schemas.ACCOUNTS)
