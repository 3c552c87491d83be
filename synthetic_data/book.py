"""Columnar builders the generator appends to: accounts, transactions and labels.

Accounts and transactions are kept as integer codes (account index, channel code, region code,
...) in chunks of numpy arrays; :mod:`synthetic_data.writer` turns them into Arrow tables once.
Account index ``-1`` stands for :data:`moneytrail.schemas.CASH_ACCOUNT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthetic_data import world as w

CASH = -1
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000

ACCOUNT_COLUMNS = (
    "kind",
    "sector",
    "country",
    "region",
    "opened_at",
    "income",
    "is_pep",
    "customer",
    "phone",
    "address",
    "device",
    "first",
    "last",
    "suffix",
)
TX_COLUMNS = (
    "src",
    "dst",
    "ts",
    "amount",
    "orig_amount",
    "currency",
    "channel",
    "region",
    "reference",
    "instance",
)
_TX_DTYPES = {
    "src": np.int32,
    "dst": np.int32,
    "ts": np.int64,
    "amount": np.float64,
    "orig_amount": np.float64,
    "currency": np.int8,
    "channel": np.int8,
    "region": np.int16,
    "reference": np.int16,
    "instance": np.int32,
}


def _concat(chunks: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(chunks).astype(dtype, copy=False) if chunks else np.empty(0, dtype)


@dataclass
class AccountBook:
    """All accounts, appended in chunks; indices are positions in the final table."""

    chunks: dict[str, list[np.ndarray]] = field(default_factory=lambda: {c: [] for c in ACCOUNT_COLUMNS})
    size: int = 0
    next_key: int = 0
    pools: dict[str, np.ndarray] = field(default_factory=dict)
    cursors: dict[str, int] = field(default_factory=dict)

    def keys(self, n: int) -> np.ndarray:
        """``n`` fresh identifier keys (phone/address/device/customer)."""
        out = np.arange(self.next_key, self.next_key + n, dtype=np.int64)
        self.next_key += n
        return out

    def add(self, n: int, **columns: np.ndarray | int | float | bool) -> np.ndarray:
        """Append ``n`` accounts; scalars broadcast; missing identifiers get fresh unique keys."""
        for key in ("customer", "phone", "address", "device"):
            if key not in columns:
                columns[key] = self.keys(n)
        defaults = {"first": -1, "suffix": -1, "is_pep": False, "region": -1}
        for name in ACCOUNT_COLUMNS:
            value = columns.get(name, defaults.get(name))
            if value is None:
                raise KeyError(f"account column {name!r} missing")
            self.chunks[name].append(np.full(n, value) if np.ndim(value) == 0 else np.asarray(value))
        idx = np.arange(self.size, self.size + n, dtype=np.int32)
        self.size += n
        return idx

    def column(self, name: str) -> np.ndarray:
        """The whole column so far (concatenated)."""
        arr = np.concatenate(self.chunks[name]) if self.chunks[name] else np.empty(0)
        self.chunks[name] = [arr]
        return arr

    def set_pool(self, name: str, indices: np.ndarray, rng: np.random.Generator) -> None:
        """Register a shuffled pool of existing accounts typologies may reuse."""
        self.pools[name] = rng.permutation(np.asarray(indices, dtype=np.int32))
        self.cursors[name] = 0

    def take(self, pool: str, n: int) -> np.ndarray:
        """Up to ``n`` not-yet-used accounts from ``pool`` (each is handed out once)."""
        start = self.cursors.get(pool, 0)
        got = self.pools.get(pool, np.empty(0, np.int32))[start : start + n]
        self.cursors[pool] = start + len(got)
        return got


@dataclass
class TxLog:
    """Transactions in chunks of parallel arrays."""

    chunks: dict[str, list[np.ndarray]] = field(default_factory=lambda: {c: [] for c in TX_COLUMNS})
    size: int = 0

    def add(
        self,
        src: np.ndarray | int,
        dst: np.ndarray | int,
        ts: np.ndarray,
        amount: np.ndarray,
        channel: np.ndarray | int,
        *,
        region: np.ndarray | int = -1,
        currency: np.ndarray | int = w.USD,
        orig_amount: np.ndarray | None = None,
        reference: np.ndarray | int = -1,
        instance: np.ndarray | int = -1,
    ) -> None:
        """Append transactions; scalars broadcast to the length of ``ts``."""
        n = len(ts)
        if n == 0:
            return
        amount = np.round(np.broadcast_to(np.asarray(amount, dtype=np.float64), (n,)), 2)
        if orig_amount is None:
            orig_amount = amount
        values = {
            "src": src,
            "dst": dst,
            "ts": ts,
            "amount": amount,
            "orig_amount": orig_amount,
            "currency": currency,
            "channel": channel,
            "region": region,
            "reference": reference,
            "instance": instance,
        }
        for name, value in values.items():
            self.chunks[name].append(value if np.ndim(value) else (value, n))
        self.size += n

    def confine(self, start_us: int, end_us: int) -> None:
        """Keep everything inside [start, end): planted instances that spill over the end are
        moved earlier as a whole (their shape is kept); ordinary rows past the end are dropped."""
        cols = self.columns()
        ts, inst = cols["ts"], cols["instance"]
        planted = inst >= 0
        if planted.any():
            n_inst = int(inst.max()) + 1
            first = np.full(n_inst, np.iinfo(np.int64).max)
            last = np.full(n_inst, np.iinfo(np.int64).min)
            np.minimum.at(first, inst[planted], ts[planted])
            np.maximum.at(last, inst[planted], ts[planted])
            shift = np.clip(last - (end_us - 1), 0, np.maximum(first - start_us, 0))
            ts[planted] -= shift[inst[planted]]
        keep = planted | (ts < end_us)
        for name in TX_COLUMNS:
            self.chunks[name] = [cols[name][keep]]
        self.size = int(keep.sum())

    def columns(self) -> dict[str, np.ndarray]:
        """Every column as one array (scalars expanded)."""
        out = {}
        for name in TX_COLUMNS:
            dtype = _TX_DTYPES[name]
            parts = [
                np.full(c[1], c[0], dtype) if isinstance(c, tuple) else np.asarray(c, dtype)
                for c in self.chunks[name]
            ]
            out[name] = _concat(parts, dtype)
            self.chunks[name] = []
        return out


@dataclass
class LabelLog:
    """Planted instances, their accounts with roles, and benign behaviours."""

    typologies: list[str] = field(default_factory=list)
    role_chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    benign_chunks: list[tuple[np.ndarray, str, np.ndarray]] = field(default_factory=list)
    n_behaviours: int = 0

    def new_instance(self, typology: str) -> int:
        self.typologies.append(typology)
        return len(self.typologies) - 1

    def roles(self, instance: int, accounts: np.ndarray, role: str) -> None:
        accounts = np.unique(np.asarray(accounts, dtype=np.int32))
        accounts = accounts[accounts >= 0]
        self.role_chunks.append(
            (np.full(len(accounts), instance, np.int32), accounts, np.full(len(accounts), role))
        )

    def benign(self, behaviour: str, accounts: np.ndarray, group: np.ndarray | None = None) -> None:
        """Label ``accounts`` with ``behaviour``; rows with equal ``group`` share a behaviour id."""
        accounts = np.asarray(accounts, dtype=np.int32)
        if group is None:
            group = np.arange(len(accounts))
        _, gid = np.unique(group, return_inverse=True)
        self.benign_chunks.append((gid.astype(np.int64) + self.n_behaviours, behaviour, accounts))
        self.n_behaviours += int(gid.max()) + 1 if len(gid) else 0


def day_times(
    rng: np.random.Generator,
    start_us: int,
    days: np.ndarray,
    *,
    hour_mean: float = 13.0,
    hour_sd: float = 3.5,
) -> np.ndarray:
    """Timestamps (µs) on the given day numbers at a business-hours time of day."""
    hours = np.mod(rng.normal(hour_mean, hour_sd, len(days)), 24.0)
    return start_us + np.asarray(days, dtype=np.int64) * US_PER_DAY + (hours * US_PER_HOUR).astype(np.int64)


def round_to(values: np.ndarray, step: float) -> np.ndarray:
    return np.maximum(np.round(np.asarray(values) / step) * step, step)
