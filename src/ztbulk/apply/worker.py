"""Dramatiq actors of the import job, the embedded runner and the distributed worker.

Messages carry job ids (and batch numbers), never rows. Three actors chain a job: `plan`
(ingest + resolve, then one `apply` message per batch), `apply` (its batch in one transaction,
then, while it holds the registry, further pending batches, each in its own; a message that
finds no batch pending sends `finalize`) and `finalize` (the outputs; one at a time per job,
the others end at once). Completion
is tracked in the ledger, not with group callbacks, which never fire when a child fails for good.

Embedded mode (the default): a StubBroker and an in-process Worker, using the registry the
importing process already holds. Distributed mode (`ZTBULK_BROKER_URL=redis://...`): the same
actors on a RedisBroker, run by `ztbulk worker` processes. DuckDB lets one process open the
file at a time, so a worker opens the registry only for the part of a stage that needs it and
waits while another process holds it: any number of workers share one registry safely.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from ztbulk.apply import jobs, stages
from ztbulk.errors import (
    InputError,
    InternalError,
    JobCancelledError,
    JobWaitingError,
    TransientError,
    UsageError,
    ZtbulkError,
)
from ztbulk.registry.db import Registry, RegistryBusyError

QUEUE = "ztbulk"
REGISTRY_WAIT_S = 300.0  # how long a worker waits for the registry before the message retries
MAX_RETRIES = 3
WAIT_TURN_MS = 1000  # how soon a job waiting for an earlier job of its account looks again
# Threads of one process take turns with the registry: DuckDB would let them open it together,
# and then fail one of two concurrent updates ("Conflict on update").
_REGISTRY_TURN = threading.Lock()


@dataclass
class Runtime:
    """What the actors of this process work with."""

    root: Path  # the spool of job folders
    opener: stages.Opener
    say: Callable[[str], None] = lambda _text: None  # progress lines for a waiting user


class _Current:
    """The runtime of this process's actors."""

    runtime: Runtime | None = None


def runtime() -> Runtime:
    if _Current.runtime is None:
        raise InternalError("No ztbulk runtime in this process: start it with `ztbulk worker`.")
    return _Current.runtime


@contextmanager
def open_when_free(db: str | Path | None) -> Iterator[Registry]:
    """Open the registry, waiting (with jitter) while another process holds it."""
    deadline = time.monotonic() + REGISTRY_WAIT_S
    with _REGISTRY_TURN:
        while True:
            try:
                reg = Registry.open(db)
                break
            except RegistryBusyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.01, 0.1))
        with reg:
            yield reg


@dataclass(frozen=True)
class Actors:
    plan: Any
    apply: Any
    finalize: Any


def declare(broker: dramatiq.Broker) -> Actors:
    """The job's actors, bound to `broker`."""

    def plan_job(job_id: str) -> None:
        rt = runtime()
        rt.say(f"job {job_id}: reading, checking and resolving the file")
        try:
            batches = stages.plan(rt.opener, rt.root, job_id)
        except JobWaitingError as waiting:  # its turn comes when the earlier job is done
            rt.say(f"job {job_id}: waits for job {waiting.earlier} of the same account")
            actors.plan.send_with_options(args=(job_id,), delay=WAIT_TURN_MS)
            return
        except JobCancelledError:
            return
        rt.say(f"job {job_id}: {len(batches)} batch(es) to apply")
        for batch in batches:
            actors.apply.send(job_id, batch)
        if not batches:
            actors.finalize.send(job_id)

    def apply_batch(job_id: str, batch: int) -> None:
        rt = runtime()
        try:
            applied, pending = stages.apply_from(rt.opener, rt.root, job_id, batch)
        except JobCancelledError:
            return
        for done in applied:
            rt.say(f"job {job_id}: batch {done} applied")
        if not pending:
            actors.finalize.send(job_id)

    def finalize_job(job_id: str) -> None:
        rt = runtime()
        folder = jobs.JobFolder(rt.root, job_id)
        # Every apply message that finds no batch pending sends one of these: the first takes
        # the job's finalize lock, the others end here (a dead holder's lock is released with
        # its process, and its own message comes back after the heartbeat timeout).
        with jobs.exclusive(folder, "finalize") as mine:
            if not mine or folder.state() == jobs.DONE:
                return
            rt.say(f"job {job_id}: writing the reports")
            stages.finalize(rt.opener, rt.root, job_id)

    def job_failed(message: dict[str, Any], _retries: dict[str, Any]) -> None:
        """A message of the job failed for good (Dramatiq's `on_retry_exhausted`, sent once,
        after the last attempt): tell watchers. The ledger keeps the state the job reached,
        so `job resume` continues from there once the cause is fixed."""
        job_id = str(message["args"][0])
        if not jobs.JOB_ID.fullmatch(job_id):  # a message naming no job of ours
            return
        folder = jobs.JobFolder(runtime().root, job_id)
        if folder.dir.is_dir():
            folder.write_state(jobs.FAILED, folder.last_error())

    def actor(fn: Callable[..., None], name: str, **options: Any) -> Any:
        decorate = dramatiq.actor(
            broker=broker,
            queue_name=QUEUE,
            actor_name=name,
            retry_when=_retryable,
            min_backoff=200,
            max_backoff=5_000,
            **options,
        )
        return decorate(_recording(fn) if fn is not job_failed else fn)

    failed = actor(job_failed, "ztbulk.failed")
    # Not `on_failure`: Dramatiq sends that after every failed attempt, and telling the last
    # one from the others by its retry count raced a retry that was still to come.
    on_failure = {"on_retry_exhausted": failed.actor_name}
    actors = Actors(
        plan=actor(plan_job, "ztbulk.plan", **on_failure),
        apply=actor(apply_batch, "ztbulk.apply", **on_failure),
        finalize=actor(finalize_job, "ztbulk.finalize", **on_failure),
    )
    return actors


def _recording(fn: Callable[..., None]) -> Callable[..., None]:
    """`fn`, recording in the job folder why it failed (class and message, as data), for
    whoever reports the job's failure once its retries are exhausted."""

    def recorded(job_id: str, *args: Any) -> None:
        try:
            fn(job_id, *args)
        except Exception as exc:
            if jobs.JOB_ID.fullmatch(job_id) and (runtime().root / job_id).is_dir():
                jobs.JobFolder(runtime().root, job_id).record_error(exc)
            raise

    recorded.__name__ = fn.__name__
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
    state = jobs.job_row(reg, job_id)["state"]
    if not resume or state == jobs.SUBMITTED:
        return [_sender(actors.plan, job_id)]
    pending = jobs.pending_batches(reg, job_id)
    if not pending:
        return [_sender(actors.finalize, job_id)]
    return [_sender(actors.apply, job_id, b) for b in pending]


def _sender(actor: Any, *args: object) -> Callable[[], Any]:
    return lambda: actor.send(*args)


# -- embedded ----------------------------------------------------------------------------


def run_embedded(
    reg: Registry, root: Path, job_id: str, say: Callable[[str], None], resume: bool = False
) -> None:
    """Run (or resume) a job to its end in this process, on the registry it holds."""
    # Failures reach the user as one sentence (below); Dramatiq's own traceback logging of
    # each attempt would only bury it.
    logging.getLogger("dramatiq").setLevel(logging.CRITICAL)
    broker = StubBroker()
    broker.emit_after("process_boot")
    actors = declare(broker)
    _Current.runtime = Runtime(root, lambda _db: nullcontext(reg), say)
    # One thread: the registry connection is shared. A short poll timeout, because each join
    # and stop waits out a full poll (Dramatiq's default is a second).
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        for message in first_messages(reg, job_id, actors, resume):
            message()
        broker.join(QUEUE)
        worker.join()
    except (UsageError, InputError):
        raise  # the job cannot go on as it is (rights, its input): the user must act
    except Exception as exc:
        raise InternalError(
            f"Job {job_id} stopped ({type(exc).__name__}: {exc}); nothing is lost: "
            f"`ztbulk job resume {job_id}` finishes it."
        ) from exc
    finally:
        worker.stop()
        _Current.runtime = None


# -- distributed ---------------------------------------------------------------------------


def broker_url() -> str | None:
    return os.environ.get("ZTBULK_BROKER_URL") or None


def redis_broker(url: str) -> RedisBroker:
    # A worker that stops sending heartbeats has its messages requeued after this long, by
    # the "maintenance" that Dramatiq runs on a random share of Redis commands (per million).
    # Its default share (0.1%) suits busy queues; jobs send few messages, so a dead worker's
    # batch could wait for minutes: 5% here.
    heartbeat = int(os.environ.get("ZTBULK_HEARTBEAT_MS", "60000"))
    chance = int(os.environ.get("ZTBULK_MAINTENANCE_CHANCE", "50000"))
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=url, heartbeat_timeout=heartbeat, maintenance_chance=chance
    )
    broker.emit_after("process_boot")
    return broker


def enqueue(url: str, reg: Registry, job_id: str, resume: bool = False) -> None:
    """Send a job's first messages to the workers behind `url`."""
    try:
        actors = declare(redis_broker(url))
        for message in first_messages(reg, job_id, actors, resume):
            message()
    except dramatiq.errors.ConnectionError as exc:
        raise TransientError(f"The broker at {url} cannot be reached ({exc}).") from None


def wait_for(root: Path, job_id: str, say: Callable[[str], None], poll_s: float = 0.2) -> None:
    """Follow a job run by workers until it is done, reporting each change of state."""
    folder, last = jobs.JobFolder(root, job_id), ""
    while (state := folder.state()) != jobs.DONE:
        if state == jobs.CANCELLED:
            raise JobCancelledError(f"Job {job_id} was cancelled.")
        if state == jobs.FAILED:
            raise InternalError(
                f"Job {job_id} failed in a worker ({folder.error()}); nothing is lost: fix "
                f"the cause, then `ztbulk job resume {job_id}`."
            )
        if state != last:
            say(f"job {job_id}: {state}")
            last = state
        time.sleep(poll_s)


class Holding(dramatiq.Middleware):
    """Marks each message this process is working on with a file in its job's folder,
    `held/PID-MESSAGE_ID`, removed when the message is done: who holds what, for people and
    for the kill tests, which prove that the worker they kill held a message."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _mark(self, message: MessageProxy) -> Path | None:
        job_id = str(message.args[0]) if message.args else ""
        if not jobs.JOB_ID.fullmatch(job_id) or not (self.root / job_id).is_dir():
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


def serve(url: str, root: Path, threads: int) -> None:
    """`ztbulk worker`: run the actors until SIGTERM or SIGINT."""
    broker = redis_broker(url)
    broker.add_middleware(Holding(root))
    declare(broker)
    _Current.runtime = Runtime(root, open_when_free, _say_with_pid)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=500)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # Said before starting: once started, a queued job's progress lines may come first.
    _say_with_pid(f"worker ready on {url}, spool {root}, {threads} thread(s)")
    worker.start()
    try:
        stop.wait()
    finally:
        worker.stop()


def _say_with_pid(text: str) -> None:
    print(f"ztbulk worker {os.getpid()}: {text}", file=sys.stderr, flush=True)


def say_to_stderr(text: str) -> None:
    print(f"ztbulk: {text}", file=sys.stderr, flush=True)
