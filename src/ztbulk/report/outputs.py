"""Write outcomes.parquet and errors.csv a group of rows at a time; tally report.json's counts.

Rows with codes are rendered (outcome, codes, message) as soon as they are found and staged;
rows without codes need nothing but their line, outcome and device. `write()` merges a group's
two kinds of rows in line order.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from ztbulk.closing import Closing
from ztbulk.codes import ROW_CODES, Outcome, codes_of
from ztbulk.frames import merge_by_line
from ztbulk.i18n import SOURCE
from ztbulk.parse.header import IGNORED_PREFIX
from ztbulk.report.messages import REJECTING_MASK, SKIPPING_MASK, messages
from ztbulk.report.model import ERRORS_CSV, OUTCOMES_PARQUET, REPORT_JSON, Failure, Report

# outcomes.parquet's columns (SPEC 6), cast by Polars before Arrow sees them: an Arrow cast
# would load pyarrow.compute, whose first use costs 0.2-0.4 s.
OUTCOMES_SCHEMA = pl.Schema(
    {
        "line": pl.Int64(),
        "outcome": pl.String(),
        "codes": pl.List(pl.String()),
        "device_id": pl.Int64(),
        "message": pl.String(),
    }
)
ERROR_COLUMNS = ["ztbulk_line", "ztbulk_outcome", "ztbulk_codes", "ztbulk_message"]
FORMULA_START = r"^[=+\-@\t\r]"  # a spreadsheet would run such a cell as a formula
FIRST_FAILURES = 20
RENDERED = ["line", "outcome", "codes", "message"]
# The rows errors.csv holds (SPEC section 6), with their original values.
IN_ERRORS_CSV = pl.col("outcome").is_in([Outcome.REJECTED, Outcome.SKIPPED])


def outcome_of(mask: int) -> Outcome:
    """What a row's codes make of it (`import` replaces `valid` with the planned outcome)."""
    if mask & REJECTING_MASK:
        return Outcome.REJECTED
    return Outcome.SKIPPED if mask & SKIPPING_MASK else Outcome.VALID


def render(frame: pl.DataFrame, lang: str = SOURCE) -> pl.DataFrame:
    """Add outcome, codes and message (in `lang`) from `mask` (and the values the messages
    quote); a frame with a `message` already (the native core's section 3 rows) keeps it.

    A chunk holds few distinct masks, so outcome and code list are made once per mask and
    joined, and messages are filled a mask at a time (`messages`): a frame needs only the
    value columns its codes quote.
    """
    masks = frame["mask"].unique().to_list()
    table = pl.DataFrame(
        {
            "mask": masks,
            "outcome": [outcome_of(m).value for m in masks],
            "codes": [[c.value for c in codes_of(m)] for m in masks],
        },
        schema={"mask": pl.UInt64, "outcome": pl.String, "codes": pl.List(pl.String)},
    )
    rendered = frame.join(table, on="mask", how="left", maintain_order="left")
    if "message" in frame.columns:  # written by the native core already
        return rendered
    return rendered.with_columns(message=messages(frame, masks, lang))


def with_every_cell(failing: pl.DataFrame, width: int, delimiter: str) -> pl.DataFrame:
    """A ROW_MALFORMED record with more cells than the header keeps them all for errors.csv
    (SPEC 6: original values): its last column holds the rest of the record as written."""
    if not width or "raw" not in failing.columns:
        return failing
    cells = pl.col("raw").str.split(delimiter)
    last = f"f{width - 1}"
    rest = cells.list.slice(width - 1).list.join(delimiter)
    return failing.with_columns(
        pl.when(cells.list.len() > width).then(rest).otherwise(pl.col(last)).alias(last)
    )


def spreadsheet_safe(name: str, alias: str | None = None) -> pl.Expr:
    """Column `name` with a `'` before every value a spreadsheet would run as a formula
    (SPEC 6). The one place this is decided: errors.csv's cells and header, device export."""
    col = pl.col(name)
    safe = pl.when(col.str.contains(FORMULA_START)).then(pl.lit("'") + col).otherwise(col)
    return safe.alias(alias or name)


def safe_names(names: list[str]) -> list[str]:
    """Column names as errors.csv's header writes them: through `spreadsheet_safe`."""
    return (
        pl.DataFrame({"name": names}, schema={"name": pl.String})
        .select(spreadsheet_safe("name"))["name"]
        .to_list()
    )


class OutputWriter(Closing):
    def __init__(self, out_dir: Path, names: list[str]) -> None:
        # Columns ztbulk wrote (errors.csv read back in) are ignored on import (SPEC 6) and
        # dropped here, so that a fixed errors.csv checked again holds one set of them.
        kept = [i for i, n in enumerate(names) if not n.strip().lower().startswith(IGNORED_PREFIX)]
        self.names = [names[i] for i in kept]
        self.fields = [f"f{i}" for i in kept]
        self.outcomes: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.rows = 0
        self.first_failures: list[Failure] = []
        self._path = out_dir / OUTCOMES_PARQUET
        self._parquet: pq.ParquetWriter | None = None  # opened with the first group's schema
        self._errors = (out_dir / ERRORS_CSV).open("w", encoding="utf-8", newline="")
        # A BOM so that spreadsheets open the file as UTF-8; ztbulk reads it back either way.
        self._errors.write(codecs.BOM_UTF8.decode("utf-8"))
        header = safe_names([*self.names, *ERROR_COLUMNS])  # a column name is data too
        csv.writer(self._errors, lineterminator="\n").writerow(header)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="ztbulk-outputs")
        self._writing: Future[None] | None = None  # the files' share of the previous group

    def write(self, plain: pl.DataFrame, failing: pl.DataFrame) -> None:
        """One group. `plain`: rows without codes (line, outcome, device_id); `failing`: rows
        with codes, rendered (line, outcome, codes, message, mask, f*, maybe device_id).
        Both sorted by line."""
        plain_rows = plain.select(
            "line",
            "outcome",
            codes=pl.lit([], pl.List(pl.String)),
            message=pl.lit(""),
            device_id=pl.col("device_id").cast(pl.Int64),
        )
        device = pl.col("device_id") if "device_id" in failing.columns else pl.lit(None)
        failing_rows = failing.select(*RENDERED, device_id=device.cast(pl.Int64))
        out = merge_by_line(plain_rows, failing_rows)
        table = out.select(pl.col(n).cast(t) for n, t in OUTCOMES_SCHEMA.items()).to_arrow()
        errors = failing.filter(IN_ERRORS_CSV)
        self._wait()
        # The files are written on a thread while the caller prepares the next group: pyarrow
        # encodes on one core, and this halved the time the writes added to finalize.
        self._writing = self._writer.submit(self._write_files, table, errors)
        self.rows += out.height
        for outcome, n in plain.group_by("outcome").len().iter_rows():
            self.outcomes[outcome] += n
        self._tally(failing)

    def _tally(self, failing: pl.DataFrame) -> None:
        if not failing.height:
            return
        for outcome, n in failing.group_by("outcome").len().iter_rows():
            self.outcomes[outcome] += n
        # Counted per distinct mask (a group holds few), not per code over every row.
        for mask, n in failing.group_by("mask").len().iter_rows():
            for code in codes_of(mask):
                self.codes[code.value] += n
        room = FIRST_FAILURES - len(self.first_failures)
        for line, outcome, codes, msg in failing.head(max(room, 0)).select(RENDERED).iter_rows():
            self.first_failures.append(Failure(line, outcome, list(codes), msg))

    def _write_files(self, table: pa.Table, errors: pl.DataFrame) -> None:
        if self._parquet is None:
            self._parquet = self._open_parquet(table.schema)
        self._parquet.write_table(table)
        if errors.height:
            errors.select(
                *[spreadsheet_safe(f) for f in self.fields],
                pl.col("line").alias("ztbulk_line"),
                pl.col("outcome").alias("ztbulk_outcome"),
                pl.col("codes").list.join(";").alias("ztbulk_codes"),
                spreadsheet_safe("message", "ztbulk_message"),
            ).write_csv(self._errors, include_header=False)

    def _open_parquet(self, schema: pa.Schema) -> pq.ParquetWriter:
        """The writer of outcomes.parquet. Arrow's own schema (string views, as Polars hands
        them) is not stored: readers see Parquet's strings, as SPEC 6 names them."""
        return pq.ParquetWriter(
            self._path,
            schema,
            compression="lz4",
            write_statistics=["line"],
            # Dictionaries only where values repeat: on `line` or `message` they cost time.
            use_dictionary=["outcome", "codes.list.element"],
            store_schema=False,
        )

    def _wait(self) -> None:
        if self._writing is not None:
            self._writing.result()  # raises the writer's error, if any
            self._writing = None

    def fill(self, report: Report) -> None:
        """Copy the tallies into the report."""
        report.outcomes = dict(self.outcomes)
        report.codes = {c.value: self.codes[c.value] for c in ROW_CODES if self.codes[c.value]}
        report.first_failures = self.first_failures

    def close(self) -> None:
        if not self._errors.closed:
            try:
                self._wait()
            finally:
                self._writer.shutdown()
                if self._parquet is None:  # no rows at all: an empty file, with the columns
                    empty = pl.DataFrame(schema=OUTCOMES_SCHEMA).to_arrow()
                    self._parquet = self._open_parquet(empty.schema)
                    self._parquet.write_table(empty)
                self._parquet.close()
                self._errors.close()


def write_outputs(
    report: Report, out: Path, names: list[str], groups: Iterable[tuple[pl.DataFrame, pl.DataFrame]]
) -> None:
    """outcomes.parquet, errors.csv and the report's tallies, a group of rows at a time (check's
    and import's alike): each group is (rows without codes, rows with codes), as `write` takes
    them; then report.json."""
    with OutputWriter(out, names) as writer:
        for plain, failing in groups:
            writer.write(plain, failing)
    writer.fill(report)
    save_report(report, out)


def save_report(report: Report, out: Path) -> None:
    (out / REPORT_JSON).write_text(report.to_json() + "\n", encoding="utf-8")
