"""Dramatiq actors of the import job, and the embedded runner.

Messages carry job ids (and batch numbers), never rows. Three actors chain a job: `plan`
(ingest + resolve, then one `apply` message per batch), `apply` (one batch in one transaction;
the last one to finish sends `finalize`) and `finalize` (the outputs). Completion is tracked in
the ledger, not with group callbacks, which never fire when a child fails for good.

Embedded mode (the default): a StubBroker and an in-process Worker, with the registry the
importing process already holds (DuckDB allows one process per file). Distributed mode uses
the same actors on a RedisBroker, with the registry opened by the worker that runs them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

from ztbulk.apply import jobs, stages
from ztbulk.errors import InternalError
from ztbulk.registry.db import Registry

QUEUE = "ztbulk"


@dataclass
class Runtime:
    """What the actors of this process work with."""

    root: Path  # the spool of job folders
    registry: Registry
    say: Callable[[str], None] = lambda _text: None  # progress lines for a waiting user


class _Current:
    """The runtime of this process's actors (set while a job runs)."""

    runtime: Runtime | None = None


def runtime() -> Runtime:
    if _Current.runtime is None:
        raise InternalError("No ztbulk runtime in this process: start it with `ztbulk worker`.")
    return _Current.runtime


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
        batches = stages.plan(rt.registry, rt.root, job_id)
        rt.say(f"job {job_id}: {len(batches)} batch(es) to apply")
        for batch in batches:
            actors.apply.send(job_id, batch)
        if not batches:
            actors.finalize.send(job_id)

    def apply_batch(job_id: str, batch: int) -> None:
        rt = runtime()
        if stages.apply_one(rt.registry, rt.root, job_id, batch):
            rt.say(f"job {job_id}: batch {batch} applied")
        if not jobs.pending_batches(rt.registry, job_id):
            actors.finalize.send(job_id)

    def finalize_job(job_id: str) -> None:
        rt = runtime()
        if jobs.job_row(rt.registry, job_id)["state"] == jobs.DONE:
            return  # a second finalize message (several batches finished together)
        rt.say(f"job {job_id}: writing the reports")
        stages.finalize(rt.registry, rt.root, job_id)

    def actor(fn: Callable[..., None], name: str) -> Any:
        decorate = dramatiq.actor(
            broker=broker,
            queue_name=QUEUE,
            actor_name=name,
            max_retries=3,
            min_backoff=200,
            max_backoff=5_000,
        )
        return decorate(fn)

    actors = Actors(
        plan=actor(plan_job, "ztbulk.plan"),
        apply=actor(apply_batch, "ztbulk.apply"),
        finalize=actor(finalize_job, "ztbulk.finalize"),
    )
    return actors


def run_embedded(rt: Runtime, job_id: str, resume: bool = False) -> None:
    """Run (or resume) a job to its end in this process."""
    # Failures reach the user as one sentence (below); Dramatiq's own traceback logging
    # of each attempt would only bury it.
    logging.getLogger("dramatiq").setLevel(logging.CRITICAL)
    broker = StubBroker()
    broker.emit_after("process_boot")
    actors = declare(broker)
    _Current.runtime = rt
    # One thread: the registry connection is shared. A short poll timeout, because each
    # join and stop waits out a full poll (Dramatiq's default is a second).
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        for message in first_messages(rt.registry, job_id, actors, resume):
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


def first_messages(
    reg: Registry, job_id: str, actors: Actors, resume: bool
) -> list[Callable[[], Any]]:
    """Where a job (re)starts: planning if no plan was made, else its pending batches."""
    state = jobs.job_row(reg, job_id)["state"]
    if not resume or state in (jobs.SUBMITTED, jobs.FAILED):
        return [lambda: actors.plan.send(job_id)]
    pending = jobs.pending_batches(reg, job_id)
    if not pending:
        return [lambda: actors.finalize.send(job_id)]
    return [_sender(actors.apply, job_id, b) for b in pending]


def _sender(actor: Any, *args: object) -> Callable[[], Any]:
    return lambda: actor.send(*args)


def say_to_stderr(text: str) -> None:
    print(f"ztbulk: {text}", file=sys.stderr, flush=True)
