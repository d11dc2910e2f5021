"""A quick look into a file before it is submitted: does it unclaim devices?

`import` asks before a file with `owner` 0 rows runs (#13 item 8): unclaiming removes devices
from the customer's account. The look stops at the first such row, so a customer's unclaim
file answers at once; a reseller's claim file is read to its end (only when `--yes` was not
given). It is a guess made to ask a question, never a check: the import itself reads the file
with every SPEC rule.
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

from ztbulk.domain import normalize_column
from ztbulk.parse.header import detect_delimiter

_ZERO = re.compile(r"0+")


def _encoding(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def unclaims(path: Path) -> bool:
    """The file has an `owner` column holding 0 (or 00...) on some row. A file that cannot be
    read this way counts as one that may unclaim: better to ask once too often."""
    try:
        with path.open(encoding=_encoding(path), errors="replace", newline="") as f:
            first = f.readline()
            delimiter = detect_delimiter(first)
            names = next(csv.reader([first], delimiter=delimiter), [])
            keys = [normalize_column(n) for n in names]
            if "owner" not in keys:
                return False
            at = keys.index("owner")
            for record in csv.reader(f, delimiter=delimiter):
                if len(record) > at and _ZERO.fullmatch(record[at].strip(" \t")):
                    return True
    except (csv.Error, OSError, UnicodeError):
        return True
    return False
