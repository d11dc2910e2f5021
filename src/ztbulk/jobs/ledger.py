"""The job ledger: the registry's record of every job, and the authority on it.

A job is a row in `jobs` plus a folder in the spool (`jobs.folder`). The ledger says who
imports (user, account; the user's right is checked again against the registry whenever the
job is run), the input's size and sha256, where its outputs go, and the job's place among the
account's jobs: jobs of one account run one after the other in the order they were submitted
(`first_unfinished`). States: submitted -> planned -> applying -> done (or cancelled); a batch
is marked done in `job_batches` in the same transaction that applies it, and the rows apply
refused are in `job_refusals`. The ledger keeps the state reached, which is where `job resume`
continues.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ztbulk.domain import Actor
from ztbulk.errors import InputError, InternalError, UsageError
from ztbulk.i18n import SOURCE
from ztbulk.jobs.folder import (
    PRIVATE,
    UNFINISHED,
    JobFolder,
    JobSpec,
    JobState,
    exclusive,
    private_dir,
    write_spec,
)
from ztbulk.parse.source import file_sha256
from ztbulk.registry.db import Registry


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
        dry_run=bool(row["dry_run"]),
        lang=folder.lang(),
    )


def submit(
    reg: Registry, root: Path, path: Path, *, actor: Actor, account_id: int, user: str,
    out_dir: Path | None, dry_run: bool = False, upload: Upload | None = None,
    lang: str = SOURCE,
) -> JobSpec:  # fmt: skip
    """Spool the input, record its size and sha256, and create the job in the ledger.

    The folder is made first, holds the submit lock throughout and names its registry
    (`registry.txt`) before anything else; job.json comes after the ledger row. An error on
    the way removes the folder, and a folder a kill left without its ledger row is recognised
    by `clean_orphan` (it names this registry, which does not know it, and nobody holds its
    lock). An `upload` (the HTTP service's: `path` is a file it wrote and hashed inside the
    spool) is moved into the job, not copied and hashed again. `lang` is the language of the
    job's reports, kept in its folder (`JobFolder.lang`)."""
    job_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    folder = JobFolder(root, job_id)
    private_dir(root)
    folder.dir.mkdir(mode=PRIVATE)
    try:
        with exclusive(folder, "submit") as mine:
            if not mine:  # a resume of the same id is cleaning it (ids are random: a bug)
                raise InternalError(f"Job folder {folder.dir} is being removed by another process.")
            folder.registry_file.write_text(str(reg.path.resolve()), encoding="utf-8")
            folder.lang_file.write_text(lang, encoding="utf-8")
            size, sha256 = _spool(path, folder.input, upload)
            spec = JobSpec(
                id=job_id, actor=actor.value, account_id=account_id, user=user,
                file_name=path.name, size=size, sha256=sha256, db=str(reg.path.resolve()),
                out_dir=str((out_dir or folder.dir / "out").resolve()),
                created_at=datetime.now(UTC).isoformat(timespec="seconds"), dry_run=dry_run,
                lang=lang,
            )  # fmt: skip
            _record(reg, spec, folder)
            write_spec(folder, spec)
    except BaseException:
        shutil.rmtree(folder.dir, ignore_errors=True)
        raise
    return spec


@dataclass(frozen=True)
class Upload:
    """A file already written into the spool, with the size and sha256 taken as it was."""

    size: int
    sha256: str


def _spool(path: Path, to: Path, upload: Upload | None) -> tuple[int, str]:
    """Copy the input (a plain file, as it is when the copy starts and ends) into the job; an
    upload is moved (within the spool), with the size and hash taken as it was written."""
    if upload is not None:
        path.replace(to)
        return upload.size, upload.sha256
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
            "sha256, spool, out_dir, dry_run, seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nextval('job_order'))",
            [spec.id, JobState.SUBMITTED, spec.actor, spec.account_id, spec.user, spec.file_name,
             spec.size, spec.sha256, str(folder.dir.resolve()), spec.out_dir, spec.dry_run],
        )  # fmt: skip


def clean_orphan(reg: Registry, folder: JobFolder) -> bool:
    """Remove the folder of a submit stopped before the ledger knew the job (killed: an
    error removes its own); True if it was one. Only a folder that names this registry is
    judged (any other may be another registry's job), and one whose submit is still running
    holds the submit lock."""
    if reg.one("SELECT 1 FROM jobs WHERE id = ?", [folder.id]) or not folder.dir.is_dir():
        return False
    if not folder.registry_file.exists() or Path(folder.db()).resolve() != reg.path.resolve():
        return False  # not this registry's to judge
    with exclusive(folder, "submit") as mine:
        if not mine:
            return False
        shutil.rmtree(folder.dir)
    return True


def first_unfinished(
    reg: Registry, actor: Actor, account_id: int, before: str | None = None
) -> str | None:
    """The first unfinished job of the account (submitted before job `before`, if given).

    Jobs of one account run in submission order, so that each plans against what the
    earlier ones left: two claims of one device never both pass."""
    row = reg.one(
        """SELECT id FROM jobs WHERE actor_kind = $kind AND actor_id = $account
               AND list_contains($states, state) AND NOT dry_run
               AND ($before IS NULL
                    OR coalesce(seq, 0) < (SELECT coalesce(seq, 0) FROM jobs WHERE id = $before))
           ORDER BY seq LIMIT 1""",
        {
            "kind": actor.value,
            "account": account_id,
            "states": [s.value for s in UNFINISHED],
            "before": before,
        },
    )
    return str(row[0]) if row else None


def set_state(
    reg: Registry, job_id: str, state: str, folder: JobFolder | None = None, **fields: Any
) -> None:
    """Record the state in the ledger, and in the job folder for watchers (a waiting
    `import` reads it there, as a worker may be holding the registry). The ledger first: the
    folder's copy never runs ahead of it."""
    sets = ", ".join(f"{k} = ?" for k in fields)
    with reg.transaction() as con:
        extra = f", {sets}" if sets else ""
        con.execute(
            f"UPDATE jobs SET state = ?, updated_at = now(){extra} WHERE id = ?",
            [state, *fields.values(), job_id],
        )
    if folder is not None:
        folder.write_state(state)


def record_failure(reg: Registry, job_id: str, why: str | None) -> None:
    """Why the job's last message failed for good (its error's class and message), as data;
    the state stays the one reached, where `job resume` continues (and clears it)."""
    with reg.transaction() as con:
        con.execute("UPDATE jobs SET error = ?, updated_at = now() WHERE id = ?", [why, job_id])


def forget(reg: Registry, folder: JobFolder) -> None:
    """Remove a job nothing was done for (its messages could not be sent): ledger row and
    folder, so that no half-made job is left behind."""
    with reg.transaction() as con:
        con.execute("DELETE FROM job_batches WHERE job_id = ?", [folder.id])
        con.execute("DELETE FROM jobs WHERE id = ?", [folder.id])
    shutil.rmtree(folder.dir, ignore_errors=True)


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


def list_jobs(
    reg: Registry, actor: Actor | None = None, account_id: int | None = None, limit: int = -1
) -> list[dict[str, Any]]:
    """Jobs, newest first: all of them, or the account's (`actor`, `account_id`)."""
    rows = reg.all(
        "SELECT id FROM jobs WHERE $kind IS NULL OR (actor_kind = $kind AND actor_id = $id) "
        "ORDER BY created_at DESC, id DESC LIMIT CASE WHEN $limit < 0 THEN NULL ELSE $limit END",
        {"kind": actor and actor.value, "id": account_id, "limit": limit},
    )
    return [job_row(reg, str(r[0])) for r in rows]


def progress(reg: Registry, job_id: str) -> tuple[int, int | None]:
    """Rows applied so far, and the rows planned in all (None before the job is planned)."""
    found = reg.one(
        "SELECT coalesce(sum(rows) FILTER (state = 'done'), 0), sum(rows), count(*) "
        "FROM job_batches WHERE job_id = ?",
        [job_id],
    )
    done, total, batches = found or (0, None, 0)
    return int(done), (int(total) if batches else None)
