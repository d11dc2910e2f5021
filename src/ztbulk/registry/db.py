"""Opening the registry: one DuckDB file, schema-versioned, one writer at a time.

DuckDB's single-writer rule shapes everything here: while one process has the file open
read-write, no other process can open it at all, not even read-only. So every command opens
the registry, does its work in one transaction and closes it, and a process that finds the
file locked gets `RegistryBusyError` (retryable: "wait, or use another file"), never a lock
traceback. Threads of one process may share a connection through `cursor()`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ztbulk.closing import Closing
from ztbulk.errors import TransientError, UsageError
from ztbulk.registry.schema import MIGRATIONS, SCHEMA_VERSION

DEFAULT_DB = Path("ztbulk.duckdb")
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


class RegistryBusyError(TransientError):
    """Another process holds the registry file."""


class RegistryTooNewError(UsageError):
    """The file was written by a newer ztbulk."""


def db_path(cli_value: str | Path | None = None) -> Path:
    """--db wins, then ZTBULK_DB, then ./ztbulk.duckdb."""
    if cli_value:
        return Path(cli_value)
    return Path(os.environ.get("ZTBULK_DB") or DEFAULT_DB)


class Registry(Closing):
    """An open registry. Use as a context manager; `transaction()` for every change."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path, self.con = path, con

    @classmethod
    def open(cls, path: str | Path | None = None, *, create: bool = False) -> Registry:
        file = db_path(path)
        if not create and not file.exists():
            raise UsageError(
                f"No registry at {file}; create one with `ztbulk registry init` "
                "(or give --db / ZTBULK_DB)."
            )
        new = not file.exists()
        try:
            con = duckdb.connect(str(file))
        except duckdb.IOException as exc:
            raise _busy(file, exc) from None
        if new:  # the registry holds every account's devices and users: its owner's only
            file.chmod(0o600)
        # ZTBULK_DUCKDB_MEMORY caps DuckDB (its default is 80% of RAM). Not set by default:
        # resolving 10M rows against 10M devices did not fit in 2 GB (DuckDB reported out of
        # memory rather than spilling), so a low default would break large imports.
        con.execute("SET enable_progress_bar = false")  # ztbulk shows its own progress
        limit = _memory_limit()
        if limit:
            con.execute(f"SET memory_limit = '{limit}'")
        registry = cls(file, con)
        try:
            registry._migrate()
        except BaseException:
            con.close()
            raise
        return registry

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: an exception rolls every statement back."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def one(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        """The first row, or None. The result is read to its end: DuckDB 2.x streams results,
        and an unfinished one blocks the connection for every later statement."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def all(
        self, sql: str, params: list[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def version(self) -> int:
        row = self.one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        )
        if not row or not row[0]:
            return 0
        found = self.one("SELECT max(version) FROM schema_version")
        return int(found[0]) if found and found[0] is not None else 0

    def _migrate(self) -> None:
        current = self.version()
        if current > SCHEMA_VERSION:
            raise RegistryTooNewError(
                f"Registry {self.path} has schema version {current}, newer than this ztbulk "
                f"knows ({SCHEMA_VERSION}); upgrade ztbulk to use it."
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction() as con:
                for statement in MIGRATIONS[version]:
                    con.execute(statement)
                con.execute("INSERT INTO schema_version VALUES (?, now())", [version])


def _memory_limit() -> str | None:
    value = os.environ.get("ZTBULK_DUCKDB_MEMORY", "").strip()
    if not value:
        return None
    if not _MEMORY.match(value):
        raise UsageError(f"ZTBULK_DUCKDB_MEMORY={value!r} is not a size such as 1GB or 512MB.")
    return value


def _busy(file: Path, exc: duckdb.IOException) -> RegistryBusyError:
    holder = _LOCK_HOLDER.search(str(exc))
    who = f"process {holder.group(1)}" if holder else "another process"
    return RegistryBusyError(
        f"Registry {file} is in use by {who}: DuckDB lets one process open it at a time, "
        "so wait for that one to finish, or give another --db."
    )
