"""`ztbulk import` against a registry of as many devices as the file has rows, embedded and
distributed (its own Redis and two `ztbulk worker` processes).

`make bench` runs 1M rows (ZTBULK_BENCH_IMPORT_ROWS=1000000,10000000 for more); `make test`
runs the smoke version of both. The registry and the file are generated once (cached in the
bench folder); every round imports into a fresh copy of the registry. Printed: rows/s end to
end, the ratio to a bare Polars read of the same file timed beside each round (in a fresh
process), seconds per stage, peak RSS (embedded: a fresh process; distributed: the larger
worker's), and embedded, how many cores were busy on average (CPU seconds per second).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.baseline import polars_read_fresh
from benchmarks.datasets import CACHE
from benchmarks.peak import peak_mib
from tests.services import Workers
from ztbulk.jobs import import_file
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, seed
from ztbulk.sample import SampleSpec, from_devices
from ztbulk.settings import Settings

SIZES = [int(s) for s in os.environ.get("ZTBULK_BENCH_IMPORT_ROWS", "1000000").split(",")]
SMOKE_ROWS = 20_000
# The figures of a run that are not seconds of a stage.
IMPORT_FIGURES = (
    "seconds", "rows", "rows_per_s", "peak_rss_mib", "total", "source", "polars_read_s",
    "over_polars_read", "cores",
)  # fmt: skip
ROUNDS = int(os.environ.get("ZTBULK_BENCH_ROUNDS", "2"))


def prepared(rows: int) -> tuple[Path, Path, int]:
    """(registry, file, customer id) for `rows`, made once."""
    folder = CACHE / f"import-{rows}"
    db, src = folder / "registry.duckdb", folder / "devices.csv"
    if not src.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with Registry.open(db, create=True) as reg:
            seeded = seed(reg, rows)
            devices = reg.con.sql(
                "SELECT imei, meid, serial, model, manufacturer FROM devices WHERE customer_id = ?",
                params=[seeded.customer_id],
            ).pl()
        from_devices(
            devices, SampleSpec(rows=rows, profile_ids=tuple(seeded.configuration_ids)), src
        )
    return db, src, 1001


def run_import(
    db: Path, src: Path, customer: int, work: Path, settings: Settings
) -> dict[str, float]:
    trial = work / "trial.duckdb"
    shutil.copy(db, trial)
    shutil.rmtree(work / "spool", ignore_errors=True)
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    result = import_file(
        src,
        actor="customer",
        account_id=customer,
        user=ADMIN,
        settings=settings,
        db=trial,
        spool=work / "spool",
        out_dir=work / "out",
    )
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    assert result.report is not None
    # Embedded, this process does all the work: CPU seconds (all threads) per wall second
    # say how busy the cores were. Distributed, the workers work and this process waits.
    figures = {"seconds": seconds, "rows": float(result.report.rows), "cores": cpu / seconds}
    return figures | result.report.timings


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    benchmark: BenchmarkFixture, rows: int, tmp_path: Path, rounds: int, workers: Workers | None
) -> dict[str, float]:
    """Best of `rounds` imports; embedded unless `workers` (already started) do the work."""
    db, src, customer = prepared(rows)
    settings = Settings(broker_url=workers.broker_url) if workers else Settings()
    runs: list[dict[str, float]] = []
    reads: list[float] = []

    def one_round() -> None:  # the yardstick read right beside each import
        reads.append(polars_read_fresh(src))
        runs.append(run_import(db, src, customer, tmp_path, settings))

    benchmark.pedantic(  # type: ignore[no-untyped-call]  # pytest-benchmark is untyped
        one_round, rounds=rounds, iterations=1
    )
    best = min(runs, key=lambda r: r["seconds"])
    best["polars_read_s"] = min(reads)
    best["over_polars_read"] = best["seconds"] / best["polars_read_s"]
    if workers is None:
        best["peak_rss_mib"] = embedded_peak_mib(db, src, customer, tmp_path)
    else:
        best["peak_rss_mib"] = max(peak_mib(proc.pid) for proc in workers.procs)
    best["rows_per_s"] = best["rows"] / best["seconds"]
    benchmark.extra_info.update(best)
    stages = ", ".join(f"{k} {v:.2f}" for k, v in best.items() if k not in IMPORT_FIGURES)
    mode = "embedded" if workers is None else f"distributed ({len(workers.procs)} workers)"
    cores = f" | {best['cores']:.2f} cores busy" if workers is None else ""
    print(
        f"\nimport {rows:,} rows into {rows:,} devices, {mode}: {best['seconds']:.2f} s, "
        f"{best['rows_per_s'] / 1e3:,.0f}k rows/s, {best['over_polars_read']:.1f}x a bare Polars "
        f"read ({best['polars_read_s']:.2f} s) | {stages} | "
        f"peak RSS {best['peak_rss_mib']:.0f} MiB" + cores
    )
    return best


def embedded_peak_mib(db: Path, src: Path, customer: int, tmp_path: Path) -> float:
    """Peak RSS of one embedded import in a fresh process."""
    shutil.copy(db, tmp_path / "rss.duckdb")
    db_copy, spool = str(tmp_path / "rss.duckdb"), str(tmp_path / "rss-spool")
    code = (
        "from benchmarks.peak import peak_mib; from ztbulk import import_file; "
        f"import_file({str(src)!r}, actor='customer', account_id={customer}, user={ADMIN!r}, "
        f"db={db_copy!r}, spool={spool!r}); print(peak_mib())"
    )
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[1],
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def two_workers(redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    """Two `ztbulk worker` processes on the spool `run_import` uses; imports go to them."""
    workers = Workers(redis_url, tmp_path / "spool")
    workers.start(2)
    yield workers
    workers.stop()


@pytest.mark.parametrize("rows", SIZES, ids=lambda n: f"{n:_}")
def test_import(benchmark: BenchmarkFixture, rows: int, tmp_path: Path) -> None:
    measure(benchmark, rows, tmp_path, ROUNDS, None)


@pytest.mark.parametrize("rows", SIZES, ids=lambda n: f"{n:_}")
def test_import_distributed(
    benchmark: BenchmarkFixture, rows: int, tmp_path: Path, two_workers: Workers
) -> None:
    measure(benchmark, rows, tmp_path, ROUNDS, two_workers)


def smoke_rows() -> int:
    _, src, _ = prepared(SMOKE_ROWS)
    lines = src.read_text(encoding="utf-8").splitlines()[1:]  # no record spans lines here
    return sum(1 for line in lines if line.strip(", "))


def test_smoke_import(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    figures = measure(benchmark, SMOKE_ROWS, tmp_path, 1, None)
    assert figures["rows"] == smoke_rows()
    assert figures["peak_rss_mib"] > 0 and peak_mib() > 0


def test_smoke_import_distributed(
    benchmark: BenchmarkFixture, tmp_path: Path, two_workers: Workers
) -> None:
    figures = measure(benchmark, SMOKE_ROWS, tmp_path, 1, two_workers)
    assert figures["rows"] == smoke_rows()
    assert figures["peak_rss_mib"] > 0
