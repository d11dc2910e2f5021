"""`check` on real third-party files: the community zero-touch samples (verdicts from
shared/data/zero_touch/zero_touch_reference_facts.md), every CSV edge case, and row
conservation (one outcome per data row) on every file the tests use."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import FIXTURES, SHARED_DATA
from ztbulk import Catalog, check

ZT = SHARED_DATA / "zero_touch"
EDGE_FILES = sorted((SHARED_DATA / "csv_edge_cases").rglob("*.csv"))


def outcomes(out: Path) -> dict[int, list[str]]:
    frame = pl.read_parquet(out / "outcomes.parquet")
    return {line: list(codes) for line, codes in frame.select("line", "codes").iter_rows()}


def test_imei_template_without_manufacturer_is_a_file_error(tmp_path: Path) -> None:
    report = check(ZT / "community_template_imei_4col.csv", actor="reseller", out_dir=tmp_path)
    assert [e["code"] for e in report.file_errors] == ["HEADER_MISSING_COLUMN"]
    assert "manufacturer" in report.file_errors[0]["message"]


@pytest.mark.parametrize("catalog", [None, FIXTURES / "catalog_test.csv"], ids=["packaged", "test"])
def test_serial_template_as_reseller(tmp_path: Path, catalog: Path | None) -> None:
    report = check(
        ZT / "community_template_serial_5col.csv",
        actor="reseller",
        catalog=catalog,
        out_dir=tmp_path,
    )
    assert outcomes(tmp_path) == {2: ["OWNER_INVALID"], 3: ["MODEL_UNKNOWN", "OWNER_INVALID"]}
    assert report.exit_code == 1


def test_seven_column_example_with_marketing_name_listed(tmp_path: Path) -> None:
    report = check(
        ZT / "community_generator_7col_example.csv",
        actor="reseller",
        catalog=FIXTURES / "catalog_test.csv",
        out_dir=tmp_path,
    )
    assert report.file.encoding == "utf-8-sig"
    assert outcomes(tmp_path) == {2: [], 3: ["IMEI_CHECKSUM"]}


def test_seven_column_example_with_packaged_catalogue(tmp_path: Path) -> None:
    check(ZT / "community_generator_7col_example.csv", actor="reseller", out_dir=tmp_path)
    assert outcomes(tmp_path) == {2: ["MODEL_UNKNOWN"], 3: ["IMEI_CHECKSUM", "MODEL_UNKNOWN"]}


def test_play_list_works_as_a_catalogue(tmp_path: Path) -> None:
    play = Catalog.from_csv(
        SHARED_DATA / "device_catalogs/google_play_supported_devices_2025-01-20.csv"
    )
    assert play.pairs.height > 40_000
    check(
        ZT / "community_generator_7col_example.csv",
        actor="reseller",
        catalog=play,
        out_dir=tmp_path,
    )
    # The Play list knows the tablet only as SM-T636B etc., not by its marketing name.
    assert outcomes(tmp_path)[2] == ["MODEL_UNKNOWN"]


# Every edge-case file ends in a file-level error: none has zero-touch columns. Which one:
EDGE_VERDICTS = {path.name: "HEADER_MISSING_COLUMN" for path in EDGE_FILES}


@pytest.mark.parametrize("path", EDGE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_edge_case_file_verdict(tmp_path: Path, path: Path) -> None:
    report = check(path, out_dir=tmp_path)
    assert [e["code"] for e in report.file_errors] == [EDGE_VERDICTS[path.name]]
    assert report.exit_code == 2


def zero_touch_version(path: Path) -> bytes:
    """The edge-case file with a zero-touch header put in front of its data, so its records
    go through row checks (each data line keeps its own bytes)."""
    data = path.read_bytes()
    header = b"modemtype,modemid,manufacturer,profiletype,profileid"
    first_nl = data.find(b"\n")
    return header + b"\n" + (data[first_nl + 1 :] if first_nl >= 0 else b"")


def expected_data_rows(data: bytes) -> int | None:
    """Independent count of data rows: Python's csv module, blank records excluded.
    None where the file is not plain UTF-8 CSV that the csv module reads the same way."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text or "\r" in text.replace("\r\n", "\n"):
        return None
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))[1:]
    except csv.Error:
        return None
    return sum(1 for r in records if any(v.strip(" \t") for v in r))


@pytest.mark.parametrize("path", EDGE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_row_conservation(tmp_path: Path, path: Path) -> None:
    """outcomes == data rows: every record gets exactly one outcome, whatever its defects."""
    src = tmp_path / "zt.csv"
    src.write_bytes(zero_touch_version(path))
    report = check(src, out_dir=tmp_path / "out")
    frame = pl.read_parquet(tmp_path / "out" / "outcomes.parquet")
    assert frame.height == report.rows == sum(report.outcomes.values())
    assert frame["line"].is_unique().all() and frame["line"].is_sorted()
    expected = expected_data_rows(src.read_bytes())
    if expected is not None:
        assert report.rows == expected


def test_row_conservation_on_generated_file(tmp_path: Path) -> None:
    from ztbulk.sample import SampleSpec, generate

    src = generate(SampleSpec(rows=5000, defect_rate=0.02), tmp_path / "g.csv", Catalog.packaged())
    report = check(src, out_dir=tmp_path / "out")
    frame = pl.read_parquet(tmp_path / "out" / "outcomes.parquet")
    physical = src.read_bytes().count(b"\n") - 1
    assert frame.height == report.rows == physical - report.blank
    assert report.rows == expected_data_rows(src.read_bytes())
    assert set(report.outcomes) == {"valid", "rejected", "skipped"}
