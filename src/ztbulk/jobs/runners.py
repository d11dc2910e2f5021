"""The runner seam: embedded or distributed, chosen once (`runner_for`), same small interface.

- `EmbeddedRunner` (the default): a StubBroker and an in-process Worker run the job to its end
  in the importing process, on the registry it holds; a registry another process holds is
  reported at once (`Registry.open`).
- `RedisRunner` (`ZTBULK_BROKER_URL=redis://...`): the job's first messages go to Redis and
  `ztbulk worker` processes (`serve`) do the work; the importing process waits its turn for
  the registry as the workers do (`open_when_free`) and follows the job through its folder.

Both run the same actors (`jobs.actors`) and stages; the one-writer rule of DuckDB behind
both ways is handled in `registry.db`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from ztbulk.errors import (
    BrokerError,
    InputError,
    InternalError,
    JobCancelledError,
    UsageError,
)
from ztbulk.ingest import Progress
from ztbulk.jobs import actors
from ztbulk.jobs.context import Context
from ztbulk.jobs.folder import JobFolder, JobState
from ztbulk.registry.db import Registry, open_when_free
from ztbulk.settings import Settings

Say = Callable[[str], None]
NO_WORKER_S = 5.0  # a job still not taken by a worker after this long: say so


class Runner(Protocol):
    """How jobs run: open the registry when it is free, start or resume a job, wait for it."""

    background: bool  # the job runs in other processes: `start` only hands it over

    def registry(self) -> AbstractContextManager[Registry]: ...

    def check(self) -> None:
        """Refuse (a usage error, one sentence) when jobs cannot be run at all."""

    def start(self, reg: Registry, job_id: str, *, resume: bool) -> None: ...

    def wait(self, job_id: str) -> None: ...


def runner_for(settings: Settings, say: Say, progress: Progress | None = None) -> Runner:
    """`progress` follows the reading of the file where this process reads it (embedded)."""
    if settings.broker_url is not None:
        return RedisRunner(settings, settings.broker_url, say)
    return EmbeddedRunner(settings, say, progress)


class EmbeddedRunner:
    background = False

    def __init__(self, settings: Settings, say: Say, progress: Progress | None = None) -> None:
        self.settings, self.say, self.progress = settings, say, progress

    def registry(self) -> AbstractContextManager[Registry]:
        """Embedded, a busy registry is another command's: say so at once."""
        return Registry.open(self.settings.db, memory=self.settings.duckdb_memory)

    def check(self) -> None:
        """Embedded, this process runs the job: nothing to check."""

    def start(self, reg: Registry, job_id: str, *, resume: bool) -> None:
        """Run (or resume) the job to its end in this process, on the registry it holds."""
        # Failures reach the user as one sentence (below); Dramatiq's own traceback logging
        # of each attempt would only bury it.
        logging.getLogger("dramatiq").setLevel(logging.CRITICAL)
        broker = StubBroker()
        broker.emit_after("process_boot")
        bound = actors.declare(broker)
        actors.install(
            Context(self.settings, lambda _db: nullcontext(reg), self.say, self.progress)
        )
        # One thread: the registry connection is shared. A short poll timeout, because each
        # join and stop waits out a full poll (Dramatiq's default is a second).
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
        worker.start()
        try:
            for message in actors.first_messages(reg, job_id, bound, resume):
                message()
            broker.join(actors.QUEUE)
            broker.join(actors.MAIL_QUEUE, fail_fast=False)  # a mail not sent is a warning
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
            actors.install(None)

    def wait(self, job_id: str) -> None:
        """Nothing to wait for: `start` ran the job to its end."""


class RedisRunner:
    background = True

    def __init__(self, settings: Settings, url: str, say: Say) -> None:
        self.settings, self.url, self.say = settings, url, say

    def registry(self) -> AbstractContextManager[Registry]:
        """The registry is the workers' for moments at a time: wait for a turn as they do."""
        return open_when_free(self.settings.db, self.settings.duckdb_memory)

    def check(self) -> None:
        """The broker answers (before a job is made that would wait for nobody)."""
        try:
            redis.Redis.from_url(self.url, socket_connect_timeout=3).ping()
        except (redis.RedisError, OSError) as exc:
            raise UsageError(
                f"The broker at {self.url} cannot be reached ({exc}); start Redis there, or "
                "unset ZTBULK_BROKER_URL to run jobs in this process."
            ) from None

    def start(self, reg: Registry, job_id: str, *, resume: bool) -> None:
        """Send the job's first messages to the workers."""
        try:
            bound = actors.declare(redis_broker(self.settings))
            for message in actors.first_messages(reg, job_id, bound, resume):
                message()
        except dramatiq.errors.ConnectionError as exc:
            raise BrokerError(f"The broker at {self.url} cannot be reached ({exc}).") from None

    def wait(self, job_id: str, poll_s: float = 0.2) -> None:
        """Follow the job until it is done, reporting each change of state; say so when no
        worker has taken it after a few seconds (and keep waiting)."""
        folder, last, last_note = JobFolder(self.settings.spool, job_id), "", ""
        nobody_after = time.monotonic() + NO_WORKER_S
        while (state := folder.state()) != JobState.DONE:
            if (note := folder.note()) and note != last_note:
                self.say(f"job {job_id}: {note}")
                last_note, nobody_after = note, float("inf")
            if state == JobState.SUBMITTED and time.monotonic() > nobody_after:
                self.say(
                    f"no worker has taken job {job_id} yet; start one with `ztbulk worker` "
                    f"(ZTBULK_BROKER_URL={self.url}, the same spool); still waiting (Ctrl-C "
                    "stops waiting, not the job)"
                )
                nobody_after = float("inf")
            if state == JobState.CANCELLED:
                raise JobCancelledError(f"Job {job_id} was cancelled.")
            if state == JobState.FAILED:
                raise InternalError(
                    f"Job {job_id} failed in a worker ({folder.error()}); nothing is lost: "
                    f"fix the cause, then `ztbulk job resume {job_id}`."
                )
            if state != last:
                self.say(f"job {job_id}: {state}")
                last = state
            time.sleep(poll_s)


def redis_broker(settings: Settings) -> RedisBroker:
    # A worker that stops sending heartbeats has its messages requeued after heartbeat_ms,
    # by the "maintenance" Dramatiq runs on a random share of Redis commands (per million).
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=settings.broker_url,
        heartbeat_timeout=settings.heartbeat_ms,
        maintenance_chance=settings.maintenance_chance,
    )
    broker.emit_after("process_boot")
    return broker


def serve(settings: Settings, threads: int, say: Say | None = None) -> None:
    """`ztbulk worker`: run the actors on Redis until SIGTERM or SIGINT; `say` tells what it
    does (default: a line on stderr naming the worker's process)."""
    say = say or _say_with_pid
    broker = redis_broker(settings)
    broker.add_middleware(actors.Holding(settings.spool))
    actors.declare(broker)
    memory = settings.duckdb_memory
    # A job folder names its registry: a worker opens it only if it is a registry already.
    opener = lambda db: open_when_free(db, memory, migrate=False)  # noqa: E731
    actors.install(Context(settings, opener, say))
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=500)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # Said before starting: once started, a queued job's progress lines may come first.
    say(f"worker ready on {settings.broker_url}, spool {settings.spool}, "
                  f"{threads} thread(s)")  # fmt: skip
    worker.start()
    try:
        stop.wait()
    finally:
        worker.stop()


def _say_with_pid(text: str) -> None:
    print(f"ztbulk worker {os.getpid()}: {text}", file=sys.stderr, flush=True)


def say_to_stderr(text: str) -> None:
    print(f"ztbulk: {text}", file=sys.stderr, flush=True)
