"""The exception tree: one root, shallow. Every exception ztbulk raises on purpose is here.

    ZtbulkError                  exit 2, not retried
    ├── UsageError               the call is wrong: an option, a path, a right, a job id
    │   ├── CatalogError         a manufacturer/model catalogue is unusable
    │   ├── PermissionDeniedError  the acting user may not do this
    │   ├── NotFoundError        no such account, user, configuration or device (for you)
    │   ├── RegistryTooNewError  the registry was written by a newer ztbulk
    │   └── JobCancelledError    the job was cancelled
    ├── InputError               an input file cannot be read, or changed under ztbulk
    ├── TransientError           retryable, exit 3: the same call may pass later
    │   ├── RegistryBusyError    another process holds the registry
    │   ├── BrokerError          the broker cannot be reached
    │   └── JobWaitingError      an earlier job of the account is not finished
    └── InternalError            exit 3: a bug or broken environment; the job can be resumed

File-level problems of an input CSV are not exceptions: they are findings recorded in the
report (`FileIssue`). `retryable` marks the errors that the same call could get past later;
the workers retry those, and only those (`jobs.actors`).
"""

from __future__ import annotations


class ZtbulkError(Exception):
    """Root of every error ztbulk raises on purpose. `str()` is one sentence for the user."""

    retryable: bool = False
    exit_code: int = 2


class UsageError(ZtbulkError):
    """The call itself is wrong: an unknown option value, a missing file, a bad catalogue."""


class InputError(ZtbulkError):
    """An input file cannot be read at all (missing, a directory, no permission)."""


class CatalogError(UsageError):
    """A manufacturer/model catalogue file is unusable."""


class PermissionDeniedError(UsageError):
    """The acting user may not do this (wrong account, or a role without the right)."""


class NotFoundError(UsageError):
    """No such customer, reseller, user, configuration or device (in the caller's view)."""


class RegistryTooNewError(UsageError):
    """The file was written by a newer ztbulk."""


class TransientError(ZtbulkError):
    """A resource was busy or unreachable; the same call may succeed later."""

    retryable = True
    exit_code = 3


class RegistryBusyError(TransientError):
    """Another process holds the registry file."""


class BrokerError(TransientError):
    """The broker (Redis) cannot be reached."""


class InternalError(ZtbulkError):
    """A bug or broken environment; the job can be run again."""

    exit_code = 3


class JobWaitingError(TransientError):
    """A job waits for an earlier job of the same account to finish (submission order)."""

    def __init__(self, job_id: str, earlier: str) -> None:
        super().__init__(
            f"Job {job_id} waits for job {earlier} of the same account, submitted before it: "
            f"finish that one (`ztbulk job resume {earlier}`) or cancel it "
            f"(`ztbulk job cancel {earlier}`)."
        )
        self.earlier = earlier


class JobCancelledError(UsageError):
    """The job was cancelled: nothing more is done for it."""
