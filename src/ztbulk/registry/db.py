"""Opening the registry: one DuckDB file, schema-versioned, one writer at a time.

DuckDB's single-writer rule shapes everything here, and this module is where ztbulk handles
it: while one process has the file open read-write, no other process can open it at all, not
even read-only.
- Every command opens the registry, does its work in one transaction and closes it; a process
  that finds the file locked gets `RegistryBusyError` (retryable: "wait, or use another
  file"), never a lock traceback (`Registry.open`: what the embedded runner does).
- Workers and the commands that wait for them take turns instead (`open_when_free`): each
  opens the file only for the part of a stage that needs it, waits with jitter while another
  process holds it, and threads of one process take turns too (DuckDB would let them open it
  together, and then fail one of two concurrent updates: "Conflict on update").
- An apply message that holds the registry goes on with its job's next pending batches for up
  to `HOLD_S` (each in its own transaction), which spares every later message a turn.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ztbulk.closing import Closing
from ztbulk.errors import RegistryBusyError, RegistryTooNewError, UsageError
from ztbulk.registry.schema import MIGRATIONS, SCHEMA_VERSION

DEFAULT_DB = Path("ztbulk.duckdb")
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")
TWINS_SQL = (
    "SELECT imei, count(*) FROM devices WHERE imei IS NOT NULL GROUP BY imei HAVING count(*) > 1"
    " (and the same for imei2, upper(meid), serial with lower(model) and lower(manufacturer))"
)
REGISTRY_WAIT_S = 300.0  # how long a worker waits for the registry before the message retries
HOLD_S = 5.0  # how long an apply message may go on with its job's pending batches
_TURN = threading.Lock()  # the threads of one process take turns with the registry


class Registry(Closing):
    """An open registry. Use as a context manager; `transaction()` for every change."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path, self.con = path, con

    @classmethod
    def open(
        cls, path: str | Path | None = None, *, create: bool = False, memory: str | None = None,
        migrate: bool = True,
    ) -> Registry:  # fmt: skip
        """Open the registry at `path` (default ./ztbulk.duckdb); `memory` caps DuckDB's.
        Without `migrate`, only a registry of this version opens (a worker, led to the file by
        a job folder, never writes ztbulk's tables into another file)."""
        file = Path(path or DEFAULT_DB)
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
        con.execute("SET enable_progress_bar = false")  # ztbulk shows its own progress
        if memory:  # checked by Settings: a size such as 4GB
            con.execute(f"SET memory_limit = '{memory}'")
        registry = cls(file, con)
        try:
            if migrate:
                registry._migrate()
            elif registry.version() != SCHEMA_VERSION:
                raise UsageError(
                    f"{file} is not a ztbulk registry of schema version {SCHEMA_VERSION}; "
                    "open it once with any ztbulk command (which upgrades it), then resume."
                )
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

    @contextmanager
    def rolled_back(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Statements whose changes are undone at the end, whatever happens (a dry run)."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        finally:
            self.con.execute("ROLLBACK")

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
            try:
                with self.transaction() as con:
                    for statement in MIGRATIONS[version]:
                        con.execute(statement)
                    con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
            except duckdb.ConstraintException:
                raise UsageError(
                    f"Registry {self.path} holds twin devices (one IMEI, MEID or serial on two "
                    f"devices, which older ztbulk could create), so it cannot be upgraded to "
                    f"version {version}, which refuses them. Find them with DuckDB: {TWINS_SQL}; "
                    "delete or merge them, then run ztbulk again."
                ) from None


@contextmanager
def open_when_free(
    path: str | Path | None, memory: str | None = None, wait_s: float = REGISTRY_WAIT_S,
    *, migrate: bool = True,
) -> Iterator[Registry]:  # fmt: skip
    """Open the registry, waiting (with jitter) while another process holds it."""
    deadline = time.monotonic() + wait_s
    with _TURN:
        while True:
            try:
                reg = Registry.open(path, memory=memory, migrate=migrate)
                break
            except RegistryBusyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.01, 0.1))
        with reg:
            yield reg


def _busy(file: Path, exc: duckdb.IOException) -> RegistryBusyError:
    holder = _LOCK_HOLDER.search(str(exc))
    who = f"process {holder.group(1)}" if holder else "another process"
    return RegistryBusyError(
        f"Registry {file} is in use by {who}: DuckDB lets one process open it at a time, "
        "so wait for that one to finish, or give another --db."
    )
