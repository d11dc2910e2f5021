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
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from ztbulk.apply import jobs, stages
from ztbulk.errors import InternalError, TransientError
from ztbulk.registry.db import Registry, RegistryBusyError

QUEUE = "ztbulk"
REGISTRY_WAIT_S = 300.0  # how long a worker waits for the registry before the message retries
MAX_RETRIES = 3
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
        batches = stages.plan(rt.opener, rt.root, job_id)
        rt.say(f"job {job_id}: {len(batches)} batch(es) to apply")
        for batch in batches:
            actors.apply.send(job_id, batch)
        if not batches:
            actors.finalize.send(job_id)

    def apply_batch(job_id: str, batch: int) -> None:
        rt = runtime()
        applied, pending = stages.apply_from(rt.opener, rt.root, job_id, batch)
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
        trace = str(message.get("options", {}).get("traceback", "")).strip()
        last = trace.splitlines()[-1] if trace else "Error: retries exhausted"
        kind, _, text = last.partition(": ")  # "ztbulk.errors.UsageError: No registry at ..."
        why = f"{kind.rsplit('.', 1)[-1]}: {text}"
        jobs.JobFolder(runtime().root, job_id).write_state(jobs.FAILED, why)

    def actor(fn: Callable[..., None], name: str, **options: Any) -> Any:
        decorate = dramatiq.actor(
            broker=broker,
            queue_name=QUEUE,
            actor_name=name,
            max_retries=MAX_RETRIES,
            min_backoff=200,
            max_backoff=5_000,
            **options,
        )
        return decorate(fn)

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
        if state == jobs.FAILED:
            raise InternalError(
                f"Job {job_id} failed in a worker ({folder.error()}); nothing is lost: fix "
                f"the cause, then `ztbulk job resume {job_id}`."
            )
        if state != last:
            say(f"job {job_id}: {state}")
            last = state
        time.sleep(poll_s)


def serve(url: str, root: Path, threads: int) -> None:
    """`ztbulk worker`: run the actors until SIGTERM or SIGINT."""
    broker = redis_broker(url)
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
