"""One `Settings`, read once: what the environment gives, what is refused, and every limit on
every path (check, import, resume)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ztbulk
from ztbulk.errors import UsageError
from ztbulk.jobs import import_file, resume_job
from ztbulk.parse import ParseConfig
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, seed
from ztbulk.settings import Settings

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"


def test_the_environment_read_once() -> None:
    env = {
        "ZTBULK_DB": "/r/reg.duckdb", "ZTBULK_SPOOL": "/s", "ZTBULK_BATCH_ROWS": "7",
        "ZTBULK_BROKER_URL": "redis://h:1/0", "ZTBULK_MAX_FILE_BYTES": "10",
        "ZTBULK_DUCKDB_MEMORY": "2GB", "ZTBULK_MAIL_FROM": "z@example.com", "ZTBULK_SMTP_URL": "",
    }  # fmt: skip
    got = Settings.from_env(env)
    assert (got.db, got.spool, got.batch_rows) == (Path("/r/reg.duckdb"), Path("/s"), 7)
    assert (got.broker_url, got.parse.max_bytes) == ("redis://h:1/0", 10)
    assert (got.duckdb_memory, got.mail_from, got.smtp_url) == ("2GB", "z@example.com", None)
    assert Settings.from_env({}) == Settings()
    assert got.with_options(db="/other", spool=None).db == Path("/other")


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BROKER_URL", "http://127.0.0.1:6379", "is not a Redis URL"),
        ("BATCH_ROWS", "many", "is not a whole number"),
        ("BATCH_ROWS", "0", "must be a positive number"),
        ("DUCKDB_MEMORY", "lots", "is not a size"),
        ("MAX_FILE_BYTES", "1e6", "is not a whole number"),
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_it(name: str, value: str, says: str) -> None:
    with pytest.raises(UsageError, match=f"ZTBULK_{name}.*{says}|{says}"):
        Settings.from_env({f"ZTBULK_{name}": value})


def test_the_library_exports_its_api() -> None:
    assert set(ztbulk.__all__) >= {"check", "import_file", "resume_job", "cancel_job", "Settings"}
    assert all(hasattr(ztbulk, name) for name in ztbulk.__all__)


@pytest.fixture
def registry(tmp_path: Path) -> tuple[Path, int, Path]:
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        seeded = seed(reg, 20, other_devices=0)
        imei = reg.one("SELECT imei FROM devices WHERE imei IS NOT NULL LIMIT 1")
    assert imei is not None
    src = tmp_path / "in.csv"
    src.write_text(f"{HEADER}\nIMEI,{imei[0]},,,Google,ZERO_TOUCH,{seeded.configuration_ids[1]}\n")
    return db, seeded.customer_id, src


def test_the_byte_limit_applies_to_import_and_resume(
    tmp_path: Path, registry: tuple[Path, int, Path]
) -> None:
    """Before, `check` refused a file over ZTBULK_MAX_FILE_BYTES and `import` applied it."""
    db, customer, src = registry
    limited = Settings(spool=tmp_path / "spool", parse=ParseConfig(max_bytes=10))
    result = import_file(src, actor="customer", account_id=customer, user=OWNER, db=db,
                         settings=limited)  # fmt: skip
    assert result.report is not None and result.report.exit_code == 2
    assert [e["code"] for e in result.report.file_errors] == ["FILE_TOO_LARGE"]
    queued = import_file(src, actor="customer", account_id=customer, user=OWNER, db=db,
                         spool=tmp_path / "spool", wait=False)  # fmt: skip
    resumed = resume_job(queued.job_id, db=db, settings=limited)
    assert resumed.report is not None
    assert [e["code"] for e in resumed.report.file_errors] == ["FILE_TOO_LARGE"]


@pytest.mark.parametrize("command", ["check", "import"])
def test_the_byte_limit_from_the_environment_applies_to_every_command(
    tmp_path: Path, registry: tuple[Path, int, Path], command: str
) -> None:
    db, customer, src = registry
    args = [str(src)] if command == "check" else [
        str(src), "--as", f"customer:{customer}", "--user", OWNER, "--db", str(db),
    ]  # fmt: skip
    env = os.environ | {"ZTBULK_MAX_FILE_BYTES": "10", "ZTBULK_SPOOL": str(tmp_path / "s")}
    env.pop("ZTBULK_BROKER_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "ztbulk", command, *args, "--out", str(tmp_path / "out")],
        check=False, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "FILE_TOO_LARGE" in done.stdout + done.stderr
