"""The import job's library API: `import_file()` and `resume_job()`."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from ztbulk.apply import jobs
from ztbulk.apply.stages import allowed_to_run
from ztbulk.apply.worker import broker_url, enqueue, open_when_free, run_embedded, wait_for
from ztbulk.domain import Actor
from ztbulk.errors import InputError, JobWaitingError, UsageError
from ztbulk.registry.db import Registry
from ztbulk.registry.service import ANY_ROLE, RegistryService
from ztbulk.report.model import REPORT_JSON, CheckReport


@dataclass
class ImportResult:
    job_id: str
    report: CheckReport | None  # None until the job is done (--no-wait)


def parse_account(value: str) -> tuple[Actor, int]:
    """`customer:1001` or `reseller:1003`."""
    kind, _, number = value.partition(":")
    try:
        return Actor(kind), int(number)
    except ValueError:
        raise UsageError(f"--as {value!r}: write customer:ID or reseller:ID.") from None


def import_file(
    path: str | Path,
    *,
    account: str,
    user: str,
    db: str | Path | None = None,
    out_dir: str | Path | None = None,
    spool: str | Path | None = None,
    wait: bool = True,
    say: Callable[[str], None] = lambda _text: None,
) -> ImportResult:
    """Import a zero-touch CSV for `account` as `user`: check, resolve, apply, report.

    The user's right to import for the account is checked before the file is read.
    """
    path = Path(path)
    actor, account_id = parse_account(account)
    root = jobs.spool_root(spool)
    url = broker_url()
    with _open(db, url) as reg:
        svc = RegistryService(reg)
        svc.require(svc.principal(user), actor, account_id, ANY_ROLE, "import files")
        if not path.is_file():
            raise InputError(f"{path} is not a readable file; check the path.")
        if url is None and wait:  # embedded, nobody else runs the earlier job: say so first
            _none_before(reg, actor, account_id)
        out = Path(out_dir) if out_dir else None
        spec = jobs.submit(
            reg, root, path, actor=actor, account_id=account_id, user=user, out_dir=out
        )
        say(f"job {spec.id}: submitted ({spec.size:,} bytes)")
        if url is not None:
            enqueue(url, reg, spec.id)
        elif wait:
            run_embedded(reg, root, spec.id, say)
    if not wait:
        return ImportResult(spec.id, None)
    if url is not None:
        wait_for(root, spec.id, say)
    return ImportResult(spec.id, load_report(Path(spec.out_dir)))


def resume_job(
    job_id: str, *, db: str | Path | None = None, spool: str | Path | None = None,
    say: Callable[[str], None] = lambda _text: None,
) -> ImportResult:  # fmt: skip
    root = jobs.spool_root(spool)
    folder = jobs.JobFolder(root, job_id)
    url = broker_url()
    with _open(db, url) as reg:
        if jobs.clean_orphan(reg, folder):
            raise UsageError(
                f"Job {job_id} was stopped while it was being submitted, before the registry "
                "knew it: nothing was applied, and its folder is removed. Import the file again."
            )
        spec = allowed_to_run(reg, folder)  # from the ledger, rights checked again
        jobs.write_locator(folder, spec)  # a kill may have come before it was written
        state = jobs.job_row(reg, job_id)["state"]
        done = state == jobs.DONE
        earlier = jobs.first_unfinished(reg, spec.who, spec.account_id, before=job_id)
        if not done and url is None and earlier is not None:
            raise JobWaitingError(job_id, earlier)
        folder.write_state(state)  # clears a "failed" left for watchers
        if not done and url is not None:
            enqueue(url, reg, job_id, resume=True)
        elif not done:
            run_embedded(reg, root, job_id, say, resume=True)
    if not done and url is not None:
        wait_for(root, job_id, say)
    return ImportResult(job_id, load_report(Path(spec.out_dir)))


def cancel_job(job_id: str, *, db: str | Path | None = None, spool: str | Path | None = None,
               user: str) -> str:  # fmt: skip
    """Cancel a job that is not finished: its pending batches are never applied (those already
    applied stay). `user` needs the right to import for the job's account. Returns the state
    the job had."""
    folder = jobs.JobFolder(jobs.spool_root(spool), job_id)
    with _open(db, broker_url()) as reg:
        spec = jobs.spec(reg, folder)
        svc = RegistryService(reg)
        svc.require(svc.principal(user), spec.who, spec.account_id, ANY_ROLE, "cancel jobs")
        state = str(jobs.job_row(reg, job_id)["state"])
        if state not in jobs.UNFINISHED:
            raise UsageError(f"Job {job_id} is {state}: only an unfinished job can be cancelled.")
        jobs.set_state(reg, job_id, jobs.CANCELLED, folder)
    return state


def _none_before(reg: Registry, actor: Actor, account_id: int) -> None:
    """Refuse to run a new job embedded while an earlier job of its account is unfinished."""
    earlier = jobs.first_unfinished(reg, actor, account_id)
    if earlier is not None:
        raise UsageError(
            f"Job {earlier} of this account is not finished, and jobs of one account run in "
            f"the order they were submitted: finish it (`ztbulk job resume {earlier}`) or "
            f"cancel it (`ztbulk job cancel {earlier}`), then import again."
        )


def _open(db: str | Path | None, url: str | None) -> AbstractContextManager[Registry]:
    """With workers (distributed), the registry is theirs for moments at a time: wait for a
    turn as they do. Embedded, a busy registry is another command's: say so at once."""
    return open_when_free(db) if url is not None else Registry.open(db)


def load_report(out: Path) -> CheckReport:
    return CheckReport.from_dict(json.loads((out / REPORT_JSON).read_text(encoding="utf-8")))
