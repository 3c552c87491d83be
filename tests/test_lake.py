"""The lake: readers, partition pruning, upserts and crash safety of the commit protocol."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from moneytrail import lake as lk
from moneytrail import schemas
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import ingest, writer

TX_HEADER = "tx_id,timestamp,src_account,dst_account,amount,currency,channel"
AW_HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)


def canonical(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([TX_HEADER, *rows]) + "\n")
    return path


def amlworld(tmp_path: Path, name: str, rows: list[str], accounts: list[str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "X_Trans.csv").write_text("\n".join([AW_HEADER, *rows]) + "\n")
    header = "Bank Name,Bank ID,Account Number,Entity ID,Entity Name"
    (folder / "X_accounts.csv").write_text("\n".join([header, *accounts]) + "\n")
    return folder / "X_Trans.csv"


DAYS = [
    "T1,2024-01-01T23:59:59Z,A,B,1,USD,wire",
    "T2,2024-01-02T00:00:00Z,A,B,2,USD,wire",
    "T3,2024-01-03T12:00:00Z,A,B,3,USD,wire",
    "T4,2024-01-03T13:00:00Z,A,B,x,USD,wire",
]
AW_ROWS = ["2022/09/01 00:20,1,A,2,B,5,US Dollar,5,US Dollar,Wire,1"]


def state(lake: Path) -> tuple:
    """Everything a reader can see in the lake."""
    return (
        lk.scan_transactions(lake).sort("tx_id").collect().rows(),
        lk.scan_accounts(lake).sort("account_id").collect().rows(),
        {name: frame.rows() for name, frame in lk.read_labels(lake).items()},
        lk.scan_quarantine(lake).collect().height,
        lk.read_manifest(lake).height,
        lk.lake_partitions(lake),
    )


def test_empty_lake_readers_have_the_schemas(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert lk.scan_transactions(lake).collect().columns == schemas.TRANSACTIONS.names
    assert lk.scan_transactions(lake).collect_schema()["timestamp"] == pl.Datetime("us", "UTC")
    assert lk.scan_accounts(lake).collect().columns == schemas.ACCOUNTS.names
    assert lk.scan_quarantine(lake).collect().columns == lk.QUARANTINE.names
    assert lk.read_manifest(lake).columns == lk.MANIFEST.names
    assert lk.lake_partitions(lake) == []
    labels = lk.read_labels(tmp_path)
    assert set(labels) == set(schemas.LABEL_TABLES)
    assert all(
        labels[n].columns == s.names and labels[n].height == 0 for n, s in schemas.LABEL_TABLES.items()
    )


def test_scan_transactions_filters_and_prunes_partitions(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(canonical(tmp_path, "a.csv", DAYS), "canonical", lake, CurrencyConfig())
    assert lk.lake_partitions(lake) == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]
    # Make the 2024-01-01 partition unreadable: a pruned scan must never open it.
    next((lake / "transactions" / "date=2024-01-01").glob("*.parquet")).write_bytes(b"garbage")
    ids = lk.scan_transactions(lake, start=datetime(2024, 1, 2), end=datetime(2024, 1, 3, 12)).collect()[
        "tx_id"
    ]
    assert ids.to_list() == ["T2"]
    end_exclusive = lk.scan_transactions(
        lake, start=datetime(2024, 1, 2, tzinfo=UTC), end=datetime(2024, 1, 4)
    )
    assert sorted(end_exclusive.collect()["tx_id"].to_list()) == ["T2", "T3"]


def test_accounts_and_labels_are_upserted(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = amlworld(tmp_path, "one", AW_ROWS, ["B1,1,A,E1,Individual #1", "B2,2,B,E2,Corporation #2"])
    second = amlworld(
        tmp_path,
        "two",
        ["2022/09/03 00:20,1,A,3,C,5,US Dollar,5,US Dollar,ACH,1"],
        ["B1,1,A,E1,Individual #1 renamed", "B3,3,C,E3,Individual #3"],
    )
    ingest(first, "ibm-amlworld", lake, CurrencyConfig())
    ingest(second, "ibm-amlworld", lake, CurrencyConfig())
    accounts = lk.scan_accounts(lake).sort("account_id").collect()
    assert accounts["account_id"].to_list() == ["1:A", "2:B", "3:C"]
    assert accounts["name"][0] == "Individual #1 renamed"
    labels = lk.read_labels(lake)
    assert labels["instances"].height == 2 and labels["transactions"].height == 2


def test_crash_before_manifest_commit_leaves_lake_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    ingest(
        amlworld(tmp_path, "one", AW_ROWS, ["B1,1,A,E1,Individual #1"]),
        "ibm-amlworld",
        lake,
        CurrencyConfig(),
    )
    before = state(lake)
    crashing = amlworld(
        tmp_path,
        "two",
        ["2022/09/05 00:20,1,A,3,C,5,US Dollar,5,US Dollar,ACH,1", "bad"],
        ["B3,3,C,E3,Individual #3"],
    )

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(writer, "commit_manifest", boom)
    with pytest.raises(RuntimeError, match="power cut"):
        ingest(crashing, "ibm-amlworld", lake, CurrencyConfig())
    assert list((lake / "transactions").glob("date=2022-09-05/part-*.parquet"))  # orphan on disk
    assert list(lake.rglob("*.pending")) and list((lake / "quarantine").glob("*.parquet"))
    assert state(lake) == before
    monkeypatch.undo()

    report = ingest(crashing, "ibm-amlworld", lake, CurrencyConfig())
    assert (report.rows_loaded, report.rows_quarantined, report.accounts_loaded) == (1, 1, 1)
    files = list((lake / "transactions").rglob("*.parquet")) + list((lake / "quarantine").glob("*.parquet"))
    assert {lk.batch_of(p) for p in files} <= set(lk.read_manifest(lake)["batch_id"])
    assert not list(lake.rglob("*.pending"))
    assert lk.scan_quarantine(lake).collect().height == 1
    assert lk.scan_accounts(lake).collect().height == 2


def test_crash_after_commit_rolls_forward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = tmp_path / "lake"
    path = amlworld(tmp_path, "one", AW_ROWS, ["B1,1,A,E1,Individual #1"])

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(writer, "promote", boom)
    with pytest.raises(RuntimeError):
        ingest(path, "ibm-amlworld", lake, CurrencyConfig())
    monkeypatch.undo()
    assert lk.scan_accounts(lake).collect()["account_id"].to_list() == ["1:A"]  # committed pending
    assert lk.read_labels(lake)["instances"].height == 1
    again = ingest(path, "ibm-amlworld", lake, CurrencyConfig())
    assert again.already_ingested
    assert not list(lake.rglob("*.pending"))
    assert (lake / "accounts" / "accounts.parquet").exists()
    assert lk.scan_transactions(lake).collect().height == 1


def test_stray_orphans_and_temp_files_are_ignored_then_removed(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(canonical(tmp_path, "a.csv", DAYS[:1]), "canonical", lake, CurrencyConfig())
    orphan_dir = lake / "transactions" / "date=2030-01-01"
    orphan_dir.mkdir()
    committed = next((lake / "transactions").rglob("part-*.parquet"))
    orphan = orphan_dir / "part-never-committed.parquet"
    orphan.write_bytes(committed.read_bytes())
    temp = orphan_dir / ".part-x.parquet.tmp"
    temp.write_bytes(b"half a file")
    assert lk.scan_transactions(lake).collect().height == 1
    assert lk.lake_partitions(lake) == [date(2024, 1, 1)]
    ingest(canonical(tmp_path, "b.csv", DAYS[1:2]), "canonical", lake, CurrencyConfig())
    assert not orphan.exists() and not temp.exists()
    assert lk.scan_transactions(lake).collect().height == 2


def test_scan_transactions_accepts_dates(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(canonical(tmp_path, "a.csv", DAYS), "canonical", lake, CurrencyConfig())
    ids = lk.scan_transactions(lake, start=date(2024, 1, 2), end=date(2024, 1, 3)).collect()["tx_id"]
    assert ids.to_list() == ["T2"]


def test_concurrent_ingests_of_the_same_file_load_it_once(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    path = canonical(tmp_path, "a.csv", DAYS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda _: ingest(path, "canonical", lake, CurrencyConfig()), range(2)))
    assert sorted(r.already_ingested for r in reports) == [False, True]
    assert lk.read_manifest(lake).height == 1
    assert lk.scan_transactions(lake).collect().height == 3
