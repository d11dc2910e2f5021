"""Settings of the parse stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Engine = Literal["native", "reference"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class ParseConfig:
    # Bytes read per chunk; each chunk is read as one frame (about 170k rows of a typical file).
    # Small chunks stay in CPU caches: 8 MiB was faster than 24 MiB and halves peak memory.
    chunk_bytes: int = 8 * MIB
    # A quoted field may span lines; past this many lines its quote is taken as broken, so one
    # stray quote cannot swallow the rest of the file.
    max_record_lines: int = 64
    # A record (all its physical lines, line ends not counted) longer than this is ROW_TOO_LONG
    # and is never held in memory whole: a 200 MB line costs no more than a 1 MiB one.
    max_record_bytes: int = MIB
    # A header line longer than this is HEADER_TOO_LONG (no zero-touch header comes close).
    max_header_bytes: int = 64 * 1024
    # "native": the Rust core (ztbulk._core) parses and judges each chunk: the product path.
    # "reference": the Polars parse + validate it is differentially tested against.
    # (ZTBULK_ENGINE=reference picks it from the command line: `Settings.from_env`.)
    engine: Engine = "native"
    # Files larger than this are refused whole (FILE_TOO_LARGE); None means no limit.
    max_bytes: int | None = None
