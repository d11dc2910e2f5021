"""Stream data records out of the UTF-8 byte stream, one batch per chunk, with line numbers.

How a chunk is read, and why:
- Polars reads the chunk as *physical lines* (one string column, quoting off). That is its
  fastest path, keeps empty lines as rows, so row i is exactly line `first_line + i`.
- Lines without a quote, a NUL or a bad byte (nearly all of them) are split on the delimiter
  with vectorised string expressions; a field count other than the header's is ROW_MALFORMED.
- The few "special" lines go through Python's `csv` module, which knows RFC 4180 quoting and
  joins quoted fields that span lines. A quote that does not close within
  `max_record_lines` (or a closing quote followed by text) spoils only the line it starts on;
  the lines after it are read again as records of their own, so no good row is lost.
- A quoted record still open at the end of a chunk is carried into the next chunk.
- A physical line longer than `max_record_bytes` is ROW_TOO_LONG and never read: the reader
  keeps only its first `max_record_bytes + 1` bytes (enough to tell it is too long) and skips
  the rest up to its line end, so memory stays bounded whatever the line lengths. Such a line
  also ends a quoted record still open before it (that record is then broken). A multi-line
  record whose lines add up to more than the limit is ROW_TOO_LONG too.
"""

from __future__ import annotations

import codecs
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ztbulk.codes import Code, mask_of
from ztbulk.parse.chunks import chunks
from ztbulk.parse.config import ParseConfig
from ztbulk.parse.header import Header

MALFORMED = mask_of(Code.ROW_MALFORMED)
BAD_ENCODING = mask_of(Code.FIELD_ENCODING)
TOO_LONG = mask_of(Code.ROW_TOO_LONG)
_LINE_SEPARATOR = "\x1f"  # a byte never expected in CSV text; a chunk holding it reads slowly


# The record byte limit decides how long a value may be, not the csv module's own field limit
# (131,072 characters), which would make a long quoted value ROW_MALFORMED.
csv.field_size_limit(sys.maxsize)


def field_names(width: int) -> list[str]:
    """Raw field columns are positional (`f0`, `f1`, ...): header names may repeat or be empty."""
    return [f"f{i}" for i in range(width)]


RECORD, BLANK, NOT_A_RECORD = 0, 1, 2  # values of the `kind` column


@dataclass
class RawBatch:
    """Every physical line of one chunk, in order.

    `frame` columns: `line` (Int64), `kind` (UInt8: RECORD, BLANK, or NOT_A_RECORD for the
    continuation lines of a multi-line record), `parse_mask` (UInt64: ROW_MALFORMED,
    FIELD_ENCODING or 0), `raw` (the record's text when malformed, else null) and `f0..fN`
    (values as written). Keeping every line as a row, instead of filtering, saves copying
    all columns; later stages select `kind == RECORD` once.
    """

    frame: pl.DataFrame
    blank: int  # blank lines and all-blank records (not data rows)
    bytes_read: int  # bytes of the stream consumed so far


class RecordReader:
    def __init__(self, path: Path, header: Header, config: ParseConfig) -> None:
        self.path, self.header, self.config = path, header, config
        self.names = field_names(header.width)

    def __iter__(self) -> Iterator[RawBatch]:
        for (frame, blank), offset in chunks(self.path, self.header, self.config, self._parse):
            yield RawBatch(frame, blank, offset)

    def _parse(
        self, buf: bytes, first_line: int, final: bool, base: int
    ) -> tuple[tuple[pl.DataFrame, int], int, int]:
        frame, used_lines, used_bytes = _Chunk(buf, first_line, self, final).parse()
        return (frame, int((frame["kind"] == BLANK).sum())), used_lines, used_bytes


# One special line's result: (index, kind, parse_mask, raw, values).
_Update = tuple[int, int, int, str | None, list[str | None]]


class _Chunk:
    """One chunk of whole lines (ending with LF unless it is the last)."""

    def __init__(self, data: bytes, first_line: int, reader: RecordReader, final: bool) -> None:
        self.data, self.first_line, self.final = data, first_line, final
        self.delim = reader.header.delimiter
        self.width = reader.header.width
        self.names = reader.names
        self.eol = "\r\n" if reader.header.crlf else "\n"
        self.max_lines = reader.config.max_record_lines
        self.max_bytes = reader.config.max_record_bytes
        self.long: list[int] = []  # lines longer than max_record_bytes (sorted)
        self._raw_lengths: dict[int, int] = {}  # raw byte lengths of lines with invalid bytes
        self.lossy = False  # the chunk holds invalid UTF-8: read it with replacement characters

    def parse(self) -> tuple[pl.DataFrame, int, int]:
        """Return (one row per line used, lines used, bytes used)."""
        lines, bad = self._lines()
        self._lengths = lines.str.len_bytes()
        self.long = self._long_lines(bad)
        specials = sorted(set(self._special_lines(lines, bad)) | set(self.long))
        simple, specials = self._simple_quoted(lines, specials, bad | set(self.long))
        updates, cut, taken = self._parse_special(lines, specials, bad)
        frame = self._parse_plain(lines)
        changed = [self._read_simple(lines, simple, taken), self._update_frame(updates)]
        changed = [part for part in changed if part.height]
        if changed:
            frame = _scatter(frame, pl.concat(changed))
        if cut is None:
            return frame, lines.len(), len(self.data)
        return frame.head(cut), cut, self._offset_of_line(cut, lines.len())

    # -- physical lines ---------------------------------------------------------------

    def _lines(self) -> tuple[pl.Series, set[int]]:
        """The chunk's physical lines (CR of CRLF removed) and the indexes of invalid UTF-8.

        Whether the chunk is valid UTF-8 is decided here, once, for every later Polars read
        of it (`lossy`): deciding it from whether one read failed left the field read strict
        on a chunk that holds invalid bytes but was split in Python (a chunk holding the
        separator byte, or lines Polars counted otherwise), which then crashed with
        "invalid utf-8 sequence"."""
        self.lossy = not _is_utf8(self.data)
        bad = self._invalid_lines() if self.lossy else set()
        expected = self.data.count(b"\n") + (0 if self.data.endswith(b"\n") else 1)
        if _LINE_SEPARATOR.encode() not in self.data:
            lines = self._polars_lines("utf8-lossy" if self.lossy else "utf8")
            if lines.len() == expected:
                return lines, bad
        # Fallback (a chunk holding the separator byte): split in Python.
        text = self.data.decode("utf-8", "replace").split("\n")
        if self.data.endswith(b"\n"):
            text.pop()
        return pl.Series("t", [t.removesuffix("\r") for t in text], pl.String), bad

    def _polars_input(self) -> bytes:
        """The chunk for Polars, which drops a BOM at the start of its input: a chunk that
        starts with one (U+FEFF at the start of a data line) gets an empty line first, which
        the callers slice off again."""
        return b"\n" + self.data if self.data.startswith(codecs.BOM_UTF8) else self.data

    def _from_polars(self, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.slice(1) if self.data.startswith(codecs.BOM_UTF8) else frame

    def _polars_lines(self, encoding: str) -> pl.Series:
        return self._from_polars(
            pl.read_csv(
                self._polars_input(),
                has_header=False,
                separator=_LINE_SEPARATOR,
                quote_char=None,
                schema={"t": pl.String},
                truncate_ragged_lines=True,
                empty_string_is_null=False,
                encoding=encoding,
            )
        ).to_series()

    def _invalid_lines(self) -> set[int]:
        """Indexes of lines holding bytes that are not UTF-8, found by decoding past each error."""
        bad: set[int] = set()
        view = memoryview(self.data)
        pos, line, n = 0, 0, len(self.data)
        while pos < n:
            try:
                str(view[pos:], "utf-8")
                break
            except UnicodeDecodeError as exc:
                err = pos + exc.start
                line += self.data.count(b"\n", pos, err)
                bad.add(line)
                nxt = self.data.find(b"\n", err)
                if nxt < 0:
                    break
                pos, line = nxt + 1, line + 1
        return bad

    # -- lengths ------------------------------------------------------------------------

    def _long_lines(self, bad: set[int]) -> list[int]:
        """Lines whose raw bytes (line end not counted) exceed the record limit. A lossy line
        is never shorter than its raw bytes, so only its candidates need their raw length."""
        if len(self.data) <= self.max_bytes:
            return []
        candidates = (self._lengths > self.max_bytes).arg_true().to_list()
        return [i for i in candidates if self._raw_length(i, bad) > self.max_bytes]

    def _raw_length(self, i: int, bad: set[int]) -> int:
        if i not in bad:
            return int(self._lengths[i])
        if not self._raw_lengths:
            self._measure_bad_lines(bad)
        return self._raw_lengths[i]

    def _measure_bad_lines(self, bad: set[int]) -> None:
        """Raw byte lengths of the lines holding invalid UTF-8 (their text is lossy)."""
        pos, line, data = 0, 0, self.data
        last = max(bad)
        while line <= last:
            end = data.find(b"\n", pos)
            end = len(data) if end < 0 else end
            if line in bad:
                self._raw_lengths[line] = end - pos - (1 if data[pos:end].endswith(b"\r") else 0)
            pos, line = end + 1, line + 1

    def _record_bytes(self, start: int, span: int, bad: set[int]) -> int:
        return sum(self._raw_length(j, bad) for j in range(start, start + span))

    def _special_lines(self, lines: pl.Series, bad: set[int]) -> list[int]:
        if b'"' not in self.data and b"\x00" not in self.data:
            return sorted(bad)
        flagged = lines.str.contains('["\x00]').arg_true()
        return sorted(set(flagged.to_list()) | bad)

    # -- plain lines: vectorised -------------------------------------------------------

    def _parse_plain(self, lines: pl.Series) -> pl.DataFrame:
        """Every line as a record: fields from Polars' own reader (quoting off), field counts
        and blank tests from the lines themselves, so that row i of both is line i."""
        fields = self._polars_fields()
        # With quoting off, a line holds exactly `width` fields when those fields and the
        # delimiters between them make up the whole line (cheaper than counting delimiters).
        lengths = pl.sum_horizontal(pl.col(self.names).str.len_bytes())
        shape = (
            fields.lazy()
            .select(
                malformed=lengths + (self.width - 1) != lines.str.len_bytes(),
                blank=lines.str.contains(f"^[ \\t{_class_char(self.delim)}]*$"),
            )
            .collect()
        )
        malformed = shape["malformed"]
        return pl.select(
            line=pl.int_range(self.first_line, self.first_line + lines.len(), dtype=pl.Int64),
            kind=pl.when(shape["blank"])
            .then(pl.lit(BLANK, pl.UInt8))
            .otherwise(pl.lit(RECORD, pl.UInt8)),
            parse_mask=pl.when(malformed)
            .then(pl.lit(MALFORMED, pl.UInt64))
            .otherwise(pl.lit(0, pl.UInt64)),
            raw=pl.when(malformed).then(lines),
        ).hstack(fields)

    def _polars_fields(self) -> pl.DataFrame:
        return self._from_polars(
            pl.read_csv(
                self._polars_input(),
                has_header=False,
                separator=self.delim,
                quote_char=None,
                schema={name: pl.String for name in field_names(self.width)},
                truncate_ragged_lines=True,
                missing_columns="insert",
                extra_columns="ignore",
                empty_string_is_null=False,
                encoding="utf8-lossy" if self.lossy else "utf8",
            )
        )

    # -- quoted lines that are whole, well-formed records: Polars, in bulk ---------------

    def _simple_quoted(
        self, lines: pl.Series, specials: list[int], bad: set[int]
    ) -> tuple[list[int], list[int]]:
        """Split special lines into (simple, the rest): a simple line is one whole record of
        exactly `width` fields, each unquoted without a quote or quoted as RFC 4180 says, with
        no NUL, CR or bad byte. Polars reads those exactly as the csv module would."""
        if not specials:
            return [], []
        d = _class_char(self.delim)
        field = f'(?:[^"{d}\\x00\\r]*|"(?:[^"\\x00\\r]|"")*")'
        record = f"^{field}(?:{d}{field}){{{self.width - 1}}}$"
        candidates = [i for i in specials if i not in bad]
        # A U+FEFF first in Polars' input would be dropped as a BOM: such lines go to csv.
        shape = lines.gather(candidates).str.contains(record) & ~lines.gather(
            candidates
        ).str.starts_with("\ufeff")
        ok = shape.to_list() if candidates else []
        simple = {i for i, good in zip(candidates, ok, strict=True) if good}
        return sorted(simple), [i for i in specials if i not in simple]

    def _read_simple(self, lines: pl.Series, simple: list[int], taken: set[int]) -> pl.DataFrame:
        """Rows for the simple lines (a line inside a multi-line record read by the csv
        module belongs to that record)."""
        index = [i for i in simple if i not in taken]
        if not index:
            return self._update_frame([])
        text = "\n".join(lines.gather(index).to_list()) + "\n"
        fields = pl.read_csv(
            text.encode(),
            has_header=False,
            separator=self.delim,
            quote_char='"',
            schema={name: pl.String for name in self.names},
            empty_string_is_null=False,
        )
        assert fields.height == len(index), "a simple line read as one record"
        blank = pl.all_horizontal(pl.col(self.names).str.strip_chars(" \t") == "")
        return pl.select(
            index=pl.Series(index, dtype=pl.UInt32),
            kind=pl.when(fields.select(blank).to_series())
            .then(pl.lit(BLANK, pl.UInt8))
            .otherwise(pl.lit(RECORD, pl.UInt8)),
            parse_mask=pl.lit(0, pl.UInt64),
            raw=pl.lit(None, pl.String),
        ).hstack(fields)

    def _update_frame(self, updates: list[_Update]) -> pl.DataFrame:
        """The csv module's rows as a frame shaped like `_read_simple`'s."""
        columns: dict[str, list[object]] = {
            "index": [u[0] for u in updates],
            "kind": [u[1] for u in updates],
            "parse_mask": [u[2] for u in updates],
            "raw": [u[3] for u in updates],
        }
        for pos, name in enumerate(self.names):
            columns[name] = [u[4][pos] if pos < len(u[4]) else None for u in updates]
        schema = {"index": pl.UInt32, "kind": pl.UInt8, "parse_mask": pl.UInt64, "raw": pl.String}
        return pl.DataFrame(columns, schema={**schema, **{n: pl.String for n in self.names}})

    # -- special lines: Python csv ----------------------------------------------------

    def _parse_special(
        self, lines: pl.Series, specials: list[int], bad: set[int]
    ) -> tuple[list[_Update], int | None, set[int]]:
        """Parse special lines into row updates; also return a cut (or None).

        A cut is the index of a line whose quoted record is still open at the chunk's end: the
        chunk stops there and the caller hands those lines to the next chunk. Also return the
        lines the records read here took up.
        """
        updates: list[_Update] = []
        taken: set[int] = set()
        texts = lines.gather(specials).to_list() if specials else []
        long = set(self.long)
        for i, text in zip(specials, texts, strict=True):
            if i in taken:
                continue
            if i in long:
                taken.add(i)
                updates.append((i, RECORD, TOO_LONG, None, []))
                continue
            span, fields = 1, text.split(self.delim)
            if '"' in text:
                status, fields, span = self._read_quoted(lines, i)
                if status == "open":
                    return updates, i, taken
                if status == "broken":
                    fields, span = None, 1
            taken.update(range(i, i + span))
            if span > 1 and self._record_bytes(i, span, bad) > self.max_bytes:
                updates.append((i, RECORD, TOO_LONG, None, []))
                updates.extend((j, NOT_A_RECORD, 0, None, []) for j in range(i + 1, i + span))
                continue
            updates.append(
                self._special_row(i=i, text=text, fields=fields, span=span, bad=bad, lines=lines)
            )
            updates.extend((j, NOT_A_RECORD, 0, None, []) for j in range(i + 1, i + span))
        return updates, None, taken

    def _read_quoted(self, lines: pl.Series, i: int) -> tuple[str, list[str] | None, int]:
        """Read one quoted record from line i: ("ok"|"broken"|"open", fields, lines spanned)."""
        stop = min(lines.len(), i + self.max_lines)
        # A too-long line is never part of a record: a quote still open there is broken.
        stop = min([stop, *(j for j in self.long if j > i)])
        source = _Lines(lines, i, stop, self.eol)
        try:
            fields = next(csv.reader(source, delimiter=self.delim, strict=True))
            return "ok", fields, source.count
        except csv.Error:
            ran_out = source.count >= stop - i and stop == lines.len() and not self.final
            return ("open" if ran_out else "broken"), None, 1
        except StopIteration:
            return "broken", None, 1

    def _special_row(
        self,
        *,
        i: int,
        text: str,
        fields: list[str] | None,
        span: int,
        bad: set[int],
        lines: pl.Series,
    ) -> _Update:
        values: list[str | None]
        if fields is None:  # broken quoting: keep the line's text, split naively for display
            values, mask = list(text.split(self.delim)), MALFORMED
        else:
            if all(not v.strip(" \t") for v in fields):
                return (i, BLANK, 0, None, [])  # a blank record, such as `"","",""`
            values = list(fields)
            mask = MALFORMED if len(values) != self.width else 0
        spoiled = any(j in bad or "\x00" in lines[j] for j in range(i, i + span))
        if mask == 0 and spoiled:
            mask = BAD_ENCODING
        raw = text if mask == MALFORMED else None
        return (i, RECORD, mask, raw, values)

    def _offset_of_line(self, index: int, n_lines: int) -> int:
        """Byte offset where line `index` starts, counted back from the chunk's end."""
        pos = len(self.data) - 1  # the LF ending the last line
        for _ in range(n_lines - index):
            pos = self.data.rfind(b"\n", 0, pos)
        return pos + 1


def _scatter(frame: pl.DataFrame, changed: pl.DataFrame) -> pl.DataFrame:
    """Overwrite the rows of special lines (`changed`, with an `index` column) with what was
    read of them."""
    index = changed["index"]
    new = [
        frame.get_column(name).clone().scatter(index, changed[name]) for name in changed.columns[1:]
    ]
    return frame.with_columns(new)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _class_char(char: str) -> str:
    """`char` written for a regex character class (the delimiter may be a tab or a `|`)."""
    return f"\\x{{{ord(char):x}}}"


class _Lines:
    """Feeds lines i..stop-1 to csv.reader with their line ends, counting what it pulled."""

    def __init__(self, lines: pl.Series, start: int, stop: int, eol: str) -> None:
        self.lines, self.next, self.stop, self.eol = lines, start, stop, eol
        self.count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.next >= self.stop:
            raise StopIteration
        line = self.lines[self.next] + self.eol
        self.next += 1
        self.count += 1
        return str(line)
