"""A 1M-row upload streams through `ztbulk serve` in bounded memory (issue 12).

The service runs distributed here, so that it only receives the file and enqueues the job:
its peak RSS (VmHWM) is then the upload's alone, measured against its RSS before the upload.
A `ztbulk worker` then runs the job to its end, and every row has its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.services import Workers
from tests.serving import HEADER, finished, served
from ztbulk.registry.seed import OWNER
from ztbulk.sample import luhn_check_digit

ROWS = 1_000_000
PIECE = 1 << 20
GROWTH_MIB = 40  # what the upload may add to the service's memory (the file is 47 MiB)


def _proc_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _big_file(path: Path, rows: int, profile: int) -> Path:
    """`rows` IMEI rows with valid check digits (not in the registry: DEVICE_NOT_FOUND)."""
    body = pl.int_range(0, rows, dtype=pl.UInt64, eager=True) + 35_693_803_000_000
    frame = pl.DataFrame({"body": body}).select(
        modemtype=pl.lit("IMEI"),
        modemid=pl.col("body").cast(pl.String) + luhn_check_digit(pl.col("body")).cast(pl.String),
        serial=pl.lit(""), model=pl.lit(""), manufacturer=pl.lit("Google"),
        profiletype=pl.lit("ZERO_TOUCH"), profileid=pl.lit(str(profile)),
    )  # fmt: skip
    assert ",".join(frame.columns) == HEADER
    frame.write_csv(path)
    return path


def _pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while piece := f.read(PIECE):
            yield piece


@pytest.mark.slow
def test_a_million_row_upload_streams_in_bounded_memory(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(tmp_path, ZTBULK_BROKER_URL=redis_url) as world:
        src = _big_file(tmp_path / "big.csv", ROWS, world.seeded.configuration_ids[0])
        size = src.stat().st_size
        before = _proc_mib(world.service.pid, "VmRSS")
        with world.client(OWNER) as client:
            started = time.perf_counter()
            sent = client.post("/v1/imports", params={"name": "big.csv"}, content=_pieces(src),
                               headers={"Content-Type": "text/csv"})  # fmt: skip
            seconds = time.perf_counter() - started
            assert sent.status_code == 202, sent.text
            peak = _proc_mib(world.service.pid, "VmHWM")
            assert sent.json()["file_size"] == size
            workers = Workers(redis_url, world.service.spool)
            workers.start(1)
            try:
                job = finished(client, sent.json()["id"], timeout_s=600)
            finally:
                workers.stop()
    with capsys.disabled():
        print(f"\n1M-row upload: {size / 2**20:.1f} MiB in {seconds:.2f} s = "
              f"{size / 2**20 / seconds:.1f} MiB/s, {ROWS / seconds:,.0f} rows/s; service RSS "
              f"{before:.0f} MiB before, peak {peak:.0f} MiB")  # fmt: skip
    assert peak - before < GROWTH_MIB, (before, peak)
    assert job["rows"] == ROWS and job["outcomes"] == {"rejected": ROWS}
    assert job["codes"] == {"DEVICE_NOT_FOUND": ROWS}
