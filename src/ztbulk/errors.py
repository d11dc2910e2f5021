"""The exception tree: one root, shallow.

File-level problems of an input CSV are not exceptions: they are findings recorded in the
report (`FileIssue`). Exceptions are for what stops ztbulk itself: bad usage, an unreadable
path, a broken environment. `retryable` marks errors that the same call could get past later.
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


class TransientError(ZtbulkError):
    """A resource was busy or unreachable; the same call may succeed later."""

    retryable = True
    exit_code = 3


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
