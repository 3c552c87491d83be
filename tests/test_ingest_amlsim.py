"""AMLSim output folder ingest (converter layout from IBM/AMLSim scripts/convert_logs.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import IngestError, ingest

TX_HEADER = "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id"
TX = [
    "1,1,2,TRANSFER,100.0,2017-01-01T00:00:00Z,True,5",
    "2,2,3,TRANSFER,95.0,2017-01-02T00:00:00Z,True,5",
    "3,3,1,TRANSFER,90.0,2017-01-03T00:00:00Z,True,5",
    "4,4,1,WIRE,10.0,2017-01-03T00:00:00Z,False,-1",
    "5,5,1,TRANSFER,50,2017-01-04T00:00:00Z,False,7",
    "6,5,4,CHECK,5,12,False,-1",
]
CASH = ["7,4,4,CASH-IN,500,2017-01-05T00:00:00Z,False,-1", "8,4,4,CASH-OUT,50,2017-01-06T00:00:00Z,False,-1"]
ACCOUNTS_HEADER = (
    "acct_id,dsply_nm,type,acct_stat,acct_rptng_crncy,branch_id,open_dt,close_dt,prior_sar_count,"
    "initial_deposit,tx_behavior_id,bank_id,first_name,last_name,street_addr,city,state,country,zip,"
    "gender,birth_date,ssn,lon,lat"
)


def account(acct_id: str, currency: str = "USD", sar: str = "False") -> str:
    return (
        f"{acct_id},Account{acct_id},I,A,{currency},1,2017-01-01T00:00:00Z,,{sar},1000,1,bank,Ann,Lee,"
        "1 Main St,Springfield,IL,US,62701,Female,1980-01-01,123-45-6789,-89.6,39.8"
    )


ALERT_HEADER = "alert_id,alert_type,acct_id,acct_name,is_sar,model_id,schedule_id,bank_id"
ALERTS = [
    "5,cycle,1,Account1,True,1,2,bank",
    "5,cycle,2,Account2,True,1,2,bank",
    "5,cycle,3,Account3,True,1,2,bank",
    "7,fan_in,5,Account5,False,2,2,bank",
    "7,fan_in,1,Account1,False,2,2,bank",
]


def amlsim_folder(root: Path, tx: list[str] = TX, tx_header: str = TX_HEADER) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "transactions.csv").write_text("\n".join([tx_header, *tx]) + "\n")
    (root / "cash_tx.csv").write_text("\n".join([TX_HEADER, *CASH]) + "\n")
    accounts = [account("1", sar="True"), account("2"), account("3"), account("4", "EUR"), account("5")]
    (root / "accounts.csv").write_text("\n".join([ACCOUNTS_HEADER, *accounts]) + "\n")
    (root / "alert_accounts.csv").write_text("\n".join([ALERT_HEADER, *ALERTS]) + "\n")
    return root


def test_amlsim_transactions_accounts_and_channels(tmp_path: Path) -> None:
    folder = amlsim_folder(tmp_path / "sim")
    report = ingest(folder, "amlsim", tmp_path / "lake", CurrencyConfig())
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (8, 8, 0)
    tx = lk.scan_transactions(tmp_path / "lake").sort("timestamp", "tx_id").collect()
    by_id = {row["tx_id"]: row for row in tx.iter_rows(named=True)}
    assert by_id["1"]["channel"] == "wire" and by_id["6"]["channel"] == "cheque"
    assert by_id["7"]["channel"] == "cash_deposit" and by_id["8"]["channel"] == "cash_withdrawal"
    assert by_id["6"]["timestamp"] == datetime(2017, 1, 13, tzinfo=UTC)  # day 12 after 2017-01-01
    assert by_id["4"]["orig_currency"] == "EUR" and by_id["4"]["amount"] == pytest.approx(10.8)
    assert "is_sar" not in tx.columns and "alert_id" not in tx.columns
    accounts = lk.scan_accounts(tmp_path / "lake").collect()
    assert accounts.height == report.accounts_loaded == 5
    assert "prior_sar_count" not in accounts.columns
    assert accounts["opened_at"][0] == datetime(2017, 1, 1, tzinfo=UTC)


def test_amlsim_alerts_become_instances_and_benign_behaviours(tmp_path: Path) -> None:
    ingest(amlsim_folder(tmp_path / "sim"), "amlsim", tmp_path / "lake", CurrencyConfig())
    labels = lk.read_labels(tmp_path / "lake")
    instance = labels["instances"].row(0, named=True)
    assert labels["instances"].height == 1
    assert (instance["instance_id"], instance["typology"]) == ("amlsim:5", "cycle")
    assert instance["start"] == datetime(2017, 1, 1, tzinfo=UTC)
    assert instance["end"] == datetime(2017, 1, 3, tzinfo=UTC)
    assert set(labels["instance_accounts"]["role"]) == {"intermediary"}
    assert sorted(labels["transactions"]["tx_id"].to_list()) == ["1", "2", "3"]
    benign = labels["benign_behaviours"]
    assert set(benign["account_id"]) == {"5", "1"} and set(benign["behaviour"]) == {"fan_in"}


def test_amlsim_fan_out_roles_without_alert_file(tmp_path: Path) -> None:
    folder = tmp_path / "sim"
    folder.mkdir()
    rows = ["1,9,1,TRANSFER,10,2017-01-01T00:00:00Z,True,3", "2,9,2,TRANSFER,10,2017-01-01T00:00:00Z,True,3"]
    (folder / "transactions.csv").write_text("\n".join([TX_HEADER, *rows]) + "\n")
    ingest(folder / "transactions.csv", "amlsim", tmp_path / "lake", CurrencyConfig())
    members = lk.read_labels(tmp_path / "lake")["instance_accounts"].sort("account_id")
    assert members["role"].to_list() == ["beneficiary", "beneficiary", "originator"]


@pytest.mark.parametrize(
    ("bad", "field", "reason"),
    [
        ("9,1,2,TELEPORT,10,2017-01-01T00:00:00Z,False,-1", "tx_type", "unknown channel 'TELEPORT'"),
        ("9,1,2,TRANSFER,ten,2017-01-01T00:00:00Z,False,-1", "base_amt", "non-numeric amount"),
        ("9,1,,TRANSFER,10,2017-01-01T00:00:00Z,False,-1", "bene_acct", "missing destination"),
        ("1,1,2,TRANSFER,10,2017-01-01T00:00:00Z,False,-1", "tran_id", "duplicate tx_id '1'"),
    ],
)
def test_bad_amlsim_row(tmp_path: Path, bad: str, field: str, reason: str) -> None:
    folder = amlsim_folder(tmp_path / "sim", tx=[*TX, bad])
    report = ingest(folder, "amlsim", tmp_path / "lake", CurrencyConfig())
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (9, 8, 1)
    row = lk.scan_quarantine(tmp_path / "lake").collect().row(0, named=True)
    assert row["file"].endswith("transactions.csv") and row["line"] == 8
    assert (row["field"], row["reason"].startswith(reason)) == (field, True)


def test_amlsim_is_fraud_column_and_missing_required_column(tmp_path: Path) -> None:
    folder = amlsim_folder(tmp_path / "sim", tx_header=TX_HEADER.replace("is_sar", "is_fraud"))
    assert ingest(folder, "amlsim", tmp_path / "lake", CurrencyConfig()).rows_loaded == 8
    assert lk.read_labels(tmp_path / "lake")["instances"].height == 1
    broken = amlsim_folder(tmp_path / "sim2", tx_header=TX_HEADER.replace("base_amt", "amt"))
    with pytest.raises(
        IngestError, match=r"transactions\.csv, line 1: header lacks required column\(s\) \['base_amt'\]"
    ):
        ingest(broken, "amlsim", tmp_path / "lake", CurrencyConfig())
    with pytest.raises(IngestError, match="not an AMLSim output folder"):
        ingest(tmp_path, "amlsim", tmp_path / "lake", CurrencyConfig())


def test_amlsim_minimal_files_and_bad_account_rows(tmp_path: Path) -> None:
    folder = tmp_path / "sim"
    folder.mkdir()
    (folder / "transactions.csv").write_text(
        "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,extra\n"
        "1,1,2,TRANSFER,10,2017-01-01T00:00:00Z,x\n"
    )
    (folder / "accounts.csv").write_text("acct_id,nickname\n1,a\n,b\n1,c\n")
    (folder / "alert_accounts.csv").write_text("alert_id,alert_type,acct_id\n9,Fan-Out,1\n")
    report = ingest(folder, "amlsim", tmp_path / "lake", CurrencyConfig())
    assert (report.rows_loaded, report.accounts_loaded, report.accounts_quarantined) == (1, 1, 2)
    quarantine = lk.scan_quarantine(tmp_path / "lake").collect().sort("line")
    assert quarantine.select("line", "reason").rows() == [
        (3, "missing account id"),
        (4, "duplicate account id '1' in file"),
    ]
    assert lk.scan_transactions(tmp_path / "lake").collect()["orig_currency"].to_list() == ["USD"]
    instances = lk.read_labels(tmp_path / "lake")["instances"]
    assert instances.select("instance_id", "typology").rows() == [("amlsim:9", "fan_out")]
