"""The import job's library API: `import_file()`, `resume_job()`, `cancel_job()`.

Each takes a `Settings` (default: the defaults, not the environment; the CLI reads that), and
`db` / `spool` (and `lang` for an import) as shorthands that override it. The runner it
chooses (`jobs.runners`) decides whether the job runs here or in workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ztbulk.domain import Actor
from ztbulk.errors import BrokerError, JobWaitingError, UsageError
from ztbulk.i18n import known_language
from ztbulk.ingest import Progress, plain_file_state
from ztbulk.jobs import ledger
from ztbulk.jobs.folder import UNFINISHED, JobFolder, JobState, write_spec
from ztbulk.jobs.runners import Runner, runner_for
from ztbulk.jobs.stages import allowed_to_run
from ztbulk.registry.db import Registry
from ztbulk.registry.service import ANY_ROLE, RegistryService
from ztbulk.report.model import REPORT_JSON, Report
from ztbulk.settings import Settings

Say = Callable[[str], None]


@dataclass
class ImportResult:
    job_id: str
    report: Report | None  # None until the job is done (--no-wait)


def import_file(
    path: str | Path, *, actor: Actor | str, account_id: int, user: str,
    settings: Settings | None = None, db: str | Path | None = None,
    spool: str | Path | None = None, out_dir: str | Path | None = None,
    wait: bool = True, dry_run: bool = False, say: Say = lambda _text: None,
    runner: Runner | None = None, upload: ledger.Upload | None = None,
    progress: Progress | None = None, lang: str | None = None,
) -> ImportResult:  # fmt: skip
    """Import a zero-touch CSV for the account (`actor`, `account_id`) as `user`: check,
    resolve, apply, report. The user's right to import for the account is checked before the
    file is read; with `wait=False` the job is only submitted (and, distributed, queued). A
    dry run resolves and plans, writes the same reports with the outcomes the rows would get,
    and changes nothing. `runner` replaces the one the settings choose (the HTTP service's
    own workers); `upload` says `path` is already spooled and hashed (`ledger.submit`);
    `progress` follows the reading of the file when it is read here. The job's row messages,
    report.html and summary.eml are in `lang`, else the user's language, else the settings',
    wherever and whenever it runs."""
    path, actor = Path(path), Actor(actor)
    settings = (settings or Settings()).with_options(db=db, spool=spool)
    runner = runner or runner_for(settings, say, progress)
    with runner.registry() as reg:
        svc = RegistryService(reg)
        who = svc.principal(user)
        svc.require(who, actor, account_id, ANY_ROLE, "import files")
        lang = known_language(lang) if lang else who.lang or settings.lang
        plain_file_state(path)  # a FIFO, a device, a folder, an unreadable path: said now
        if not runner.background and wait and not dry_run:  # nobody else runs an earlier one
            _none_before(reg, actor, account_id)
        runner.check()  # a broker that cannot be reached: said before any job is made
        spec = ledger.submit(
            reg, settings.spool, path, actor=actor, account_id=account_id, user=user,
            out_dir=Path(out_dir) if out_dir else None, dry_run=dry_run, upload=upload, lang=lang,
        )  # fmt: skip
        say(f"job {spec.id}: submitted ({spec.size:,} bytes)")
        if runner.background or wait:
            _start(runner, reg, JobFolder(settings.spool, spec.id))
    if not wait:
        return ImportResult(spec.id, None)
    runner.wait(spec.id)
    return ImportResult(spec.id, load_report(Path(spec.out_dir)))


def resume_job(
    job_id: str, *, settings: Settings | None = None, db: str | Path | None = None,
    spool: str | Path | None = None, say: Say = lambda _text: None,
    progress: Progress | None = None,
) -> ImportResult:  # fmt: skip
    """Run or finish a job from where the ledger says it stopped."""
    settings = (settings or Settings()).with_options(db=db, spool=spool)
    folder = JobFolder(settings.spool, job_id)
    runner = runner_for(settings, say, progress)
    with runner.registry() as reg:
        if ledger.clean_orphan(reg, folder):
            raise UsageError(
                f"Job {job_id} was stopped while it was being submitted, before the registry "
                "knew it: nothing was applied, and its folder is removed. Import the file again."
            )
        spec = allowed_to_run(reg, folder)  # from the ledger, rights checked again
        write_spec(folder, spec)  # a kill may have come before it was written (for people)
        done = ledger.job_row(reg, job_id)["state"] == JobState.DONE
        earlier = ledger.first_unfinished(reg, spec.who, spec.account_id, before=job_id)
        if not done and not runner.background and earlier is not None and not spec.dry_run:
            raise JobWaitingError(job_id, earlier)
        folder.write_state(ledger.job_row(reg, job_id)["state"])  # clears a "failed"
        ledger.record_failure(reg, job_id, None)
        if not done:
            runner.start(reg, job_id, resume=True)
    if not done:
        runner.wait(job_id)
    return ImportResult(job_id, load_report(Path(spec.out_dir)))


def cancel_job(
    job_id: str, *, user: str, settings: Settings | None = None,
    db: str | Path | None = None, spool: str | Path | None = None, runner: Runner | None = None,
) -> str:  # fmt: skip
    """Cancel a job that is not finished: its pending batches are never applied (those already
    applied stay). `user` needs the right to import for the job's account. Returns the state
    the job had."""
    settings = (settings or Settings()).with_options(db=db, spool=spool)
    folder = JobFolder(settings.spool, job_id)
    with (runner or runner_for(settings, lambda _text: None)).registry() as reg:
        spec = ledger.spec(reg, folder)
        svc = RegistryService(reg)
        svc.require(svc.principal(user), spec.who, spec.account_id, ANY_ROLE, "cancel jobs")
        state = str(ledger.job_row(reg, job_id)["state"])
        if state not in UNFINISHED:
            raise UsageError(f"Job {job_id} is {state}: only an unfinished job can be cancelled.")
        ledger.set_state(reg, job_id, JobState.CANCELLED, folder)
    return state


def _start(runner: Runner, reg: Registry, folder: JobFolder) -> None:
    try:
        runner.start(reg, folder.id, resume=False)
    except BrokerError:  # nothing was sent: the job would wait for nobody
        ledger.forget(reg, folder)
        raise


def _none_before(reg: Registry, actor: Actor, account_id: int) -> None:
    """Refuse to run a new job embedded while an earlier job of its account is unfinished."""
    earlier = ledger.first_unfinished(reg, actor, account_id)
    if earlier is not None:
        raise UsageError(
            f"Job {earlier} of this account is not finished, and jobs of one account run in "
            f"the order they were submitted: finish it (`ztbulk job resume {earlier}`) or "
            f"cancel it (`ztbulk job cancel {earlier}`), then import again."
        )


def describe(settings: Settings, job: dict[str, Any]) -> str:
    """What a job is doing, in words: a stuck job apart from a running one, with the way out."""
    state, job_id = str(job["state"]), str(job["id"])
    if state not in UNFINISHED:
        return state
    folder = JobFolder(settings.spool, job_id)
    if job.get("error") or folder.state() == JobState.FAILED:
        why = job.get("error") or folder.error()
        return f"{state}, stuck: failed ({why}); fix that, then `ztbulk job resume {job_id}`"
    if note := folder.note():
        return f"{state}: {note}"
    if not settings.distributed:  # we could open the registry: no embedded run holds it
        return f"{state}, stopped: nothing runs it; `ztbulk job resume {job_id}` finishes it"
    if any(_alive(mark) for mark in folder.held()):
        return f"{state}: a worker is on it"
    return f"{state}: queued; no worker holds it now (is `ztbulk worker` running?)"


def _alive(mark: Path) -> bool:
    """The worker process that left this mark (held/PID-MESSAGE) is alive on this machine."""
    pid = mark.name.split("-", 1)[0]
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


def load_report(out: Path) -> Report:
    return Report.from_dict(json.loads((out / REPORT_JSON).read_text(encoding="utf-8")))
