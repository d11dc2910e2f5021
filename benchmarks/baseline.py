"""The yardstick every benchmark measures beside its task, in the same run: a bare Polars read
of the same file. These 2-core machines are noisy and differ from day to day, so a ratio to
it says more than seconds do."""

from __future__ import annotations

import subprocess
import sys
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


def polars_read_fresh(path: Path) -> float:
    """Seconds of one `polars_read` in a fresh process: read in a process that has just run a
    large import, the same read measured up to 1.7x slower (allocator and cache state)."""
    code = (
        "import sys, time; from pathlib import Path; from benchmarks.baseline import polars_read; "
        "t = time.perf_counter(); polars_read(Path(sys.argv[1])); print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    return float(done.stdout.strip().splitlines()[-1])
