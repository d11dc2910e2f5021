"""The exception tree: one root, shallow. Every exception ztbulk raises on purpose is here.

    ZtbulkError                  exit 2, not retried
    ├── UsageError               the call is wrong: an option, a path, a right, a job id
    │   ├── CatalogError         a manufacturer/model catalogue is unusable
    │   ├── PermissionDeniedError  the acting user may not do this
    │   │   └── ForeignAccountError  not the acting user's account (HTTP: 404, as if missing)
    │   ├── NotFoundError        no such account, user, configuration or device (for you)
    │   ├── AuthenticationError  no valid API token (HTTP 401)
    │   ├── ConflictError        the request clashes with one in progress (HTTP 409)
    │   ├── RegistryTooNewError  the registry was written by a newer ztbulk
    │   └── JobCancelledError    the job was cancelled
    ├── InputError               an input file cannot be read, or changed under ztbulk
    │   └── FileTooLargeError    an upload over the byte limit (FILE_TOO_LARGE, HTTP 413)
    ├── TransientError           retryable, exit 3: the same call may pass later
    │   ├── RegistryBusyError    another process holds the registry
    │   ├── BrokerError          the broker cannot be reached
    │   └── JobWaitingError      an earlier job of the account is not finished
    └── InternalError            exit 3: a bug or broken environment; the job can be resumed

`ztbulk.http.problems` maps this tree to HTTP statuses (RFC 9457 problem documents).

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


class FileTooLargeError(InputError):
    """An uploaded file is over the configured byte limit (SPEC's FILE_TOO_LARGE)."""


class CatalogError(UsageError):
    """A manufacturer/model catalogue file is unusable."""


class PermissionDeniedError(UsageError):
    """The acting user may not do this (wrong account, or a role without the right)."""


class ForeignAccountError(PermissionDeniedError):
    """The account is not the acting user's: over HTTP the same 404 as a missing one, so that a
    caller learns nothing of other accounts."""


class AuthenticationError(UsageError):
    """No API token, or one that is unknown or revoked, or whose user was removed."""


class ConflictError(UsageError):
    """The request clashes with another one still in progress (the same Idempotency-Key)."""


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
