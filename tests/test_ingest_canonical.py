"""Canonical ingest: every bad-input case lands in quarantine with file, line, field and reason."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moneytrail import lake as lk
from moneytrail import schemas
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import IngestError, ingest

HEADER = "tx_id,timestamp,src_account,dst_account,amount,currency,channel,reference"
GOOD = "T1,2024-01-05T10:00:00Z,A1,B1,100,USD,wire,rent"
CURRENCY = CurrencyConfig(rates_to_reporting={"USD": 1.0, "EUR": 2.0})


def write(tmp_path: Path, lines: list[str], name: str = "tx.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def run(path: Path, tmp_path: Path):
    report = ingest(path, "canonical", tmp_path / "lake", CURRENCY)
    assert report.rows_in == report.rows_loaded + report.rows_quarantined
    return report, lk.scan_quarantine(tmp_path / "lake").collect()


def test_good_rows_load_with_amount_in_reporting_currency(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD, "T2,2024-01-06 11:30:00,A1,B2,10.5,eur,ACH,"])
    report, quarantine = run(path, tmp_path)
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (2, 2, 0)
    assert quarantine.height == 0
    tx = lk.scan_transactions(tmp_path / "lake").sort("tx_id").collect()
    assert tx.columns == schemas.TRANSACTIONS.names
    assert tx["amount"].to_list() == [100.0, 21.0]
    assert tx["orig_amount"].to_list() == [100.0, 10.5]
    assert tx["orig_currency"].to_list() == ["USD", "EUR"]
    assert tx["channel"].to_list() == ["wire", "ach"]
    assert tx["timestamp"][1] == datetime(2024, 1, 6, 11, 30, tzinfo=UTC)
    assert report.partitions == lk.lake_partitions(tmp_path / "lake")
    assert (
        pq.read_schema(next((tmp_path / "lake" / "transactions").rglob("*.parquet"))).metadata[
            schemas.SCHEMA_METADATA_KEY
        ]
        == b"transactions/v1"
    )


@pytest.mark.parametrize(
    ("bad_line", "field", "reason"),
    [
        (
            "T9,2024-13-45T00:00:00Z,A1,B1,5,USD,wire,",
            "timestamp",
            "unparsable timestamp '2024-13-45T00:00:00Z'",
        ),
        ("T9,,A1,B1,5,USD,wire,", "timestamp", "missing timestamp"),
        (",2024-01-05,A1,B1,5,USD,wire,", "tx_id", "missing tx_id"),
        ("T9,2024-01-05,,B1,5,USD,wire,", "src_account", "missing source account id"),
        ("T9,2024-01-05,A1, ,5,USD,wire,", "dst_account", "missing destination account id"),
        ("T9,2024-01-05,A1,B1,0,USD,wire,", "amount", "non-positive amount '0'"),
        ("T9,2024-01-05,A1,B1,-5,USD,wire,", "amount", "non-positive amount '-5'"),
        ("T9,2024-01-05,A1,B1,5 USD,USD,wire,", "amount", "non-numeric amount '5 USD'"),
        ("T9,2024-01-05,A1,B1,inf,USD,wire,", "amount", "amount is not a finite number"),
        ("T9,2024-01-05,A1,B1,5,XYZ,wire,", "currency", "unknown currency 'XYZ'"),
        ("T9,2024-01-05,A1,B1,5,USD,pigeon,", "channel", "unknown channel 'pigeon'"),
        ("T1,2024-01-06,A1,B1,5,USD,wire,", "tx_id", "duplicate tx_id 'T1' in file (first at line 2)"),
        ("T9,2024-01-05,A1,B1,5,USD,wire,x,extra", "<row>", "expected 8 fields, found 9"),
        ('T9,2024-01-05,A1,B1,5,USD,wire,"open', "<row>", "unterminated or stray quote"),
        ('T9,2024-01-05,A1,B1,5,USD,wire, "a,b"', "<row>", "malformed quoting"),
        ('T9,2024-01-05,A1,B1,5,USD,wire,"ab"c', "<row>", "malformed quoting"),
    ],
)
def test_bad_row_is_quarantined_with_line_field_reason(
    tmp_path: Path, bad_line: str, field: str, reason: str
) -> None:
    path = write(tmp_path, [GOOD, bad_line])
    report, quarantine = run(path, tmp_path)
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)
    row = quarantine.row(0, named=True)
    assert (row["file"], row["line"], row["field"]) == (str(path), 3, field)
    assert row["reason"].startswith(reason)
    assert row["raw"] == bad_line
    assert row["batch_id"] == report.batch_id


def test_truncated_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(f"{HEADER}\n{GOOD}\nT2,2024-01-05T1")
    report, quarantine = run(path, tmp_path)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert quarantine.select("line", "field").row(0) == (3, "<row>")
    assert "truncated" in quarantine["reason"][0]


def test_stray_quote_loses_only_its_own_line(tmp_path: Path) -> None:
    lines = [
        GOOD,
        'T2,2024-01-05,A1,B1,5,USD,wire,5" pipe',
        "T3,2024-01-05,A1,B1,5,USD,wire,",
        'T4,2024-01-05,A,B,1,USD,wire,"x"',
    ]
    report, quarantine = run(write(tmp_path, lines), tmp_path)
    assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (4, 3, 1)
    assert quarantine.select("line", "field").row(0) == (3, "<row>")


def test_invalid_utf8_row_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_bytes(f"{HEADER}\n{GOOD}\n".encode() + b"T2,2024-01-05,A\xff\xfe,B1,5,USD,wire,\n")
    report, quarantine = run(path, tmp_path)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert quarantine.select("line", "field").row(0) == (3, "<row>")
    assert "UTF-8" in quarantine["reason"][0]


def test_quoted_field_spanning_lines_keeps_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ['T1,2024-01-05,A1,B1,5,USD,wire,"two\nlines, ""quoted"""', "T2,2024-01-05,A1,B1,x,USD,wire,"],
    )
    report, quarantine = run(path, tmp_path)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert quarantine["line"].to_list() == [4]
    ref = lk.scan_transactions(tmp_path / "lake").collect()["reference"][0]
    assert ref == 'two\nlines, "quoted"'


def test_tx_already_in_lake_is_quarantined_as_already_loaded(tmp_path: Path) -> None:
    run(write(tmp_path, [GOOD]), tmp_path)
    report, quarantine = run(
        write(tmp_path, [GOOD, "T2,2024-01-05,A1,B1,5,USD,wire,"], name="b.csv"), tmp_path
    )
    assert (report.rows_loaded, report.rows_quarantined, report.rows_duplicate) == (1, 1, 1)
    row = quarantine.filter(pl.col("batch_id") == report.batch_id).row(0, named=True)
    assert (row["line"], row["field"]) == (2, "tx_id")
    assert row["reason"].startswith("already loaded")
    assert lk.scan_transactions(tmp_path / "lake").collect().height == 2


def test_reingest_same_file_loads_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD, "T2,2024-01-05,A1,B1,x,USD,wire,"])
    first, _ = run(path, tmp_path)
    again, _ = run(path, tmp_path)
    assert again.already_ingested and again.batch_id == first.batch_id
    assert (again.rows_in, again.rows_loaded, again.rows_quarantined) == (0, 0, 0)
    assert lk.read_manifest(tmp_path / "lake").height == 1
    assert lk.scan_transactions(tmp_path / "lake").collect().height == 1
    assert lk.scan_quarantine(tmp_path / "lake").collect().height == 1
    assert "already ingested" in again.summary()


def test_orig_amount_columns_and_missing_optional_columns(tmp_path: Path) -> None:
    header = "tx_id,timestamp,src_account,dst_account,orig_amount,orig_currency,channel,is_laundering"
    path = write(tmp_path, ["T1,2024-01-05T10:00:00+02:00,A1,CASH,7,EUR,cash_withdrawal,1"], header=header)
    report, _ = run(path, tmp_path)
    tx = lk.scan_transactions(tmp_path / "lake").collect()
    assert report.rows_loaded == 1
    assert tx["amount"][0] == 14.0
    assert tx["timestamp"][0] == datetime(2024, 1, 5, 8, tzinfo=UTC)
    assert "is_laundering" not in tx.columns
    assert tx["reference"][0] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("  \n\n", "empty file"),
        ("tx_id,when,src_account\nT1,x,y\n", "lacks required column"),
    ],
)
def test_whole_file_problems_raise_ingest_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tx.csv"
    path.write_text(content)
    with pytest.raises(IngestError, match=message) as info:
        ingest(path, "canonical", tmp_path / "lake", CURRENCY)
    assert str(path) in str(info.value)
    assert lk.read_manifest(tmp_path / "lake").height == 0


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest(tmp_path / "nope.csv", "canonical", tmp_path / "lake", CURRENCY)
    path = write(tmp_path, [GOOD])
    with pytest.raises(IngestError, match="unknown format 'swift'"):
        ingest(path, "swift", tmp_path / "lake", CURRENCY)


def test_header_only_file_is_a_zero_row_batch(tmp_path: Path) -> None:
    report, _ = run(write(tmp_path, []), tmp_path)
    assert (report.rows_in, report.rows_loaded, report.already_ingested) == (0, 0, False)
    assert report.partitions == []


def _generator_folder(root: Path) -> Path:
    """A folder shaped like ``moneytrail generate`` output."""
    ts = datetime(2024, 3, 1, 9, tzinfo=UTC)
    tx = pa.table(
        {
            "tx_id": ["G1", "G2"],
            "timestamp": [ts, ts],
            "src_account": ["A1", "A2"],
            "dst_account": ["A2", "A1"],
            "amount": [10.0, 20.0],
            "orig_amount": [10.0, 20.0],
            "orig_currency": ["USD", "USD"],
            "channel": ["wire", "ach"],
            "src_country": ["US", None],
            "dst_country": [None, None],
            "region": [None, None],
            "reference": [None, "x"],
        }
    )
    accounts = pa.table(
        {
            "account_id": ["A1", "A2"],
            "customer_id": ["C1", "C2"],
            "name": ["a", "b"],
            "kind": ["individual", "business"],
            "sector": [None, "retail"],
            "country": ["US", "US"],
            "region": [None, None],
            "opened_at": [ts, ts],
            "declared_monthly_income": [1.0, 2.0],
            "is_pep": [False, True],
            "phone_hash": [None, None],
            "address_hash": [None, None],
            "device_hash": [None, None],
        }
    )
    (root / "labels").mkdir(parents=True)
    pq.write_table(schemas.conform(tx, schemas.TRANSACTIONS), root / "transactions.parquet")
    pq.write_table(schemas.conform(accounts, schemas.ACCOUNTS), root / "accounts.parquet")
    inst = pa.table({"instance_id": ["I1"], "typology": ["cycle"], "start": [ts], "end": [ts]})
    pq.write_table(schemas.conform(inst, schemas.LABEL_INSTANCES), root / "labels" / "instances.parquet")
    ltx = pa.table({"tx_id": ["G1"], "instance_id": ["I1"]})
    pq.write_table(schemas.conform(ltx, schemas.LABEL_TRANSACTIONS), root / "labels" / "transactions.parquet")
    return root


def test_generator_folder_loads_transactions_accounts_and_labels(tmp_path: Path) -> None:
    folder = _generator_folder(tmp_path / "gen")
    report, _ = run(folder, tmp_path)
    assert (report.rows_in, report.rows_loaded, report.accounts_loaded, report.label_rows) == (2, 2, 2, 2)
    tx = lk.scan_transactions(tmp_path / "lake").sort("tx_id").collect()
    assert tx["src_country"].to_list() == ["US", None]
    accounts = lk.scan_accounts(tmp_path / "lake").sort("account_id").collect()
    assert accounts["is_pep"].to_list() == [False, True]
    labels = lk.read_labels(tmp_path / "lake")
    assert labels["instances"]["typology"].to_list() == ["cycle"]
    assert labels["benign_behaviours"].height == 0
    assert lk.read_labels(folder)["transactions"]["tx_id"].to_list() == ["G1"]


def test_single_parquet_file_quarantines_by_row_number(tmp_path: Path) -> None:
    ts = datetime(2024, 3, 1, tzinfo=UTC)
    table = pa.table(
        {
            "tx_id": ["P1", "P2"],
            "timestamp": [ts, ts],
            "src_account": ["A", "A"],
            "dst_account": ["B", "B"],
            "amount": [1.0, -1.0],
            "currency": ["USD", "USD"],
            "channel": ["wire", "wire"],
        }
    )
    path = tmp_path / "tx.parquet"
    pq.write_table(table, path)
    report, quarantine = run(path, tmp_path)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert quarantine.select("line", "field").row(0) == (2, "amount")
    assert '"tx_id":"P2"' in quarantine["raw"][0]


_ROWS = {
    "good": "{i},2024-01-05T10:00:00Z,A,B,5,USD,wire,",
    "bad_ts": "{i},yesterday,A,B,5,USD,wire,",
    "bad_amount": "{i},2024-01-05,A,B,-1,USD,wire,",
    "bad_currency": "{i},2024-01-05,A,B,1,ZZZ,wire,",
    "bad_channel": "{i},2024-01-05,A,B,1,USD,mail,",
    "missing_id": ",2024-01-05,A,B,1,USD,wire,",
    "dup": "1,2024-01-05,A,B,1,USD,wire,",
    "short": "{i},2024",
    "long": "{i},2024-01-05,A,B,1,USD,wire,,,",
    "blank_line": "",
}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(_ROWS)), max_size=12))
def test_property_every_row_is_loaded_or_quarantined(kinds: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lines = [_ROWS[kind].format(i=i) for i, kind in enumerate(kinds, start=1)]
        path = write(root, lines)
        report = ingest(path, "canonical", root / "lake", CURRENCY)
        expected_rows = sum(kind != "blank_line" for kind in kinds)
        assert report.rows_in == expected_rows
        assert report.rows_in == report.rows_loaded + report.rows_quarantined
        assert lk.scan_transactions(root / "lake").collect().height == report.rows_loaded
        quarantine = lk.scan_quarantine(root / "lake").collect()
        assert quarantine.height == report.rows_quarantined
        assert quarantine["line"].n_unique() == quarantine.height


def test_bom_and_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\r\n{GOOD}\r\n".encode())
    report, _ = run(path, tmp_path)
    assert report.rows_loaded == 1
    assert lk.scan_transactions(tmp_path / "lake").collect()["reference"][0] == "rent"


def test_header_with_invalid_utf8_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    path.write_bytes(b"tx_id,time\xffstamp\n" + GOOD.encode() + b"\n")
    with pytest.raises(IngestError, match=r"tx\.csv, line 1: the header is not valid UTF-8"):
        ingest(path, "canonical", tmp_path / "lake", CURRENCY)


def test_hostile_strings_are_kept_as_data(tmp_path: Path) -> None:
    hostile = "'; DROP TABLE tx; --$(rm -rf /)"
    path = write(tmp_path, [f'T1,2024-01-05,"{hostile}",B1,5,USD,wire,"=HYPERLINK(""x"")"'])
    report, _ = run(path, tmp_path)
    tx = lk.scan_transactions(tmp_path / "lake").collect()
    assert report.rows_loaded == 1
    assert tx["src_account"][0] == hostile and tx["reference"][0] == '=HYPERLINK("x")'


def test_generator_output_round_trips_exactly(tmp_path: Path) -> None:
    from polars.testing import assert_frame_equal

    import synthetic_data

    out = tmp_path / "generated"
    synthetic_data.generate("tiny", 3, out)
    lake = tmp_path / "lake"
    report = ingest(out, "canonical", lake, CurrencyConfig())
    assert report.rows_quarantined == 0 and report.accounts_quarantined == 0
    assert_frame_equal(
        pl.read_parquet(out / "transactions.parquet").sort("tx_id"),
        lk.scan_transactions(lake).collect().sort("tx_id"),
    )
    assert_frame_equal(
        pl.read_parquet(out / "accounts.parquet").sort("account_id"),
        lk.scan_accounts(lake).collect().sort("account_id"),
    )
    for name, frame in lk.read_labels(out).items():
        assert_frame_equal(frame.sort(frame.columns), lk.read_labels(lake)[name].sort(frame.columns))


def test_folder_problems_raise_ingest_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match=r"no transactions\.parquet or transactions\.csv"):
        ingest(empty, "canonical", tmp_path / "lake", CURRENCY)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(IngestError, match=r"broken\.parquet: not a readable Parquet file"):
        ingest(broken, "canonical", tmp_path / "lake", CURRENCY)
    folder = _generator_folder(tmp_path / "gen")
    pq.write_table(pa.table({"tx_id": ["G1"]}), folder / "labels" / "transactions.parquet")
    with pytest.raises(IngestError, match=r"transactions\.parquet: missing column\(s\) \['instance_id'\]"):
        ingest(folder, "canonical", tmp_path / "lake", CURRENCY)
    assert lk.read_manifest(tmp_path / "lake").height == 0


def test_bad_account_rows_are_quarantined(tmp_path: Path) -> None:
    folder = _generator_folder(tmp_path / "gen")
    ts = datetime(2024, 3, 1, tzinfo=UTC)
    accounts = pa.table(
        {
            "account_id": ["A1", None, "A3", "A1"],
            "kind": ["individual", "individual", "alien", "business"],
            "customer_id": [None, "C2", "C3", "C4"],
            "opened_at": [ts] * 4,
        }
    )
    pq.write_table(accounts, folder / "accounts.parquet")
    report, quarantine = run(folder, tmp_path)
    assert (report.accounts_in, report.accounts_loaded, report.accounts_quarantined) == (4, 1, 3)
    assert quarantine.select("line", "field", "reason").sort("line").rows() == [
        (2, "account_id", "missing account id"),
        (3, "kind", "unknown account kind 'alien'"),
        (4, "account_id", "duplicate account id 'A1' in file"),
    ]
    account = lk.scan_accounts(tmp_path / "lake").collect().row(0, named=True)
    assert (account["account_id"], account["customer_id"], account["is_pep"]) == ("A1", "A1", False)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from('ab1,"\r\n -:T\\\u00e9\ufffd'), max_size=40),
        max_size=6,
    ),
    st.binary(max_size=8),
)
def test_property_arbitrary_text_never_crashes(lines: list[str], tail: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "tx.csv"
        path.write_bytes("\n".join([HEADER, GOOD, *lines]).encode() + tail)
        report = ingest(path, "canonical", root / "lake", CURRENCY)
        assert report.rows_in == report.rows_loaded + report.rows_quarantined
        assert lk.scan_quarantine(root / "lake").collect().height == report.rows_quarantined
        assert lk.scan_transactions(root / "lake").collect().height == report.rows_loaded
