"""Every command takes --json and answers in JSON, errors included; text output shows no Python
reprs, pydantic's own words or internal columns; `import` shows a progress bar on a terminal
(#13 item 9).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import HEADER, seeded_at
from ztbulk.cli import build_parser, main
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, OWNER, Seeded
from ztbulk.sample import luhn_check_digit


@pytest.fixture
def seeded(db: Path) -> Seeded:
    return seeded_at(db, 30, 5)


def _leaves(parser: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, Any]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
    for sub in subs:
        for name, child in sub.choices.items():
            yield from _leaves(child, f"{path} {name}".strip())


def test_every_command_takes_json() -> None:
    commands = dict(_leaves(build_parser()))
    assert {"check", "import", "demo", "worker", "jobs", "job show", "catalog fetch"} <= set(
        commands
    )
    lacking = [name for name, p in commands.items() if "--json" not in p._option_string_actions]
    assert lacking == []


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.parametrize(
    ("argv", "exit_code", "says"),
    [
        (["customer", "show", "--as", "nobody@x.example", "--db", "{db}"], 2, "not a user"),
        (["check"], 2, "required: FILE"),  # argparse's own complaint, as JSON too
        (["check", "{db}.missing.csv"], 2, "missing.csv"),
        (["worker"], 2, "ZTBULK_BROKER_URL"),
        (
            [
                "config",
                "add",
                "--name",
                " ",
                "--dpc",
                "d/.R",
                "--company",
                "C",
                "--as",
                OWNER,
                "--db",
                "{db}",
            ],
            2,
            "The name must not be blank.",
        ),
        (
            [
                "config",
                "add",
                "--name",
                "N",
                "--dpc",
                "d/.R",
                "--company",
                "",
                "--as",
                OWNER,
                "--db",
                "{db}",
            ],
            2,
            "The company name must not be empty.",
        ),
        (["device", "find", "123", "--as", OWNER, "--db", "{db}"], 1, None),
    ],
)
def test_errors_in_json_mode_are_json(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str], argv: list[str],
    exit_code: int, says: str | None,
) -> None:  # fmt: skip
    code, answer = _json(capsys, *(a.format(db=db) for a in argv))
    assert code == exit_code
    if says is None:
        assert answer == []
        return
    error = answer["error"]
    assert says in error["message"] and error["exit_code"] == exit_code
    assert "String should" not in error["message"] and "\n" not in error["message"]


def test_import_and_demo_answer_in_json(
    db: Path, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(f"{HEADER}\nIMEI,1,,,,ZERO_TOUCH,1\n", encoding="utf-8")
    account = f"customer:{seeded.customer_id}"
    code, report = _json(capsys, "import", str(src), "--as", account, "--user", ADMIN,
                         "--db", str(db), "--spool", str(tmp_path / "jobs"))  # fmt: skip
    assert code == report["exit_code"] == 1 and report["outcomes"] == {"rejected": 1}
    code, queued = _json(capsys, "import", str(src), "--as", f"customer:{seeded.customer_id}",
                         "--user", ADMIN, "--db", str(db), "--spool", str(tmp_path / "jobs"),
                         "--no-wait")  # fmt: skip
    assert code == 0 and set(queued) == {"job_id"}
    code, shown = _json(capsys, "job", "show", queued["job_id"], "--db", str(db))
    assert code == 0 and shown["state"] == "submitted"
    code, demo = _json(capsys, "demo", "--dir", str(tmp_path / "demo"), "--devices", "300",
                       "--rows", "200")  # fmt: skip
    assert code == 0 and 150 < demo["report"]["rows"] <= 200 and demo["demo"]["admin"] == ADMIN


def test_text_output_shows_no_reprs_or_internal_columns(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["customer", "show", "--as", OWNER, "--db", str(db)]) == 0
    with Registry.open(db) as reg:
        imei = reg.one("SELECT imei FROM devices WHERE customer_id = ? AND imei IS NOT NULL",
                       [seeded.customer_id])  # fmt: skip
    assert imei is not None
    assert main(["device", "find", str(imei[0]), "--as", OWNER, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"  email={OWNER}  role=owner" in out
    for leak in ("{'", "[{", "None", "imei_n", "meid_n", "PosixPath"):
        assert leak not in out


def _big_file(path: Path, config_id: int, rows: int = 100_000) -> Path:
    body = pl.format("35{}", pl.col("i").cast(pl.String).str.zfill(12))
    frame = pl.DataFrame({"i": range(rows)}).select(
        modemtype=pl.lit("IMEI"), modemid=body + luhn_check_digit(body), serial=pl.lit(""),
        model=pl.lit("SC-51C"), manufacturer=pl.lit("Samsung"), profiletype=pl.lit("ZERO_TOUCH"),
        profileid=pl.lit(str(config_id)),
    )  # fmt: skip
    frame.write_csv(path)
    assert path.stat().st_size > 4 * 1024 * 1024  # the bar's threshold
    return path


def test_import_shows_a_progress_bar_on_a_terminal(
    db: Path, seeded: Seeded, tmp_path: Path
) -> None:
    src = _big_file(tmp_path / "big.csv", seeded.default_configuration_id)
    leader, follower = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ztbulk", "import", str(src), "--as",
         f"customer:{seeded.customer_id}", "--user", ADMIN, "--db", str(db),
         "--spool", str(tmp_path / "jobs"), "--out", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    seen: list[bytes] = []

    def drain() -> None:  # a terminal nobody reads would stop the writer
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other end closed
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    assert proc.wait(timeout=300) == 1  # DEVICE_NOT_FOUND: the devices are not registered
    reader.join(timeout=10)
    os.close(leader)
    screen = b"".join(seen).decode(errors="replace")
    assert "100.0%" in screen and "rows/s" in screen and "[####" in screen
    # The next progress line starts on a line of its own, not glued to the bar's.
    assert "rows/s\r\nztbulk: job" in screen and "writing the reports" in screen


def test_jobs_lists_without_reprs(
    db: Path, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(f"{HEADER}\nIMEI,1,,,,ZERO_TOUCH,1\n", encoding="utf-8")
    base = ["import", str(src), "--as", f"customer:{seeded.customer_id}", "--user", ADMIN,
            "--db", str(db), "--spool", str(tmp_path / "jobs")]  # fmt: skip
    assert main([*base, "--dry-run"]) == 1
    assert main([*base, "--no-wait"]) == 0  # submitted: no rows counted yet
    capsys.readouterr()
    assert main(["jobs", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert "dry run" in listed and "None" not in listed and "batches 0/0" in listed
