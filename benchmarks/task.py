"""Run one benchmark contender in this fresh process; print its wall and CPU seconds and peak RSS.

Usage: python -m benchmarks.task TASK FILE CATALOG OUT_DIR
TASK: check (the native core, ztbulk's product path), reference (the Polars engine), polars
(a bare read of every column as strings), duckdb (one SQL query doing part of the rules),
per_row (csv + pydantic + python-stdnum).

Seconds cover the task alone (not the interpreter's start and imports); CPU seconds are user +
system time of every thread of this process (getrusage), so a task that spreads over both
cores shows it; peak RSS is this process's VmHWM.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.peak import peak_mib

# The DuckDB peer: IMEI format + Luhn, ZERO_TOUCH, a numeric profileid and a manufacturer
# present, in one query over the file read as strings; it counts the failing rows.
DUCKDB_PEER = """
WITH rows AS (
    SELECT trim(modemtype) AS mt, trim(modemid) AS mid, trim(profiletype) AS pt,
           trim(profileid) AS pid, trim(manufacturer) AS maker
    FROM read_csv($path, all_varchar = true, header = true, null_padding = true,
                  ignore_errors = true)
), judged AS (
    SELECT mt = 'IMEI' AND regexp_full_match(mid, '[0-9]{15}')
           AND list_sum(list_transform(range(15), lambda i: CASE
               WHEN i % 2 = 1 THEN (TRY_CAST(substr(mid, 15 - i, 1) AS INTEGER) * 2) % 10
                                   + (TRY_CAST(substr(mid, 15 - i, 1) AS INTEGER) * 2) // 10
               ELSE TRY_CAST(substr(mid, 15 - i, 1) AS INTEGER) END)) % 10 = 0 AS imei_ok,
           coalesce(pt = 'ZERO_TOUCH', false) AS type_ok,
           coalesce(regexp_full_match(pid, '[0-9]{1,18}'), false) AS pid_ok,
           coalesce(maker <> '', false) AS maker_ok
    FROM rows
)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE NOT (coalesce(imei_ok, false) AND type_ok AND pid_ok AND maker_ok))
           AS failing
FROM judged
"""


def run_check(path: Path, catalog: Path, out: Path, engine: str) -> int:
    from ztbulk import Catalog, check
    from ztbulk.parse import ParseConfig

    cat = Catalog.from_csv(catalog)
    config = ParseConfig(engine=engine)  # type: ignore[arg-type]
    start = _begin()
    report = check(path, catalog=cat, out_dir=out, config=config)
    _mark(start)
    return report.rows


def run_polars(path: Path) -> int:
    from benchmarks.baseline import polars_read

    start = _begin()
    rows = polars_read(path).height
    _mark(start)
    return rows


def run_duckdb(path: Path) -> int:
    import duckdb

    con = duckdb.connect()
    start = _begin()
    found = con.execute(DUCKDB_PEER, {"path": str(path)}).fetchone()
    _mark(start)
    assert found is not None
    return int(found[0])


def run_per_row(path: Path, catalog_csv: Path, out: Path) -> int:
    from benchmarks.per_row import validate_file

    start = _begin()
    counts = validate_file(path, catalog_csv, out / "per_row.csv")
    _mark(start)
    return sum(counts.values())


_TAKEN: dict[str, float] = {}


def _begin() -> tuple[float, float]:
    return time.perf_counter(), _cpu()


def _mark(start: tuple[float, float]) -> None:
    _TAKEN["wall"] = time.perf_counter() - start[0]
    _TAKEN["cpu"] = _cpu() - start[1]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    task, path, catalog, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    out.mkdir(parents=True, exist_ok=True)
    tasks: dict[str, Callable[[], int]] = {
        "check": lambda: run_check(path, catalog, out, "native"),
        "reference": lambda: run_check(path, catalog, out, "reference"),
        "polars": lambda: run_polars(path),
        "duckdb": lambda: run_duckdb(path),
        "per_row": lambda: run_per_row(path, catalog, out),
    }
    # Imports and catalogue loading happen before the clocks start (both clocks).
    rows = tasks[task]()
    print(json.dumps({"rows": rows, **_TAKEN, "peak_mib": peak_mib()}))


if __name__ == "__main__":
    main()
