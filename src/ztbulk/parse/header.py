"""Read the header record: delimiter, column mapping, mode and every file-level finding."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ztbulk.codes import Code
from ztbulk.domain import CANONICAL_COLUMNS, Actor, Mode, normalize_column
from ztbulk.parse.issues import FileIssue

HEADER_PEEK = 4 * 1024 * 1024  # a header record longer than this is not a zero-touch header
IGNORED_PREFIX = "ztbulk_"
_SNIFF_BYTES = 64 * 1024
_QUOTED = re.compile(
    r'"(?:[^"]|"")*"'
)  # columns ztbulk writes into errors.csv; ignored on the way back in


@dataclass
class Header:
    names: list[str]  # the header cells as written
    delimiter: str
    lines: int  # physical lines the header record spans (usually 1)
    data_offset: int  # byte offset just after the header record
    crlf: bool  # the header line ended with CRLF (used when rebuilding multi-line values)
    columns: dict[str, int] = field(default_factory=dict)  # canonical name -> position
    mode: Mode | None = None
    issues: list[FileIssue] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.names)


def read_header(data: bytes, start: int, actor: Actor, max_header_bytes: int = 64 * 1024) -> Header:
    """Parse the header from the first bytes of the UTF-8 stream (`data`, text from `start`)."""
    text_bytes = data[start : start + HEADER_PEEK]
    first_end = text_bytes.find(b"\n")
    first_line = text_bytes if first_end < 0 else text_bytes[:first_end]
    crlf = first_line.endswith(b"\r")
    first_line = first_line.rstrip(b"\r")
    if len(first_line) > max_header_bytes:
        return _too_long(first_line, start, crlf, max_header_bytes)
    if not first_line.strip():
        return _blank_first_line(text_bytes, start, crlf)
    try:
        first_text = first_line.decode("utf-8")
    except UnicodeDecodeError:
        issue = FileIssue(
            Code.FILE_ENCODING,
            "The header line is not valid UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel).",
        )
        return Header([], ",", 1, start + len(text_bytes), crlf, issues=[issue])
    delimiter = detect_delimiter(_outside_quotes(text_bytes))
    names, lines, consumed = _header_record(text_bytes, first_text, delimiter)
    header = Header(names, delimiter, lines, start + consumed, crlf)
    _map_columns(header, actor)
    return header


def _too_long(first_line: bytes, start: int, crlf: bool, limit: int) -> Header:
    """A header line past the limit is not read (its names would fill the report): the file
    has no data rows, whatever follows."""
    shown = "more than 4 MiB" if len(first_line) >= HEADER_PEEK else f"{len(first_line):,} bytes"
    issue = FileIssue(
        Code.HEADER_TOO_LONG,
        f"Line 1 is {shown} long, over the header limit of {limit:,} bytes; "
        "is line 1 a header? A zero-touch header is one short line of column names.",
    )
    return Header([], ",", 1, start + len(first_line), crlf, issues=[issue])


def detect_delimiter(line: str) -> str:
    """SPEC: `,` unless the header has none but has `;` or a tab (the more frequent wins)."""
    if "," in line:
        return ","
    semis, tabs = line.count(";"), line.count("\t")
    if semis or tabs:
        return ";" if semis >= tabs else "\t"
    return ","


def _outside_quotes(text_bytes: bytes) -> str:
    """The header record's first line with quoted cells removed (a quoted cell may hold a tab,
    a semicolon or a line break, none of which says anything about the delimiter)."""
    text = text_bytes[:_SNIFF_BYTES].decode("utf-8", "replace")
    return _QUOTED.sub("", text).split("\n", 1)[0]


def _blank_first_line(text_bytes: bytes, start: int, crlf: bool) -> Header:
    if not text_bytes.strip():
        issue = FileIssue(Code.FILE_EMPTY, "The file is empty; it needs a header line.")
    else:
        issue = FileIssue(
            Code.HEADER_MISSING_COLUMN,
            "Line 1 is blank; the header must be on line 1, so delete the blank lines above it.",
        )
    return Header([], ",", 1, start + len(text_bytes), crlf, issues=[issue])


def _header_record(
    text_bytes: bytes, first_text: str, delimiter: str
) -> tuple[list[str], int, int]:
    """The header cells, the lines they span and the bytes consumed (quotes may span lines)."""
    raw_lines = text_bytes.split(b"\n")
    if '"' not in first_text:
        names, lines = first_text.split(delimiter), 1
    else:
        texts = (line.decode("utf-8", "replace") + "\n" for line in raw_lines)
        counter = _Counter(texts)
        try:
            names = next(csv.reader(counter, delimiter=delimiter, strict=True))
            lines = counter.count
        except (csv.Error, StopIteration):
            names, lines = first_text.split(delimiter), 1
    consumed = sum(len(line) + 1 for line in raw_lines[:lines])
    return names, lines, min(consumed, len(text_bytes))


class _Counter:
    """Iterator wrapper that counts how many lines a csv.reader pulled."""

    def __init__(self, it: Iterator[str]) -> None:
        self._it, self.count = it, 0

    def __iter__(self) -> _Counter:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.count += 1
        return line


def _map_columns(header: Header, actor: Actor) -> None:
    """Find the canonical columns and the file's mode; every header problem as an issue."""
    seen: dict[str, list[str]] = {}
    unknown: list[str] = []
    for pos, name in enumerate(header.names):
        key = normalize_column(name)
        if key in CANONICAL_COLUMNS:
            seen.setdefault(key, []).append(name)
            header.columns.setdefault(key, pos)
        elif not name.strip().lower().startswith(IGNORED_PREFIX):
            unknown.append(name)
    header.issues.extend(
        FileIssue(
            Code.HEADER_DUPLICATE_COLUMN,
            f"Column {key} appears {len(spellings)} times ({', '.join(spellings)}); keep one.",
        )
        for key, spellings in seen.items()
        if len(spellings) > 1
    )
    header.issues.extend(_missing_columns(header.columns))
    _choose_mode(header, actor)
    if unknown:
        shown = ", ".join(repr(n) for n in unknown)
        header.issues.append(
            FileIssue(Code.HEADER_UNKNOWN_COLUMN, f"Ignored unknown column(s): {shown}.")
        )


def _choose_mode(header: Header, actor: Actor) -> None:
    """profileid (apply configurations) or owner (claim, unclaim): one of them, and a reseller
    never the first."""
    has_pid, has_owner = "profileid" in header.columns, "owner" in header.columns
    if has_pid and has_owner:
        header.issues.append(
            FileIssue(
                Code.HEADER_MODE_CONFLICT,
                "The header has both profileid and owner; a file either applies configurations "
                "(profileid) or claims/unclaims (owner), so remove one of them.",
            )
        )
    elif has_pid:
        header.mode = Mode.PROFILEID
    elif has_owner:
        header.mode = Mode.OWNER
    if has_pid and actor is Actor.RESELLER:
        header.issues.append(
            FileIssue(
                Code.HEADER_MODE_NOT_ALLOWED,
                "A reseller file cannot have a profileid column; use owner (a customer id, "
                "or 0 to unclaim).",
            )
        )


def _missing_columns(columns: dict[str, int]) -> list[FileIssue]:
    needs = [
        ("profiletype", "profiletype" in columns),
        ("manufacturer", "manufacturer" in columns),
        ("profileid or owner", "profileid" in columns or "owner" in columns),
        ("modemid or serial", "modemid" in columns or "serial" in columns),
    ]
    missing = [name for name, present in needs if not present]
    if not missing:
        return []
    return [
        FileIssue(
            Code.HEADER_MISSING_COLUMN,
            f"The header lacks {'; '.join(missing)}; add the column(s) to line 1.",
        )
    ]
