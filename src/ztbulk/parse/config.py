"""Settings of the parse stage."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ParseConfig:
    # Bytes read per chunk; each chunk becomes one batch (about 400k rows of a typical file).
    chunk_bytes: int = 24 * MIB
    # A quoted field may span lines; past this many lines its quote is taken as broken, so one
    # stray quote cannot swallow the rest of the file.
    max_record_lines: int = 64
    # Files larger than this are refused whole (FILE_TOO_LARGE); None means no limit.
    max_bytes: int | None = None
