"""The native core against the reference engine, row for row (issue 10).

Every verdict a user sees (outcomes with codes and messages, errors.csv, report counts) must be
the same from both engines on: every file under ../shared/data, as it is and with its body put
behind a zero-touch header; and hypothesis-generated files with random quoting, line ends,
BOMs, blank records, invalid bytes and every row code's trigger and near miss, read in small
chunks with small record limits so that chunk ends, carried records, the 64-line limit and
ROW_TOO_LONG are crossed too. A last test mutates one reference rule and shows the comparison
then fails, so a pass means something.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import HEADER, IMEI_OK, IMEI_OK2, SHARED_DATA, TEST_CATALOG
from tests.differential import compare
from ztbulk import Catalog
from ztbulk.codes import Code
from ztbulk.validate import checks

OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"
SHARED_FILES = sorted(p for p in SHARED_DATA.rglob("*.csv") if p.is_file())
ROWS_COMPARED: dict[str, int] = {}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_csv(TEST_CATALOG)


def assert_same(path: Path, work: Path, catalog: Catalog, tally: str, **settings: object) -> int:
    diffs, rows = compare(path, work, catalog, **settings)  # type: ignore[arg-type]
    assert not diffs, "\n".join(diffs)
    ROWS_COMPARED[tally] = ROWS_COMPARED.get(tally, 0) + rows
    return rows


def test_shared_data_files_are_judged_alike(tmp_path: Path, catalog: Catalog) -> None:
    assert len(SHARED_FILES) > 30
    for i, path in enumerate(SHARED_FILES):
        for actor in ("customer", "reseller"):
            assert_same(path, tmp_path / f"{i}-{actor}", catalog, "shared as is", actor=actor)


@pytest.mark.parametrize("header", [HEADER, OWNER_HEADER])
def test_shared_data_bodies_behind_a_header_are_judged_alike(
    tmp_path: Path, catalog: Catalog, header: str
) -> None:
    """The files' bodies as data rows: quoting, encodings and ragged rows of the real world."""
    rows = 0
    for i, path in enumerate(SHARED_FILES):
        body = path.read_bytes()
        src = tmp_path / f"body-{i}.csv"
        src.write_bytes(header.encode() + b"\n" + body)
        for chunk in (64 * 1024, 8 * 1024 * 1024):
            rows += assert_same(
                src, tmp_path / f"{i}-{chunk}", catalog, "shared bodies", chunk_bytes=chunk
            )
    assert rows > 100_000


# -- generated files ---------------------------------------------------------------------

# Values that trigger a code or just miss it, per column (SPEC section 3).
MODEMTYPES = ["IMEI", "MEID", "imei", "Meid", "IMEIS", "ESN", "", " IMEI ", "ımei", "\tIMEI"]
MODEMIDS = [
    IMEI_OK,
    IMEI_OK2,
    "490154203237518",
    "356938035643810",
    IMEI_OK[:14],
    "3.56938E+14",
    "3,56938E+14",
    "A100000000000G",
    "a10000009296f2",
    "A10000009296F2",
    "",
    " 356938035643809",
    "35693803564380９",
    "+35693803564380",
    "1e5",
    "3.5E+1X",
]
SERIALS = ["", "SN1", "SN 1", "S" * 64, "S" * 65, "ABcd1235678", "é1"]
MODELS = ["SM-A155M", "sm-a155m", "SM-X000", "", "VM1A", " SM-A155M"]
MAKERS = ["Samsung", "samsung", "SAMSUNG", "Acme", "", "Honeywell", "Samsüng", " Samsung\t"]
PTYPES = ["ZERO_TOUCH", "zero_touch", "Zero_Touch", "KNOX", "", " ZERO_TOUCH"]
TARGETS = [
    "101",
    "0101",
    "102",
    "0",
    "00",
    "007",
    "",
    "-5",
    "abc",
    "1234567890123456789",
    "123456789012",
]
BLANK_RECORDS = ["", ",,,,,,", '"","","","","","",""', " , \t,", ",,,,,,,,,,,,"]
BAD_BYTES = [b"\xff", b"\xc3", b"\xe2\x82", b"\x00", b"\xed\xa0\x80", b"\x1f", b"\x01"]


@st.composite
def cell(draw: st.DrawFn, values: list[str]) -> str:
    """A value (the column's first, valid one more often than not, so that rows reach the
    duplicate pass), written plain or quoted (with a doubled quote, a line break, a comma)."""
    value = draw(st.sampled_from(values[:1] * len(values) + values))
    how = draw(st.sampled_from(["plain"] * 6 + ["quoted", "escaped", "multiline", "comma"]))
    if how == "quoted":
        return f'"{value}"'
    if how == "escaped":
        return f'"{value}""x"'
    if how == "multiline":
        return f'"{value}\n{value}"'
    if how == "comma":
        return f'"{value},"'
    return value


@st.composite
def record(draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(["row"] * 6 + ["clean"] * 4 + ["blank", "ragged", "stray", "serial"])
    )
    if kind == "blank":
        return draw(st.sampled_from(BLANK_RECORDS))
    if kind == "clean":  # valid, quoted or not: repeats make DUPLICATE_ROW and _CONFLICT
        mid = draw(st.sampled_from([IMEI_OK, IMEI_OK2, "490154203237518"]))
        cells = ["IMEI", mid, "", "SM-A155M", "Samsung", "ZERO_TOUCH"]
        cells.append(draw(st.sampled_from(["101", "0101", "102", "0"])))
        quote = draw(st.lists(st.booleans(), min_size=7, max_size=7))
        return ",".join(f'"{c}"' if q else c for c, q in zip(cells, quote, strict=True))
    columns = [MODEMTYPES, MODEMIDS, SERIALS, MODELS, MAKERS, PTYPES, TARGETS]
    if kind == "serial":  # no modem identifier: the serial rules and IDENTIFIER_MISSING
        columns = [[""], [""], [*SERIALS[1:], ""], MODELS, MAKERS, PTYPES, TARGETS]
    cells = [draw(cell(values)) for values in columns]
    if kind == "ragged":
        cells = cells[: draw(st.integers(0, 6))] or [*cells, "extra"]
    if kind == "stray":
        at = draw(st.integers(0, 6))
        cells[at] = draw(st.sampled_from(['"a"b', '"open', 'x"y', '""', '"a""', '\\"q\\"']))
    return ",".join(cells)


@st.composite
def csv_file(draw: st.DrawFn) -> bytes:
    header = draw(st.sampled_from([HEADER, OWNER_HEADER, HEADER.upper(), HEADER + ",notes"]))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    rows = draw(st.lists(record(), min_size=1, max_size=40))
    ends = [draw(st.sampled_from(["\n", "\r\n"])) if eol == "mixed" else eol for _ in rows]
    head_end = "\n" if eol == "mixed" else eol
    text = header + head_end + "".join(r + e for r, e in zip(rows, ends, strict=True))
    if eol == "\r":  # CR-only files have no LF anywhere, also not inside quoted values
        text = text.replace("\n", "\r")
    data = text.encode()
    if draw(st.booleans()):
        data = data.rstrip(b"\r\n")  # no line end after the last record
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(len(header) + 1, max(len(header) + 1, len(data))))
        data = data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:]
    bom = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf"]))
    return bom + data


SETTINGS = st.fixed_dictionaries(
    {
        "chunk_bytes": st.sampled_from([64, 200, 1024, 8 * 1024 * 1024]),
        "max_record_lines": st.sampled_from([2, 3, 64]),
        "max_record_bytes": st.sampled_from([60, 1024 * 1024, 1024 * 1024]),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=csv_file(), config=SETTINGS, actor=st.sampled_from(["customer", "reseller"]))
def test_generated_files_are_judged_alike(
    data: bytes, config: dict[str, int], actor: str, catalog: Catalog
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.csv"
        path.write_bytes(data)
        assert_same(path, Path(tmp), catalog, "generated", actor=actor, **config)


def test_a_changed_reference_rule_is_caught(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PROFILETYPE_CASE taken out of the reference, the comparison must fail."""
    path = tmp_path / "case.csv"
    path.write_text(f"{HEADER}\nIMEI,{IMEI_OK},,SM-A155M,Samsung,zero_touch,101\n")
    assert not compare(path, tmp_path / "before", catalog)[0]
    monkeypatch.setitem(checks.CHECKS, Code.PROFILETYPE_CASE, lambda r: checks.blank(r.modemid))
    diffs, _ = compare(path, tmp_path / "after", catalog)
    assert diffs and "PROFILETYPE_CASE" in diffs[0]


def test_rows_compared_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how many data rows the tests above compared (runs last in this module)."""
    with capsys.disabled():
        print(f"\ndifferential rows compared: {ROWS_COMPARED}")
