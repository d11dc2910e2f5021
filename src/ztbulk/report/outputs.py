"""Write outcomes.parquet and errors.csv batch by batch, and tally the counts for report.json."""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from pathlib import Path
from types import TracebackType

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ztbulk.codes import ROW_CODES, Outcome
from ztbulk.report.messages import REJECTING_MASK, SKIPPING_MASK, code_list, has, message
from ztbulk.report.model import ERRORS_CSV, OUTCOMES_PARQUET, Failure
from ztbulk.validate.rules import canonical_values

OUTCOMES_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("outcome", pa.string()),
        ("codes", pa.list_(pa.string())),
        ("device_id", pa.int64()),
        ("message", pa.string()),
    ]
)
ERROR_COLUMNS = ["ztbulk_line", "ztbulk_outcome", "ztbulk_codes", "ztbulk_message"]
FORMULA_START = r"^[=+\-@\t\r]"  # a spreadsheet would run such a cell as a formula
FIRST_FAILURES = 20


def outcome_of(mask: pl.Expr, ok: Outcome) -> pl.Expr:
    return (
        pl.when((mask & pl.lit(REJECTING_MASK, pl.UInt64)) != 0)
        .then(pl.lit(Outcome.REJECTED.value))
        .when((mask & pl.lit(SKIPPING_MASK, pl.UInt64)) != 0)
        .then(pl.lit(Outcome.SKIPPED.value))
        .otherwise(pl.lit(ok.value))
    )


def spreadsheet_safe(name: str, alias: str | None = None) -> pl.Expr:
    col = pl.col(name)
    safe = pl.when(col.str.contains(FORMULA_START)).then(pl.lit("'") + col).otherwise(col)
    return safe.alias(alias or name)


class OutputWriter:
    """Receives validated batches in line order; each must carry `line`, `mask`, `raw`, `f*`."""

    def __init__(self, out_dir: Path, names: list[str], columns: dict[str, int]) -> None:
        self.names, self.columns = names, columns
        self.outcomes: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.rows = 0
        self.first_failures: list[Failure] = []
        self._parquet = pq.ParquetWriter(out_dir / OUTCOMES_PARQUET, OUTCOMES_SCHEMA)
        self._errors = (out_dir / ERRORS_CSV).open("w", encoding="utf-8", newline="")
        # A BOM so that spreadsheets open the file as UTF-8; ztbulk reads it back either way.
        self._errors.write(codecs.BOM_UTF8.decode("utf-8"))
        csv.writer(self._errors, lineterminator="\n").writerow([*names, *ERROR_COLUMNS])

    def __enter__(self) -> OutputWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, batch: pl.DataFrame, ok: Outcome = Outcome.VALID) -> None:
        mask = pl.col("mask")
        failing = (
            batch.filter(mask != 0)
            .with_columns(canonical_values(self.columns))
            .with_columns(outcome=outcome_of(mask, ok), codes=code_list(mask), message=message(mask))
        )
        passing = batch.filter(mask == 0).select(
            "line",
            outcome=pl.lit(ok.value),
            codes=pl.lit([], pl.List(pl.String)),
            message=pl.lit(""),
        )
        cols = ["line", "outcome", "codes", "message"]
        out = passing.merge_sorted(failing.select(cols), key="line").select(
            "line", "outcome", "codes", pl.lit(None, pl.Int64).alias("device_id"), "message"
        )
        self._parquet.write_table(out.to_arrow().cast(OUTCOMES_SCHEMA))
        self._tally(out, failing)
        self._write_errors(failing)

    def _tally(self, out: pl.DataFrame, failing: pl.DataFrame) -> None:
        self.rows += out.height
        for outcome, n in out.group_by("outcome").len().iter_rows():
            self.outcomes[outcome] += n
        if failing.height:
            counts = failing.select([has(pl.col("mask"), c).sum().alias(c.value) for c in ROW_CODES])
            for code, n in counts.row(0, named=True).items():
                if n:
                    self.codes[code] += n
        room = FIRST_FAILURES - len(self.first_failures)
        if room > 0 and failing.height:
            for line, outcome, codes, msg in failing.head(room).select(
                "line", "outcome", "codes", "message"
            ).iter_rows():
                self.first_failures.append(Failure(line, outcome, list(codes), msg))

    def _write_errors(self, failing: pl.DataFrame) -> None:
        rows = failing.filter(pl.col("outcome").is_in([Outcome.REJECTED, Outcome.SKIPPED]))
        if not rows.height:
            return
        fields = [spreadsheet_safe(f"f{i}") for i in range(len(self.names))]
        rows.select(
            *fields,
            pl.col("line").alias("ztbulk_line"),
            pl.col("outcome").alias("ztbulk_outcome"),
            pl.col("codes").list.join(";").alias("ztbulk_codes"),
            spreadsheet_safe("message", "ztbulk_message"),
        ).write_csv(self._errors, include_header=False)

    def close(self) -> None:
        if not self._errors.closed:
            self._parquet.close()
            self._errors.close()
