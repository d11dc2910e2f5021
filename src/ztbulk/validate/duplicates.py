"""SPEC section 4 across the whole file, exact, in bounded memory.

Each chunk stages its valid rows (line, a 64-bit key of the identity, target, and either
their values or where they are in the stream) as Parquet. At the end, the keys are searched
partition by partition (key modulo the partition count, so one partition holds at most
about `rows_per_partition` rows): only keys seen more than once (found by sorting) are
candidates, and candidates are then grouped by the identity string itself, rebuilt from
their values, so a key collision can never make a duplicate.

`check` stages no values at all (nothing needs them but the duplicates' own rows): a
candidate's values are read back from the stream (`read_back`, the native core's), once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import polars as pl

from ztbulk.codes import Code, mask_of
from ztbulk.frames import repeated_values
from ztbulk.i18n import SOURCE
from ztbulk.validate.rules import FIELDS, canonical_values, identity
from ztbulk.wording import LINE, LINES, LINES_AND_MORE, phrase

DUPLICATE_ROW = mask_of(Code.DUPLICATE_ROW)
DUPLICATE_CONFLICT = mask_of(Code.DUPLICATE_CONFLICT)
# The other lines a duplicate's message names (a device repeated 10,000 times names a few).
NAMED_LINES = 5
# Valid rows (line, start, len: where each is in the stream) -> their values (line, f*).
ReadBack = Callable[[pl.DataFrame], pl.DataFrame]


class DuplicateFinder:
    def __init__(
        self,
        workdir: Path,
        columns: dict[str, int],
        read_back: ReadBack | None = None,
        rows_per_partition: int = 16_000_000,
        lang: str = SOURCE,
    ) -> None:
        # Each partition reads every part's keys again: up to 16M valid rows (about 130 MB
        # of keys) one read does. 10M rows: 1.3 -> 0.6 s against 4M rows a partition.
        self.columns = columns  # canonical name -> field position, to rebuild identities
        self.read_back = read_back  # None: the staged parts hold the values
        self.dir = workdir / "valid"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rows_per_partition = rows_per_partition
        self.lang = lang  # of `dup_of`, the other lines as the messages name them
        self.parts: list[Path] = []
        self.rows = 0

    def add(self, valid: pl.DataFrame) -> Path:
        """Stage one chunk's valid rows; return the part's path (read back by the writer)."""
        part = self.dir / f"valid-{len(self.parts):06d}.parquet"
        valid.write_parquet(part, compression="lz4", statistics=False)
        self.parts.append(part)
        self.rows += valid.height
        return part

    def finish(self) -> pl.DataFrame:
        """The duplicate rows, sorted by line: `line`, `dup_mask` (DUPLICATE_ROW or
        DUPLICATE_CONFLICT), `dup_of` (the other lines, for the message), `dup_first` (the
        identity's first line) and the row's values (f*)."""
        if not self.rows:
            return empty_duplicates()
        k = self._partitions()
        return pl.concat([self._partition(p, k) for p in range(k)], how="diagonal").sort("line")

    def _partitions(self) -> int:
        return max(1, math.ceil(self.rows / self.rows_per_partition))

    def _partition(self, p: int, k: int) -> pl.DataFrame:
        scan = pl.scan_parquet(self.parts).filter(pl.col("h") % k == p)
        repeated = repeated_values(scan.select("h").collect().to_series())
        if not repeated.len():
            return empty_duplicates()
        candidates = self._with_values(scan.filter(pl.col("h").is_in(repeated.implode())))
        keyed = (
            candidates.lazy()
            .with_columns(canonical_values(self.columns))
            .with_columns(identity=identity())
        )
        groups = keyed.group_by("identity").agg(
            first=pl.col("line").min(),
            targets=pl.col("target").n_unique(),
            n=pl.len(),
            lines=pl.col("line").sort().head(NAMED_LINES + 1),
        )
        found = keyed.join(groups.filter(pl.col("n") > 1), on="identity").filter(
            (pl.col("targets") > 1) | (pl.col("line") != pl.col("first"))
        )
        conflict = pl.col("targets") > 1
        return found.select(
            pl.col("line"),
            pl.when(conflict)
            .then(pl.lit(DUPLICATE_CONFLICT, pl.UInt64))
            .otherwise(pl.lit(DUPLICATE_ROW, pl.UInt64))
            .alias("dup_mask"),
            _other_lines(conflict, self.lang).alias("dup_of"),
            pl.col("first").alias("dup_first"),
            FIELDS,
        ).collect()

    def _with_values(self, candidates: pl.LazyFrame) -> pl.DataFrame:
        """The candidate rows (line, target) with their values (f*)."""
        if self.read_back is None:
            return candidates.select("line", "target", FIELDS).collect()
        rows = candidates.select("line", "target", "start", "len").collect().sort("line")
        values = self.read_back(rows.select("line", "start", "len"))
        return rows.select("line", "target").join(values, on="line", maintain_order="left")


def _other_lines(conflict: pl.Expr, lang: str) -> pl.Expr:
    """What a duplicate's message names, in `lang`: the identity's first line for a repeat
    ("line 12"), every other line for a conflict ("lines 3, 9 and 4 more")."""
    others = pl.col("lines").list.set_difference(pl.concat_list(pl.col("line"))).list.sort()
    shown = others.list.head(NAMED_LINES).cast(pl.List(pl.String)).list.join(", ")
    more = pl.col("n") - 1 - others.list.head(NAMED_LINES).list.len()
    named = (
        pl.when(pl.col("n") == 2)
        .then(phrase(LINE, lang, line=shown))
        .when(more > 0)
        .then(phrase(LINES_AND_MORE, lang, lines=shown, more=more))
        .otherwise(phrase(LINES, lang, lines=shown))
    )
    return pl.when(conflict).then(named).otherwise(phrase(LINE, lang, line=pl.col("first")))


def empty_duplicates() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "line": pl.Int64,
            "dup_mask": pl.UInt64,
            "dup_of": pl.String,
            "dup_first": pl.Int64,
        }
    )
