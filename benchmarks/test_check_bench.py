"""`ztbulk check` against two baselines, measured in one run (these 2-core machines are noisy,
so only ratios taken side by side mean anything):

- a bare Polars read of the same file (every value as a string);
- a plain csv + pydantic + python-stdnum per-row validator (benchmarks/per_row.py);

and, to put the targets in proportion, a minimal validating pass (`minimal_pass`): the least
work any Polars-based checker does, far short of what `check` must do.

`make bench` runs 1M and 10M rows (ZTBULK_BENCH_ROWS overrides); `make test` runs the smoke
version on a small file, which checks that the benchmark works, not how fast anything is.
Peak RSS is measured in a fresh process per task (benchmarks/peak.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.baseline import best_of, polars_read
from benchmarks.datasets import PLAY, catalog, catalog_csv, dataset
from benchmarks.per_row import validate_file
from ztbulk import Catalog, Report, check
from ztbulk.domain import Actor, Mode
from ztbulk.sample import HEADER
from ztbulk.validate.fast import clean_row
from ztbulk.validate.rules import canonical_values, identity_hash

SIZES = [int(s) for s in os.environ.get("ZTBULK_BENCH_ROWS", "1000000,10000000").split(",")]
ROUNDS = int(os.environ.get("ZTBULK_BENCH_ROUNDS", "3"))
SMOKE_ROWS = 20_000


def minimal_pass(path: Path, cat: Catalog, out: Path) -> None:
    """A floor for any checker built on Polars, to put the targets in proportion: one
    streaming pass that reads every field (quoting off), tells ztbulk's usual clean row,
    hashes identities and writes (line, clean, hash) to Parquet. Nothing else: no exact line
    numbers, quoting or ragged rows, no full checks, duplicates or reports."""
    columns = {name: i for i, name in enumerate(HEADER)}
    scan = pl.scan_csv(
        path,
        has_header=False,
        skip_rows=1,
        quote_char=None,
        schema={f"f{i}": pl.String for i in range(len(HEADER))},
        truncate_ragged_lines=True,
        missing_columns="insert",
    )
    clean = clean_row(Actor.CUSTOMER, Mode.PROFILEID, cat, columns)
    scan.with_row_index("line").with_columns(canonical_values(columns, trim=False)).select(
        "line", clean=clean, h=identity_hash()
    ).sink_parquet(out)


def peak_rss_mib(task: str, path: Path, out: Path) -> float:
    script = Path(__file__).with_name("peak.py")
    done = subprocess.run(
        [sys.executable, str(script), task, str(path), str(PLAY), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure(
    benchmark: BenchmarkFixture, rows: int, tmp_path: Path, rounds: int
) -> dict[str, float]:
    path, cat = dataset(rows), catalog()
    out = tmp_path / "out"
    t_polars = best_of(lambda: polars_read(path), rounds)
    t_floor = best_of(lambda: minimal_pass(path, cat, tmp_path / "floor.parquet"), rounds)
    times: list[float] = []

    def run_check() -> Report:
        t0 = time.perf_counter()
        report = check(path, catalog=cat, out_dir=out)
        times.append(time.perf_counter() - t0)
        return report

    # Timed here too: with --benchmark-disable (the smoke run) the fixture keeps no stats.
    report = benchmark.pedantic(  # type: ignore[no-untyped-call]  # pytest-benchmark is untyped
        run_check, rounds=rounds, iterations=1
    )
    t_check = min(times)
    t_row = best_of(lambda: validate_file(path, catalog_csv(), tmp_path / "per_row.csv"), 1)
    figures = {
        "rows": float(report.rows),
        "mb": path.stat().st_size / 1e6,
        "polars_s": t_polars,
        "minimal_pass_s": t_floor,
        "check_s": t_check,
        "per_row_s": t_row,
        "check_over_polars": t_check / t_polars,
        "minimal_pass_over_polars": t_floor / t_polars,
        "per_row_over_check": t_row / t_check,
        "check_rows_per_s": report.rows / t_check,
        "check_peak_rss_mib": peak_rss_mib("check", path, tmp_path / "rss"),
        "polars_peak_rss_mib": peak_rss_mib("polars", path, tmp_path / "rss"),
    }
    benchmark.extra_info.update(figures)
    print(
        f"\n{rows:,} rows ({figures['mb']:.0f} MB): check {t_check:.2f} s, "
        f"polars read {t_polars:.2f} s, per-row {t_row:.2f} s, minimal pass {t_floor:.2f} s | "
        f"check/polars {figures['check_over_polars']:.2f}x, "
        f"minimal pass/polars {figures['minimal_pass_over_polars']:.2f}x, "
        f"per-row/check {figures['per_row_over_check']:.1f}x | "
        f"{figures['check_rows_per_s'] / 1e6:.2f} M rows/s | peak RSS check "
        f"{figures['check_peak_rss_mib']:.0f} MiB, polars {figures['polars_peak_rss_mib']:.0f} MiB"
    )
    return figures


@pytest.mark.parametrize("rows", SIZES, ids=lambda n: f"{n:_}")
def test_check_vs_baselines(benchmark: BenchmarkFixture, rows: int, tmp_path: Path) -> None:
    measure(benchmark, rows, tmp_path, ROUNDS)


def test_smoke(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """The benchmark runs end to end, and the three contenders count the same rows."""
    figures = measure(benchmark, SMOKE_ROWS, tmp_path, 1)
    assert (
        figures["rows"]
        == polars_read(dataset(SMOKE_ROWS)).filter(pl.any_horizontal(pl.all().is_not_null())).height
    )
    counts = validate_file(dataset(SMOKE_ROWS), catalog_csv(), tmp_path / "again.csv")
    assert sum(counts.values()) == figures["rows"]
    assert figures["check_peak_rss_mib"] > 0
