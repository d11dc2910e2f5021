"""SPEC section 3 as vectorised checks: one boolean Polars expression per row code.

A check is a function `(Row) -> pl.Expr` registered with its code by `@rule(Code.X)`. The
expression is true where the row gets the code; null counts as false. Every check runs on every
row; `code_mask` folds the results into one UInt64 column, one bit per code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import polars as pl

from ztbulk.codes import Code
from ztbulk.domain import CANONICAL_COLUMNS, Actor, Mode
from ztbulk.validate.catalog import PAIR_SEP, Catalog

IMEI_DIGITS = r"^[0-9]{15}$"
MEID_HEX = r"^[0-9A-Fa-f]{14}$"
# Spreadsheets write long numbers as 3.56938E+14 (or 3,56938E+14 with a decimal comma).
SCIENTIFIC = r"^[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+$"
SERIAL = r"^[!-~]{1,64}$"  # printable ASCII, no space
POSITIVE_ID = r"^0*[1-9][0-9]*$"
NUMBER = r"^[0-9]{1,18}$"
ZERO = r"^0+$"


@dataclass(frozen=True)
class Row:
    """The trimmed values of one chunk (null where blank or where the column is absent)."""

    actor: Actor
    mode: Mode
    catalog: Catalog

    def __getattr__(self, name: str) -> pl.Expr:
        # `validate_chunk` prepares every canonical column under its own name.
        if name not in CANONICAL_COLUMNS:
            raise AttributeError(name)
        return pl.col(name)

    @property
    def imei_row(self) -> pl.Expr:
        return pl.col("modemtype").str.to_uppercase() == "IMEI"

    @property
    def meid_row(self) -> pl.Expr:
        return pl.col("modemtype").str.to_uppercase() == "MEID"


Check = Callable[[Row], pl.Expr]
CHECKS: dict[Code, Check] = {}


def rule(code: Code) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[code] = fn
        return fn

    return register


def blank(expr: pl.Expr) -> pl.Expr:
    return expr.is_null()


def present(expr: pl.Expr) -> pl.Expr:
    return expr.is_not_null()


def _doubled(d: pl.Expr) -> pl.Expr:
    """A doubled Luhn digit with its digits summed: 2d, or 2d - 9 when 2d > 9."""
    return d * 2 - (d >= 5).cast(pl.UInt32) * 9


@cache
def _luhn_block_tables() -> tuple[pl.Series, pl.Series]:
    """Luhn sums of every 5-digit block: one where the block's first (rightmost) digit is
    kept, one where it is doubled. Built once, vectorised."""
    v = pl.int_range(0, 100_000, dtype=pl.UInt32, eager=True).to_frame("v")
    kept, doubled = pl.lit(0, pl.UInt32), pl.lit(0, pl.UInt32)
    for k in range(5):
        d = (pl.col("v") // 10**k) % 10
        kept = kept + (_doubled(d) if k % 2 else d)
        doubled = doubled + (d if k % 2 else _doubled(d))
    tables = v.select(kept.cast(pl.UInt16).alias("kept"), doubled.cast(pl.UInt16).alias("doubled"))
    return tables["kept"], tables["doubled"]


def luhn_valid(digits: pl.Expr) -> pl.Expr:
    """Luhn on a column of 15-digit strings, as integer arithmetic (no per-row Python)."""
    return luhn_number_valid(digits.cast(pl.UInt64, strict=False))


def luhn_number_valid(number: pl.Expr) -> pl.Expr:
    """Luhn on 15-digit numbers (UInt64).

    The number is cut into three 5-digit blocks; positions 0-4 and 10-14 (from the right)
    start with a kept digit, positions 5-9 with a doubled one, so three table look-ups
    replace fifteen digit operations.
    """
    kept, doubled = _luhn_block_tables()
    low = (number % 100_000).cast(pl.UInt32)
    mid = (number // 100_000 % 100_000).cast(pl.UInt32)
    high = (number // 10_000_000_000).cast(pl.UInt32)
    total = pl.lit(kept).gather(low) + pl.lit(doubled).gather(mid) + pl.lit(kept).gather(high)
    return total % 10 == 0


@rule(Code.IDENTIFIER_MISSING)
def _identifier_missing(r: Row) -> pl.Expr:
    return blank(r.modemid) & blank(r.modemtype) & blank(r.serial)


@rule(Code.MODEMTYPE_MISSING)
def _modemtype_missing(r: Row) -> pl.Expr:
    return present(r.modemid) & blank(r.modemtype)


@rule(Code.MODEMID_MISSING)
def _modemid_missing(r: Row) -> pl.Expr:
    return present(r.modemtype) & blank(r.modemid)


@rule(Code.MODEMTYPE_CASE)
def _modemtype_case(r: Row) -> pl.Expr:
    return (r.imei_row | r.meid_row) & ~r.modemtype.is_in(["IMEI", "MEID"])


@rule(Code.MODEMTYPE_INVALID)
def _modemtype_invalid(r: Row) -> pl.Expr:
    return present(r.modemtype) & ~(r.imei_row | r.meid_row)


def _scientific(r: Row) -> pl.Expr:
    return r.modemid.str.contains(SCIENTIFIC)


@rule(Code.IMEI_SCIENTIFIC)
def _imei_scientific(r: Row) -> pl.Expr:
    return r.imei_row & _scientific(r)


@rule(Code.IMEI_FORMAT)
def _imei_format(r: Row) -> pl.Expr:
    return r.imei_row & present(r.modemid) & ~r.modemid.str.contains(IMEI_DIGITS) & ~_scientific(r)


@rule(Code.IMEI_CHECKSUM)
def _imei_checksum(r: Row) -> pl.Expr:
    digits = r.modemid.str.contains(IMEI_DIGITS)
    return r.imei_row & digits & ~luhn_valid(pl.when(digits).then(r.modemid))


@rule(Code.MEID_FORMAT)
def _meid_format(r: Row) -> pl.Expr:
    return r.meid_row & present(r.modemid) & ~r.modemid.str.contains(MEID_HEX)


@rule(Code.MODEL_MISSING)
def _model_missing(r: Row) -> pl.Expr:
    return present(r.serial) & blank(r.model)


@rule(Code.SERIAL_FORMAT)
def _serial_format(r: Row) -> pl.Expr:
    return present(r.serial) & ~r.serial.str.contains(SERIAL)


@rule(Code.MANUFACTURER_MISSING)
def _manufacturer_missing(r: Row) -> pl.Expr:
    return blank(r.manufacturer)


def _manufacturer_known(r: Row) -> pl.Expr:
    return r.manufacturer.str.to_lowercase().is_in(r.catalog.manufacturer_keys.implode())


@rule(Code.MANUFACTURER_UNKNOWN)
def _manufacturer_unknown(r: Row) -> pl.Expr:
    return present(r.manufacturer) & ~_manufacturer_known(r)


@rule(Code.MODEL_UNKNOWN)
def _model_unknown(r: Row) -> pl.Expr:
    key = r.manufacturer.str.to_lowercase() + PAIR_SEP + r.model.str.to_lowercase()
    return present(r.model) & _manufacturer_known(r) & ~key.is_in(r.catalog.pair_keys.implode())


@rule(Code.PROFILETYPE_MISSING)
def _profiletype_missing(r: Row) -> pl.Expr:
    return blank(r.profiletype)


@rule(Code.PROFILETYPE_CASE)
def _profiletype_case(r: Row) -> pl.Expr:
    return (r.profiletype.str.to_uppercase() == "ZERO_TOUCH") & (r.profiletype != "ZERO_TOUCH")


@rule(Code.PROFILETYPE_INVALID)
def _profiletype_invalid(r: Row) -> pl.Expr:
    return present(r.profiletype) & (r.profiletype.str.to_uppercase() != "ZERO_TOUCH")


def _in_mode(r: Row, mode: Mode, expr: pl.Expr) -> pl.Expr:
    return pl.lit(r.mode is mode) & expr


@rule(Code.PROFILEID_MISSING)
def _profileid_missing(r: Row) -> pl.Expr:
    return _in_mode(r, Mode.PROFILEID, blank(r.profileid))


@rule(Code.PROFILEID_INVALID)
def _profileid_invalid(r: Row) -> pl.Expr:
    valid = r.profileid.str.contains(NUMBER) & r.profileid.str.contains(POSITIVE_ID)
    return _in_mode(r, Mode.PROFILEID, present(r.profileid) & ~valid)


@rule(Code.OWNER_MISSING)
def _owner_missing(r: Row) -> pl.Expr:
    return _in_mode(r, Mode.OWNER, blank(r.owner))


@rule(Code.OWNER_INVALID)
def _owner_invalid(r: Row) -> pl.Expr:
    allowed = ZERO if r.actor is Actor.CUSTOMER else NUMBER
    valid = r.owner.str.contains(NUMBER) & r.owner.str.contains(allowed)
    return _in_mode(r, Mode.OWNER, present(r.owner) & ~valid)


def code_mask(row: Row) -> pl.Expr:
    """One UInt64 per row: bit `code.bit` set where `code`'s check is true (null: not set).

    Each check cast to 0/1 times its bit, summed (nulls count as 0): 4x faster than a
    when/then per check."""
    return pl.sum_horizontal(
        [fn(row).cast(pl.UInt64) * pl.lit(1 << code.bit, pl.UInt64) for code, fn in CHECKS.items()]
    )
