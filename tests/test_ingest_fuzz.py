"""Fuzz ingest: mutate valid input files and check that nothing but IngestError escapes and that
every transaction row is either loaded or quarantined (never silently dropped).

Mutations (seeded, one ``numpy.random.Generator``): truncation, swapped columns, bad encodings,
huge values, empty files, duplicated rows, and random combinations of them. The default tier
runs ~100 tiny cases; ``-m slow`` runs thousands.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from moneytrail import lake as lk
from moneytrail.config import CurrencyConfig
from moneytrail.ingest import IngestError, ingest

CURRENCY = CurrencyConfig(rates_to_reporting={"USD": 1.0, "EUR": 1.1})

CANONICAL = [
    "tx_id,timestamp,src_account,dst_account,amount,currency,channel,reference",
    "T1,2024-01-05T10:00:00Z,A1,B1,100,USD,wire,rent",
    "T2,2024-01-05 23:59:59,A2,B1,9500.5,EUR,cash_deposit,",
    'T3,2024-01-06T00:00:00Z,B1,C1,42,USD,ach,"a, quoted ""ref"""',
    "T4,2024-01-07T08:30:00+02:00,C1,A1,0.01,usd,card,x",
]
AMLWORLD = [
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering",
    "2022/09/01 00:20,010,8000EBD30,010,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0",
    "2022/09/01 00:22,1,8000EC1E0,1,8000EC1E0,10.00,Euro,10.00,Euro,Cash,0",
    "2022/09/02 14:05,011,8000ED8C0,0211,8001F6A20,120,US Dollar,120,US Dollar,Wire,1",
]
HUGE = ["1e308", "1e309", "9" * 400, "-0", "NaN", "A" * 5000, "2024-01-05T10:00:00Z" * 50, "\x00", "💸" * 99]
BAD_BYTES = [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\x00", b"\xef\xbb\xbf", b"\r", b'"', b"\xed\xa0\x80"]


def _lines_to_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def truncate(data: bytes, rng: np.random.Generator) -> bytes:
    return data[: int(rng.integers(0, len(data) + 1))]


def swap_columns(data: bytes, rng: np.random.Generator) -> bytes:
    """Swap two columns in every line (or, half the time, in the data lines only)."""
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    i, j = rng.choice(8, size=2, replace=False)
    first = 0 if rng.random() < 0.5 else 1
    out = []
    for n, line in enumerate(lines):
        cells = line.split(",")
        if n >= first and max(i, j) < len(cells):
            cells[i], cells[j] = cells[j], cells[i]
        out.append(",".join(cells))
    return "\n".join(out).encode("utf-8", "surrogateescape")


def bad_encoding(data: bytes, rng: np.random.Generator) -> bytes:
    """Insert invalid UTF-8 at random places, or re-encode the whole file."""
    choice = rng.integers(0, 3)
    text = data.decode("utf-8", "replace")
    if choice == 0:
        return text.encode("utf-16")
    if choice == 1:
        return text.encode("latin-1", "replace") + "é,ß".encode("latin-1")
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        out[int(rng.integers(0, len(out) + 1)) : 0] = BAD_BYTES[int(rng.integers(len(BAD_BYTES)))]
    return bytes(out)


def huge_values(data: bytes, rng: np.random.Generator) -> bytes:
    lines = data.decode("utf-8", "surrogateescape").split("\n")
    for _ in range(int(rng.integers(1, 4))):
        n = int(rng.integers(1, max(2, len(lines))))
        cells = lines[n].split(",") if n < len(lines) else []
        if cells:
            cells[int(rng.integers(len(cells)))] = HUGE[int(rng.integers(len(HUGE)))]
            lines[n] = ",".join(cells)
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def empty(data: bytes, rng: np.random.Generator) -> bytes:
    return [b"", b"\n", b"\n\n\n", b" ", data.split(b"\n")[0]][int(rng.integers(5))]


def duplicate_rows(data: bytes, rng: np.random.Generator) -> bytes:
    lines = data.split(b"\n")
    body = [line for line in lines[1:] if line]
    if not body:
        return data
    picks = [body[int(k)] for k in rng.integers(0, len(body), size=int(rng.integers(1, 4)))]
    return b"\n".join([lines[0], *body, *picks]) + b"\n"


MUTATIONS: list[Callable[[bytes, np.random.Generator], bytes]] = [
    truncate,
    swap_columns,
    bad_encoding,
    huge_values,
    empty,
    duplicate_rows,
]


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three mutations in a row."""
    for k in rng.choice(len(MUTATIONS), size=int(rng.integers(1, 4))):
        data = MUTATIONS[int(k)](data, rng)
    return data


def _parquet_bytes(csv: bytes) -> bytes:
    table = pacsv.read_csv(io.BytesIO(csv), convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


COLUMNS = ["tx_id", "timestamp", "src_account", "dst_account", "amount", "currency", "channel", "reference"]


def typed_parquet(rng: np.random.Generator) -> bytes:
    """A Parquet file whose columns take random Arrow types (strings, numbers, timestamps with
    and without zone, dates, booleans, lists, binary, all-null), some dropped or duplicated."""
    n = int(rng.integers(0, 5))
    kinds = {
        "text": lambda: pa.array(
            [rng.choice(["T1", "A1", "100", "USD", "wire", "", "2024-01-05"]) for _ in range(n)]
        ),
        "int": lambda: pa.array(rng.integers(-(2**62), 2**62, size=n), pa.int64()),
        "float": lambda: pa.array(rng.choice([0.0, -1.0, 1e308, np.inf, np.nan, 5.5], size=n)),
        "ts": lambda: pa.array(rng.integers(0, 2**50, size=n), pa.timestamp("us")),
        "ts_tz": lambda: pa.array(
            rng.integers(-(2**40), 2**55, size=n), pa.timestamp("us", tz="Asia/Kolkata")
        ),
        "date": lambda: pa.array(rng.integers(-20_000, 20_000, size=n).astype("int32"), pa.date32()),
        "bool": lambda: pa.array(rng.random(n) < 0.5),
        "list": lambda: pa.array([["a", "b"]] * n),
        "binary": lambda: pa.array([b"\xff\xfe"] * n, pa.binary()),
        "null": lambda: pa.nulls(n, pa.string()),
    }
    names = [c for c in COLUMNS if rng.random() > 0.1]
    columns = {name: kinds[str(rng.choice(list(kinds)))]() for name in names}
    sink = io.BytesIO()
    pq.write_table(pa.table(columns) if columns else pa.table({"x": pa.nulls(n)}), sink)
    return sink.getvalue()


def check_case(work: Path, name: str, fmt: str, data: bytes) -> str:
    """Ingest ``data`` as ``name`` into a fresh lake; return the outcome's kind."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    path = work / name
    path.write_bytes(data)
    lake = work / "lake"
    try:
        report = ingest(path, fmt, lake, CURRENCY)
    except IngestError as exc:
        assert str(exc), "an IngestError must say what is wrong"
        assert not lk.read_manifest(lake).height if lake.exists() else True
        return "error"
    assert report.rows_in == report.rows_loaded + report.rows_quarantined, report
    assert lk.scan_transactions(lake).collect().height == report.rows_loaded
    quarantined = lk.scan_quarantine(lake).collect()
    tx_rejects = report.rows_quarantined + report.accounts_quarantined
    assert quarantined.height == tx_rejects, (quarantined, report)
    return "loaded"


def run_fuzz(cases: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    seeds = {
        "canonical-csv": (_lines_to_bytes(CANONICAL), "tx.csv", "canonical"),
        "amlworld-csv": (_lines_to_bytes(AMLWORLD), "HI-Small_Trans.csv", "ibm-amlworld"),
    }
    outcomes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "case"
        for case in range(cases):
            kind = list(seeds)[case % len(seeds)]
            data, name, fmt = seeds[kind]
            mutated = mutate(data, rng)
            if case % 10 == 4:  # a Parquet file with random column types
                mutated, name, fmt = typed_parquet(rng), "tx.parquet", "canonical"
            elif case % 10 == 9:  # the same mutated rows as a Parquet file, when they still parse
                try:
                    mutated, name, fmt = _parquet_bytes(mutated), "tx.parquet", "canonical"
                except Exception:
                    mutated = truncate(_parquet_bytes(_lines_to_bytes(CANONICAL)), rng)
                    name, fmt = "tx.parquet", "canonical"
            try:
                outcome = check_case(work, name, fmt, mutated)
            except AssertionError:
                raise
            except Exception as exc:  # anything else is a traceback escaping ingest
                raise AssertionError(
                    f"case {case} ({kind}, {fmt}) raised {exc!r} on {mutated[:300]!r}"
                ) from exc
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def test_fuzz_ingest_default_tier() -> None:
    outcomes = run_fuzz(100, seed=8)
    assert outcomes.get("loaded", 0) > 20 and outcomes.get("error", 0) > 0, outcomes


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fuzz_ingest_thousands(seed: int) -> None:
    outcomes = run_fuzz(1500, seed=1000 + seed)
    assert sum(outcomes.values()) == 1500


def test_mutations_change_the_input() -> None:
    rng = np.random.default_rng(0)
    data = _lines_to_bytes(CANONICAL)
    assert all(mutation(data, rng) != data for mutation in (swap_columns, bad_encoding, duplicate_rows))
