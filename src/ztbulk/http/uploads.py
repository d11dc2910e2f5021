"""An upload's body, streamed into the spool and hashed on the way, in bounded memory.

The body goes to `SPOOL/.uploads/RANDOM/NAME` in pieces of at most `PIECE` bytes (each
written and hashed on a thread, so the event loop goes on serving), and the job's submit then
moves the file into its job folder (`ledger.submit`): the bytes are written once and read
once. Past the byte limit (`ZTBULK_MAX_FILE_BYTES`) it stops reading and answers 413
(`FILE_TOO_LARGE`); a Content-Length over the limit is refused before a byte is read.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ztbulk.errors import FileTooLargeError
from ztbulk.jobs.folder import private_dir
from ztbulk.jobs.ledger import Upload
from ztbulk.settings import Settings

PIECE = 1 << 20  # bytes gathered before a write: the memory an upload holds
UPLOADS = ".uploads"  # not a job id: job folders are never confused with it
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]")
DEFAULT_NAME = "upload.csv"


def safe_name(name: str) -> str:
    """The client's file name as a plain name of this folder (for people: report.json)."""
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")[:200]
    return base or DEFAULT_NAME


@dataclass
class Received:
    path: Path
    upload: Upload
    folder: Path = field(repr=False)

    def discard(self) -> None:
        """Remove what is left of the upload (nothing, once the submit has moved it)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _too_large(limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"The file is over this server's limit of {limit:,} bytes (FILE_TOO_LARGE); "
        "split it into smaller files."
    )


async def receive(request: Request, settings: Settings, name: str) -> Received:
    """Stream the request's body into a new upload folder; the folder is removed on error."""
    limit = settings.parse.max_bytes
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    folder = settings.spool / UPLOADS / uuid.uuid4().hex
    private_dir(folder)
    path, digest, size = folder / safe_name(name), hashlib.sha256(), 0
    try:
        with path.open("wb") as out:
            piece = bytearray()
            async for chunk in request.stream():
                size += len(chunk)
                if limit is not None and size > limit:
                    raise _too_large(limit)
                piece += chunk
                if len(piece) >= PIECE:
                    await run_in_threadpool(_write, out, digest, bytes(piece))
                    piece.clear()
            await run_in_threadpool(_write, out, digest, bytes(piece))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Received(path, Upload(size, digest.hexdigest()), folder)


def _write(out: BinaryIO, digest: hashlib._Hash, piece: bytes) -> None:
    out.write(piece)
    digest.update(piece)
