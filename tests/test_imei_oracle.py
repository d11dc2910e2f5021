"""The vectorised IMEI and MEID verdicts against an independent oracle.

Oracle (shared/data/imei_oracle/README.md explains why stdnum's imei.is_valid alone is too
lenient for zero-touch): a valid IMEI is exactly 15 ASCII digits and passes
`stdnum.luhn.is_valid`. The verdict under test is "the row gets none of IMEI_SCIENTIFIC,
IMEI_FORMAT, IMEI_CHECKSUM", computed by the registered checks over a whole column at once.
"""

from __future__ import annotations

import csv

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn, meid

from tests.conftest import SHARED_DATA
from ztbulk import Catalog
from ztbulk.codes import Code
from ztbulk.domain import Actor, Mode
from ztbulk.validate.checks import CHECKS, Row

IMEI_CODES = (Code.IMEI_SCIENTIFIC, Code.IMEI_FORMAT, Code.IMEI_CHECKSUM)
ROW = Row(Actor.CUSTOMER, Mode.PROFILEID, Catalog.packaged())


def oracle(s: str) -> bool:
    return len(s) == 15 and s.isascii() and s.isdigit() and luhn.is_valid(s)


def verdicts(
    values: list[str], modemtype: str = "IMEI", codes: tuple[Code, ...] = IMEI_CODES
) -> list[bool]:
    """True where none of `codes` fires, for a column of non-blank modemid values."""
    frame = pl.DataFrame(
        {"modemtype": [modemtype] * len(values), "modemid": values},
        schema={"modemtype": pl.String, "modemid": pl.String},
    )
    flags = frame.select(
        pl.any_horizontal([CHECKS[c](ROW).fill_null(False) for c in codes]).alias("bad")
    )
    return [not bad for bad in flags["bad"].to_list()]


def luhn_complete(body: str) -> str:
    return body + luhn.calc_check_digit(body)


digits = st.text(alphabet="0123456789", min_size=13, max_size=17)
near_misses = st.one_of(
    digits,
    digits.map(lambda s: luhn_complete(s[:14]) if len(s) >= 14 else s),  # valid IMEIs
    digits.map(lambda s: "0" + luhn_complete(s[:13]) if len(s) >= 13 else s),  # leading zero
    st.builds(lambda a, b: a + "-" + b, digits, digits).map(lambda s: s[:16]),  # separators
    digits.map(lambda s: s[:7] + " " + s[7:14]),
    st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩０１２", min_size=15, max_size=15),  # non-ASCII digits
    st.builds(lambda m, e: f"{m[0]}.{m[1:6]}E+{e}", digits, st.integers(10, 16)),  # exponent
    st.text(min_size=1, max_size=20),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(near_misses, min_size=1, max_size=40))
def test_imei_verdict_equals_oracle(values: list[str]) -> None:
    values = [v for v in values if v.strip(" \t")]  # blank ids are MODEMID_MISSING, not these
    assert verdicts(values) == [oracle(v) for v in values]


def test_stdnum_vectors() -> None:
    """Every IMEI-like input of the shared matrix (stdnum 2.2's own test values)."""
    path = SHARED_DATA / "imei_oracle/python_stdnum_2.2_is_valid_matrix.csv"
    with path.open(encoding="utf-8", newline="") as f:
        inputs = [row["input"] for row in csv.DictReader(f)]
    inputs = [s for s in inputs if s.strip()]
    assert "123456789012347" in inputs
    assert verdicts(inputs) == [oracle(s) for s in inputs]
    assert verdicts(["123456789012347"]) == [True]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="0123456789abcdefABCDEFgG -", min_size=1, max_size=19), min_size=1)
)
def test_meid_format_against_stdnum(values: list[str]) -> None:
    """MEID_FORMAT accepts exactly the 14-hex-digit forms; stdnum agrees on every one of them
    (stdnum also accepts 18-digit decimal and check-digit forms, which zero-touch does not)."""
    values = [v for v in values if v.strip(" \t")]
    ours = verdicts(values, "MEID", (Code.MEID_FORMAT,))
    for value, ok in zip(values, ours, strict=True):
        fourteen_hex = len(value) == 14 and all(c in "0123456789abcdefABCDEF" for c in value)
        assert ok == fourteen_hex
        if ok:
            assert meid.is_valid(value)
