"""Crash reports: the traceback of an internal error, kept where only its user can read it.

A predictable name in a shared folder (the old `$TMPDIR/ztbulk-crash-PID.txt`) lets anyone
plant a link there and have ztbulk overwrite the link's target. So the report goes into a
private folder, `$XDG_STATE_HOME/ztbulk` (else `~/.local/state/ztbulk`): created 0700 when
missing, refused when it is a link, another user's, or open to group or others. Failing
that, a fresh `mkdtemp` folder. The file itself is created with O_EXCL and O_NOFOLLOW, mode
0600, under a name no one can guess, relative to the folder's own descriptor (checked with
fstat), so the folder cannot be swapped between the check and the write.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def state_folder() -> Path:
    """`$XDG_STATE_HOME/ztbulk`, or `~/.local/state/ztbulk` (the XDG default)."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "ztbulk"


def write_crash_report(text: str) -> Path:
    """Write `text` to a new private file; return its path. Raises OSError if no folder will
    do (the caller then says so: a crash report must not crash)."""
    try:
        return _write_in(_private_state_folder(), text)
    except (OSError, RuntimeError):  # RuntimeError: Path.home() found no home folder
        return _write_in(Path(tempfile.mkdtemp(prefix="ztbulk-crash-")), text)


def _private_state_folder() -> Path:
    folder = state_folder()
    # Parents get the usual mode (they are the user's ~/.local/state); the folder itself 0700.
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # one found there is judged like any other
        folder.mkdir(mode=0o700)
    return folder


def _write_in(folder: Path, text: str) -> Path:
    fd = os.open(folder, _FOLDER_FLAGS)  # a link in the folder's place fails here (ELOOP)
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise PermissionError(f"{folder} is not a private folder of this user")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        name = f"crash-{stamp}-{os.getpid()}-{secrets.token_hex(6)}.txt"
        out = os.open(name, _FILE_FLAGS, 0o600, dir_fd=fd)
    finally:
        os.close(fd)
    with os.fdopen(out, "w", encoding="utf-8") as f:
        f.write(text)
    return folder / name
