"""Turn the columnar builders into schema-conformed Arrow tables and write them atomically."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from moneytrail import schemas
from synthetic_data import world as w
from synthetic_data.book import AccountBook, LabelLog
from synthetic_data.ids import decimal_ids, hex_ids, sequential_ids, take_strings

_TS = pa.timestamp("us", tz="UTC")
#: Columns written with dictionary encoding (few distinct values); the rest are plain.
_DICT_COLUMNS = [
    "src_account",
    "dst_account",
    "orig_currency",
    "channel",
    "src_country",
    "dst_country",
    "region",
    "reference",
    "account_id",
    "instance_id",
    "typology",
    "role",
    "behaviour",
    "kind",
    "sector",
    "country",
]


_WRITE_OPTIONS: dict = {
    "compression": "lz4",
    "use_dictionary": _DICT_COLUMNS,
    "write_statistics": ["timestamp", "start", "end", "opened_at"],
}


def account_ids(n: int, rng: np.random.Generator) -> pa.StringArray:
    """Ids ``A0000001``... assigned in random order, so an id says nothing about when or why an
    account was created; the last entry is ``CASH`` (index -1)."""
    width = max(7, len(str(n)))
    ids = decimal_ids("A", rng.permutation(n) + 1, width)
    return pa.concat_arrays([ids, pa.array([schemas.CASH_ACCOUNT])])


def _names(book: AccountBook, hostile: np.ndarray, payload: np.ndarray) -> pa.Array:
    first = take_strings(w.FIRST_NAMES, book.column("first"))
    last = take_strings(w.LAST_NAMES, book.column("last"))
    suffix = take_strings(w.BUSINESS_SUFFIXES, book.column("suffix"))
    person = pc.binary_join_element_wise(first, last, " ")
    company = pc.binary_join_element_wise(last, suffix, " ")
    name = pc.if_else(pc.is_null(first), company, person)
    return pc.if_else(pa.array(hostile), take_strings(w.HOSTILE_STRINGS, payload), name)


def accounts_table(
    book: AccountBook, ids: pa.Array, rng: np.random.Generator, hostile_share: float
) -> pa.Table:
    n = book.size
    hostile = rng.random(n) < hostile_share
    payload = rng.integers(0, len(w.HOSTILE_STRINGS), n)
    sector = book.column("sector").astype(np.int64)
    cols = {
        "account_id": ids.slice(0, n),
        "customer_id": hex_ids("C", book.column("customer"), 11),
        "name": _names(book, hostile, payload),
        "kind": take_strings(w.KINDS, book.column("kind")),
        "sector": take_strings(w.SECTOR_NAMES, sector),
        "country": take_strings(w.COUNTRIES, book.column("country")),
        "region": take_strings(w.REGIONS, book.column("region")),
        "opened_at": pa.array(book.column("opened_at").astype(np.int64), pa.int64()).cast(_TS),
        "declared_monthly_income": pa.array(book.column("income").astype(np.float64)),
        "is_pep": pa.array(book.column("is_pep").astype(bool)),
        "phone_hash": hex_ids("ph", book.column("phone"), 1),
        "address_hash": hex_ids("ad", book.column("address"), 2),
        "device_hash": hex_ids("dv", book.column("device"), 3),
    }
    return schemas.conform(pa.table(cols), schemas.ACCOUNTS, where="generated accounts")


def tx_id_width(n: int) -> int:
    """Digits of the ``TX`` ids for ``n`` transactions (even, at least 10)."""
    width = max(10, len(str(n)))
    return width + width % 2


def transactions_table(
    cols: dict[str, np.ndarray],
    ids: pa.Array,
    country: np.ndarray,
    references: list[str],
    *,
    lo: int = 0,
    hi: int | None = None,
) -> pa.Table:
    """Rows ``lo:hi`` of the transactions; ``cols`` must already be in output (time) order."""
    n_all = len(cols["ts"])
    hi = n_all if hi is None else hi
    c = {name: values[lo:hi] for name, values in cols.items()}
    src, dst = c["src"], c["dst"]
    cash = len(ids) - 1
    country_ext = np.r_[country, w.US]  # the cash side is at a US branch
    table = pa.table(
        {
            "tx_id": sequential_ids("TX", hi - lo, tx_id_width(n_all), start=lo),
            "timestamp": pa.array(c["ts"], pa.int64()).cast(_TS),
            "src_account": ids.take(pa.array(np.where(src < 0, cash, src))),
            "dst_account": ids.take(pa.array(np.where(dst < 0, cash, dst))),
            "amount": c["amount"],
            "orig_amount": c["orig_amount"],
            "orig_currency": take_strings(w.CURRENCIES, c["currency"]),
            "channel": take_strings(schemas.CHANNELS, c["channel"]),
            "src_country": take_strings(w.COUNTRIES, country_ext[np.where(src < 0, -1, src)]),
            "dst_country": take_strings(w.COUNTRIES, country_ext[np.where(dst < 0, -1, dst)]),
            "region": take_strings(w.REGIONS, c["region"]),
            "reference": take_strings(references, c["reference"]),
        }
    )
    return schemas.conform(table, schemas.TRANSACTIONS, where="generated transactions")


def write_transactions(
    path: Path,
    cols: dict[str, np.ndarray],
    ids: pa.Array,
    country: np.ndarray,
    *,
    references: list[str],
    chunk_rows: int = 1 << 20,
) -> None:
    """Write the transactions in row groups, building the next group while the current one is
    encoded (both run in Arrow's C++ code, so two cores are used)."""
    n = len(cols["ts"])

    def _rows(lo: int, hi: int) -> pa.Table:
        return transactions_table(cols, ids, country, references=references, lo=lo, hi=hi)

    bounds = [(lo, min(lo + chunk_rows, n)) for lo in range(0, max(n, 1), chunk_rows)]
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        pq.ParquetWriter(path, schemas.TRANSACTIONS, **_WRITE_OPTIONS) as writer,
    ):
        pending = pool.submit(_rows, *bounds[0])
        for nxt in [*bounds[1:], None]:
            table = pending.result()
            if nxt is not None:
                pending = pool.submit(_rows, *nxt)
            writer.write_table(table, row_group_size=chunk_rows)


def label_tables(
    labels: LabelLog, ids: pa.Array, instance: np.ndarray, ts: np.ndarray
) -> dict[str, pa.Table]:
    n_inst = len(labels.typologies)
    inst_ids = decimal_ids("I", np.arange(1, n_inst + 1), 6)
    start = np.full(n_inst, np.iinfo(np.int64).max)
    end = np.full(n_inst, np.iinfo(np.int64).min)
    rows = np.flatnonzero(instance >= 0)
    np.minimum.at(start, instance[rows], ts[rows])
    np.maximum.at(end, instance[rows], ts[rows])
    empty = start > end
    instances = pa.table(
        {
            "instance_id": inst_ids,
            "typology": pa.array(labels.typologies, pa.string()),
            "start": pa.array(start, pa.int64(), mask=empty).cast(_TS),
            "end": pa.array(end, pa.int64(), mask=empty).cast(_TS),
        }
    )
    if labels.role_chunks:
        inst = np.concatenate([c[0] for c in labels.role_chunks])
        acc = np.concatenate([c[1] for c in labels.role_chunks])
        role = np.concatenate([c[2] for c in labels.role_chunks])
    else:
        inst, acc, role = np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, str)
    roles = pa.table(
        {
            "instance_id": inst_ids.take(pa.array(inst)),
            "account_id": ids.take(pa.array(acc)),
            "role": pa.array(role.astype(str), pa.string()),
        }
    )
    label_tx = pa.table(
        {
            "tx_id": decimal_ids("TX", rows + 1, tx_id_width(len(ts))),
            "instance_id": inst_ids.take(pa.array(instance[rows])),
        }
    )
    b_id = [c[0] for c in labels.benign_chunks]
    b_name = [np.full(len(c[2]), c[1]) for c in labels.benign_chunks]
    b_acc = [c[2] for c in labels.benign_chunks]
    benign = pa.table(
        {
            "behaviour_id": decimal_ids("B", np.concatenate(b_id or [np.empty(0, np.int64)]) + 1, 7),
            "behaviour": pa.array(np.concatenate(b_name or [np.empty(0, str)]).astype(str), pa.string()),
            "account_id": ids.take(pa.array(np.concatenate(b_acc or [np.empty(0, np.int32)]))),
        }
    )
    raw = {
        "instances": instances,
        "instance_accounts": roles,
        "transactions": label_tx,
        "benign_behaviours": benign,
    }
    return {
        name: schemas.conform(raw[name], schema, where=f"labels/{name}")
        for name, schema in schemas.LABEL_TABLES.items()
    }


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, row_group_size=1 << 20, **_WRITE_OPTIONS)


def write_atomically(out: Path, tables: dict[str, pa.Table | Callable[[Path], None]]) -> None:
    """Write ``{relative path: table or writer function}`` into a temporary sibling folder, then
    swap it into ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for rel, table in tables.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(table, pa.Table):
                write_parquet(table, path)
            else:
                table(path)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
