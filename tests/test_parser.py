"""The parse stage against independent expectations: the third-party CSV edge cases (their
upstream expectations, see shared/data/csv_edge_cases/EXPECTATIONS.md) and, as a property,
Python's csv module on generated well-formed files at any chunk size."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_DATA
from ztbulk.codes import Code
from ztbulk.domain import Actor
from ztbulk.parse import ParseConfig, RecordReader, open_source, read_header
from ztbulk.parse.header import HEADER_PEEK
from ztbulk.parse.quoted import RECORD

EDGE = SHARED_DATA / "csv_edge_cases"
MALFORMED, ENCODING = "ROW_MALFORMED", "FIELD_ENCODING"


def parse(
    path: Path, work: Path, chunk_bytes: int = 8 << 20
) -> tuple[list[str], list[tuple[int, str, list[str | None]]], int]:
    """(header names, [(line, parse code or "", values)], blank count) for a file."""
    config = ParseConfig(chunk_bytes=chunk_bytes)
    source = open_source(path, work, config)
    assert not source.issues, source.issues
    with source.stream.open("rb") as f:
        header = read_header(f.read(source.start + HEADER_PEEK), source.start, Actor.CUSTOMER)
    records: list[tuple[int, str, list[str | None]]] = []
    blank = 0
    for batch in RecordReader(source.stream, header, config):
        blank += batch.blank
        frame = batch.frame.filter(pl.col("kind") == RECORD)
        for rec in frame.iter_rows(named=True):
            mask = rec["parse_mask"]
            code = MALFORMED if mask == 1 << Code.ROW_MALFORMED.bit else ENCODING if mask else ""
            values = [rec[f"f{i}"] for i in range(header.width)]
            records.append((rec["line"], code, values))
    return header.names, records, blank


SPECTRUM = sorted((EDGE / "csv_spectrum" / "csvs").glob("*.csv"))


@pytest.mark.parametrize(
    "path", [p for p in SPECTRUM if p.stem != "location_coordinates"], ids=lambda p: p.stem
)
def test_csv_spectrum_matches_its_json(tmp_path: Path, path: Path) -> None:
    expected = json.loads(
        (path.parent.parent / "json" / f"{path.stem}.json").read_text(encoding="utf-8")
    )
    names, records, _ = parse(path, tmp_path)
    assert [dict(zip(names, values, strict=True)) for _, code, values in records] == expected
    assert all(code == "" for _, code, _ in records)


def test_csv_spectrum_bare_quote_in_unquoted_field(tmp_path: Path) -> None:
    # Upstream's JSON for this file is wrong (EXPECTATIONS.md); the CSV itself is the truth.
    names, records, _ = parse(EDGE / "csv_spectrum/csvs/location_coordinates.csv", tmp_path)
    assert names == ["Contact Phone Number", "Location Coordinates", "Cities", "Counties"]
    # The U+FFFD characters are valid UTF-8 (they replaced a degree sign upstream).
    assert records == [
        (2, "", ["2095257564", "37\ufffd36'37.8\"N 121\ufffd2'17.9\"W", "Modesto", "Stanislaus"])
    ]


@pytest.mark.parametrize(
    ("name", "expected", "blank"),
    [
        (
            "csvkit/bad.csv",
            [
                (2, MALFORMED, None),
                (3, MALFORMED, None),
                (4, "", ["0", "mixed types.... uh oh", "17"]),
            ],
            0,
        ),
        ("csvkit/blanks.csv", [(2, "", ["", "NA", "N/A", "NONE", "NULL", "."])], 0),
        (
            "csvkit/mac_newlines.csv",
            [(2, "", ["1", "2", "3"]), (3, "", ["Once upon\na time", "5", "6"])],
            0,
        ),
        ("csvkit/no_header_row.csv", [], 0),
        ("csvkit/null_byte.csv", [(2, ENCODING, None)], 0),
        ("csvkit/optional_quote_characters.csv", [(2, "", ["1", "2", "3"])], 0),
        ("csvkit/sniff_limit.csv", [(2, "", ["1", "2", "3"])], 0),
        (
            "csvkit/test_empty_columns.csv",
            [(2, "", ["a", "", "", "", ""]), (3, MALFORMED, None)],
            1,
        ),
        ("csvkit/test_empty_columns_long_row.csv", [], 1),
        ("csvkit/test_empty_columns_short_row.csv", [], 1),
        ("csvkit/test_header_newline.csv", [(5, "", ["d", "e", "f"])], 0),
        (
            "csvkit/test_join_short_rows.csv",
            [(2, MALFORMED, None), (3, MALFORMED, None), (4, "", ["3", "b", "c"])],
            0,
        ),
        ("csvkit/test_latin1.csv", [(2, "", ["1", "2", "3"]), (3, ENCODING, None)], 0),
        ("csvkit/test_no_leading_zeroes.csv", [(2, "", ["01", "00.11", "0.1"])], 0),
        ("csvkit/test_utf16_big.csv", [(2, "", ["1", "2", "3"]), (3, "", ["4", "5", "ʤ"])], 0),
        ("csvkit/test_utf16_little.csv", [(2, "", ["1", "2", "3"]), (3, "", ["4", "5", "ʤ"])], 0),
        ("csvkit/test_utf8.csv", [(2, "", ["1", "2", "3"]), (3, "", ["4", "5", "ʤ"])], 0),
        ("csvkit/test_utf8_bom.csv", [(2, "", ["1", "2", "3"]), (3, "", ["4", "5", "ʤ"])], 0),
        ("rust_csv/strange.csv", [(n, MALFORMED, None) for n in range(2, 8)], 0),
    ],
)
def test_edge_case_records(
    tmp_path: Path, name: str, expected: list[tuple[int, str, list[str] | None]], blank: int
) -> None:
    _, records, blanks = parse(EDGE / name, tmp_path)
    got = [(line, code, None if code else values) for line, code, values in records]
    assert got == [(line, code, values) for line, code, values in expected]
    assert blanks == blank


def test_utf8_bom_is_not_part_of_the_header(tmp_path: Path) -> None:
    names, _, _ = parse(EDGE / "csvkit/test_utf8_bom.csv", tmp_path)
    assert names == ["foo", "bar", "baz"]


@pytest.mark.parametrize(
    "name",
    [
        "uspop.csv",
        "uspop-null.csv",
        "uspop-latin1.csv",
        "smallpop-colon.csv",
        "smallpop-no-headers.csv",
    ],
)
def test_rust_csv_examples(tmp_path: Path, name: str) -> None:
    path = EDGE / "rust_csv" / name
    _, records, _ = parse(path, tmp_path)
    physical = path.read_bytes().count(b"\n")
    assert [line for line, _, _ in records] == list(range(2, physical + 1))
    bad = [line for line, code, _ in records if code]
    assert bad == ([4] if name == "uspop-latin1.csv" else [])
    if name == "uspop-latin1.csv":
        assert records[2][1] == ENCODING


def test_google_play_catalogue_parses(tmp_path: Path) -> None:
    """UTF-16LE with BOM and CRLF, 45,832 devices, non-ASCII names."""
    path = SHARED_DATA / "device_catalogs/google_play_supported_devices_2025-01-20.csv"
    names, records, blank = parse(path, tmp_path, chunk_bytes=256 << 10)
    assert names == ["Retail Branding", "Marketing Name", "Device", "Model"]
    assert len(records) + blank == 45_832
    assert [r for r in records if r[1]] == []
    assert any("®" in (v or "") for _, _, values in records for v in values)
    lines = [line for line, _, _ in records]
    assert lines == sorted(lines) and lines[0] == 2


# --- property: the chunked parser equals Python's csv module on well-formed files ----------

FIELD = st.text(alphabet=st.sampled_from([*'ab ,"\n\t;é1', "ʤ"]), max_size=8)


def oracle(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Records with the line each starts on, by Python's csv module, blank records dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    next(reader)
    out, start = [], reader.line_num + 1
    for rec in reader:
        if any(v.strip(" \t") for v in rec):
            out.append((start, rec))
        start = reader.line_num + 1
    return out


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    width=st.integers(1, 4),
    rows=st.lists(st.lists(FIELD, min_size=4, max_size=4), max_size=30),
    chunk=st.sampled_from([32, 100, 4096]),
    delimiter=st.sampled_from([",", ";"]),
)
def test_parser_equals_python_csv(
    tmp_path: Path, width: int, rows: list[list[str]], chunk: int, delimiter: str
) -> None:
    if width == 1:
        delimiter = ","  # a one-column header shows no delimiter; SPEC's default is the comma
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow([f"h{i}" for i in range(width)])
    writer.writerows(row[:width] for row in rows)
    text = buf.getvalue()
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8", newline="")
    _, records, _ = parse(path, tmp_path / "w", chunk_bytes=chunk)
    assert [(line, values) for line, code, values in records] == oracle(text, delimiter)
    assert all(code == "" for _, code, _ in records)


def test_broken_quote_spoils_one_line_only(tmp_path: Path) -> None:
    lines = ["a,b", '"open,1', "x,2", "y,3", 'z,"4"x', "w,5"]
    path = tmp_path / "q.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for chunk in (8, 64, 1 << 20):
        _, records, _ = parse(path, tmp_path / f"w{chunk}", chunk_bytes=chunk)
        assert [(line, code) for line, code, _ in records] == [
            (2, MALFORMED),
            (3, ""),
            (4, ""),
            (5, MALFORMED),
            (6, ""),
        ]


def test_quoted_field_spanning_lines_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('a,b\n1,"x\ny\nz"\n2,3\n', encoding="utf-8")
    _, records, _ = parse(path, tmp_path)
    assert records == [(2, "", ["1", "x\ny\nz"]), (5, "", ["2", "3"])]


def test_a_well_formed_line_inside_a_multi_line_record_belongs_to_it(tmp_path: Path) -> None:
    # Line 3 is a whole quoted record on its own, but the record opened on line 2 takes it.
    path = tmp_path / "inner.csv"
    path.write_text('a,b\n1,"x\n"",""\n"\n2,"3"\n', encoding="utf-8")
    _, records, _ = parse(path, tmp_path)
    assert records == [(2, "", ["1", 'x\n","\n']), (5, "", ["2", "3"])]


def test_every_field_quoted_reads_as_the_csv_module_does(tmp_path: Path) -> None:
    rows = [["h1", "h2", "h3"], *([f"v{i}", 'say "hi", ok', ""] for i in range(500))]
    buf = io.StringIO(newline="")
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "quoted.csv"
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    _, records, _ = parse(path, tmp_path / "w", chunk_bytes=1000)
    assert [(line, values) for line, _, values in records] == oracle(buf.getvalue(), ",")
    assert all(code == "" for _, code, _ in records)
