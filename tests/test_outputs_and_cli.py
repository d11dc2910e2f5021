"""SPEC section 6 output files and the `ztbulk check` command (exit codes, messages, JSON)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.conftest import FIXTURES, HEADER, IMEI_OK, csv_text, run_check
from ztbulk.cli import main
from ztbulk.codes import CATALOGUE, ROW_CODES, Code, codes_of, mask_of
from ztbulk.domain import CANONICAL_COLUMNS
from ztbulk.report.outputs import OutputWriter, render

ROW = f"IMEI,{IMEI_OK},,SM-A155M,Samsung,ZERO_TOUCH,101"


def test_outcomes_parquet_schema(tmp_path: Path) -> None:
    result = run_check(tmp_path, csv_text(ROW, "imei,1,,,,,x"))
    schema = pq.read_schema(result.out_dir / "outcomes.parquet")
    assert [(f.name, str(f.type)) for f in schema] == [
        ("line", "int64"),
        ("outcome", "string"),
        ("codes", "list<element: string>"),
        ("device_id", "int64"),
        ("message", "string"),
    ]
    assert result.row(2) == {
        "line": 2,
        "outcome": "valid",
        "codes": [],
        "device_id": None,
        "message": "",
    }
    bad = result.row(3)
    assert bad["outcome"] == "rejected" and bad["device_id"] is None
    assert "modemtype imei must be upper case." in bad["message"]


def test_messages_follow_the_catalogue_for_every_mask() -> None:
    """Rows of mixed masks (none, one code, several, interleaved) get their codes' templates
    in catalogue order, filled with the row's values or `(blank)`, in the frame's row order:
    checked against `str.format` on the catalogue, row by row."""
    masks = [
        mask_of(Code.MODEMTYPE_CASE),
        0,
        mask_of(Code.IMEI_CHECKSUM, Code.MODEL_UNKNOWN, Code.PROFILETYPE_CASE),
        mask_of(Code.MODEMTYPE_CASE),
        mask_of(*ROW_CODES),
        mask_of(Code.DEVICE_NOT_FOUND, Code.KME_CONFLICT),
    ]
    values = {name: [f"{name}-{i}" if i % 3 else None for i in range(len(masks))]
              for name in (*CANONICAL_COLUMNS, "raw", "dup_of")}  # fmt: skip
    frame = pl.DataFrame({"line": range(2, 2 + len(masks)), "mask": masks, **values},
                         schema_overrides={"mask": pl.UInt64, "line": pl.Int64})  # fmt: skip

    def expected(i: int) -> str:
        row = {name: column[i] or "(blank)" for name, column in values.items()}
        return " ".join(CATALOGUE[c].template.format(**row) for c in codes_of(masks[i]))

    got = render(frame)
    assert got["line"].to_list() == frame["line"].to_list()
    assert got["message"].to_list() == [expected(i) for i in range(len(masks))]
    assert got["codes"].to_list()[2] == ["IMEI_CHECKSUM", "MODEL_UNKNOWN", "PROFILETYPE_CASE"]


def test_an_error_writing_the_files_reaches_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output files are written on a thread: its error (a full disk, say) is raised to
    whoever writes or closes, never dropped with the rows."""
    writer = OutputWriter(tmp_path, ["modemid"])

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", disk_full)
    plain = pl.DataFrame(
        {"line": [2], "outcome": ["valid"], "device_id": [None]},
        schema={"line": pl.Int64, "outcome": pl.String, "device_id": pl.Int64},
    )
    failing = pl.DataFrame(
        schema={"line": pl.Int64, "outcome": pl.String, "codes": pl.List(pl.String),
                "message": pl.String, "mask": pl.UInt64, "f0": pl.String},
    )  # fmt: skip
    writer.write(plain, failing)
    with pytest.raises(OSError, match="No space left"):
        writer.write(plain, failing)  # waits for the first batch's files
    with pytest.raises(OSError, match="No space left"):
        writer.close()  # and the second's


def test_report_json(tmp_path: Path) -> None:
    result = run_check(tmp_path, csv_text(ROW, ROW, "", "x"))
    report = json.loads((result.out_dir / "report.json").read_text(encoding="utf-8"))
    src = tmp_path / "input.csv"

    assert report["file"]["name"] == "input.csv"
    assert report["file"]["size"] == src.stat().st_size
    assert report["file"]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (report["actor"], report["mode"]) == ("customer", "profileid")
    assert (report["rows"], report["blank"]) == (3, 1)
    assert report["outcomes"] == {"valid": 1, "skipped": 1, "rejected": 1}
    assert report["codes"] == {"DUPLICATE_ROW": 1, "ROW_MALFORMED": 1}
    assert set(report["timings"]) >= {"parse_validate", "duplicates", "write", "total"}
    assert report["exit_code"] == 1


def test_errors_csv_roundtrip_and_formula_guard(tmp_path: Path) -> None:
    formulas = "IMEI,=1+2,,@SUM(A1),-Samsung,+ZERO_TOUCH,101,\tb"
    result = run_check(
        tmp_path, csv_text(ROW + ",a", formulas, ROW + ",c", header=HEADER + ",note")
    )
    parsed = list(csv.reader(io.StringIO(result.errors_csv)))
    assert parsed[0] == [
        *HEADER.split(","),
        "note",
        "ztbulk_line",
        "ztbulk_outcome",
        "ztbulk_codes",
        "ztbulk_message",
    ]
    assert [r[8] for r in parsed[1:]] == ["3", "4"]  # rejected and skipped rows only, by line
    bad = parsed[1]
    assert (
        bad[1] == "'=1+2"
        and bad[3] == "'@SUM(A1)"
        and bad[4] == "'-Samsung"
        and bad[5] == "'+ZERO_TOUCH"
    )
    assert bad[7] == "'\tb"
    assert parsed[2][9:11] == ["skipped", "DUPLICATE_ROW"]
    # The error file goes back in as is: its ztbulk_ columns are ignored, without a warning.
    again = run_check(tmp_path, (result.out_dir / "errors.csv").read_bytes(), name="again.csv")
    assert [w["code"] for w in again.report.warnings] == ["HEADER_UNKNOWN_COLUMN"]  # `note` only
    assert "ztbulk_" not in again.report.warnings[0]["message"]
    assert again.report.rows == 2


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, csv_text(ROW), "good.csv")
    bad = write(tmp_path, csv_text(ROW, "x"), "bad.csv")
    broken = write(tmp_path, "a,b\n1,2\n", "broken.csv")
    cat = str(FIXTURES / "catalog_test.csv")
    assert main(["check", str(good), "--catalog", cat, "--out", str(tmp_path / "o1")]) == 0
    assert main(["check", str(bad), "--catalog", cat, "--out", str(tmp_path / "o2")]) == 1
    assert main(["check", str(broken), "--out", str(tmp_path / "o3")]) == 2
    out = capsys.readouterr().out
    assert "FILE ERROR HEADER_MISSING_COLUMN" in out and "line        3" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["check", "/nonexistent/devices.csv"], "does not exist"),
        (["check", "{dir}"], "is a folder"),
        (["check", "{good}", "--catalog", "/nonexistent.csv"], "cannot be read"),
        (["check", "{good}", "--catalog", "{other}"], "needs the columns manufacturer and model"),
        (["check", "{good}", "--as", "boss"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_usage_errors_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    good = write(tmp_path, csv_text(ROW))
    other = write(tmp_path, "brand,name\nAcme,X\n", "other.csv")
    args = [a.format(dir=tmp_path, good=good, other=other) for a in argv]
    assert (
        main(
            [*args, "--out", str(tmp_path / "o")] if args[0] == "check" and len(args) > 1 else args
        )
        == 2
    )
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_cli_json_prints_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, csv_text(ROW))
    out_dir = tmp_path / "o"
    code = main(["check", str(good), "--format", "json", "--out", str(out_dir), "--as", "customer"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert printed["exit_code"] == code


def test_default_out_dir_is_new_each_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    good = write(tmp_path, csv_text(ROW))
    main(["check", str(good), "--format", "json"])
    main(["check", str(good), "--format", "json"])
    runs = sorted((tmp_path / "ztbulk-out").iterdir())
    assert len(runs) == 2 and all((r / "report.json").exists() for r in runs)


def test_max_file_bytes_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, csv_text(ROW))
    monkeypatch.setenv("ZTBULK_MAX_FILE_BYTES", "10")
    assert main(["check", str(good), "--out", str(tmp_path / "o")]) == 2
    assert "FILE_TOO_LARGE" in capsys.readouterr().out
