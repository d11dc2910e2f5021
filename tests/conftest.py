"""Shared helpers: run `check` on text and read its outputs back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ztbulk import Catalog, Report, check
from ztbulk.parse import ParseConfig
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import Seeded, seed

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_CATALOG = FIXTURES / "catalog_test.csv"

IMEI_OK = "356938035643809"  # Luhn-valid (the community sample's first IMEI)
IMEI_OK2 = "123456789012347"  # Google's example IMEI
HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"


@dataclass
class Result:
    report: Report
    outcomes: pl.DataFrame
    out_dir: Path

    def row(self, line: int) -> dict[str, Any]:
        found = self.outcomes.filter(pl.col("line") == line)
        assert found.height == 1, f"no single outcome for line {line}: {found}"
        return found.row(0, named=True)

    def codes(self, line: int) -> list[str]:
        return [str(code) for code in self.row(line)["codes"]]

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


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The test's own registry file (made by `seeded_at` or by the test)."""
    return tmp_path / "reg.duckdb"


def seeded_at(db: Path, devices: int, other_devices: int) -> Seeded:
    """A registry at `db` seeded with the usual accounts and users (`registry.seed`)."""
    with Registry.open(db, create=True) as reg:
        return seed(reg, devices, other_devices=other_devices)
