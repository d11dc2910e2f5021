"""The rows the status page lists, read back from the outputs already written: the failures
(rejected and skipped) from errors.csv, which holds each one's original values and so its
identifier, and the rows applied with a warning from outcomes.parquet.

Both are read a page at a time, so the page costs memory in proportion to one page, not the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from ztbulk.codes import Outcome
from ztbulk.domain import normalize_column
from ztbulk.report.model import ERRORS_CSV, OUTCOMES_PARQUET

ROW_COLUMNS = ["line", "identifier", "outcome", "codes", "message"]
_ERROR_COLUMNS = {
    "ztbulk_line": "line",
    "ztbulk_outcome": "outcome",
    "ztbulk_codes": "codes",
    "ztbulk_message": "message",
}
_IDENTIFYING = ("modemtype", "modemid", "serial")
NO_IDENTIFIER = "-"


def _unsafe(expr: pl.Expr) -> pl.Expr:
    """A value as the file had it: without the `'` errors.csv puts before a formula start."""
    return expr.str.replace(r"^'([=+\-@\t\r])", "$1")


def identifier(modemtype: pl.Expr, modemid: pl.Expr, serial: pl.Expr) -> pl.Expr:
    """How a person names the row's device: `IMEI 35...`, `MEID A1...`, `serial X` (the
    modemid with its type when it has one, else the serial), or `-`."""
    kind = modemtype.str.strip_chars(" \t").str.to_uppercase()
    mid, sn = modemid.str.strip_chars(" \t"), serial.str.strip_chars(" \t")
    label = pl.when(kind.is_in(["IMEI", "MEID"])).then(kind).otherwise(pl.lit("modemid"))
    return (
        pl.when(mid.is_not_null() & (mid != ""))
        .then(pl.format("{} {}", label, _unsafe(mid)))
        .when(sn.is_not_null() & (sn != ""))
        .then(pl.format("serial {}", _unsafe(sn)))
        .otherwise(pl.lit(NO_IDENTIFIER))
    )


def failures(out: Path, page_rows: int) -> Iterator[pl.DataFrame]:
    """errors.csv's rows, `page_rows` at a time: line, identifier, outcome, codes (a list),
    message. Its header is read apart, so that any column names (even repeated) do."""
    path = out / ERRORS_CSV
    with path.open(encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    names = [f"c{i}" for i in range(len(header))]
    pairs = list(zip(header, names, strict=True))
    canonical = {normalize_column(h.removeprefix("'")): n for h, n in pairs}
    ours = {n: _ERROR_COLUMNS[h] for h, n in pairs if h in _ERROR_COLUMNS}
    if len(ours) != len(_ERROR_COLUMNS):
        return
    value = {c: pl.col(canonical[c]) if c in canonical else pl.lit(None, pl.String)
             for c in _IDENTIFYING}  # fmt: skip
    scan = pl.scan_csv(
        path, has_header=False, skip_rows=1, new_columns=names, infer_schema=False
    ).select(
        *[pl.col(n).alias(v) for n, v in ours.items()],
        identifier=identifier(value["modemtype"], value["modemid"], value["serial"]),
    )
    rows = scan.select(
        pl.col("line").cast(pl.Int64, strict=False),
        "identifier",
        "outcome",
        pl.col("codes").str.split(";"),
        _unsafe(pl.col("message")),
    )
    yield from _pages(rows.collect_batches(chunk_size=page_rows), page_rows)


def _pages(batches: Iterator[pl.DataFrame], page_rows: int) -> Iterator[pl.DataFrame]:
    """Batches re-cut into pages of exactly `page_rows` rows (the last one shorter)."""
    held = pl.DataFrame()
    for batch in batches:
        held = pl.concat([held, batch]) if held.height else batch
        while held.height >= page_rows:
            yield held.head(page_rows)
            held = held.slice(page_rows)
    if held.height:
        yield held


def warned(out: Path) -> pl.DataFrame:
    """The rows that went on with a warning (applied, claimed...: not rejected or skipped, but
    with codes): line, device_id, outcome, codes, message."""
    return (
        pl.scan_parquet(out / OUTCOMES_PARQUET)
        .filter(
            (pl.col("codes").list.len() > 0)
            & ~pl.col("outcome").is_in([Outcome.REJECTED.value, Outcome.SKIPPED.value])
        )
        .select("line", "device_id", "outcome", "codes", "message")
        .collect()
    )
