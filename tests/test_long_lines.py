"""Long lines end in a clear verdict with bounded memory (issue 14, item 6).

Each file is generated in tmp_path and checked by `ztbulk check` in a fresh process, whose
peak RSS is read from /proc (VmHWM) by a small wrapper: the limit must hold whatever the line
lengths, so the test asserts the verdict *and* that the process stayed under 1 GB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import HEADER, IMEI_OK, IMEI_OK2, TEST_CATALOG
from ztbulk.parse import ParseConfig

MB = 1_000_000
GOOD = f"IMEI,{IMEI_OK},,SM-A155M,Samsung,ZERO_TOUCH,101"
GOOD2 = f"IMEI,{IMEI_OK2},,SM-A155M,Samsung,ZERO_TOUCH,101"
RSS_LIMIT_MIB = 1024

# Runs the CLI as a child and prints its exit code and peak RSS (MiB) from its VmHWM, read
# while it is a zombie (after it exited, before it is reaped).
_WRAPPER = """
import os, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak = 0
while True:
    try:
        for line in open(f"/proc/{p.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    if p.poll() is not None:
        break
    time.sleep(0.05)
sys.stderr.write(p.stderr.read().decode(errors="replace"))
print(p.returncode, peak // 1024)
"""


def run_cli(path: Path, out: Path) -> tuple[int, int, dict[str, object]]:
    """(exit code, peak RSS MiB, report.json) of `ztbulk check path`."""
    cli = Path(sys.executable).with_name("ztbulk")
    args = [str(cli), "check", str(path), "--catalog", str(TEST_CATALOG), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, check=True
    )
    code, peak = (int(v) for v in done.stdout.split())
    assert peak > 0, "no peak RSS read from /proc"
    return code, peak, json.loads((out / "report.json").read_text())


def write_with_long_line(path: Path, long_line: bytes, *, before: str, after: str) -> None:
    with path.open("wb") as f:
        f.write(f"{HEADER}\n{before}\n".encode())
        for start in range(0, len(long_line), 8 * MB):
            f.write(long_line[start : start + 8 * MB])
        f.write(f"\n{after}\n".encode())


def codes_by_line(out: Path) -> dict[int, list[str]]:
    frame = pl.read_parquet(out / "outcomes.parquet")
    return {int(r["line"]): list(r["codes"]) for r in frame.iter_rows(named=True)}


def test_a_200_mb_data_line_is_row_too_long_and_the_rows_around_it_are_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "long.csv"
    long_line = ("IMEI," + "9" * 200 * MB + ",,SM-A155M,Samsung,ZERO_TOUCH,101").encode()
    write_with_long_line(path, long_line, before=GOOD, after=GOOD2)
    code, peak, report = run_cli(path, tmp_path / "out")
    assert codes_by_line(tmp_path / "out") == {2: [], 3: ["ROW_TOO_LONG"], 4: []}
    assert code == 1 and report["rows"] == 3
    assert peak < RSS_LIMIT_MIB, f"peak RSS {peak} MiB"


@pytest.mark.parametrize("quoted", [False, True], ids=["unquoted", "quoted"])
def test_a_10_mb_field_is_row_too_long(tmp_path: Path, quoted: bool) -> None:
    path = tmp_path / "field.csv"
    value = "x" * 10 * MB
    model = f'"{value}"' if quoted else value
    long_line = f"IMEI,{IMEI_OK},,{model},Samsung,ZERO_TOUCH,101".encode()
    write_with_long_line(path, long_line, before=GOOD2, after=GOOD2.replace("101", "102"))
    code, peak, _ = run_cli(path, tmp_path / "out")
    codes = codes_by_line(tmp_path / "out")
    assert codes[3] == ["ROW_TOO_LONG"] and codes[2] == ["DUPLICATE_CONFLICT"] == codes[4]
    assert code == 1 and peak < RSS_LIMIT_MIB, f"peak RSS {peak} MiB"


def test_a_200_mb_header_line_is_header_too_long_with_no_data_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    with path.open("wb") as f:
        f.write(HEADER.encode())
        for _ in range(25):
            f.write(b",c" * (4 * MB))
        f.write(f"\n{GOOD}\n".encode())
    code, peak, report = run_cli(path, tmp_path / "out")
    assert code == 2 and report["rows"] == 0
    assert [e["code"] for e in report["file_errors"]] == ["HEADER_TOO_LONG"]  # type: ignore[attr-defined]
    assert not report["warnings"] and len(json.dumps(report)) < 100_000
    assert peak < RSS_LIMIT_MIB, f"peak RSS {peak} MiB"


def test_10000_columns_are_read(tmp_path: Path) -> None:
    extra = [f"x{i}" for i in range(10_000 - 7)]
    path = tmp_path / "wide.csv"
    padding = "," * len(extra)
    rows = [GOOD + padding, GOOD2 + padding, "imei" + GOOD[4:] + padding]
    path.write_text("\n".join([",".join([HEADER, *extra]), *rows]) + "\n")
    code, peak, report = run_cli(path, tmp_path / "out")
    assert codes_by_line(tmp_path / "out") == {2: [], 3: [], 4: ["MODEMTYPE_CASE"]}
    assert [w["code"] for w in report["warnings"]] == ["HEADER_UNKNOWN_COLUMN"]  # type: ignore[attr-defined]
    assert code == 1 and peak < RSS_LIMIT_MIB, f"peak RSS {peak} MiB"


def test_a_multi_line_record_past_the_limit_is_row_too_long(tmp_path: Path) -> None:
    """Each line is under the limit, the record's lines together are over it."""
    from tests.conftest import run_check

    third = "y" * (ParseConfig().max_record_bytes // 3)
    value = f'"{third}\n{third}\n{third}\n"'
    text = f"{HEADER}\n{GOOD}\nIMEI,{IMEI_OK2},,{value},Samsung,ZERO_TOUCH,1\n"
    result = run_check(tmp_path, text + GOOD2 + "\n")
    assert result.codes(3) == ["ROW_TOO_LONG"]
    assert result.codes(2) == [] and result.codes(7) == []
    assert result.outcomes.height == 3
