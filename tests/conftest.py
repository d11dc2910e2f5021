"""Shared helpers: run `check` on text and read its outputs back."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from ztbulk import Catalog, CheckReport, check
from ztbulk.parse import ParseConfig

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_CATALOG = FIXTURES / "catalog_test.csv"

IMEI_OK = "356938035643809"  # Luhn-valid (the community sample's first IMEI)
IMEI_OK2 = "123456789012347"  # Google's example IMEI
HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"


@dataclass
class Result:
    report: CheckReport
    outcomes: pl.DataFrame
    out_dir: Path

    def row(self, line: int) -> dict[str, object]:
        found = self.outcomes.filter(pl.col("line") == line)
        assert found.height == 1, f"no single outcome for line {line}: {found}"
        return found.row(0, named=True)

    def codes(self, line: int) -> list[str]:
        return list(self.row(line)["codes"])  # type: ignore[call-overload]

    @property
    def errors_csv(self) -> str:
        return (self.out_dir / "errors.csv").read_text(encoding="utf-8-sig")


@pytest.fixture(scope="session")
def test_catalog() -> Catalog:
    return Catalog.from_csv(TEST_CATALOG)


def run_check(
    tmp_path: Path,
    content: str | bytes,
    *,
    actor: str = "customer",
    catalog: Catalog | None = None,
    chunk_bytes: int | None = None,
    name: str = "input.csv",
) -> Result:
    src = tmp_path / name
    if isinstance(content, str):
        src.write_text(content, encoding="utf-8", newline="")
    else:
        src.write_bytes(content)
    out = tmp_path / f"out-{name}"
    config = ParseConfig(chunk_bytes=chunk_bytes) if chunk_bytes else None
    cat = catalog or Catalog.from_csv(TEST_CATALOG)
    report = check(src, actor=actor, catalog=cat, out_dir=out, config=config)
    return Result(report, pl.read_parquet(out / "outcomes.parquet"), out)


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of the tests' own (redis-server on a free port), so a test may restart it.

    Without the binary: skipped locally, a failure when CI is set (CI must run these).
    """
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is needed for the distributed tests in CI")
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
