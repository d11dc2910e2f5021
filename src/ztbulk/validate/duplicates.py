"""SPEC section 4 across the whole file, in bounded memory.

Each batch stages (line, identity, target) of its valid rows as Parquet; at the end one DuckDB
query groups them. DuckDB runs under a memory limit and spills to the work folder, so a file of
any size is checked with the same peak memory.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from ztbulk.codes import Code, mask_of

DUPLICATE_ROW = mask_of(Code.DUPLICATE_ROW)
DUPLICATE_CONFLICT = mask_of(Code.DUPLICATE_CONFLICT)
_DUCKDB_MEMORY = "512MB"

_QUERY = f"""
WITH ids AS (SELECT line, identity, target FROM read_parquet($parts)),
groups AS (
    SELECT identity, min(line) AS first_line, count(DISTINCT target) AS targets
    FROM ids GROUP BY identity HAVING count(*) > 1
)
SELECT ids.line,
       CASE WHEN groups.targets > 1 THEN {DUPLICATE_CONFLICT}::UBIGINT
            ELSE {DUPLICATE_ROW}::UBIGINT END AS dup_mask
FROM ids JOIN groups USING (identity)
WHERE groups.targets > 1 OR ids.line <> groups.first_line
ORDER BY ids.line
"""


class DuplicateFinder:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / "identities"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.parts: list[str] = []

    def add(self, batch: pl.DataFrame) -> None:
        ids = batch.filter(pl.col("mask") == 0).select("line", "identity", "target")
        if ids.height:
            part = self.dir / f"ids-{len(self.parts):06d}.parquet"
            ids.write_parquet(part, compression="lz4", statistics=False)
            self.parts.append(str(part))

    def finish(self) -> DuplicateMasks:
        """Run the whole-file query; the result maps line -> DUPLICATE_ROW/CONFLICT mask."""
        out = self.dir / "duplicates.parquet"
        if not self.parts:
            return DuplicateMasks(None)
        con = duckdb.connect(config={"memory_limit": _DUCKDB_MEMORY, "threads": 2})
        try:
            con.execute(f"SET temp_directory = '{self.dir.as_posix()}'")
            rel = con.sql(_QUERY, params={"parts": self.parts})
            rel.write_parquet(str(out))
        finally:
            con.close()
        return DuplicateMasks(out)


class DuplicateMasks:
    """Duplicate codes by line, read back one line range at a time."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def for_lines(self, first: int, last: int) -> pl.DataFrame:
        if self.path is None:
            return pl.DataFrame(schema={"line": pl.Int64, "dup_mask": pl.UInt64})
        return (
            pl.scan_parquet(self.path)
            .filter(pl.col("line").is_between(first, last))
            .collect()
        )
