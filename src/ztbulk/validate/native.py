"""The product path: the native core parses and judges each chunk in one pass.

`native_chunks` feeds the file's chunks (`parse.chunks`, the same byte loop as the
reference reader: carry of open quoted records, too-long lines cut short) to
`ztbulk._core.Engine`, which returns each chunk's valid and failing rows as Arrow buffers.
They are wrapped without copying (`pyarrow.Array.from_buffers`; strings are Arrow string
views into the chunk's own bytes) and handed on as the frames `validate_chunk` returns, so
the stages after it (rendering, staging, duplicates, resolve) are the same for both engines.
A failing row comes with its message, written by the core from the catalogue's templates.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from ztbulk import _core
from ztbulk.codes import ROW_CODES, Category
from ztbulk.domain import Actor, Mode
from ztbulk.errors import InternalError
from ztbulk.i18n import SOURCE
from ztbulk.parse.chunks import chunks
from ztbulk.parse.config import ParseConfig
from ztbulk.parse.header import Header
from ztbulk.parse.reader import field_names
from ztbulk.validate.rules import Rules
from ztbulk.wording import BLANK, template_pieces, word


@dataclass(frozen=True)
class NativeBatch:
    failing: pl.DataFrame  # as validate_chunk's: line, mask, raw, f*, canonical values
    valid: pl.DataFrame  # line, f* (when asked for), h, target, checked, start, len
    blank: int
    bytes_read: int


def engine_for(
    header: Header, rules: Rules, config: ParseConfig, *, values: bool = True, lang: str = SOURCE
) -> _core.Engine:
    """The core for this file, writing failing rows' messages in `lang`."""
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
        # Only section 3's codes are found in a chunk; their order is the messages' order.
        messages=[
            (c.bit, template_pieces(c, lang)) for c in ROW_CODES if c.info.category is Category.ROW
        ],
        blank=word(BLANK, lang),
        valid_values=values,
    )


# Bytes of string views a chunk may need at most: every non-blank line (2 bytes or more) is
# a record of `width` 16-byte views, so chunks of a very wide header shrink to keep a file of
# short lines under it (a 10,000-column header reads 3.3 KiB chunks; 7 columns, 4.8 MB).
VIEW_BUDGET = 256 * 1024 * 1024


def native_chunks(
    path: Path, header: Header, rules: Rules, config: ParseConfig, *, values: bool = True,
    lang: str = SOURCE,
) -> Iterator[NativeBatch]:  # fmt: skip
    """Each chunk's rows; valid rows carry their values (f*) only when `values`, and always
    their place in the stream (`start`, `len`); failing rows their message in `lang`."""
    chunk = max(1024, min(config.chunk_bytes, VIEW_BUDGET * 2 // (16 * max(header.width, 1))))
    config = dataclasses.replace(config, chunk_bytes=chunk)
    engine = engine_for(header, rules, config, values=values, lang=lang)
    names = field_names(header.width)

    def parse(
        buf: bytes, first_line: int, final: bool, base: int
    ) -> tuple[dict[str, Any], int, int]:
        out = engine.process(buf, first_line, final, base)
        out["chunk"] = buf  # the views point into it: kept alive by the Arrow buffers
        return out, int(out["lines"]), int(out["bytes"])

    for out, offset in chunks(path, header, config, parse):
        buffers = [pa.py_buffer(out["chunk"]), *(pa.py_buffer(s) for s in out["sides"])]
        failing = _failing(out["failing"], names, buffers)
        valid = _valid(out["valid"], names if values else [], buffers)
        yield NativeBatch(failing, valid, int(out["blank"]), offset)


class ReadBack:
    """The values of some valid rows, read again from the stream at their places and parsed
    by the core (a valid record parses alike on its own). `check` stages no values: only
    the duplicates' rows need theirs."""

    def __init__(self, stream: Path, header: Header, rules: Rules, config: ParseConfig) -> None:
        self.stream, self.header = stream, header
        self.engine = engine_for(header, rules, config)  # valid rows only: no message is written
        self.eol = b"\r\n" if header.crlf else b"\n"

    def __call__(self, rows: pl.DataFrame) -> pl.DataFrame:
        """rows: line, start, len, in line order -> line and f*, in the same order."""
        names = field_names(self.header.width)
        if not rows.height:
            return pl.DataFrame(schema={"line": pl.Int64, **dict.fromkeys(names, pl.String)})
        fd = os.open(self.stream, os.O_RDONLY | os.O_CLOEXEC)
        try:  # one unbuffered read a record: a buffered file reads 8 KiB after every seek
            places = zip(rows["start"].to_list(), rows["len"].to_list(), strict=True)
            records = [os.pread(fd, n, start) for start, n in places]
        finally:
            os.close(fd)
        buf = self.eol.join(records) + self.eol
        out = self.engine.process(buf, 1, True)
        buffers = [pa.py_buffer(buf), *(pa.py_buffer(s) for s in out["sides"])]
        valid = _valid(out["valid"], names, buffers)
        if valid.height != rows.height:  # the stream is not what was read: never guess
            raise InternalError(
                f"{rows.height} rows were read back from {self.stream.name}, {valid.height} parsed."
            )
        return valid.select(names).with_columns(rows["line"]).select("line", *names)


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
        _numbers(pa.uint64(), part["start"], n),
        _numbers(pa.uint32(), part["len"], n),
    ]
    columns = ["line", *names, "h", "target", "checked", "start", "len"]
    return pa.Table.from_arrays(arrays, names=columns)


def _failing_part(part: dict[str, Any], names: list[str], buffers: list[pa.Buffer]) -> pa.Table:
    n = int(part["n"])
    fields = [_strings(col, n, buffers) for col in part["fields"]]
    offsets, text = pa.py_buffer(part["message_offsets"]), pa.py_buffer(part["message_text"])
    arrays = [
        _numbers(pa.int64(), part["line"], n),
        _numbers(pa.uint64(), part["mask"], n),
        _strings(part["raw"], n, buffers),
        *fields,
        pa.Array.from_buffers(pa.string(), n, [None, offsets, text], null_count=0),
    ]
    return pa.Table.from_arrays(arrays, names=["line", "mask", "raw", *names, "message"])


def _valid(parts: list[dict[str, Any]], names: list[str], buffers: list[pa.Buffer]) -> pl.DataFrame:
    return _frame([_valid_part(p, names, buffers) for p in parts])


def _failing(
    parts: list[dict[str, Any]], names: list[str], buffers: list[pa.Buffer]
) -> pl.DataFrame:
    """line, mask, raw, f* and the message the core wrote."""
    return _frame([_failing_part(p, names, buffers) for p in parts])


def _frame(parts: list[pa.Table]) -> pl.DataFrame:
    """The parts as one frame of chunked columns (concatenated without copying)."""
    frame = pl.from_arrow(pa.concat_tables(parts))
    assert isinstance(frame, pl.DataFrame)
    return frame
