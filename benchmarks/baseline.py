"""The yardstick every benchmark measures beside its task, in the same run: a bare Polars read
of the same file. These 2-core machines are noisy and differ from day to day, so a ratio to
it says more than seconds do."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import polars as pl


def polars_read(path: Path) -> pl.DataFrame:
    """Every value as a string, ragged rows cut: the least a reader of the file does."""
    return pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)


def best_of(fn: Callable[[], object], rounds: int) -> float:
    """The fastest of `rounds` calls, in seconds."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
