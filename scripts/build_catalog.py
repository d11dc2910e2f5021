"""Derive the packaged manufacturer/model catalogue from the Android Enterprise Recommended list.

Input: ../shared/data/device_catalogs/android_enterprise_recommended_devices_2026-07-24.csv
(MIT, androidtrackers/android-enterprise-devices; data from
androidenterprisepartners.withgoogle.com).
Output: src/ztbulk/data/catalog_aer.csv with columns manufacturer,model, one row per model string.
A brand written in several letter cases (vivo/Vivo) keeps its most frequent spelling.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (
    ROOT.parent
    / "shared/data/device_catalogs/android_enterprise_recommended_devices_2026-07-24.csv"
)
TARGET = ROOT / "src/ztbulk/data/catalog_aer.csv"


def main() -> int:
    with SOURCE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    spelling = Counter(r["Brand"].strip() for r in rows)
    canonical: dict[str, str] = {}
    for brand, _ in spelling.most_common():
        canonical.setdefault(brand.lower(), brand)
    pairs: dict[tuple[str, str], tuple[str, str]] = {}
    for r in rows:
        brand = canonical[r["Brand"].strip().lower()]
        for cell in r["Models"].split(","):
            model = cell.strip()
            if model:
                pairs.setdefault((brand.lower(), model.lower()), (brand, model))
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with TARGET.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["manufacturer", "model"])
        out.writerows(sorted(pairs.values(), key=lambda p: (p[0].lower(), p[1].lower())))
    print(f"{TARGET.relative_to(ROOT)}: {len(pairs)} models of {len(canonical)} manufacturers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
