"""The byte loop under both engines: a file's data lines, a chunk of whole lines at a time.

Lines a chunk leaves unused (a quoted record still open) start the next chunk. Of a line
longer than the record limit only its first `max_record_bytes + 1` bytes are kept, which is
enough to see it is too long; the rest, up to its line end, is dropped unread, so memory
stays bounded whatever the line lengths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from ztbulk.parse.config import ParseConfig
from ztbulk.parse.header import Header

T = TypeVar("T")
# parse(chunk bytes, first line number, last chunk, stream offset of the chunk's bytes)
#   -> (result, lines used, bytes used)
ChunkParser = Callable[[bytes, int, bool, int], tuple[T, int, int]]


def chunks(
    path: Path, header: Header, config: ParseConfig, parse: ChunkParser[T]
) -> Iterator[tuple[T, int]]:
    """Feed the data lines of `path` to `parse`; yield each result with the bytes of the
    stream consumed so far.

    The offset handed to `parse` places the chunk in the stream from its end: past the kept
    prefix of a too-long line (whose dropped bytes are not in the chunk) it is exact, and
    only a too-long record lies before that prefix's end.
    """
    line_no = 1 + header.lines
    carry = b""
    keep = config.max_record_bytes + 1  # bytes of a too-long line worth keeping
    skipping = False  # inside a too-long line, dropping bytes up to its line end
    with path.open("rb") as f:
        f.seek(header.data_offset)
        offset = header.data_offset  # always: offset + len(carry) == f.tell()
        while True:
            block = f.read(config.chunk_bytes)
            final = not block
            dropped = 0
            if skipping and not final:
                block, dropped, skipping = _skip_to_line_end(block)
            buf, carry = _whole_lines(carry + block, final)
            if not buf and not final:  # one line longer than a chunk: read on, keep little
                carry, more, skipping = _keep_start(carry, keep, skipping)
                offset += dropped + more
                continue
            offset += dropped
            if buf:
                base = f.tell() - len(carry) - len(buf)
                result, used_lines, used_bytes = parse(buf, line_no, final, base)
                carry = buf[used_bytes:] + carry
                line_no += used_lines
                offset += used_bytes
                yield result, offset
            if final and not carry:
                return


def _whole_lines(buf: bytes, final: bool) -> tuple[bytes, bytes]:
    """(the whole lines of `buf`, the rest carried to the next block); at the end, all."""
    if final:
        return buf, b""
    cut = buf.rfind(b"\n") + 1
    return buf[:cut], buf[cut:]


def _keep_start(line: bytes, keep: int, skipping: bool) -> tuple[bytes, int, bool]:
    """Of a line start with no end yet: (the bytes kept, bytes dropped, skipping on)."""
    if len(line) <= keep:
        return line, 0, skipping
    return line[:keep], len(line) - keep, True


def _skip_to_line_end(block: bytes) -> tuple[bytes, int, bool]:
    """Drop a too-long line's bytes from `block`: (the rest from its line end, bytes dropped,
    still skipping)."""
    end = block.find(b"\n")
    if end < 0:
        return b"", len(block), True
    return block[end:], end, False
