"""Validate one parsed batch: canonical values, the code mask, and each valid row's identity."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ztbulk.domain import CANONICAL_COLUMNS, Actor, Mode
from ztbulk.parse.reader import RECORD
from ztbulk.validate.catalog import Catalog
from ztbulk.validate.checks import Row, code_mask


@dataclass(frozen=True)
class Rules:
    """What a batch is validated against."""

    actor: Actor
    mode: Mode
    catalog: Catalog
    columns: dict[str, int]  # canonical name -> field position in the file


def canonical_values(columns: dict[str, int]) -> list[pl.Expr]:
    """Every canonical column, trimmed of spaces and tabs, null where blank or absent."""
    exprs = []
    for name in CANONICAL_COLUMNS:
        if name in columns:
            value = pl.col(f"f{columns[name]}").str.strip_chars(" \t")
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
    """A 64-bit hash of a valid row's identity, made without building the identity string.

    On valid rows an IMEI (15 digits) and a MEID (14 hex digits) can never be equal, so the
    modem id alone (upper-cased) stands for both. Equal identities always hash equal; the
    duplicate pass confirms every repeated hash on `identity()` itself.
    """
    serial_key = pl.struct(
        pl.col("serial"),
        pl.col("model").str.to_lowercase(),
        pl.col("manufacturer").str.to_lowercase(),
    )
    return (
        pl.when(pl.col("modemid").is_not_null())
        .then(pl.col("modemid").str.to_uppercase().hash(1))
        .otherwise(serial_key.hash(2))
    )


def validate_batch(frame: pl.DataFrame, rules: Rules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a parsed batch into (failing rows, valid rows), both ordered by line.

    failing: line, mask (every row code of section 3), raw, f*, and the canonical values.
    valid: line, f*, h (identity_hash) and target (the inputs of section 4).
    Rows the parser already spoiled (ROW_MALFORMED, FIELD_ENCODING) keep that code alone.
    One lazy plan computes both, so shared expressions run once.
    """
    row = Row(rules.actor, rules.mode, rules.catalog)
    target_col = "profileid" if rules.mode is Mode.PROFILEID else "owner"
    fields = pl.col(r"^f\d+$")
    base = (
        frame.lazy()
        .filter(pl.col("kind") == RECORD)
        .with_columns(canonical_values(rules.columns))
        .with_columns(
            mask=pl.when(pl.col("parse_mask") != 0)
            .then(pl.col("parse_mask"))
            .otherwise(code_mask(row))
        )
    )
    failing = base.filter(pl.col("mask") != 0).select(
        "line", "mask", "raw", fields, *CANONICAL_COLUMNS
    )
    valid = base.filter(pl.col("mask") == 0).select(
        "line",
        fields,
        h=identity_hash(),
        target=pl.col(target_col).cast(pl.Int64, strict=False),
    )
    failed, passed = pl.collect_all([failing, valid])
    return failed, passed
