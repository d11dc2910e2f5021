"""Bytes that are not UTF-8, anywhere in any record, spoil that record only (SPEC 2, issue 10).

Fuzzed bodies behind a valid header used to end in `internal error (ComputeError: invalid utf-8
sequence)`: the reference reader decided whether a chunk was valid UTF-8 from whether Polars'
line read failed, and a chunk it split in Python (one holding the 0x1f byte it uses as a
separator) was then read strict. The class is "a chunk with invalid bytes read by any strict
Polars read"; the reader now decides once, from the bytes. These files are generated: rows
with distinct IMEIs, some quoted, some with control bytes in an ignored column, and invalid
bytes inserted at random positions of random rows, read in chunks of random size.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import HEADER, TEST_CATALOG
from ztbulk import Catalog, check
from ztbulk.parse import ParseConfig

CATALOG = Catalog.from_csv(TEST_CATALOG)
INVALID = [b"\xff", b"\xfe", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]
CONTROL = ["\x1f", "\x01", "\x7f", "\x1b", "\x0b", "\x0c"]


def luhn_complete(body14: str) -> str:
    """body14 with its Luhn check digit."""
    total = 0
    for k, ch in enumerate(reversed(body14)):
        d = int(ch) * (2 if k % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body14 + str(-total % 10)


@st.composite
def body(draw: st.DrawFn) -> tuple[bytes, set[int], set[int]]:
    """(file bytes, lines spoiled, lines of quoted records among them)."""
    n = draw(st.integers(1, 30))
    lines, spoiled, quoted = [f"{HEADER},notes".encode()], set(), set()
    for i in range(n):
        imei = luhn_complete(f"35693803{i:06d}")
        note = "".join(draw(st.lists(st.sampled_from([*CONTROL, "x", " "]), max_size=4)))
        cells = ["IMEI", imei, "", "SM-A155M", "Samsung", "ZERO_TOUCH", "101", note]
        if draw(st.booleans()):
            cells = [f'"{c}"' for c in cells]
            quoted.add(i + 2)
        row = ",".join(cells).encode()
        if draw(st.integers(0, 2)) == 0:
            at = draw(st.integers(0, len(row)))
            row = row[:at] + draw(st.sampled_from(INVALID)) + row[at:]
            spoiled.add(i + 2)
        lines.append(row)
    end = draw(st.sampled_from([b"\n", b"\r\n"]))
    return end.join(lines) + end, spoiled, quoted


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    case=body(),
    chunk=st.sampled_from([64, 256, 8 * 1024 * 1024]),
    engine=st.sampled_from(["native", "reference"]),
)
def test_invalid_bytes_spoil_only_their_record(
    case: tuple[bytes, set[int], set[int]], chunk: int, engine: str
) -> None:
    data, spoiled, quoted = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzzed.csv"
        path.write_bytes(data)
        config = ParseConfig(chunk_bytes=chunk, engine=engine)  # type: ignore[arg-type]
        report = check(path, catalog=CATALOG, out_dir=Path(tmp) / "out", config=config)
        outcomes = pl.read_parquet(Path(tmp) / "out" / "outcomes.parquet")
    assert report.exit_code in (0, 1) and not report.file_errors
    codes = {int(r["line"]): list(r["codes"]) for r in outcomes.iter_rows(named=True)}
    assert set(codes) == set(range(2, 2 + len(data.splitlines()) - 1))
    for line, got in codes.items():
        if line not in spoiled:
            assert got == [], (line, got)
        elif line in quoted:  # a byte after a closing quote breaks the quoting itself
            assert got in (["FIELD_ENCODING"], ["ROW_MALFORMED"]), (line, got)
        else:
            assert got == ["FIELD_ENCODING"], (line, got)
