"""The Dramatiq actors of the import job: one code path for both ways of running it.

Messages carry job ids (and batch numbers), never rows. Three actors chain a job: `plan`
(ingest + resolve, then one `apply` message per batch), `apply` (its batch in one transaction,
then, while it holds the registry, further pending batches, each in its own; a message that
finds no batch pending sends `finalize`) and `finalize` (the outputs; one at a time per job,
the others end at once). Completion is tracked in the ledger, not with group callbacks, which
never fire when a child fails for good. The runners (`jobs.runners`) bind these actors to a
StubBroker in-process or to Redis.

A failed message is retried only when its error may pass later (`_retryable`); its class and
message are recorded in the job folder as data, for whoever reports the job's failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy

from ztbulk.errors import InternalError, JobCancelledError, JobWaitingError, ZtbulkError
from ztbulk.jobs import finalize, ledger, stages
from ztbulk.jobs.context import Context
from ztbulk.jobs.folder import JOB_ID, JobFolder, JobState, exclusive
from ztbulk.registry.db import Registry
from ztbulk.report.mail import note_mail_failure, send_saved

QUEUE = "ztbulk"
MAIL_QUEUE = "ztbulk-mail"  # apart: a message that fails there is a warning, not a failed job
MAX_RETRIES = 3
WAIT_TURN_MS = 1000  # how soon a job waiting for an earlier job of its account looks again


class _Current:
    """The stage context of this process's actors (set by the runner that starts them)."""

    context: Context | None = None


def context() -> Context:
    if _Current.context is None:
        raise InternalError("No ztbulk runtime in this process: start it with `ztbulk worker`.")
    return _Current.context


def install(ctx: Context | None) -> None:
    _Current.context = ctx


@dataclass(frozen=True)
class Actors:
    plan: Any
    apply: Any
    finalize: Any
    mail: Any


def declare(broker: dramatiq.Broker) -> Actors:
    """The job's actors, bound to `broker`."""

    def actor(fn: Callable[..., None], name: str, queue: str = QUEUE, **options: Any) -> Any:
        decorate = dramatiq.actor(
            broker=broker, queue_name=queue, actor_name=name, retry_when=_retryable,
            min_backoff=200, max_backoff=5_000, **options,
        )  # fmt: skip
        return decorate(fn)

    failed = actor(_job_failed, "ztbulk.failed")
    mail_failed = actor(_mail_failed, "ztbulk.mail-failed")
    # Not `on_failure`: Dramatiq sends that after every failed attempt, and telling the last
    # one from the others by its retry count raced a retry that was still to come.
    on_failure = {"on_retry_exhausted": failed.actor_name}

    def plan(job_id: str) -> None:
        _plan(actors, job_id)

    def apply(job_id: str, batch: int) -> None:
        _apply(actors, job_id, batch)

    def finalize_job(job_id: str) -> None:
        _finalize(actors, job_id)

    actors = Actors(
        plan=actor(_recording(plan), "ztbulk.plan", **on_failure),
        apply=actor(_recording(apply), "ztbulk.apply", **on_failure),
        finalize=actor(_recording(finalize_job), "ztbulk.finalize", **on_failure),
        # The e-mail is sent on its own, after the job is done: its failure is a warning.
        mail=actor(
            _recording(_send_mail),
            "ztbulk.mail",
            MAIL_QUEUE,
            on_retry_exhausted=mail_failed.actor_name,
        ),
    )
    return actors


def _plan(actors: Actors, job_id: str) -> None:
    ctx = context()
    ctx.say(f"job {job_id}: reading, checking and resolving the file")
    try:
        batches = stages.plan(ctx, job_id)
    except JobWaitingError as waiting:  # its turn comes when the earlier job is done
        note = f"waits for job {waiting.earlier} of the same account, submitted before it"
        ctx.say(f"job {job_id}: {note}")
        JobFolder(ctx.settings.spool, job_id).write_note(note)
        actors.plan.send_with_options(args=(job_id,), delay=WAIT_TURN_MS)
        return
    except JobCancelledError:
        return
    if batches is None:  # planned already: this message came again
        return
    ctx.say(f"job {job_id}: {len(batches)} batch(es) to apply")
    for batch in batches:
        actors.apply.send(job_id, batch)
    if not batches:
        actors.finalize.send(job_id)


def _apply(actors: Actors, job_id: str, batch: int) -> None:
    ctx = context()
    try:
        applied, pending = stages.apply_from(ctx, job_id, batch)
    except JobCancelledError:
        return
    for done in applied:
        ctx.say(f"job {job_id}: batch {done} applied")
    if not pending:
        actors.finalize.send(job_id)


def _finalize(actors: Actors, job_id: str) -> None:
    ctx = context()
    folder = JobFolder(ctx.settings.spool, job_id)
    # Every apply message that finds no batch pending sends one of these: the first takes the
    # job's finalize lock, the others end here (a dead holder's lock is released with its
    # process, and its own message comes back after the heartbeat timeout).
    with exclusive(folder, "finalize") as mine:
        if not mine:
            return
        with ctx.opener(folder.db()) as reg:  # the ledger decides, not the folder's mirror
            state = ledger.job_row(reg, job_id)["state"]
        if state in (JobState.DONE, JobState.CANCELLED):
            return
        ctx.say(f"job {job_id}: writing the reports")
        report = finalize.finalize(ctx, job_id)
    if ctx.settings.smtp_url and not report.dry_run:
        actors.mail.send(job_id)


def _send_mail(job_id: str) -> None:
    ctx = context()
    assert ctx.settings.smtp_url is not None  # sent only then
    with ctx.opener(JobFolder(ctx.settings.spool, job_id).db()) as reg:
        out = Path(ledger.spec(reg, JobFolder(ctx.settings.spool, job_id)).out_dir)
    send_saved(out, ctx.settings.smtp_url)
    ctx.say(f"job {job_id}: summary e-mail sent")


def _mail_failed(message: dict[str, Any], _retries: dict[str, Any]) -> None:
    """The e-mail could not be sent, after its retries: the job stays done, its report says
    so (a warning), and summary.eml is there to send by hand."""
    job_id = str(message["args"][0])
    ctx = context()
    if not JOB_ID.fullmatch(job_id):
        return
    with ctx.opener(JobFolder(ctx.settings.spool, job_id).db()) as reg:
        out = Path(ledger.spec(reg, JobFolder(ctx.settings.spool, job_id)).out_dir)
    note_mail_failure(out, JobFolder(ctx.settings.spool, job_id).last_error())


def _job_failed(message: dict[str, Any], _retries: dict[str, Any]) -> None:
    """A message of the job failed for good (Dramatiq's `on_retry_exhausted`, sent once,
    after the last attempt): tell watchers why. The ledger keeps the state the job reached,
    so `job resume` continues from there once the cause is fixed."""
    job_id = str(message["args"][0])
    ctx = context()
    if not JOB_ID.fullmatch(job_id) or not (ctx.settings.spool / job_id).is_dir():
        return
    folder = JobFolder(ctx.settings.spool, job_id)
    why = folder.last_error()
    folder.write_state(JobState.FAILED, why)
    try:
        with ctx.opener(folder.db()) as reg:
            ledger.record_failure(reg, job_id, why)
    except ZtbulkError:  # the registry may be the cause (gone, busy): the folder says why
        pass


def _recording(fn: Callable[..., None]) -> Callable[..., None]:
    """`fn`, recording in the job folder why it failed (class and message, as data)."""

    def recorded(job_id: str, *args: Any) -> None:
        try:
            fn(job_id, *args)
        except Exception as exc:
            spool = context().settings.spool
            if JOB_ID.fullmatch(job_id) and (spool / job_id).is_dir():
                JobFolder(spool, job_id).record_error(exc)
            raise

    return recorded


def _retryable(retries: int, exc: BaseException) -> bool:
    """Retry what may pass later (a busy registry, a lost connection, an error ztbulk does not
    know), at most MAX_RETRIES times; a usage or input error (a job id that is not one, a
    user without the right, an input that changed) fails at once."""
    known = isinstance(exc, ZtbulkError)
    return retries < MAX_RETRIES and (not known or getattr(exc, "retryable", False))


def first_messages(
    reg: Registry, job_id: str, actors: Actors, resume: bool
) -> list[Callable[[], Any]]:
    """Where a job (re)starts: planning if no plan was made, else its pending batches."""
    state = ledger.job_row(reg, job_id)["state"]
    if not resume or state == JobState.SUBMITTED:
        return [_sender(actors.plan, job_id)]
    pending = ledger.pending_batches(reg, job_id)
    if not pending:
        return [_sender(actors.finalize, job_id)]
    return [_sender(actors.apply, job_id, b) for b in pending]


def _sender(actor: Any, *args: object) -> Callable[[], Any]:
    return lambda: actor.send(*args)


class Holding(dramatiq.Middleware):
    """Marks each message this process is working on with a file in its job's folder,
    `held/PID-MESSAGE_ID`, removed when the message is done: who holds what, for people and
    for the kill tests, which prove that the worker they kill held a message."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _mark(self, message: MessageProxy) -> Path | None:
        job_id = str(message.args[0]) if message.args else ""
        if not JOB_ID.fullmatch(job_id) or not (self.root / job_id).is_dir():
            return None
        return self.root / job_id / "held" / f"{os.getpid()}-{message.message_id}"

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        if (mark := self._mark(message)) is not None:
            mark.parent.mkdir(exist_ok=True)
            mark.write_text(message.actor_name, encoding="utf-8")

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, *,
        result: Any = None, exception: BaseException | None = None,
    ) -> None:  # fmt: skip
        if (mark := self._mark(message)) is not None:
            mark.unlink(missing_ok=True)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)
