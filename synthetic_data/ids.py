"""Fast fixed-width string columns (ids, hashes) built straight into Arrow buffers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_DEC_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint16)
_HEX_PAIRS = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), dtype=np.uint16)


def _from_matrix(buf: np.ndarray) -> pa.StringArray:
    n, width = buf.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(buf)))


def decimal_ids(prefix: str, values: np.ndarray, width: int) -> pa.StringArray:
    """``prefix`` followed by ``values`` zero-padded to ``width`` digits (values < 10**width)."""
    p = prefix.encode()
    n = len(values)
    buf = np.empty((n, len(p) + width), dtype=np.uint8)
    buf[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    v = np.asarray(values, dtype=np.uint64)
    pos = len(p) + width
    while pos - 2 >= len(p):
        v, r = np.divmod(v, np.uint64(100))
        buf[:, pos - 2 : pos] = _DEC_PAIRS[r].view(np.uint8).reshape(n, 2)
        pos -= 2
    if pos > len(p):
        buf[:, len(p)] = (v % np.uint64(10)).astype(np.uint8) + 48
    return _from_matrix(buf)


def sequential_ids(prefix: str, n: int, width: int, start: int = 0) -> pa.StringArray:
    """``prefix`` + ``start+1 .. start+n`` zero-padded to ``width`` digits (rounded up to even),
    built from repeated digit-pair runs instead of per-row division."""
    p = prefix.encode()
    width += width % 2
    buf = np.empty((n, len(p) + width), dtype=np.uint8)
    buf[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    for k in range(width // 2):  # pair k holds the 100**k place, counted from the right
        block = 100**k
        first, last = start + 1, start + n
        q = np.arange(first // block, last // block + 1, dtype=np.int64)
        lengths = np.minimum(last, (q + 1) * block - 1) - np.maximum(first, q * block) + 1
        col = np.repeat(_DEC_PAIRS[q % 100], np.maximum(lengths, 0))
        pos = len(p) + width - 2 * (k + 1)
        if len(p) % 2 == 0:  # aligned: one 2-byte store per row
            buf.view(np.uint16)[:, pos // 2] = col
        else:
            buf[:, pos : pos + 2] = col.view(np.uint8).reshape(n, 2)
    return _from_matrix(buf)


def splitmix64(values: np.ndarray, salt: int) -> np.ndarray:
    """A stateless 64-bit mix of integer keys (so equal keys give equal hashes)."""
    with np.errstate(over="ignore"):
        z = np.asarray(values, dtype=np.uint64) + np.uint64((0x9E3779B97F4A7C15 * (salt + 1)) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hex_ids(prefix: str, keys: np.ndarray, salt: int) -> pa.StringArray:
    """``prefix`` + 16 hex digits of a salted hash of each integer key."""
    p = prefix.encode()
    n = len(keys)
    h = splitmix64(keys, salt).astype(">u8")  # big-endian so the text reads as the number
    buf = np.empty((n, len(p) + 16), dtype=np.uint8)
    buf[:, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    buf[:, len(p) :] = _HEX_PAIRS[h.view(np.uint8).reshape(n, 8)].view(np.uint8).reshape(n, 16)
    return _from_matrix(buf)


def take_strings(vocab: list[str] | tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings ``vocab[code]``; negative codes become nulls."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(list(vocab), type=pa.string()).take(idx)
