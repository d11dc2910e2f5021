"""Turn an input file into a UTF-8 byte stream with `\\n` line ends that the reader can chunk.

Most files are read in place. UTF-16 (with BOM) and classic-Mac files (CR-only line ends) are
transcoded once, streaming, into the work folder: Polars reads only UTF-8, and only `\\n` ends
records.
"""

from __future__ import annotations

import codecs
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ztbulk.codes import Code
from ztbulk.errors import InputError
from ztbulk.parse.config import MIB, ParseConfig
from ztbulk.parse.issues import FileIssue

_BOMS = {
    codecs.BOM_UTF8: "utf-8-sig",
    codecs.BOM_UTF16_LE: "utf-16-le",
    codecs.BOM_UTF16_BE: "utf-16-be",
}
_SNIFF_BYTES = 64 * 1024


@dataclass
class Source:
    """Where to read UTF-8 bytes from, and what the original file was."""

    original: Path
    size: int
    encoding: str  # "utf-8", "utf-8-sig", "utf-16-le" or "utf-16-be"
    cr_only: bool  # line ends were CR alone and have been turned into LF
    stream: Path  # the UTF-8 bytes to read (the original, or a transcoded copy)
    start: int  # byte offset in `stream` where the text starts (after a UTF-8 BOM)
    issues: list[FileIssue] = field(default_factory=list)


def open_source(path: Path, workdir: Path, config: ParseConfig) -> Source:
    """Inspect `path` and, where needed, transcode it into `workdir`."""
    size = _stat_size(path)
    src = Source(path, size, "utf-8", False, path, 0)
    if config.max_bytes is not None and size > config.max_bytes:
        src.issues.append(
            FileIssue(
                Code.FILE_TOO_LARGE,
                f"The file is {size:,} bytes, over the limit of {config.max_bytes:,}; "
                "split it or raise the limit.",
            )
        )
        return src
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    for bom, name in _BOMS.items():
        if head.startswith(bom):
            src.encoding = name
            src.start = len(bom) if name == "utf-8-sig" else 0
            break
    utf16 = src.encoding.startswith("utf-16")
    if utf16:
        head = _decode_head_utf16(head, src.encoding).encode()
    body = head[src.start :]
    src.cr_only = b"\r" in body and b"\n" not in body
    if utf16 or src.cr_only:
        _transcode(src, workdir)
    return src


def _stat_size(path: Path) -> int:
    try:
        if path.is_dir():
            raise InputError(f"{path} is a folder; give the path of a CSV file.")
        return path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; check the path.") from None
    except PermissionError:
        raise InputError(f"{path} cannot be read (permission denied).") from None


def _decode_head_utf16(head: bytes, encoding: str) -> str:
    # An incremental decoder tolerates a head cut in the middle of a code unit.
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head[2:])


def _transcode(src: Source, workdir: Path) -> None:
    """Write the text as UTF-8 with LF line ends; record FILE_ENCODING on broken UTF-16."""
    workdir.mkdir(parents=True, exist_ok=True)
    out_path = workdir / "source.utf8.csv"
    utf16 = src.encoding.startswith("utf-16")
    decoder = codecs.getincrementaldecoder(src.encoding if utf16 else "utf-8")(errors="strict")
    try:
        with src.original.open("rb") as fin, out_path.open("wb") as fout:
            fin.seek(2 if utf16 else src.start)
            while block := fin.read(8 * MIB):
                fout.write(_convert(block, decoder, utf16, src.cr_only))
            fout.write(_convert(b"", decoder, utf16, src.cr_only, final=True))
    except UnicodeDecodeError as exc:
        src.issues.append(
            FileIssue(
                Code.FILE_ENCODING,
                f"The file starts with a UTF-16 byte order mark but is not valid UTF-16 "
                f"({exc.reason}); save it again as UTF-8.",
            )
        )
    src.stream, src.start = out_path, 0


def _convert(
    block: bytes,
    decoder: codecs.IncrementalDecoder,
    utf16: bool,
    cr_only: bool,
    final: bool = False,
) -> bytes:
    if utf16:
        block = decoder.decode(block, final).encode("utf-8")
    return block.replace(b"\r", b"\n") if cr_only else block


def file_sha256(path: Path) -> str:
    """The file's SHA-256, hex."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 * MIB):
            h.update(block)
    return h.hexdigest()


class Sha256:
    """SHA-256 of a file, computed on a thread while the pipeline reads it.

    hashlib releases the GIL for large buffers, so this costs the main work next to nothing.
    """

    def __init__(self, path: Path) -> None:
        self._digest = ""
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        self._digest = file_sha256(path)

    def hexdigest(self) -> str:
        self._thread.join()
        return self._digest
