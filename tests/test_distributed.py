"""Distributed mode (Redis, `ztbulk worker` processes) against embedded mode, and crash safety.

One scenario suite runs in both modes on copies of the same registry and must give identical
outcomes.parquet files and registry state. Kill tests SIGKILL a worker, or the embedded import
process, in the middle of a job; the job then finishes (another worker picks up the requeued
messages, or `ztbulk job resume`) with the same outcomes and registry as an uninterrupted run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from tests.services import Workers
from ztbulk.errors import InternalError
from ztbulk.jobs import import_file, resume_job
from ztbulk.jobs.folder import JobFolder, JobState
from ztbulk.jobs.runners import RedisRunner
from ztbulk.registry.db import Registry, open_when_free
from ztbulk.registry.seed import ADMIN, RESELLER_OWNER, Seeded, seed
from ztbulk.sample import SampleSpec, from_devices
from ztbulk.settings import Settings

OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"
SMALL_BATCHES = "150"  # many batches, so a kill lands between and inside them
EMBEDDED = Settings(batch_rows=int(SMALL_BATCHES))
# Short heartbeats and frequent maintenance: a killed worker's messages come back in seconds.
WORKER_ENV = {
    "ZTBULK_HEARTBEAT_MS": "3000",
    "ZTBULK_MAINTENANCE_CHANCE": "300000",
    "ZTBULK_BATCH_ROWS": SMALL_BATCHES,
}


def state(db: Path) -> pl.DataFrame:
    with open_when_free(db) as reg:  # a worker may be just closing it
        frame: pl.DataFrame = reg.con.sql("SELECT * FROM devices ORDER BY id").pl()
    return frame.drop("created_at", "updated_at")


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Seeded, list[Path]]:
    """A seeded registry and the scenario files: configurations, claims, unclaims."""
    db = tmp_path / "base.duckdb"
    with Registry.open(db, create=True) as reg:
        s = seed(reg, 3000, other_devices=200)
        mine = reg.con.sql(
            "SELECT imei, meid, serial, model, manufacturer FROM devices WHERE customer_id = ?",
            params=[s.customer_id],
        ).pl()
    apply_file = from_devices(
        mine, SampleSpec(rows=2500, profile_ids=tuple(s.configuration_ids)), tmp_path / "a.csv"
    )
    claims = tmp_path / "claims.csv"
    rows = [
        f"IMEI,49015420{n:06d},,SM-A155M,Samsung,ZERO_TOUCH,{s.customer_id}" for n in range(200)
    ]
    claims.write_text("\n".join([OWNER_HEADER, *_luhn_complete(rows)]) + "\n", encoding="utf-8")
    return db, s, [apply_file, claims]


def _luhn_complete(rows: list[str]) -> list[str]:
    from stdnum import luhn

    out = []
    for row in rows:
        body = row.split(",")[1]
        out.append(row.replace(body, body + luhn.calc_check_digit(body), 1))
    return out


def run_scenario(
    settings: Settings, db: Path, s: Seeded, files: list[Path], spool: Path, out: Path
) -> list[pl.DataFrame]:
    results = []
    for n, path in enumerate(files):
        actor, account_id, user = (
            ("customer", s.customer_id, ADMIN)
            if n == 0
            else ("reseller", s.reseller_id, RESELLER_OWNER)
        )
        result = import_file(
            path, actor=actor, account_id=account_id, user=user, settings=settings, db=db,
            spool=spool, out_dir=out / str(n),
        )  # fmt: skip
        assert result.report is not None
        results.append(pl.read_parquet(out / str(n) / "outcomes.parquet"))
    return results


def copies(tmp_path: Path, db: Path) -> tuple[Path, Path]:
    """Two copies of the registry: one to interrupt, one for the uninterrupted reference."""
    trial, reference = tmp_path / "trial.duckdb", tmp_path / "reference.duckdb"
    shutil.copy(db, trial)
    shutil.copy(db, reference)
    return trial, reference


def submit_until_applying(
    settings: Settings, path: Path, s: Seeded, db: Path, spool: Path, out: Path
) -> JobFolder:
    """Submit a distributed job and return once its workers are applying batches."""
    job = import_file(path, actor="customer", account_id=s.customer_id, user=ADMIN,
                      settings=settings, db=db, spool=spool, out_dir=out,
                      wait=False)  # fmt: skip
    folder = JobFolder(spool, job.job_id)
    deadline = time.monotonic() + 60
    while folder.state() not in (JobState.APPLYING, JobState.DONE) and time.monotonic() < deadline:
        time.sleep(0.002)
    assert folder.state() == JobState.APPLYING  # interrupted while batches are being applied
    return folder


def assert_same_as_uninterrupted(
    path: Path, s: Seeded, trial: Path, reference: Path, out: Path, tmp_path: Path
) -> None:  # fmt: skip
    """Import `path` embedded, without interruption, into `reference`; compare with `trial`."""
    import_file(path, actor="customer", account_id=s.customer_id, user=ADMIN,
                settings=EMBEDDED, db=reference, spool=tmp_path / "spool-ref",
                out_dir=tmp_path / "out-ref")  # fmt: skip
    assert state(trial).equals(state(reference))
    got = pl.read_parquet(out / "outcomes.parquet")
    assert got.equals(pl.read_parquet(tmp_path / "out-ref" / "outcomes.parquet"))


@pytest.fixture
def distributed(redis_url: str) -> Settings:
    """What `import` and `job resume` run with in distributed mode."""
    return Settings(broker_url=redis_url)


def wait_for(settings: Settings, spool: Path, job_id: str) -> None:
    RedisRunner(replace(settings, spool=spool), str(settings.broker_url), print).wait(job_id)


@pytest.fixture
def pool(redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    workers = Workers(redis_url, tmp_path / "spool-distributed", **WORKER_ENV)
    workers.start(2)
    yield workers
    workers.stop()


@pytest.fixture
def workers(pool: Workers) -> list[subprocess.Popen[bytes]]:
    return pool.procs


def test_same_results_in_both_modes(
    tmp_path: Path, world: tuple[Path, Seeded, list[Path]], workers: list[subprocess.Popen[bytes]],
    distributed: Settings,
) -> None:  # fmt: skip
    db, s, files = world
    embedded_db, distributed_db = tmp_path / "embedded.duckdb", tmp_path / "distributed.duckdb"
    shutil.copy(db, embedded_db)
    shutil.copy(db, distributed_db)
    in_workers = run_scenario(
        distributed, distributed_db, s, files, tmp_path / "spool-distributed", tmp_path / "out-d"
    )
    embedded = run_scenario(
        Settings(), embedded_db, s, files, tmp_path / "spool-embedded", tmp_path / "out-e"
    )
    for got, expected in zip(in_workers, embedded, strict=True):
        assert got.equals(expected)
    assert state(distributed_db).equals(state(embedded_db))
    assert not state(distributed_db).equals(state(db))  # the scenario did change things
    assert set(embedded[1]["outcome"]) == {"claimed"}


def test_killed_worker_loses_nothing(
    tmp_path: Path, world: tuple[Path, Seeded, list[Path]], workers: list[subprocess.Popen[bytes]],
    distributed: Settings,
) -> None:  # fmt: skip
    db, s, files = world
    trial, reference = copies(tmp_path, db)
    out = tmp_path / "out-kill"
    spool = tmp_path / "spool-distributed"
    folder = submit_until_applying(distributed, files[0], s, trial, spool, out)
    # SIGKILL, mid-job, a worker that holds a message (its mark in held/ says so): its
    # unfinished messages return after the heartbeat timeout.
    victim, mark = _holding_worker(folder, workers)
    victim.kill()
    victim.wait()
    assert mark.exists(), "the killed worker had finished its message: the kill proved nothing"
    deadline = time.monotonic() + 60
    while folder.state() != JobState.DONE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert folder.state() == JobState.DONE, "the surviving worker did not finish the job"
    assert_same_as_uninterrupted(files[0], s, trial, reference, out, tmp_path)


def _holding_worker(
    folder: JobFolder, workers: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], Path]:
    """A worker holding a message of the job now, and the mark of that message."""
    by_pid = {proc.pid: proc for proc in workers}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for mark in (folder.dir / "held").glob("*-*") if (folder.dir / "held").exists() else []:
            pid = int(mark.name.split("-", 1)[0])
            if pid in by_pid and mark.read_text(encoding="utf-8") == "ztbulk.apply":
                return by_pid[pid], mark
        time.sleep(0.001)
    raise AssertionError("no worker was seen holding an apply message of the job")


def test_two_queued_jobs_of_one_account_run_in_order(
    tmp_path: Path, world: tuple[Path, Seeded, list[Path]], pool: Workers, distributed: Settings
) -> None:
    """The same reseller file imported twice with --no-wait before any worker runs, then one
    worker: the second job waits for the first and finds its devices claimed (`unchanged`);
    no IMEI is registered twice."""
    db, s, files = world
    spool = tmp_path / "spool-distributed"
    pool.kill_all()
    jobs = [
        import_file(files[1], actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER,
                    settings=distributed, db=db, spool=spool, out_dir=tmp_path / f"out-{n}",
                    wait=False).job_id
        for n in range(2)
    ]  # fmt: skip
    pool.start(1)
    for job in jobs:
        wait_for(distributed, spool, job)
    first, second = (pl.read_parquet(tmp_path / f"out-{n}" / "outcomes.parquet") for n in (0, 1))
    assert set(first["outcome"]) == {"claimed"} and set(second["outcome"]) == {"unchanged"}
    after = state(db)
    assert after["imei"].drop_nulls().is_unique().all()
    assert after.filter(pl.col("imei").str.starts_with("49015420")).height == 200


def _kill_at(proc: subprocess.Popen[bytes], spool: Path, stage: str) -> None:
    """SIGKILL `proc` as soon as its job reaches `stage` (asserting it is still running)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        folders = (
            [f for f in spool.iterdir() if (f / "job.json").exists()] if spool.exists() else []
        )
        if folders and JobFolder(spool, folders[0].name).state() == stage:
            break
        assert proc.poll() is None, f"the import ended before reaching {stage}"
        time.sleep(0.002)
    assert proc.poll() is None, f"the import ended before reaching {stage}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("stage", [JobState.SUBMITTED, JobState.PLANNED, JobState.APPLYING])
def test_killed_embedded_import_resumes(
    tmp_path: Path, world: tuple[Path, Seeded, list[Path]], stage: str
) -> None:
    """Killed after submitting, after planning, or in the middle of applying: `job resume`
    ends in the same registry and outcomes as an uninterrupted import."""
    db, s, files = world
    trial, reference = copies(tmp_path, db)
    spool = tmp_path / "spool"
    env = os.environ | {"ZTBULK_SPOOL": str(spool), "ZTBULK_BATCH_ROWS": SMALL_BATCHES}
    env.pop("ZTBULK_BROKER_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ztbulk", "import", str(files[0]),
         "--as", f"customer:{s.customer_id}", "--user", ADMIN,
         "--db", str(trial), "--out", str(tmp_path / "out")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _kill_at(proc, spool, stage)
    [job] = [f.name for f in spool.iterdir()]
    assert JobFolder(spool, job).state() != JobState.DONE  # the kill really was mid-job
    resume_job(job, settings=EMBEDDED, db=trial, spool=spool)
    assert_same_as_uninterrupted(files[0], s, trial, reference, tmp_path / "out", tmp_path)


def test_lost_broker_messages_resume(
    tmp_path: Path, world: tuple[Path, Seeded, list[Path]], pool: Workers, redis_url: str,
    distributed: Settings,
) -> None:  # fmt: skip
    """Workers killed and Redis emptied (as a restart without persistence does) mid-job:
    new workers and `job resume` finish it from the ledger, losing nothing."""
    import redis

    db, s, files = world
    trial, reference = copies(tmp_path, db)
    spool = tmp_path / "spool-distributed"
    folder = submit_until_applying(distributed, files[0], s, trial, spool, tmp_path / "out")
    pool.kill_all()
    redis.Redis.from_url(redis_url).flushall()
    assert folder.state() != JobState.DONE
    pool.start(2)
    resumed = resume_job(folder.dir.name, settings=distributed, db=trial, spool=spool)
    assert resumed.report is not None
    assert_same_as_uninterrupted(files[0], s, trial, reference, tmp_path / "out", tmp_path)


def test_a_failed_job_is_reported_not_waited_for(
    tmp_path: Path, world: tuple[Path, Seeded, list[Path]], pool: Workers, distributed: Settings
) -> None:
    """A message that fails for good marks the job failed for whoever waits (no hang); once the
    cause is fixed, `job resume` finishes the job."""
    db, s, files = world
    trial = tmp_path / "trial.duckdb"
    shutil.copy(db, trial)
    spool = tmp_path / "spool-distributed"
    pool.kill_all()
    job = import_file(files[1], actor="reseller", account_id=s.reseller_id,
                      user=RESELLER_OWNER, settings=distributed, db=trial, spool=spool,
                      out_dir=tmp_path / "out", wait=False)  # fmt: skip
    trial.rename(tmp_path / "away.duckdb")  # the workers cannot open the registry
    pool.start(1)
    with pytest.raises(InternalError, match=f"Job {job.job_id} failed in a worker.*No registry"):
        wait_for(distributed, spool, job.job_id)
    (tmp_path / "away.duckdb").rename(trial)
    resumed = resume_job(job.job_id, settings=distributed, db=trial, spool=spool)
    assert resumed.report is not None and resumed.report.outcomes == {"claimed": 200}
