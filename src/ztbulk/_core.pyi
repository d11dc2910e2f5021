"""Types of the native core (core/src/py.rs)."""

from typing import Any

class Buf:
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

class Engine:
    def __init__(
        self,
        *,
        delimiter: str,
        width: int,
        crlf: bool,
        max_lines: int,
        max_bytes: int,
        columns: dict[str, int],
        profileid_mode: bool,
        customer: bool,
        manufacturers: list[str],
        pairs: list[str],
        bits: dict[str, int],
        messages: list[tuple[int, list[tuple[str, str | None]]]],
        blank: str = "(blank)",
        valid_values: bool = True,
    ) -> None: ...
    def process(
        self, chunk: bytes, first_line: int, last: bool, base: int = 0
    ) -> dict[str, Any]: ...
