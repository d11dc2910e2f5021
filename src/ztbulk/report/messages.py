"""Render the code mask to text, vectorised: messages from the catalogue's templates."""

from __future__ import annotations

import re

import polars as pl

from ztbulk.codes import CATALOGUE, ROW_CODES, Category, Code

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
WARNING_CODES = tuple(c for c in ROW_CODES if CATALOGUE[c].category is Category.WARNING)
REJECTING_MASK = sum(
    1 << c.bit for c in ROW_CODES if c is not Code.DUPLICATE_ROW and c not in WARNING_CODES
)
SKIPPING_MASK = 1 << Code.DUPLICATE_ROW.bit


def has(mask: pl.Expr, code: Code) -> pl.Expr:
    return (mask & pl.lit(1 << code.bit, pl.UInt64)) != 0


def _render(code: Code) -> pl.Expr:
    """The code's template with `{column}` replaced by the row's trimmed value (or `blank`)."""
    template = CATALOGUE[code].template
    names = _PLACEHOLDER.findall(template)
    fmt = _PLACEHOLDER.sub("{}", template)
    return pl.format(fmt, *[pl.col(n).fill_null("(blank)") for n in names])


def message(mask: pl.Expr, codes: tuple[Code, ...] = ROW_CODES) -> pl.Expr:
    """All messages of a row joined by spaces; empty for a row without codes.

    Needs the canonical value columns (and `raw`) in the frame.
    """
    if not codes:
        return pl.lit("")
    parts = [pl.when(has(mask, c)).then(_render(c)) for c in codes]
    return pl.concat_str(parts, separator=" ", ignore_nulls=True).fill_null("")
