"""Render the code mask to text, vectorised: messages from the catalogue's templates, in
the run's language (`wording`)."""

from __future__ import annotations

import polars as pl

from ztbulk.codes import CATALOGUE, ROW_CODES, Category, Code, codes_of
from ztbulk.i18n import SOURCE
from ztbulk.wording import ANOTHER_LINE, BLANK, PLACEHOLDER, template, word

WARNING_CODES = tuple(c for c in ROW_CODES if CATALOGUE[c].category is Category.WARNING)
REJECTING_MASK = sum(
    1 << c.bit for c in ROW_CODES if c is not Code.DUPLICATE_ROW and c not in WARNING_CODES
)
SKIPPING_MASK = 1 << Code.DUPLICATE_ROW.bit
# What a template says where the frame has no such column (only `dup_of` may be missing).
FALLBACK = {"dup_of": ANOTHER_LINE}


def messages(frame: pl.DataFrame, masks: list[int], lang: str = SOURCE) -> pl.Series:
    """Each row's messages in `lang` joined by spaces, in catalogue order; empty for a row
    without codes.

    Needs `mask` and the canonical value columns (and `raw`) in the frame; `masks` are the
    distinct values of `mask` (the caller has them already). The rows are
    filled a mask at a time: the rows of one mask share one format, so every template is
    filled only on the rows carrying its code, 4x faster than filling each template present
    on every row and keeping it where the code is (a chunk holds a few dozen masks).
    """
    # Only the columns some template quotes are split by mask.
    quoted = {n for m in masks for c in codes_of(m) for n in _quoted(c)}
    # A duplicate found at resolution (one device reached by two identifiers) has no line
    # list of its own: its message says so in general words.
    missing = [
        pl.lit(word(FALLBACK[n], lang) if n in FALLBACK else None, pl.String).alias(n)
        for n in sorted(quoted - set(frame.columns))
    ]
    rows = frame.with_columns(missing).select("mask", *sorted(quoted)).with_row_index("_row")
    filled = [
        part.select("_row", message=_fill(int(mask), lang))
        for (mask,), part in rows.partition_by("mask", as_dict=True).items()
    ]
    if not filled:
        return pl.Series("message", [], pl.String)
    return pl.concat(filled).sort("_row")["message"]


def _quoted(code: Code) -> list[str]:
    """The columns the code's template quotes (in English's order: a translation has the
    same ones)."""
    return PLACEHOLDER.findall(CATALOGUE[code].template)


def _fill(mask: int, lang: str) -> pl.Expr:
    """The messages of the codes in `mask`, each template's `{column}` replaced by the row's
    trimmed value (or the blank word)."""
    formats: list[str] = []
    values: list[pl.Expr] = []
    blank = word(BLANK, lang)
    for code in codes_of(mask):
        text = template(code, lang)
        formats.append(PLACEHOLDER.sub("{}", text))
        values += [pl.col(n).fill_null(blank) for n in PLACEHOLDER.findall(text)]
    joined = " ".join(formats)
    return pl.format(joined, *values) if values else pl.lit(joined, pl.String)


# The codes whose messages quote a value of the row.
QUOTING_MASK = sum(1 << c.bit for c in ROW_CODES if _quoted(c))
