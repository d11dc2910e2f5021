"""Durable jobs: a row in the registry's ledger plus a job folder in the spool.

The ledger is the authority on a job: who imports (user, account, role checked again against
the registry whenever the job is run), for which account, the input's size and sha256, where
its outputs go, and its place among the account's jobs. The folder holds the work and nothing
trusted: the spooled input (checked against the ledger's sha256 when it is read), `job.json`
(only so that a worker can find the job's registry; what else it says is for people), the
staged batches, the plan and the outputs. Messages carry only the job id, which must have the
ledger's own form, so that it names a folder inside the spool and nothing else.

Ledger states: submitted -> planned -> applying -> done (or cancelled); a batch is marked done
in the same transaction that applies it. Jobs of one account run one after the other in the
order they were submitted (`first_unfinished`). The folder's `state` file mirrors the states
for watchers, and says `failed` (with error.txt) when a message failed for good; the ledger
keeps the state reached, which is where `job resume` continues. Job folders are private to
their owner (0700).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
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
from ztbulk.errors import InputError, UsageError
from ztbulk.parse.source import file_sha256
from ztbulk.registry.db import Registry

DEFAULT_SPOOL = Path("ztbulk-jobs")
SUBMITTED, PLANNED, APPLYING, DONE, FAILED = "submitted", "planned", "applying", "done", "failed"
CANCELLED = "cancelled"
UNFINISHED = (SUBMITTED, PLANNED, APPLYING)
# The form of every job id `submit` makes: a UTC time and 8 random hex digits.
JOB_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{8}")
PRIVATE = 0o700


def check_job_id(job_id: str) -> str:
    """`job_id` if it has the ledger's form (so it names one folder inside the spool)."""
    if not JOB_ID.fullmatch(job_id):
        shown = job_id.encode("unicode_escape").decode("ascii")[:80]
        raise UsageError(
            f"{shown!r} is not a job id (they look like 20261202-141500-0a1b2c3d); "
            "`ztbulk jobs` lists them."
        )
    return job_id


def spool_root(value: str | Path | None = None) -> Path:
    return Path(value or os.environ.get("ZTBULK_SPOOL") or DEFAULT_SPOOL)


@dataclass
class JobSpec:
    """What was asked, as the ledger records it (`spec()`)."""

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
        self.id = check_job_id(job_id)
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

    def record_error(self, exc: BaseException) -> None:
        """The last failure of a message of this job: its class and message."""
        text = f"{type(exc).__name__}: {exc}"
        (self.dir / "last-error.txt").write_text(text, encoding="utf-8")

    def last_error(self) -> str:
        path = self.dir / "last-error.txt"
        return path.read_text(encoding="utf-8") if path.exists() else "retries exhausted"

    def error(self) -> str:
        path = self.dir / "error.txt"
        return path.read_text(encoding="utf-8") if path.exists() else "unknown error"

    def db(self) -> str:
        """The registry whose ledger holds this job: all a worker takes from job.json."""
        if not self.spec_file.exists():
            raise UsageError(f"No job folder at {self.dir}; check the job id and ZTBULK_SPOOL.")
        db = json.loads(self.spec_file.read_text(encoding="utf-8")).get("db")
        if not isinstance(db, str):
            raise UsageError(f"{self.spec_file} names no registry; resume the job with --db.")
        return db

    def inside(self, path: str | Path) -> Path:
        """`path` if it lies inside the job folder: the folder's files are data, never a way
        out of it."""
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.dir.resolve()):
            raise UsageError(f"Job {self.id}: {path} is outside its folder; the folder was edited.")
        return resolved


def spec(reg: Registry, folder: JobFolder) -> JobSpec:
    """The job as the ledger has it; the folder must be the one the ledger spooled it to."""
    row = job_row(reg, folder.id)
    if Path(row["spool"]) != folder.dir.resolve():
        raise UsageError(
            f"Job {folder.id} was spooled to {row['spool']}, not {folder.dir}: "
            "give that spool (--spool or ZTBULK_SPOOL)."
        )
    return JobSpec(
        id=folder.id,
        actor=row["actor_kind"],
        account_id=int(row["actor_id"]),
        user=row["user_email"],
        file_name=row["file_name"],
        size=int(row["file_size"]),
        sha256=row["sha256"],
        db=str(reg.path.resolve()),
        out_dir=row["out_dir"] or str((folder.dir / "out").resolve()),
        created_at=str(row["created_at"]),
    )


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
    """Spool the input, record its size and sha256, and create the job in the ledger.

    The folder is made first and holds the submit lock until job.json is written, which comes
    after the ledger row: an error on the way removes the folder, and a folder a kill left
    without its ledger row is recognised by `clean_orphan` (nobody holds its lock)."""
    job_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    folder = JobFolder(root, job_id)
    private_dir(root)
    folder.dir.mkdir(mode=PRIVATE)
    try:
        with exclusive(folder, "submit"):
            size, sha256 = _spool(path, folder.input)
            spec = JobSpec(
                id=job_id, actor=actor.value, account_id=account_id, user=user,
                file_name=path.name, size=size, sha256=sha256, db=str(reg.path.resolve()),
                out_dir=str((out_dir or folder.dir / "out").resolve()),
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )  # fmt: skip
            _record(reg, spec, folder)
            write_locator(folder, spec)
    except BaseException:
        shutil.rmtree(folder.dir, ignore_errors=True)
        raise
    return spec


def private_dir(path: Path) -> None:
    """Make `path` (and its missing parents) readable by its owner only."""
    path.mkdir(mode=PRIVATE, parents=True, exist_ok=True)


def _spool(path: Path, to: Path) -> tuple[int, str]:
    """Copy the input (a plain file, as it is when the copy starts and ends) into the job."""
    try:
        before = path.stat()
        shutil.copyfile(path, to)  # a kernel copy; hashing the copy then reads the cache
        after = path.stat()
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror}).") from None
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise InputError(f"{path} changed while it was being copied; import it again.")
    return to.stat().st_size, file_sha256(to)


def _record(reg: Registry, spec: JobSpec, folder: JobFolder) -> None:
    with reg.transaction() as con:
        con.execute(
            "INSERT INTO jobs (id, state, actor_kind, actor_id, user_email, file_name, file_size, "
            "sha256, spool, out_dir, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nextval('job_order'))",
            [spec.id, SUBMITTED, spec.actor, spec.account_id, spec.user, spec.file_name,
             spec.size, spec.sha256, str(folder.dir.resolve()), spec.out_dir],
        )  # fmt: skip


def write_locator(folder: JobFolder, spec: JobSpec) -> None:
    """job.json: where the job's registry is (for workers), and what it is (for people)."""
    tmp = folder.spec_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(spec), indent=2), encoding="utf-8")
    tmp.replace(folder.spec_file)


def clean_orphan(reg: Registry, folder: JobFolder) -> bool:
    """Remove the folder of a submit stopped before the ledger knew the job (killed: an
    error removes its own); True if it was one. A folder whose submit is still running holds
    the submit lock; one a finished submit made has job.json, naming its registry."""
    if reg.one("SELECT 1 FROM jobs WHERE id = ?", [folder.id]) or not folder.dir.is_dir():
        return False
    if folder.spec_file.exists() and Path(folder.db()).resolve() != reg.path.resolve():
        return False  # another registry's job
    with exclusive(folder, "submit") as mine:
        if not mine:
            return False
        shutil.rmtree(folder.dir)
    return True


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


def first_unfinished(
    reg: Registry, actor: Actor, account_id: int, before: str | None = None
) -> str | None:
    """The first unfinished job of the account (submitted before job `before`, if given).

    Jobs of one account run in submission order, so that each plans against what the
    earlier ones left: two claims of one device never both pass."""
    row = reg.one(
        """SELECT id FROM jobs WHERE actor_kind = $kind AND actor_id = $account
               AND list_contains($states, state)
               AND ($before IS NULL
                    OR coalesce(seq, 0) < (SELECT coalesce(seq, 0) FROM jobs WHERE id = $before))
           ORDER BY seq LIMIT 1""",
        {"kind": actor.value, "account": account_id, "states": list(UNFINISHED), "before": before},
    )
    return str(row[0]) if row else None


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
