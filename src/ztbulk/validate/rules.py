"""Validate one parsed chunk: canonical values, the code mask, and each valid row's identity."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ztbulk.domain import CANONICAL_COLUMNS, Actor, Mode
from ztbulk.frames import merge_by_line
from ztbulk.parse.quoted import RECORD
from ztbulk.validate.catalog import Catalog
from ztbulk.validate.checks import Row, code_mask
from ztbulk.validate.fast import clean_row

FIELDS = pl.col(r"^f\d+$")  # the raw value columns of a chunk


@dataclass(frozen=True)
class Rules:
    """What a chunk is validated against."""

    actor: Actor
    mode: Mode
    catalog: Catalog
    columns: dict[str, int]  # canonical name -> field position in the file


def canonical_values(columns: dict[str, int], *, trim: bool = True) -> list[pl.Expr]:
    """Every canonical column, trimmed of spaces and tabs, null where blank or absent."""
    exprs = []
    for name in CANONICAL_COLUMNS:
        if name in columns:
            value = pl.col(f"f{columns[name]}")
            value = value.str.strip_chars(" \t") if trim else value
            exprs.append(pl.when(value != "").then(value).alias(name))
        else:
            exprs.append(pl.lit(None, pl.String).alias(name))
    return exprs


def identity() -> pl.Expr:
    """SPEC section 4: IMEI:<id>, MEID:<ID upper>, or SN:<serial>|<model lower>|<maker lower>."""
    kind = pl.col("modemtype").str.to_uppercase()
    return (
        pl.when(pl.col("modemid").is_not_null() & (kind == "IMEI"))
        .then(pl.lit("IMEI:") + pl.col("modemid"))
        .when(pl.col("modemid").is_not_null())
        .then(pl.lit("MEID:") + pl.col("modemid").str.to_uppercase())
        .otherwise(
            pl.concat_str(
                pl.lit("SN:"),
                pl.col("serial"),
                pl.lit("|"),
                pl.col("model").str.to_lowercase(),
                pl.lit("|"),
                pl.col("manufacturer").str.to_lowercase(),
            )
        )
    )


def identity_hash() -> pl.Expr:
    """A 64-bit key of a valid row's identity, made without building the identity string.

    Equal identities always give equal keys: on a valid row `modemtype` is exactly IMEI or
    MEID, an IMEI's key is its number, a MEID's its value in hex (any case), a serial-only
    row's the hash of its serial. Different identities may share a key; the duplicate pass
    confirms every repeated key on `identity()` itself. Resolve matches IMEI and MEID rows
    against the registry by this key (`apply/plan.py`), so for them it must stay the exact
    number, as `registry/schema.py` numbers the devices' identifiers.
    """
    modemid = pl.col("modemid")
    return (
        pl.when(modemid.is_null())
        .then(pl.col("serial").hash(2))
        .when(pl.col("modemtype") == "IMEI")
        .then(modemid.str.to_integer(base=10, strict=False).cast(pl.UInt64))
        .otherwise(modemid.str.to_integer(base=16, strict=False).cast(pl.UInt64))
    )


def validate_chunk(frame: pl.DataFrame, rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a parsed chunk into (failing rows, valid rows), both ordered by line.

    failing: line, mask (every row code of section 3), raw, f*, and the canonical values.
    valid: line, f*, h (identity_hash) and target (the inputs of section 4), and `checked`:
    false where `clean_row` recognised the row, whose values then carry no blanks to trim.
    Rows the parser already spoiled (ROW_MALFORMED, FIELD_ENCODING) keep that code alone.
    Rows `clean_row` recognises are valid at once; only the others run every check.
    """
    clean = clean_row(rules.actor, rules.mode, rules.catalog, rules.columns)
    # Computed in a select, then filtered on: Polars evaluates a complex filter predicate
    # several times slower than the same expression as a column.
    records = frame.filter(pl.col("kind") == RECORD) if frame["kind"].max() else frame
    tagged = records.lazy().with_columns(_clean=(pl.col("parse_mask") == 0) & clean).collect()
    recognised = tagged.filter(pl.col("_clean")).lazy()
    checked = (
        tagged.filter(~pl.col("_clean"))
        .lazy()
        .with_columns(canonical_values(rules.columns))
        .with_columns(
            mask=pl.when(pl.col("parse_mask") != 0)
            .then(pl.col("parse_mask"))
            .otherwise(code_mask(Row(rules.actor, rules.mode, rules.catalog)))
        )
    )
    failing = checked.filter(pl.col("mask") != 0).select(
        "line", "mask", "raw", FIELDS, *CANONICAL_COLUMNS
    )
    # Recognised rows have no blanks around the values that matter: blank-to-null is enough.
    fast = _valid_columns(
        recognised.with_columns(canonical_values(rules.columns, trim=False)), rules, checked=False
    )
    slow = _valid_columns(checked.filter(pl.col("mask") == 0), rules, checked=True)
    failed, fast_valid, slow_valid = pl.collect_all([failing, fast, slow])
    return failed, merge_by_line(fast_valid, slow_valid)


def _valid_columns(rows: pl.LazyFrame, rules: Rules, *, checked: bool) -> pl.LazyFrame:
    target = "profileid" if rules.mode is Mode.PROFILEID else "owner"
    return rows.select(
        "line",
        FIELDS,
        h=identity_hash(),
        target=pl.col(target).cast(pl.Int64, strict=False),
        checked=pl.lit(checked),
    )
