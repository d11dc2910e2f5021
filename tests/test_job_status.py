"""Failures that explain themselves (issue 13, item 5): a broker that cannot be reached, a job
no worker takes, a stuck job told apart from a running one, and `job cancel`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.services import Workers
from ztbulk.cli import main
from ztbulk.errors import JobCancelledError, UsageError
from ztbulk.jobs import cancel_job, import_file, ledger, resume_job
from ztbulk.jobs.api import describe
from ztbulk.jobs.folder import JobFolder, JobState
from ztbulk.jobs.runners import RedisRunner
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, OWNER, seed
from ztbulk.settings import Settings

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, int, Path]:
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        s = seed(reg, 30, other_devices=0)
        found = reg.all("SELECT imei, manufacturer FROM devices WHERE imei IS NOT NULL LIMIT 5")
    src = tmp_path / "in.csv"
    rows = [f"IMEI,{imei},,,{maker},ZERO_TOUCH,0" for imei, maker in found]
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return db, s.customer_id, src


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_broker_is_a_usage_error_and_leaves_no_job(
    tmp_path: Path, world: tuple[Path, int, Path]
) -> None:
    db, customer, src = world
    url = f"redis://127.0.0.1:{_free_port()}/0"
    env = os.environ | {"ZTBULK_BROKER_URL": url, "ZTBULK_SPOOL": str(tmp_path / "spool"),
                        "TMPDIR": str(tmp_path)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "ztbulk", "import", str(src), "--as", f"customer:{customer}",
         "--user", OWNER, "--db", str(db), "--yes"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "cannot be reached" in done.stderr and done.stderr.count("\n") == 1
    assert "internal error" not in done.stderr and not list(tmp_path.glob("ztbulk-crash-*"))
    assert not (tmp_path / "spool").exists() or not list((tmp_path / "spool").iterdir())
    with Registry.open(db) as reg:
        assert ledger.list_jobs(reg) == []


def test_an_http_broker_url_is_a_usage_error(tmp_path: Path) -> None:
    env = os.environ | {"ZTBULK_BROKER_URL": "http://127.0.0.1:6379"}
    done = subprocess.run(
        [sys.executable, "-m", "ztbulk", "jobs", "--db", str(tmp_path / "none.duckdb")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "is not a Redis URL" in done.stderr


def test_a_job_no_worker_takes_is_said_and_still_waited_for(
    tmp_path: Path, world: tuple[Path, int, Path], redis_url: str
) -> None:
    """No worker runs: after a few seconds the waiting import says so, and keeps waiting; a
    worker started then finishes the job."""
    db, customer, src = world
    spool = tmp_path / "spool"
    settings = Settings(broker_url=redis_url, spool=spool)
    job = import_file(src, actor="customer", account_id=customer, user=ADMIN, db=db,
                      settings=settings, wait=False).job_id  # fmt: skip
    with Registry.open(db) as reg:
        assert "queued; no worker holds it" in describe(settings, ledger.job_row(reg, job))
    said: list[str] = []
    waiting = threading.Thread(target=RedisRunner(settings, redis_url, said.append).wait,
                               args=(job,), daemon=True)  # fmt: skip
    waiting.start()
    deadline = time.monotonic() + 30
    while not any("no worker has taken job" in line for line in said):
        assert time.monotonic() < deadline, said
        time.sleep(0.1)
    assert waiting.is_alive()  # still waiting
    workers = Workers(redis_url, spool)
    workers.start(1)
    try:
        waiting.join(timeout=60)
        assert not waiting.is_alive() and JobFolder(spool, job).state() == JobState.DONE
    finally:
        workers.stop()


def test_a_stopped_job_says_how_to_finish_it_and_can_be_cancelled(
    tmp_path: Path, world: tuple[Path, int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, customer, src = world
    spool = tmp_path / "spool"
    job = import_file(src, actor="customer", account_id=customer, user=ADMIN, db=db,
                      spool=spool, wait=False).job_id  # fmt: skip
    assert main(["jobs", "--db", str(db)]) == 0
    assert f"stopped: nothing runs it; `ztbulk job resume {job}`" in capsys.readouterr().out
    with pytest.raises(UsageError, match="has no access"):
        cancel_job(job, user="owner@other.example", db=db, spool=spool)
    assert cancel_job(job, user=OWNER, db=db, spool=spool) == JobState.SUBMITTED
    with pytest.raises(JobCancelledError):
        resume_job(job, db=db, spool=spool)
    with Registry.open(db) as reg:
        assert ledger.job_row(reg, job)["state"] == JobState.CANCELLED
        assert reg.one("SELECT count(*) FROM devices WHERE customer_id IS NULL") == (0,)
    # A cancelled job no longer holds up the account's next one.
    again = import_file(src, actor="customer", account_id=customer, user=ADMIN, db=db, spool=spool)
    assert again.report is not None and again.report.outcomes == {"unclaimed": 5}


def test_a_job_that_failed_in_a_worker_says_why_from_the_ledger(
    tmp_path: Path, world: tuple[Path, int, Path], redis_url: str
) -> None:
    """The failure's class and message are data in the ledger (not parsed from a
    traceback), and a usage error is not retried: the job fails at once."""
    db, customer, src = world
    spool = tmp_path / "spool"
    settings = Settings(broker_url=redis_url, spool=spool)
    job = import_file(src, actor="customer", account_id=customer, user=ADMIN, db=db,
                      settings=settings, wait=False).job_id  # fmt: skip
    with Registry.open(db) as reg:  # the importing user is removed before a worker runs it
        reg.con.execute("DELETE FROM users WHERE email = ?", [ADMIN])
    workers = Workers(redis_url, spool)
    workers.start(1)
    started = time.monotonic()
    try:
        with pytest.raises(Exception, match="failed in a worker"):
            RedisRunner(settings, redis_url, print).wait(job)
    finally:
        workers.stop()
    assert time.monotonic() - started < 5  # not retried (3 retries back off for seconds)
    with Registry.open(db) as reg:
        row = ledger.job_row(reg, job)
    assert row["error"].startswith("PermissionDeniedError: "), row["error"]
    assert ADMIN in row["error"]
    assert "stuck: failed (PermissionDeniedError" in describe(settings, row)
