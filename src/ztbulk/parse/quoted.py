"""The reference reader's special lines: those with a quote, a NUL or an invalid byte.

Lines that are whole, well-formed quoted records go to Polars in bulk (`_simple_quoted`,
`_read_simple`); the rest go through Python's `csv` module one record at a time
(`_parse_special`), which joins quoted values spanning lines. `QuotedLines` is the part of
`reader._Chunk` that does this; the chunk supplies the attributes declared below.
"""

from __future__ import annotations

import csv
import sys

import polars as pl

from ztbulk.codes import Code, mask_of

MALFORMED = mask_of(Code.ROW_MALFORMED)
BAD_ENCODING = mask_of(Code.FIELD_ENCODING)
TOO_LONG = mask_of(Code.ROW_TOO_LONG)
RECORD, BLANK, NOT_A_RECORD = 0, 1, 2  # values of the `kind` column

# The record byte limit decides how long a value may be, not the csv module's own field limit
# (131,072 characters), which would make a long quoted value ROW_MALFORMED.
csv.field_size_limit(sys.maxsize)

# One special line's result: (index, kind, parse_mask, raw, values).
_Update = tuple[int, int, int, str | None, list[str | None]]


class QuotedLines:
    data: bytes
    delim: str
    width: int
    names: list[str]
    eol: str
    final: bool
    max_lines: int
    max_bytes: int
    long: list[int]

    def _record_bytes(self, start: int, span: int, bad: set[int]) -> int:
        raise NotImplementedError  # the chunk's: raw bytes of lines start..start+span-1

    # -- quoted lines that are whole, well-formed records: Polars, in bulk ---------------

    def _simple_quoted(
        self, lines: pl.Series, specials: list[int], bad: set[int]
    ) -> tuple[list[int], list[int]]:
        """Split special lines into (simple, the rest): a simple line is one whole record of
        exactly `width` fields, each unquoted without a quote or quoted as RFC 4180 says, with
        no NUL, CR or bad byte. Polars reads those exactly as the csv module would."""
        if not specials:
            return [], []
        d = class_char(self.delim)
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


def class_char(char: str) -> str:
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
