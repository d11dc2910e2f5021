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
