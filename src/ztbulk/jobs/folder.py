"""A job's folder in the spool: the work of one import, none of it trusted.

The folder holds the spooled input (checked against the ledger's sha256 when it is read),
`job.json` (only so that a worker can find the job's registry; what else it says is for
people), `lang.txt` (the language its reports are written in, whichever process runs it),
the staged chunks, the plan and the outputs. Its `state` file mirrors the ledger's states for
watchers, and says `failed` (with error.txt) when a message failed for good. A job id
must have the ledger's own form, so that it names a folder inside the spool and nothing else.
Job folders are private to their owner (0700).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from ztbulk.domain import Actor
from ztbulk.errors import UsageError
from ztbulk.i18n import SOURCE, languages


class JobState(StrEnum):
    """A job's states, as the ledger (and the folder's `state` file) spells them."""

    SUBMITTED = "submitted"
    PLANNED = "planned"
    APPLYING = "applying"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"  # the folder only: a message failed for good; the ledger keeps the state


UNFINISHED = (JobState.SUBMITTED, JobState.PLANNED, JobState.APPLYING)
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
    dry_run: bool = False
    lang: str = SOURCE  # of the row messages, report.html and summary.eml (the folder's)

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
            self.state_file.read_text(encoding="utf-8")
            if self.state_file.exists()
            else JobState.SUBMITTED
        )

    def write_state(self, state: str, error: str | None = None) -> None:
        """The state for watchers (and why, when it failed); the ledger stays authoritative."""
        if error is not None:
            (self.dir / "error.txt").write_text(error, encoding="utf-8")
        # A name of this writer's own: workers may write at the same moment.
        tmp = self.dir / f"state.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(state, encoding="utf-8")
        tmp.replace(self.state_file)

    def held(self) -> list[Path]:
        """The marks of the messages workers hold now (`jobs.actors.Holding`)."""
        held = self.dir / "held"
        return sorted(held.iterdir()) if held.is_dir() else []

    def write_note(self, text: str) -> None:
        """A line for whoever follows the job (why it is not moving on), until the next."""
        (self.dir / "note.txt").write_text(text, encoding="utf-8")

    def note(self) -> str:
        path = self.dir / "note.txt"
        return path.read_text(encoding="utf-8") if path.exists() else ""

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

    registry_file = property(lambda self: self.dir / "registry.txt")
    lang_file = property(lambda self: self.dir / "lang.txt")

    def lang(self) -> str:
        """The job's language (`lang.txt`, written by submit). The registry has no column for
        it: a folder without one (submitted by an older version), or naming a language this
        version has no catalogue for, is reported in English."""
        said = self.lang_file.read_text(encoding="utf-8") if self.lang_file.exists() else ""
        return said if said in languages() else SOURCE

    def db(self) -> str:
        """The registry whose ledger holds this job (`registry.txt`, written first by submit):
        all a worker takes from the folder, and it opens that registry only if it is one of
        this version already (`registry.db.open_when_free`), never migrating another file."""
        if not self.registry_file.exists():
            raise UsageError(f"No job folder at {self.dir}; check the job id and ZTBULK_SPOOL.")
        locator: Path = self.registry_file
        return locator.read_text(encoding="utf-8")

    def inside(self, path: str | Path) -> Path:
        """`path` if it lies inside the job folder: the folder's files are data, never a way
        out of it."""
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.dir.resolve()):
            raise UsageError(f"Job {self.id}: {path} is outside its folder; the folder was edited.")
        return resolved


def private_dir(path: Path) -> None:
    """Make `path` (and its missing parents) readable by its owner only."""
    path.mkdir(mode=PRIVATE, parents=True, exist_ok=True)


def write_spec(folder: JobFolder, spec: JobSpec) -> None:
    """job.json: what the job is, for people (nothing reads it back)."""
    tmp = folder.spec_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(spec), indent=2), encoding="utf-8")
    tmp.replace(folder.spec_file)


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


def remove_work(folder: JobFolder) -> None:
    shutil.rmtree(folder.work, ignore_errors=True)
