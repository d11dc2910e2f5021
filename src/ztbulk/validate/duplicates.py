"""SPEC section 4 across the whole file, exact, in bounded memory.

Each batch stages its valid rows (line, a 64-bit hash of the identity, target, values) as
Parquet. At the end, the hashes are searched partition by partition (hash modulo the
partition count, so one partition holds at most about `rows_per_partition` rows): only
hashes seen more than once (found by sorting) are candidates, and candidates are then
grouped by the identity string itself, rebuilt from their values, so a hash collision can
never make a duplicate.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from ztbulk.codes import Code, mask_of
from ztbulk.frames import repeated_values
from ztbulk.validate.rules import canonical_values, identity

DUPLICATE_ROW = mask_of(Code.DUPLICATE_ROW)
DUPLICATE_CONFLICT = mask_of(Code.DUPLICATE_CONFLICT)


class DuplicateFinder:
    def __init__(
        self, workdir: Path, columns: dict[str, int], rows_per_partition: int = 16_000_000
    ) -> None:
        # Each partition reads every part's hashes again: up to 16M valid rows (about 130 MB
        # of hashes) one read does. 10M rows: 1.3 -> 0.6 s against 4M rows a partition.
        self.columns = columns  # canonical name -> field position, to rebuild identities
        self.dir = workdir / "valid"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows_per_partition = rows_per_partition
        self.parts: list[Path] = []
        self.rows = 0

    def add(self, valid: pl.DataFrame) -> Path:
        """Stage one batch's valid rows; return the part's path (read back by the writer)."""
        part = self.dir / f"valid-{len(self.parts):06d}.parquet"
        valid.write_parquet(part, compression="lz4", statistics=False)
        self.parts.append(part)
        self.rows += valid.height
        return part

    def finish(self) -> pl.DataFrame:
        """`line` -> `dup_mask` (DUPLICATE_ROW or DUPLICATE_CONFLICT), sorted by line."""
        if not self.rows:
            return empty_duplicates()
        k = self._partitions()
        return pl.concat([self._partition(p, k) for p in range(k)]).sort("line")

    def _partitions(self) -> int:
        return max(1, math.ceil(self.rows / self.rows_per_partition))

    def _partition(self, p: int, k: int) -> pl.DataFrame:
        scan = pl.scan_parquet(self.parts).filter(pl.col("h") % k == p)
        repeated = repeated_values(scan.select("h").collect().to_series())
        if not repeated.len():
            return empty_duplicates()
        candidates = (
            scan.filter(pl.col("h").is_in(repeated.implode()))
            .with_columns(canonical_values(self.columns))
            .select("line", "target", identity=identity())
        )
        groups = candidates.group_by("identity").agg(
            first=pl.col("line").min(), targets=pl.col("target").n_unique(), n=pl.len()
        )
        return (
            candidates.join(groups.filter(pl.col("n") > 1), on="identity")
            .filter((pl.col("targets") > 1) | (pl.col("line") != pl.col("first")))
            .select(
                "line",
                dup_mask=pl.when(pl.col("targets") > 1)
                .then(pl.lit(DUPLICATE_CONFLICT, pl.UInt64))
                .otherwise(pl.lit(DUPLICATE_ROW, pl.UInt64)),
            )
            .collect()
        )


def empty_duplicates() -> pl.DataFrame:
    return pl.DataFrame(schema={"line": pl.Int64, "dup_mask": pl.UInt64})
