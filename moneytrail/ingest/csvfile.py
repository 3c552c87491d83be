"""Read a CSV file as strings, one row per record, with its line number and raw text.

Structural problems are not errors: a record with invalid UTF-8, an unterminated quote or the
wrong number of fields becomes a row with ``_field = "<row>"`` and a ``_reason``, so that the
caller quarantines it. Only whole-file problems raise :class:`IngestError`.

Records are found without a per-row Python loop: a record starts on a line where the running
count of ``"`` characters is even (RFC 4180 quoting), so quoted fields may span lines.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import polars as pl

from moneytrail.ingest.report import IngestError

#: Columns every frame from :func:`read_csv` carries besides the data columns.
META_COLUMNS = ("_file", "_line", "_raw", "_field", "_reason")
ROW_FIELD = "<row>"
_QUOTED = r'"(?:[^"]|"")*"'
_FIELD = rf'(?:{_QUOTED}|[^,"]*)'
#: A record whose quotes all enclose whole fields (RFC 4180).
_WELL_FORMED = rf"^{_FIELD}(?:,{_FIELD})*$"
_BOM = b"\xef\xbb\xbf"


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or an :class:`IngestError` naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise IngestError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise IngestError(f"{path}: is a directory, expected a file") from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def unique_names(header: list[str]) -> list[str]:
    """Header names made unique: the second ``Account`` becomes ``Account#2``."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _parse_header(path: Path, line: str) -> list[str]:
    try:
        frame = pl.read_csv(io.BytesIO(line.encode()), has_header=False, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise IngestError(f"{path}, line 1: cannot parse the header: {exc}") from exc
    return [("" if value is None else str(value)).strip() for value in frame.row(0)]


def _records(lines: pl.DataFrame) -> pl.DataFrame:
    """Group data lines by record key: first line, raw text, quote count, number of lines."""
    return (
        lines.group_by("_key", maintain_order=True)
        .agg(
            pl.col("_line").first(),
            pl.col("text").str.join("\n").alias("_raw"),
            pl.col("_quotes").sum(),
            pl.len().alias("_n"),
        )
        .filter(pl.col("_raw").str.strip_chars() != "")
    )


def _reason(n_names: int, bad_utf8: bool, *, quoted: bool) -> pl.Expr:
    """Why a record cannot be parsed, or null; ``quoted`` says whether it holds quotes at all."""
    raw = pl.col("_raw")
    if quoted:
        n_fields = raw.str.replace_all(_QUOTED, "").str.count_matches(",", literal=True) + 1
    else:
        n_fields = raw.str.count_matches(",", literal=True) + 1
    reason = pl.when(pl.lit(bad_utf8) & raw.str.contains("\ufffd", literal=True)).then(
        pl.lit("invalid UTF-8 bytes (replaced by U+FFFD in raw)")
    )
    if quoted:
        reason = (
            reason.when(pl.col("_quotes") % 2 == 1)
            .then(pl.lit("unterminated or stray quote (truncated line?)"))
            .when(~raw.str.contains(_WELL_FORMED))
            .then(pl.lit("malformed quoting (a quote inside an unquoted field?)"))
        )
    return reason.when(n_fields != n_names).then(
        pl.format(f"expected {n_names} fields, found {{}} (truncated or malformed line)", n_fields)
    )


def read_csv(path: Path, check_header: Callable[[list[str]], None]) -> tuple[list[str], pl.DataFrame]:
    """Read ``path`` as CSV with every column a string.

    Parameters
    ----------
    path : Path
        The CSV file (UTF-8, optional BOM, ``\\n`` or ``\\r\\n`` line ends).
    check_header : callable
        Called with the header names; raises :class:`IngestError` when they are wrong.

    Returns
    -------
    header, rows
        The header as written, and one row per non-blank record: the data columns (named by
        :func:`unique_names`, null when the record is malformed) and ``META_COLUMNS``
        (``_line`` is the record's first line, header = line 1; ``_raw`` its text).
    """
    data = read_bytes(path)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        raise IngestError(f"{path}: empty file (no header line)")
    try:
        text = data.decode("utf-8")
        bad_utf8 = False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        bad_utf8 = True
    lines = pl.read_lines(io.BytesIO(text.encode() if bad_utf8 else data), name="text").with_columns(
        pl.col("text").str.strip_suffix("\r")
    )
    header_line = lines["text"][0]
    if bad_utf8 and "\ufffd" in header_line:
        raise IngestError(f"{path}, line 1: the header is not valid UTF-8")
    header = _parse_header(path, header_line)
    check_header(header)
    names = unique_names(header)

    data_lines = (
        lines.with_row_index("_line", offset=1)
        .slice(1)
        .with_columns(
            pl.col("_line").cast(pl.Int64), _quotes=pl.col("text").str.count_matches('"', literal=True)
        )
        .with_columns(_start=((pl.col("_quotes").cum_sum() - pl.col("_quotes")) % 2) == 0)
        .with_columns(_key=pl.when(pl.col("_start")).then(pl.col("_line")).forward_fill())
    )
    if data_lines["_start"].all():  # no quoted field spans lines: one record per line
        records = data_lines.select(
            "_line", pl.col("text").alias("_raw"), "_quotes", pl.lit(1, pl.UInt32).alias("_n")
        ).filter(pl.col("_raw").str.strip_chars() != "")
    else:
        records = _records(data_lines)
    # A stray quote would swallow the following lines into one record: split such records
    # back into lines, so only the line with the bad quote is lost.
    spread = records.filter((pl.col("_n") > 1) & ~pl.col("_raw").str.contains(_WELL_FORMED))["_line"]
    if spread.len():
        data_lines = data_lines.with_columns(
            _key=pl.when(pl.col("_key").is_in(spread.implode()))
            .then(pl.col("_line"))
            .otherwise(pl.col("_key"))
        )
        records = _records(data_lines)
    plain = records.filter(pl.col("_quotes") == 0)
    quoted = records.filter(pl.col("_quotes") > 0)
    records = pl.concat(
        [
            plain.with_columns(_reason=_reason(len(names), bad_utf8, quoted=False)),
            quoted.with_columns(_reason=_reason(len(names), bad_utf8, quoted=True)),
        ]
    ).with_columns(
        _field=pl.when(pl.col("_reason").is_not_null()).then(pl.lit(ROW_FIELD)),
        _file=pl.lit(str(path)),
    )
    good = records.filter(pl.col("_reason").is_null())
    bad = records.filter(pl.col("_reason").is_not_null())
    schema = dict.fromkeys(names, pl.String)
    if good.height:
        payload = (good["_raw"].str.join("\n").item() + "\n").encode()
        try:
            parsed = pl.read_csv(
                io.BytesIO(payload),
                has_header=False,
                schema=schema,
                quote_char='"',
                empty_string_is_null=False,
                raise_if_empty=False,
            )
        except pl.exceptions.PolarsError as exc:
            raise IngestError(f"{path}: cannot parse as CSV: {exc}") from exc
        if parsed.height != good.height:
            raise IngestError(
                f"{path}: CSV parser found {parsed.height} records where {good.height} were expected"
            )
        good = pl.concat([parsed, good.select(META_COLUMNS)], how="horizontal")
    else:
        good = pl.DataFrame(schema=schema | dict(records.select(META_COLUMNS).schema))
    bad = bad.select(META_COLUMNS).with_columns(pl.lit(None, pl.String).alias(n) for n in names)
    rows = pl.concat([good, bad.select(good.columns)]).sort("_line")
    return header, rows
