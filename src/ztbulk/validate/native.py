"""The product path: the native core parses and judges each chunk in one pass.

`native_batches` feeds the file's chunks (`parse.reader.chunks`, the same byte loop as the
reference reader: carry of open quoted records, too-long lines cut short) to
`ztbulk._core.Engine`, which returns each chunk's valid and failing rows as Arrow buffers.
They are wrapped without copying (`pyarrow.Array.from_buffers`; strings are Arrow string
views into the chunk's own bytes) and handed on as the frames `validate_batch` returns, so
the stages after it (rendering, staging, duplicates, resolve) are the same for both engines.
Only failing rows get a Polars expression (their canonical values, for the messages).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from ztbulk import _core
from ztbulk.codes import ROW_CODES
from ztbulk.domain import CANONICAL_COLUMNS, Actor, Mode
from ztbulk.parse.config import ParseConfig
from ztbulk.parse.header import Header
from ztbulk.parse.reader import chunks, field_names
from ztbulk.validate.rules import Rules, canonical_values


@dataclass(frozen=True)
class NativeBatch:
    failing: pl.DataFrame  # as validate_batch's: line, mask, raw, f*, canonical values
    valid: pl.DataFrame  # line, f*, h, target, checked
    blank: int
    bytes_read: int


def engine_for(header: Header, rules: Rules, config: ParseConfig) -> _core.Engine:
    return _core.Engine(
        delimiter=header.delimiter,
        width=header.width,
        crlf=header.crlf,
        max_lines=config.max_record_lines,
        max_bytes=config.max_record_bytes,
        columns=rules.columns,
        profileid_mode=rules.mode is Mode.PROFILEID,
        customer=rules.actor is Actor.CUSTOMER,
        manufacturers=rules.catalog.manufacturer_keys.to_list(),
        pairs=rules.catalog.pair_keys.to_list(),
        bits={code.value: code.bit for code in ROW_CODES},
    )


# Bytes of string views a chunk may need at most: every non-blank line (2 bytes or more) is
# a record of `width` 16-byte views, so chunks of a very wide header shrink to keep a file of
# short lines under it (a 10,000-column header reads 3.3 KiB chunks; 7 columns, 4.8 MB).
VIEW_BUDGET = 256 * 1024 * 1024


def native_batches(
    path: Path, header: Header, rules: Rules, config: ParseConfig
) -> Iterator[NativeBatch]:
    chunk = max(1024, min(config.chunk_bytes, VIEW_BUDGET * 2 // (16 * max(header.width, 1))))
    config = dataclasses.replace(config, chunk_bytes=chunk)
    engine = engine_for(header, rules, config)
    names = field_names(header.width)

    def parse(buf: bytes, first_line: int, final: bool) -> tuple[dict[str, Any], int, int]:
        out = engine.process(buf, first_line, final)
        out["chunk"] = buf  # the views point into it: kept alive by the Arrow buffers
        return out, int(out["lines"]), int(out["bytes"])

    for out, offset in chunks(path, header, config, parse):
        buffers = [pa.py_buffer(out["chunk"]), *(pa.py_buffer(s) for s in out["sides"])]
        failing = _failing(out["failing"], names, buffers, rules)
        yield NativeBatch(failing, _valid(out["valid"], names, buffers), int(out["blank"]), offset)


def _strings(column: tuple[Any, Any, int], n: int, buffers: list[pa.Buffer]) -> pa.Array:
    views, validity, nulls = column
    bitmap = pa.py_buffer(validity) if nulls else None
    return pa.Array.from_buffers(
        pa.string_view(), n, [bitmap, pa.py_buffer(views), *buffers], null_count=nulls
    )


def _numbers(
    kind: pa.DataType, data: Any, n: int, validity: Any = None, nulls: int = 0
) -> pa.Array:
    bitmap = pa.py_buffer(validity) if nulls else None
    return pa.Array.from_buffers(kind, n, [bitmap, pa.py_buffer(data)], null_count=nulls)


def _valid_part(part: dict[str, Any], names: list[str], buffers: list[pa.Buffer]) -> pa.Table:
    n = int(part["n"])
    validity, nulls = part["target_valid"]
    fields = [_strings(col, n, buffers) for col in part["fields"]]
    arrays = [
        _numbers(pa.int64(), part["line"], n),
        *fields,
        _numbers(pa.uint64(), part["hash"], n),
        _numbers(pa.int64(), part["target"], n, validity, int(nulls)),
        _numbers(pa.bool_(), part["checked"], n),
    ]
    return pa.Table.from_arrays(arrays, names=["line", *names, "h", "target", "checked"])


def _failing_part(part: dict[str, Any], names: list[str], buffers: list[pa.Buffer]) -> pa.Table:
    n = int(part["n"])
    fields = [_strings(col, n, buffers) for col in part["fields"]]
    arrays = [
        _numbers(pa.int64(), part["line"], n),
        _numbers(pa.uint64(), part["mask"], n),
        _strings(part["raw"], n, buffers),
        *fields,
    ]
    return pa.Table.from_arrays(arrays, names=["line", "mask", "raw", *names])


def _valid(parts: list[dict[str, Any]], names: list[str], buffers: list[pa.Buffer]) -> pl.DataFrame:
    return _frame([_valid_part(p, names, buffers) for p in parts])


def _failing(
    parts: list[dict[str, Any]], names: list[str], buffers: list[pa.Buffer], rules: Rules
) -> pl.DataFrame:
    frame = _frame([_failing_part(p, names, buffers) for p in parts])
    return frame.with_columns(canonical_values(rules.columns)).select(
        "line", "mask", "raw", *names, *CANONICAL_COLUMNS
    )


def _frame(parts: list[pa.Table]) -> pl.DataFrame:
    """The parts as one frame of chunked columns (concatenated without copying)."""
    frame = pl.from_arrow(pa.concat_tables(parts))
    assert isinstance(frame, pl.DataFrame)
    return frame
