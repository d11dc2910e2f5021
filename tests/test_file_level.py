"""SPEC section 2: file-level codes (each with a near miss), encodings, delimiters and header."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from tests.conftest import HEADER, IMEI_OK, csv_text, run_check
from ztbulk import check
from ztbulk.parse import ParseConfig

ROW = f"IMEI,{IMEI_OK},,SM-A155M,Samsung,ZERO_TOUCH,101"


def file_codes(result_report: object) -> list[str]:
    return [e["code"] for e in result_report.file_errors]  # type: ignore[attr-defined]


def warning_codes(result_report: object) -> list[str]:
    return [e["code"] for e in result_report.warnings]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("content", "codes"),
    [
        (b"\n" + HEADER.encode() + b"\n", ["HEADER_MISSING_COLUMN"]),  # header not on line 1
        (b"modemtype,modemid,caf\xe9,profiletype,profileid\n", ["FILE_ENCODING"]),
        (codecs.BOM_UTF16_LE + b"\x00\xd8a\x00", ["FILE_ENCODING"]),  # lone surrogate
        (b"modemtype,modemid,profiletype,profileid\n", ["HEADER_MISSING_COLUMN"]),
        (b"modemtype,manufacturer,profiletype,profileid\n", ["HEADER_MISSING_COLUMN"]),
        (b"modemid,manufacturer,profileid\n", ["HEADER_MISSING_COLUMN"]),
        (b"modemid,manufacturer,profiletype\n", ["HEADER_MISSING_COLUMN"]),
        (b"modem_id,ModemId,manufacturer,profiletype,profileid\n", ["HEADER_DUPLICATE_COLUMN"]),
        (b"modemid,manufacturer,profiletype,profileid,owner\n", ["HEADER_MODE_CONFLICT"]),
        (
            b"modemid,manufacturer,modem-id,profileid,owner\n",
            ["HEADER_DUPLICATE_COLUMN", "HEADER_MISSING_COLUMN", "HEADER_MODE_CONFLICT"],
        ),
    ],
)
def test_file_errors_stop_the_file(tmp_path: Path, content: bytes, codes: list[str]) -> None:
    result = run_check(tmp_path, content + ROW.encode() + b"\n")
    assert file_codes(result.report) == codes
    assert result.report.exit_code == 2
    assert result.report.rows == 0
    assert result.outcomes.height == 0
    assert all(e["message"].endswith(".") for e in result.report.file_errors)


@pytest.mark.parametrize("content", [b"", codecs.BOM_UTF8, b"\n\n \r\n", codecs.BOM_UTF16_LE])
def test_file_empty(tmp_path: Path, content: bytes) -> None:
    result = run_check(tmp_path, content)
    assert file_codes(result.report) == ["FILE_EMPTY"]
    assert result.report.exit_code == 2


def test_header_only_file_is_no_error(tmp_path: Path) -> None:
    result = run_check(tmp_path, HEADER + "\n")
    assert result.report.file_errors == []
    assert (result.report.rows, result.report.exit_code) == (0, 0)


def test_mode_not_allowed_for_reseller_only(tmp_path: Path) -> None:
    text = csv_text(ROW)
    assert file_codes(run_check(tmp_path, text, actor="reseller").report) == [
        "HEADER_MODE_NOT_ALLOWED"
    ]
    assert file_codes(run_check(tmp_path, text, actor="customer").report) == []


def test_file_too_large_and_its_limit(tmp_path: Path) -> None:
    src = tmp_path / "f.csv"
    src.write_text(csv_text(ROW), encoding="utf-8")
    size = src.stat().st_size
    over = check(src, out_dir=tmp_path / "a", config=ParseConfig(max_bytes=size - 1))
    at = check(src, out_dir=tmp_path / "b", config=ParseConfig(max_bytes=size))
    assert [e["code"] for e in over.file_errors] == ["FILE_TOO_LARGE"]
    assert at.file_errors == [] and at.outcomes == {"valid": 1}


def test_header_names_are_normalised_and_order_is_free(tmp_path: Path) -> None:
    header = " Profile ID ,MANUFACTURER,profile_type,Model, Modem-Id ,modem type,Serial"
    row = f"101,Samsung,ZERO_TOUCH,SM-A155M,{IMEI_OK},IMEI,"
    result = run_check(tmp_path, csv_text(row, header=header))
    assert result.report.file_errors == []
    assert result.row(2)["outcome"] == "valid"


def test_unknown_columns_warn_and_ztbulk_columns_are_ignored(tmp_path: Path) -> None:
    header = HEADER + ",color,ztbulk_line,ZTBULK_MESSAGE"
    result = run_check(tmp_path, csv_text(ROW + ",red,7,old"), name="a.csv")
    assert result.report.warnings == []
    result = run_check(tmp_path, csv_text(ROW + ",red,7,old", header=header), name="b.csv")
    assert warning_codes(result.report) == ["HEADER_UNKNOWN_COLUMN"]
    assert "color" in result.report.warnings[0]["message"]
    assert "ztbulk" not in result.report.warnings[0]["message"]
    assert result.row(2)["outcome"] == "valid"
    assert result.report.exit_code == 0  # a warning alone is not a failure


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_delimiter_detected_from_header(tmp_path: Path, delimiter: str) -> None:
    text = csv_text(ROW.replace(",", delimiter), header=HEADER.replace(",", delimiter))
    result = run_check(tmp_path, text)
    assert result.report.file.delimiter == delimiter
    assert result.row(2)["outcome"] == "valid"


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "utf-8-sig"),
        (lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "utf-16-le"),
        (lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_encodings(tmp_path: Path, encode: object, encoding: str) -> None:
    text = csv_text(ROW, ROW.replace("101", "102").replace(IMEI_OK, "123456789012347")).replace(
        "\n", "\r\n"
    )
    result = run_check(tmp_path, encode(text))  # type: ignore[operator]
    assert result.report.file.encoding == encoding
    assert result.report.outcomes == {"valid": 2}
    assert result.outcomes["line"].to_list() == [2, 3]


def test_cr_only_line_ends(tmp_path: Path) -> None:
    result = run_check(tmp_path, csv_text(ROW, "", ROW).replace("\n", "\r"))
    assert result.outcomes["line"].to_list() == [2, 4]
    assert result.report.blank == 1
    assert result.codes(4) == ["DUPLICATE_ROW"]


def test_blank_lines_and_blank_records_are_not_rows(tmp_path: Path) -> None:
    text = csv_text(ROW, "", ",,,,,,", " , ,\t,,,,", '"","",,,,,', "   ", ",,")
    result = run_check(tmp_path, text)
    assert result.report.rows == 1
    assert result.report.blank == 6
    assert result.outcomes["line"].to_list() == [2]
