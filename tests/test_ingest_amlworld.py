"""IBM AMLworld CSV ingest with the published header (duplicated ``Account`` column)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import IngestError, ingest

HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)
ROWS = [
    "2022/09/01 00:20,010,8000EBD30,010,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0",
    "2022/09/01 00:20,03208,8000F4580,001,8000F5340,0.01,US Dollar,0.01,US Dollar,Cheque,0",
    "2022/09/01 00:22,1,8000EC1E0,1,8000EC1E0,10.00,Euro,10.00,Euro,Cash,0",
    "2022/09/02 14:05,011,8000ED8C0,0211,8001F6A20,2.5,Bitcoin,2.5,Bitcoin,Bitcoin,1",
    "2022/09/02 14:05,011,8000ED8C0,0211,8001F6A20,120,Yuan,120,Yuan,Wire,1",
]
ACCOUNTS = [
    "Bank Name,Bank ID,Account Number,Entity ID,Entity Name",
    "Cayman Bank #1,010,8000EBD30,80052E650,Sole Proprietorship #50438",
    "First Bank #2,011,8000ED8C0,8002ABCDE,Individual #12",
    "First Bank #2,011,,8002ABCDF,Individual #13",
]


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_amlworld_rows_map_to_canonical_transactions(tmp_path: Path) -> None:
    path = write(tmp_path / "HI-Small_Trans.csv", ROWS)
    report = ingest(path, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (5, 5, 0)
    tx = lk.scan_transactions(tmp_path / "lake").sort("tx_id").collect()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert tx["tx_id"].to_list() == [f"aw-{sha}-{line}" for line in range(2, 7)]
    first = tx.row(0, named=True)
    assert first["src_account"] == "010:8000EBD30" and first["dst_account"] == "010:8000EBD30"
    assert first["timestamp"] == datetime(2022, 9, 1, 0, 20, tzinfo=UTC)
    assert tx["channel"].to_list() == ["internal", "cheque", "cash_deposit", "crypto", "wire"]
    assert tx["orig_currency"].to_list() == ["USD", "USD", "EUR", "XBT", "CNY"]
    assert tx["amount"][3] == pytest.approx(2.5 * 60000.0)
    assert tx["dst_account"][1] == "001:8000F5340"
    assert "Is Laundering" not in tx.columns
    assert report.partitions == [datetime(2022, 9, 1).date(), datetime(2022, 9, 2).date()]


def test_laundering_rows_go_only_to_labels(tmp_path: Path) -> None:
    path = write(tmp_path / "HI-Small_Trans.csv", ROWS)
    report = ingest(path, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())
    labels = lk.read_labels(tmp_path / "lake")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    assert sorted(labels["transactions"]["tx_id"].to_list()) == [f"aw-{sha}-5", f"aw-{sha}-6"]
    assert labels["instances"].height == 2
    roles = labels["instance_accounts"].sort("role")
    assert roles["role"].to_list() == ["beneficiary", "beneficiary", "originator", "originator"]
    assert set(roles["account_id"]) == {"011:8000ED8C0", "0211:8001F6A20"}
    assert report.label_rows == 2 + 4 + 2


def test_same_file_gives_same_ids_and_is_not_loaded_twice(tmp_path: Path) -> None:
    path = write(tmp_path / "a_Trans.csv", ROWS)
    copy = write(tmp_path / "copy.csv", ROWS)
    first = ingest(path, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())
    again = ingest(copy, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())
    assert again.already_ingested and again.rows_loaded == 0
    other = ingest(path, "ibm-amlworld", tmp_path / "lake2", CurrencyConfig())
    ids = lk.scan_transactions(tmp_path / "lake").collect()["tx_id"].sort()
    assert ids.to_list() == lk.scan_transactions(tmp_path / "lake2").collect()["tx_id"].sort().to_list()
    assert first.rows_loaded == other.rows_loaded == 5


@pytest.mark.parametrize(
    ("bad", "field", "reason"),
    [
        ("2022-09-01T00:20,010,A,010,B,1,US Dollar,1,US Dollar,Wire,0", "Timestamp", "unparsable timestamp"),
        (
            "2022/09/01 00:20,010,A,010,B,1,US Dollar,1,Zloty,Wire,0",
            "Payment Currency",
            "unknown currency 'Zloty'",
        ),
        (
            "2022/09/01 00:20,010,A,010,B,1,US Dollar,1,US Dollar,Pigeon,0",
            "Payment Format",
            "unknown channel",
        ),
        ("2022/09/01 00:20,,A,010,B,1,US Dollar,1,US Dollar,Wire,0", "From Bank/Account", "missing source"),
        ("2022/09/01 00:20,010,A,010,B,1,US Dollar,0,US Dollar,Wire,0", "Amount Paid", "non-positive amount"),
        ("2022/09/01 00:20,010,A,010,B,1,US Dollar,1,US Dollar,Wire,yes", "Is Laundering", "expected 0 or 1"),
        ("2022/09/01 00:20,010,A,010,B,1,US Dollar,1", "<row>", "expected 11 fields, found 8"),
    ],
)
def test_bad_amlworld_row(tmp_path: Path, bad: str, field: str, reason: str) -> None:
    path = write(tmp_path / "x_Trans.csv", [ROWS[0], bad])
    report = ingest(path, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)
    row = lk.scan_quarantine(tmp_path / "lake").collect().row(0, named=True)
    assert (row["line"], row["field"]) == (3, field)
    assert row["reason"].startswith(reason)
    assert lk.read_labels(tmp_path / "lake")["transactions"].height == 0


def test_wrong_header_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", ROWS, header=HEADER.replace("Amount Paid", "Paid"))
    with pytest.raises(IngestError, match=r"x\.csv, line 1: not an AMLworld header"):
        ingest(path, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())


def test_accounts_file_beside_is_loaded(tmp_path: Path) -> None:
    path = write(tmp_path / "HI-Small_Trans.csv", ROWS)
    (tmp_path / "HI-Small_accounts.csv").write_text("\n".join(ACCOUNTS) + "\n")
    report = ingest(path, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())
    assert (report.accounts_in, report.accounts_loaded, report.accounts_quarantined) == (3, 2, 1)
    accounts = lk.scan_accounts(tmp_path / "lake").sort("account_id").collect()
    assert accounts["account_id"].to_list() == ["010:8000EBD30", "011:8000ED8C0"]
    assert accounts["kind"].to_list() == ["business", "individual"]
    assert accounts["customer_id"].to_list() == ["80052E650", "8002ABCDE"]
    bad = lk.scan_quarantine(tmp_path / "lake").collect().row(0, named=True)
    assert bad["file"].endswith("HI-Small_accounts.csv") and bad["line"] == 4
    assert bad["reason"] == "missing account id"


def test_patterns_file_groups_laundering_rows_into_typed_attempts(tmp_path: Path) -> None:
    lone = "2022/09/03 09:00,070,800AAAAA0,071,800BBBBB0,99,US Dollar,99,US Dollar,ACH,1"
    path = write(tmp_path / "HI-Small_Trans.csv", [*ROWS, lone])
    (tmp_path / "HI-Small_Patterns.txt").write_text(
        "BEGIN LAUNDERING ATTEMPT - FAN-OUT:  Max 16-degree Fan-Out\n"
        f"{ROWS[3]}\n{ROWS[4]}\n"
        "END LAUNDERING ATTEMPT - FAN-OUT\n\n"
        "BEGIN LAUNDERING ATTEMPT - GATHER-SCATTER:  Max 3-degree Fan-In\n"
        "2022/09/09 00:00,1,X,2,Y,1,US Dollar,1,US Dollar,ACH,1\n"
        "END LAUNDERING ATTEMPT - GATHER-SCATTER\n"
    )
    report = ingest(path, "ibm-amlworld", tmp_path / "lake", CurrencyConfig())
    labels = lk.read_labels(tmp_path / "lake")
    instances = labels["instances"].sort("typology")
    assert instances["typology"].to_list() == ["amlworld_laundering", "fan_out"]  # unmatched attempt: none
    fan_out = instances.row(1, named=True)
    assert fan_out["instance_id"].endswith(":1")
    assert fan_out["start"] == fan_out["end"] == datetime(2022, 9, 2, 14, 5, tzinfo=UTC)
    members = labels["instance_accounts"].filter(pl.col("instance_id") == fan_out["instance_id"]).sort("role")
    assert members.rows() == [
        (fan_out["instance_id"], "0211:8001F6A20", "beneficiary"),
        (fan_out["instance_id"], "011:8000ED8C0", "originator"),
    ]
    per_instance = labels["transactions"].group_by("instance_id").len()
    assert sorted(per_instance["len"].to_list()) == [1, 2]
    assert report.rows_loaded == 6
