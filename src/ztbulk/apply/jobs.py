"""Durable jobs: a row in the registry's ledger plus a job folder in the spool.

The folder holds everything a worker needs and nothing a message carries: the spooled input,
`job.json` (who imports what), the staged batches, the plan and the outputs. Messages carry only
the job id. Ledger states: submitted -> planned -> applying -> done; a batch is marked done in
the same transaction that applies it. The folder's `state` file mirrors them for watchers, and
says `failed` (with error.txt) when a message failed for good; the ledger keeps the state
reached, which is where `job resume` continues.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ztbulk.domain import Actor
from ztbulk.errors import UsageError
from ztbulk.parse.source import file_sha256
from ztbulk.registry.db import Registry

DEFAULT_SPOOL = Path("ztbulk-jobs")
SUBMITTED, PLANNED, APPLYING, DONE, FAILED = "submitted", "planned", "applying", "done", "failed"


def spool_root(value: str | Path | None = None) -> Path:
    return Path(value or os.environ.get("ZTBULK_SPOOL") or DEFAULT_SPOOL)


@dataclass
class JobSpec:
    """What was asked: written once to job.json at submit."""

    id: str
    actor: str
    account_id: int
    user: str
    file_name: str
    size: int
    sha256: str
    db: str
    out_dir: str
    created_at: str

    @property
    def who(self) -> Actor:
        return Actor(self.actor)


class JobFolder:
    def __init__(self, root: Path, job_id: str) -> None:
        self.dir = root / job_id

    input = property(lambda self: self.dir / "input.csv")
    spec_file = property(lambda self: self.dir / "job.json")
    work = property(lambda self: self.dir / "work")
    plan = property(lambda self: self.dir / "plan")  # a folder of Parquet parts
    staged = property(lambda self: self.dir / "staged.json")
    apply_times = property(lambda self: self.dir / "apply-times.txt")
    state_file = property(lambda self: self.dir / "state")

    def state(self) -> str:
        return (
            self.state_file.read_text(encoding="utf-8") if self.state_file.exists() else SUBMITTED
        )

    def write_state(self, state: str, error: str | None = None) -> None:
        """The state for watchers (and why, when it failed); the ledger stays authoritative."""
        if error is not None:
            (self.dir / "error.txt").write_text(error, encoding="utf-8")
        # A name of this writer's own: workers may write at the same moment.
        tmp = self.dir / f"state.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(state, encoding="utf-8")
        tmp.replace(self.state_file)

    def error(self) -> str:
        path = self.dir / "error.txt"
        return path.read_text(encoding="utf-8") if path.exists() else "unknown error"

    def spec(self) -> JobSpec:
        if not self.spec_file.exists():
            raise UsageError(f"No job folder at {self.dir}; check the job id and ZTBULK_SPOOL.")
        return JobSpec(**json.loads(self.spec_file.read_text(encoding="utf-8")))


def submit(
    reg: Registry,
    root: Path,
    path: Path,
    *,
    actor: Actor,
    account_id: int,
    user: str,
    out_dir: Path | None,
) -> JobSpec:
    """Spool the input, record its size and sha256, and create the job in the ledger."""
    job_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    folder = JobFolder(root, job_id)
    folder.dir.mkdir(parents=True)
    shutil.copyfile(path, folder.input)  # a kernel copy; hashing the copy then reads the cache
    spec = JobSpec(
        id=job_id,
        actor=actor.value,
        account_id=account_id,
        user=user,
        file_name=path.name,
        size=folder.input.stat().st_size,
        sha256=file_sha256(folder.input),
        db=str(reg.path.resolve()),
        out_dir=str((out_dir or folder.dir / "out").resolve()),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    # The folder is complete (input, then job.json) before the ledger knows the job; a crash in
    # between leaves a folder that `register` adds to the ledger on resume.
    tmp = folder.spec_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(spec), indent=2), encoding="utf-8")
    tmp.replace(folder.spec_file)
    register(reg, folder)
    return spec


@contextmanager
def exclusive(folder: JobFolder, name: str) -> Iterator[bool]:
    """Try to hold the job's lock `name` (an flock, so a dead holder's is released); yields
    whether this caller holds it. Threads and processes alike are kept apart."""
    with (folder.dir / f"{name}.lock").open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def register(reg: Registry, folder: JobFolder) -> None:
    """Put the job of `folder` in the ledger, unless it is there already."""
    spec = folder.spec()
    with reg.transaction() as con:
        con.execute(
            "INSERT INTO jobs (id, state, actor_kind, actor_id, user_email, file_name, file_size, "
            "sha256, spool) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [spec.id, SUBMITTED, spec.actor, spec.account_id, spec.user, spec.file_name,
             spec.size, spec.sha256, str(folder.dir.resolve())],
        )  # fmt: skip


def set_state(
    reg: Registry, job_id: str, state: str, folder: JobFolder | None = None, **fields: Any
) -> None:
    """Record the state in the ledger, and in the job folder for watchers (a waiting
    `import` reads it there, as a worker may be holding the registry)."""
    if folder is not None:
        folder.write_state(state)
    sets = ", ".join(f"{k} = ?" for k in fields)
    with reg.transaction() as con:
        extra = f", {sets}" if sets else ""
        con.execute(
            f"UPDATE jobs SET state = ?, updated_at = now(){extra} WHERE id = ?",
            [state, *fields.values(), job_id],
        )


def record_batches(reg: Registry, job_id: str, rows_per_batch: list[int]) -> None:
    """The planned batches (idempotent: a re-plan of the same job replaces pending ones)."""
    with reg.transaction() as con:
        con.execute("DELETE FROM job_batches WHERE job_id = ? AND state <> 'done'", [job_id])
        for batch, rows in enumerate(rows_per_batch):
            con.execute(
                "INSERT INTO job_batches VALUES (?, ?, 'pending', ?, NULL) ON CONFLICT DO NOTHING",
                [job_id, batch, rows],
            )


def pending_batches(reg: Registry, job_id: str) -> list[int]:
    rows = reg.all(
        "SELECT batch FROM job_batches WHERE job_id = ? AND state <> 'done' ORDER BY batch",
        [job_id],
    )
    return [int(r[0]) for r in rows]


def job_row(reg: Registry, job_id: str) -> dict[str, Any]:
    cur = reg.con.execute("SELECT * FROM jobs WHERE id = ?", [job_id])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if not rows:
        raise UsageError(f"No job {job_id} in registry {reg.path}.")
    job = dict(zip(names, rows[0], strict=True))
    done = reg.one(
        "SELECT count(*), count_if(state = 'done') FROM job_batches WHERE job_id = ?", [job_id]
    )
    job["batches"], job["batches_done"] = done or (0, 0)
    return job


def list_jobs(reg: Registry) -> list[dict[str, Any]]:
    rows = reg.all("SELECT id FROM jobs ORDER BY created_at DESC, id DESC")
    return [job_row(reg, str(r[0])) for r in rows]


def remove_work(folder: JobFolder) -> None:
    shutil.rmtree(folder.work, ignore_errors=True)
