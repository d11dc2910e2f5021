"""What the service runs on: its settings, how jobs run, and the registry for one request.

DuckDB lets one process open the registry at a time, so the service never keeps it open:
each request opens it for its own work and closes it (`Runtime.registry`), waiting its turn
while a worker (or the service's own job threads) holds it, and answering 503 (Retry-After)
past `REQUEST_WAIT_S`.

Jobs: distributed (`ZTBULK_BROKER_URL`), the service only enqueues and `ztbulk worker`
processes do the work (`RedisRunner`). Embedded, the service runs the same actors itself, on
a StubBroker with worker threads that live as long as the service (`ServiceRunner`); a stage
opens the registry only for the moment it needs it, as a worker does. Jobs unfinished when
the service stopped are sent again when it starts (the ledger says where each one stopped).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.stub import StubBroker

from ztbulk.errors import InternalError, ZtbulkError
from ztbulk.jobs import actors, ledger
from ztbulk.jobs.context import Context
from ztbulk.jobs.folder import UNFINISHED, JobFolder, JobState
from ztbulk.jobs.runners import Runner, runner_for
from ztbulk.registry.db import Registry, open_when_free
from ztbulk.registry.service import RegistryService
from ztbulk.settings import Settings

REQUEST_WAIT_S = 30.0  # a request waits this long for the registry, then answers 503
JOB_THREADS = 2  # the embedded service's job threads (they take turns with the registry)
log = logging.getLogger("ztbulk.http")


class ServiceRunner:
    """Jobs run by this process's own worker threads; `start` only hands a job over."""

    background = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker = StubBroker()
        self.broker.emit_after("process_boot")
        self.bound = actors.declare(self.broker)
        self.worker = dramatiq.Worker(self.broker, worker_threads=JOB_THREADS, worker_timeout=100)

    def registry(self) -> AbstractContextManager[Registry]:
        return open_when_free(self.settings.db, self.settings.duckdb_memory, REQUEST_WAIT_S)

    def check(self) -> None:
        """The job threads are this process's: nothing to check."""

    def start(self, reg: Registry, job_id: str, *, resume: bool) -> None:
        for message in actors.first_messages(reg, job_id, self.bound, resume):
            message()

    def wait(self, job_id: str) -> None:
        raise InternalError("The service never waits for a job: it answers 202 at once.")

    def run(self) -> None:
        memory = self.settings.duckdb_memory
        # As a worker does: a job folder names its registry, opened only if it is one already.
        opener = lambda db: open_when_free(db, memory, migrate=False)  # noqa: E731
        actors.install(Context(self.settings, opener, lambda text: log.info("%s", text)))
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()
        actors.install(None)


@dataclass
class Runtime:
    settings: Settings
    runner: Runner

    @contextmanager
    def registry(self) -> Iterator[RegistryService]:
        """The registry for one request's work, closed when it is done."""
        with open_when_free(self.settings.db, self.settings.duckdb_memory, REQUEST_WAIT_S) as reg:
            yield RegistryService(reg)


@contextmanager
def running(settings: Settings) -> Iterator[Runtime]:
    """The service's runtime from start to stop: the registry opened once at start (made
    current, or a usage error), then only per request."""
    with open_when_free(settings.db, settings.duckdb_memory, REQUEST_WAIT_S):
        pass  # workers may hold it a moment: wait a turn as a request does
    if settings.distributed:
        yield Runtime(settings, runner_for(settings, lambda text: log.info("%s", text)))
        return
    runner = ServiceRunner(settings)
    runner.run()
    try:
        _resume_unfinished(runner)
        yield Runtime(settings, runner)
    finally:
        runner.stop()


def _resume_unfinished(runner: ServiceRunner) -> None:
    """Send again the jobs of this spool that the service was running when it stopped."""
    with runner.registry() as reg:
        for job in ledger.list_jobs(reg):
            folder = JobFolder(runner.settings.spool, str(job["id"]))
            if job["state"] not in UNFINISHED or folder.state() == JobState.FAILED:
                continue
            try:
                ledger.spec(reg, folder)  # spooled here, not to another spool
                runner.start(reg, folder.id, resume=True)
            except ZtbulkError as exc:
                log.warning("job %s not resumed: %s", folder.id, exc)
