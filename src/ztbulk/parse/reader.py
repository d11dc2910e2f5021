"""Stream data records out of the UTF-8 byte stream, one frame per chunk, with line numbers.

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ztbulk.parse.chunks import chunks
from ztbulk.parse.config import ParseConfig
from ztbulk.parse.header import Header
from ztbulk.parse.quoted import BLANK, MALFORMED, RECORD, QuotedLines, class_char

_LINE_SEPARATOR = "\x1f"  # a byte never expected in CSV text; a chunk holding it reads slowly


def field_names(width: int) -> list[str]:
    """Raw field columns are positional (`f0`, `f1`, ...): header names may repeat or be empty."""
    return [f"f{i}" for i in range(width)]


@dataclass
class RawChunk:
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

    def __iter__(self) -> Iterator[RawChunk]:
        for (frame, blank), offset in chunks(self.path, self.header, self.config, self._parse):
            yield RawChunk(frame, blank, offset)

    def _parse(
        self, buf: bytes, first_line: int, final: bool, base: int
    ) -> tuple[tuple[pl.DataFrame, int], int, int]:
        frame, used_lines, used_bytes = _Chunk(buf, first_line, self, final).parse()
        return (frame, int((frame["kind"] == BLANK).sum())), used_lines, used_bytes


class _Chunk(QuotedLines):
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
                blank=lines.str.contains(f"^[ \\t{class_char(self.delim)}]*$"),
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
