"""A cheap, sufficient test that a row is clean, so most rows skip the full check set.

Nearly every row of a real file is valid and written the usual way (`IMEI`, `ZERO_TOUCH`, a
manufacturer spelled as in the catalogue, no stray spaces). `clean_row` recognises exactly
such rows from the raw field values, with a handful of column operations; `validate_chunk`
runs the registered checks (section 3) only on the rows it does not recognise.

The contract, proven by tests/test_fast_path.py: `clean_row` true implies that no check fires.
It may say false for a clean row (say ` IMEI` or `samsung`), which only costs speed.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from ztbulk.domain import Actor, Mode
from ztbulk.validate.catalog import Catalog
from ztbulk.validate.checks import MEID_HEX, NUMBER, SERIAL, luhn_number_valid

PROFILE_ID = r"^[1-9][0-9]{0,17}$"  # a positive id without leading zeros: no check can fire


def clean_row(actor: Actor, mode: Mode, catalog: Catalog, columns: dict[str, int]) -> pl.Expr:
    """True where the raw values make a row no section 3 check can fault (null counts false)."""

    def raw(name: str) -> pl.Expr:
        # An absent column reads as blank, as `canonical_values` makes it.
        return pl.col(f"f{columns[name]}") if name in columns else pl.lit("", pl.String)

    mtype, mid, serial, model, maker = (
        raw(n) for n in ("modemtype", "modemid", "serial", "model", "manufacturer")
    )
    manufacturers, pairs = catalog.spellings
    # 15 bytes that cast to an integer without a sign are 15 ASCII digits (cheaper than a regex).
    imei = pl.when((mid.str.len_bytes() == 15) & ~mid.str.starts_with("+")).then(
        mid.cast(pl.UInt64, strict=False)
    )
    modem = (
        ((mtype == "IMEI") & imei.is_not_null() & luhn_number_valid(imei))
        | ((mtype == "MEID") & mid.str.contains(MEID_HEX))
        | ((mtype == "") & (mid == "") & (serial != ""))
    )
    serial_ok = (serial == "") | (serial.str.contains(SERIAL) & (model != ""))
    model_ok = (model == "") | pl.struct(maker.alias("manufacturer"), model.alias("model")).is_in(
        pairs.implode()
    )
    clean = (
        modem
        & serial_ok
        & maker.is_in(manufacturers.implode())
        & model_ok
        & (raw("profiletype") == "ZERO_TOUCH")
        & _target_ok(actor, mode, raw)
    )
    return clean.fill_null(False)


def _target_ok(actor: Actor, mode: Mode, raw: Callable[[str], pl.Expr]) -> pl.Expr:
    if mode is Mode.PROFILEID:
        return raw("profileid").str.contains(PROFILE_ID)
    if actor is Actor.CUSTOMER:
        return raw("owner") == "0"
    return raw("owner").str.contains(NUMBER)
