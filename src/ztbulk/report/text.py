"""Text that came from an input (its file name, column names, values) shown on one line.

A file name may hold a line feed, an escape sequence or a bidi override: shown raw, it would
split an e-mail header (and inject another), move a terminal's cursor, or make a log line lie
about what it says. Such characters are written as the Python escapes that name them
(`\\n`, `\\x1b`, `\\u202e`), so the name stays recognisable and nothing acts on it.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line and paragraph separators, and the bidi marks and overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: object) -> str:
    """A value as a person reads it on one line: `-` for none, never a Python repr."""
    return "-" if value is None else one_line(str(value))


def one_line(text: str) -> str:
    """`text` with every control character replaced by its escape (`\\n`, `\\x1b`, ...)."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)
