"""Benchmark inputs, generated on the fly (never committed) from the real reference data in
../shared/data: Google Play's device catalogue for manufacturers and models, the Samsung and
Osmocom TAC lists for IMEI prefixes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ztbulk import Catalog
from ztbulk.sample import SampleSpec, generate, read_tacs

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PLAY = SHARED / "device_catalogs" / "google_play_supported_devices_2025-01-20.csv"
TAC_LISTS = [
    SHARED / "tac" / "samsung_tac_to_models_samloaderkotlin.csv",
    SHARED / "tac" / "osmocom_tacdb.csv",
]
CACHE = Path(os.environ.get("ZTBULK_BENCH_DIR", Path(tempfile.gettempdir()) / "ztbulk-bench"))


def catalog() -> Catalog:
    return Catalog.from_csv(PLAY)


def catalog_csv() -> Path:
    """The Play catalogue as a plain manufacturer,model CSV (for the per-row baseline)."""
    path = CACHE / "catalog.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        catalog().pairs.select("manufacturer", "model").write_csv(path)
    return path


def tacs() -> list[str]:
    found: list[str] = []
    for path in TAC_LISTS:
        found += read_tacs(path, limit=4000)
    return found


def dataset(rows: int) -> Path:
    """A deterministic `rows`-line zero-touch CSV with ~1% of rows per defect kind (cached)."""
    path = CACHE / f"devices-{rows}.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        generate(SampleSpec(rows=rows), tmp, catalog(), tacs())
        tmp.rename(path)
    return path
