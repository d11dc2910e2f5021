"""Run one file through both engines and say where their verdicts differ.

The native core (the product path) and the reference engine (the Polars parse + validate)
are independent implementations of SPEC sections 2-4; `compare` runs `check` with each on
the same bytes and settings and returns the differences in everything a user sees: every
outcome row (line, outcome, codes, message), errors.csv as written, and report.json's counts
and file-level findings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import polars as pl

from ztbulk import Catalog, check
from ztbulk.parse import ParseConfig

COLUMNS = ["line", "outcome", "codes", "message"]


@dataclasses.dataclass
class Verdicts:
    outcomes: pl.DataFrame
    errors_csv: str
    summary: dict[str, Any]


def verdicts(
    path: Path, out: Path, catalog: Catalog, config: ParseConfig, actor: str, lang: str = "en"
) -> Verdicts:
    report = check(path, actor=actor, catalog=catalog, out_dir=out, config=config, lang=lang)
    parquet = out / "outcomes.parquet"
    outcomes = pl.read_parquet(parquet).select(COLUMNS) if parquet.exists() else pl.DataFrame()
    errors = out / "errors.csv"
    summary = {
        "rows": report.rows,
        "blank": report.blank,
        "outcomes": dict(report.outcomes),
        "codes": dict(report.codes),
        "file_errors": report.file_errors,
        "warnings": report.warnings,
        "exit_code": report.exit_code,
    }
    return Verdicts(outcomes, errors.read_text("utf-8") if errors.exists() else "", summary)


def compare(
    path: Path,
    work: Path,
    catalog: Catalog,
    *,
    actor: str = "customer",
    reference: ParseConfig | None = None,
    lang: str = "en",
    **settings: Any,
) -> tuple[list[str], int]:
    """(differences, data rows) between the native and the reference engine on `path`, with
    the messages in `lang`."""
    native_config = ParseConfig(engine="native", **settings)
    native = verdicts(path, work / "native", catalog, native_config, actor, lang)
    ref_config = reference or ParseConfig(engine="reference", **settings)
    ref = verdicts(path, work / "reference", catalog, ref_config, actor, lang)
    diffs = []
    if native.summary != ref.summary:
        diffs.append(f"report: native {native.summary} != reference {ref.summary}")
    if not native.outcomes.equals(ref.outcomes):
        joined = native.outcomes.join(ref.outcomes, on="line", how="full", suffix="_ref")
        differing = joined.filter(
            pl.any_horizontal(
                pl.col(c).ne_missing(pl.col(f"{c}_ref")) for c in COLUMNS if c != "line"
            )
            | pl.col("line").is_null()
            | pl.col("line_ref").is_null()
        )
        diffs.append(f"outcomes differ on {differing.height} rows: {differing.head(5).to_dicts()}")
    if native.errors_csv != ref.errors_csv:
        diffs.append("errors.csv differs")
    return diffs, int(ref.summary["rows"])
