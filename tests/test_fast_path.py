"""The fast path changes nothing: `validate_chunk` (which runs the checks only on rows that
`clean_row` does not recognise) gives exactly the masks of running every check on every row.

Rows are drawn from pools of usual values and near misses for each column (case, blanks
around values, signs, lengths, unknown catalogue entries), in both modes and for both actors.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import IMEI_OK, IMEI_OK2
from ztbulk import Catalog
from ztbulk.domain import Actor, Mode
from ztbulk.parse.quoted import RECORD
from ztbulk.validate import Rules, canonical_values, validate_chunk
from ztbulk.validate.checks import Row, code_mask
from ztbulk.validate.fast import clean_row
from ztbulk.validate.rules import FIELDS

MODEMTYPES = ["IMEI", "MEID", "imei", " IMEI", "IMEI ", "", " ", "Imei", "MEID\t", "SN"]
MODEMIDS = [
    IMEI_OK,
    IMEI_OK2,
    "356938035643808",  # Luhn fails
    "35693803564380",  # 14 digits
    "3569380356438090",  # 16 digits
    "+35693803564380",  # 15 bytes with a sign
    "-35693803564380",
    "3.56938E+14",
    " 356938035643809",
    "３５６９３８０３５６４３８０",  # full-width digits
    "A0000000002329",  # MEID
    "a0000000002329",
    "A000000000232",
    "G0000000002329",
    "",
]
SERIALS = ["", "SN123", "SN 123", "x" * 65, "ÄB", " SN1", "sn123"]
MODELS = ["", "Pixel 8", "pixel 8", "PIXEL 8", " Pixel 8", "SM-A155M", "Nope"]
MAKERS = ["Google", "google", "GOOGLE", "Samsung", "", " Google", "Unknown", "  "]
PROFILETYPES = ["ZERO_TOUCH", "zero_touch", "", "OTHER", " ZERO_TOUCH"]
TARGETS = ["101", "7", "0", "00", "0101", "", "-1", "1e3", "+5", "9" * 18, "9" * 19, " 7", "x"]
COLUMNS = ["modemtype", "modemid", "serial", "model", "manufacturer", "profiletype"]


def usual_or_not(pool: list[str]) -> st.SearchStrategy[str]:
    """The pool's first (usual) value about two times in three, else any value of the pool."""
    return st.sampled_from([pool[0]] * 2 * len(pool) + pool)


rows = st.lists(
    st.tuples(
        *(usual_or_not(pool) for pool in (MODEMTYPES, MODEMIDS, SERIALS, MODELS, MAKERS)),
        usual_or_not(PROFILETYPES),
        usual_or_not(TARGETS),
    ),
    min_size=20,
    max_size=80,
)
POOLS = [MODEMTYPES, MODEMIDS, SERIALS, MODELS, MAKERS, PROFILETYPES, TARGETS]


def batch(values: Sequence[tuple[str, ...]]) -> pl.DataFrame:
    """A parsed batch as the reader makes it: every line a clean record, values as written."""
    n = len(values)
    frame = pl.DataFrame(
        {f"f{i}": [v[i] for v in values] for i in range(7)},
        schema={f"f{i}": pl.String for i in range(7)},
    )
    return pl.DataFrame(
        {
            "line": pl.Series(range(2, n + 2), dtype=pl.Int64),
            "kind": pl.Series([RECORD] * n, dtype=pl.UInt8),
            "parse_mask": pl.Series([0] * n, dtype=pl.UInt64),
            "raw": pl.Series([None] * n, dtype=pl.String),
        }
    ).hstack(frame)


def every_check(frame: pl.DataFrame, rules: Rules) -> pl.DataFrame:
    """The reference: all checks on all rows."""
    row = Row(rules.actor, rules.mode, rules.catalog)
    return frame.with_columns(canonical_values(rules.columns)).select("line", mask=code_mask(row))


def one_change_each() -> list[tuple[str, ...]]:
    """The usual row, and every row that differs from it in one value of one column."""
    usual = tuple(pool[0] for pool in POOLS)
    changed = [
        (*usual[:i], value, *usual[i + 1 :]) for i, pool in enumerate(POOLS) for value in pool
    ]
    return [usual, *changed]


def assert_same_masks(
    values: list[tuple[str, ...]], mode: Mode, actor: Actor, catalog: Catalog
) -> None:
    columns = {name: i for i, name in enumerate([*COLUMNS, mode.value])}
    rules = Rules(actor, mode, catalog, columns)
    frame = batch(values)
    failing, valid = validate_chunk(frame, rules)
    expected = every_check(frame, rules)
    got = pl.concat(
        [failing.select("line", "mask"), valid.select("line", mask=pl.lit(0, pl.UInt64))]
    ).sort("line")
    assert got.equals(expected), (got, expected, values)
    assert valid["line"].is_sorted() and failing["line"].is_sorted()
    # What resolve relies on to skip trimming: recognised rows carry no blanks to trim.
    recognised = valid.filter(~pl.col("checked")).select(FIELDS)
    assert recognised.equals(recognised.select(pl.all().str.strip_chars(" \t"))), values


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("actor", list(Actor))
def test_every_single_near_miss_gets_the_masks_of_every_check(
    mode: Mode, actor: Actor, test_catalog: Catalog
) -> None:
    assert_same_masks(one_change_each(), mode, actor, test_catalog)


@settings(max_examples=300, deadline=None)
@given(
    values=rows,
    mode=st.sampled_from(list(Mode)),
    actor=st.sampled_from(list(Actor)),
)
def test_fast_path_gives_the_masks_of_every_check(
    values: list[tuple[str, ...]], mode: Mode, actor: Actor, test_catalog: Catalog
) -> None:
    assert_same_masks(values, mode, actor, test_catalog)


def test_usual_rows_take_the_fast_path(test_catalog: Catalog) -> None:
    """So that the property above exercises the fast path at all."""
    usual = [
        ("IMEI", IMEI_OK, "", "", "Google", "ZERO_TOUCH", "101"),
        ("MEID", "a0000000002329", "SN1", "pixel 8", "google", "ZERO_TOUCH", "7"),
        ("", "", "SN123", "Pixel 8", "Google", "ZERO_TOUCH", "9" * 18),
    ]
    columns = {name: i for i, name in enumerate([*COLUMNS, "profileid"])}
    expr = clean_row(Actor.CUSTOMER, Mode.PROFILEID, test_catalog, columns)
    assert batch(usual).select(expr).to_series().to_list() == [True, True, True]
