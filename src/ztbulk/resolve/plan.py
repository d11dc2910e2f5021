"""Resolve: turn a job's valid rows into a plan, by set-wise joins against the registry.

One DuckDB query per range of 2M lines (never a query per row, nor per apply batch: such a join
would scan the devices table once per batch). It reads the rows straight from ingest's staged
Parquet parts. Each identifier kind is an equality join, so DuckDB hashes the input and probes
`devices` once: IMEI against the first and, for dual-SIM devices, second IMEI, MEID against
the MEID (all three as numbers: `imei_n`, `imei2_n`, `meid_n`); serial with model and
manufacturer against the same three. The plan says, per row, which device it is, what to do
(apply, unclaim, claim an existing device, create and claim, nothing, reject, skip) and which
SPEC section 5 codes apply; SPEC section 4 is applied again to rows that reach the same device
through different identifiers.

The plan is written to Parquet before anything changes, so a resumed job applies the same plan
and reports the same outcomes as an uninterrupted one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import polars as pl

from ztbulk.domain import Action, Actor, Mode
from ztbulk.errors import InternalError
from ztbulk.frames import repeated_values
from ztbulk.registry.db import Registry
from ztbulk.registry.schema import NUMBER_DEVICES
from ztbulk.resolve import sql
from ztbulk.validate.duplicates import DUPLICATE_CONFLICT, DUPLICATE_ROW

RESOLVE_ROWS = 2_000_000  # rows resolved per query
BATCHES = "batches.json"  # in the plan folder: [first line, last line] per batch
PARTS = "*.parquet"  # the plan's parts in its folder, one line range each, in order by name


@dataclass(frozen=True)
class Importer:
    """The acting account of a job."""

    actor: Actor
    account_id: int
    mode: Mode


@dataclass(frozen=True)
class ResolveInput:
    """The valid rows of a job as resolve reads them: straight from ingest's staged parts."""

    parts: list[Path]  # staged valid rows: line, f*, h, target, checked
    columns: dict[str, int]  # canonical name -> field position
    leave_out: Path  # Parquet of `line`s already skipped or rejected by section 4

    def select(self) -> str:
        """SQL of one range's rows: line, kind, key, num, model, manufacturer, target. Values
        are trimmed and null where blank, as `validate.rules.canonical_values` makes them;
        `num` is ingest's identity hash, which on an IMEI or MEID row is its number (see
        `validate.rules.identity_hash`), as the registry numbers its devices' identifiers."""

        def value(name: str) -> str:
            if name not in self.columns:
                return "NULL::VARCHAR"
            raw = f"f{self.columns[name]}"
            # Only rows that ran every check can carry blanks (`validate_chunk`): trimming
            # is most of the cost of reading the rows, so the others skip it.
            return f"nullif(CASE WHEN checked THEN trim({raw}, ' ' || chr(9)) ELSE {raw} END, '')"

        mid, serial = value("modemid"), value("serial")
        return f"""
            SELECT line,
                   CASE WHEN {mid} IS NULL THEN 'SN' ELSE upper({value("modemtype")}) END AS kind,
                   CASE WHEN {mid} IS NULL THEN {serial} ELSE upper({mid}) END AS key,
                   h AS num,
                   {value("model")} AS model, {value("manufacturer")} AS manufacturer, target
            FROM read_parquet($parts)
            WHERE line BETWEEN $lo AND $hi
              AND line NOT IN (SELECT line FROM read_parquet($leave_out))"""

    def lines(self) -> list[pl.Series]:
        """Per part, the lines to resolve, sorted (the parts are in line order)."""
        leave_out = pl.read_parquet(self.leave_out)["line"].implode()
        keep = ~pl.col("line").is_in(leave_out)
        return [pl.read_parquet(part, columns=["line"]).filter(keep)["line"] for part in self.parts]

    def parts_between(self, lines: list[pl.Series], lo: int, hi: int) -> list[str]:
        """The parts holding lines lo..hi (staged without statistics, which would let DuckDB
        skip the others itself); any one part when none does, for the query's schema."""
        held = [
            str(part)
            for part, kept in zip(self.parts, lines, strict=True)
            if kept.len() and kept[0] <= hi and kept[-1] >= lo
        ]
        return held or [str(self.parts[0])]


def make_plan(
    reg: Registry, who: Importer, rows: ResolveInput, out: Path, batch_rows: int,
    *, dry_run: bool = False,
) -> list[int]:  # fmt: skip
    """Resolve every row into the plan: a folder of Parquet parts, one per range of lines, and the
    line range of each batch (`batches.json`, written last). Return the rows per batch.

    DuckDB resolves one line range per query and writes that range's part itself, so memory
    follows one range, not the file. Section 4 on resolved devices and the ids of devices to
    create need every range: the parts they touch (usually none) are rewritten afterwards.
    A dry run takes no ids for devices to create (the registry's sequence stays as it is).
    """
    shutil.rmtree(out, ignore_errors=True)  # a plan left half-written by a crash
    out.mkdir(parents=True)
    reg.con.execute(NUMBER_DEVICES)  # devices some writer left unnumbered (usually none)
    per_part = rows.lines()
    lines = pl.concat(per_part)
    ranges = _line_ranges(lines, RESOLVE_ROWS)
    parts = _decide(
        reg, who, rows, per_part, lines=lines, ranges=ranges, folder=out, batch_rows=batch_rows
    )
    decided = pl.scan_parquet(parts)
    twice = _same_device_twice(decided)
    new_ids = _new_device_ids(reg, decided, take=not dry_run)
    if twice.height or new_ids.len():
        _patch(parts, twice, new_ids, batch_rows)
    batches = _line_ranges(lines, batch_rows) if lines.len() else []
    (out / BATCHES).write_text(json.dumps(batches), encoding="utf-8")
    total = lines.len()
    return [min(batch_rows, total - start) for start in range(0, total, batch_rows)]


def plan_files(folder: Path) -> str:
    """The plan's parts, as a glob that DuckDB and Polars both read."""
    return str(folder / PARTS)


def batch_lines(folder: Path, batch: int) -> tuple[int, int]:
    """The first and last line of a batch of the plan in `folder`."""
    lo, hi = json.loads((folder / BATCHES).read_text(encoding="utf-8"))[batch]
    return int(lo), int(hi)


def _decide(
    reg: Registry,
    who: Importer,
    rows: ResolveInput,
    per_part: list[pl.Series],
    *,
    lines: pl.Series,
    ranges: list[tuple[int, int]],
    folder: Path,
    batch_rows: int,
) -> list[Path]:
    """The SQL decisions, one part per line range (first line, last line): DuckDB hashes one
    range at a time and only probes `devices`. A part's rows are in no particular order:
    sorting them cost DuckDB a seventh of resolve, and every reader of a part reads all of
    it (apply reads a batch's lines by a filter, finalize sorts a part as it reads it)."""
    decide = sql.CUSTOMER if who.actor is Actor.CUSTOMER else sql.RESELLER
    query = f"""
        SELECT * EXCLUDE ({", ".join(sql.FLAG_CODES)}), {sql.MASK} AS mask
        FROM (WITH input AS ({rows.select()}), {sql.MATCHES} {decide}) decided"""
    params: dict[str, object] = {"leave_out": str(rows.leave_out), "account": who.account_id}
    if who.actor is Actor.CUSTOMER:
        params["mode"] = who.mode.value
    parts = []
    for i, (lo, hi) in enumerate(ranges):
        part = folder / f"part-{i:04d}.parquet"
        parts_read = rows.parts_between(per_part, lo, hi)
        ranged = params | {"lo": lo, "hi": hi, "parts": parts_read}
        reg.con.sql(query, params=ranged).write_parquet(
            str(part), compression="lz4", row_group_size=batch_rows
        )
        written, expected = (
            pl.scan_parquet(part).select(pl.len()).collect().item(),
            _count(lines, lo, hi),
        )
        if written > expected:  # some identifier names several devices (rare)
            written = _keep_best(part, batch_rows)
        if written != expected:  # a row no join covers: stop, never drop it
            raise InternalError(f"Resolve planned {written} rows for lines {lo}-{hi}.")
        parts.append(part)
    return parts


def _count(lines: pl.Series, lo: int, hi: int) -> int:
    """How many of the sorted `lines` are between lo and hi."""
    return int(lines.search_sorted(hi, side="right")) - int(lines.search_sorted(lo))


def _keep_best(part: Path, batch_rows: int) -> int:
    """Keep one row per line where the registry matched several devices: the lowest rank.
    Return the rows kept."""
    rows = pl.read_parquet(part).sort("line", "rank").unique("line", keep="first")
    tmp = part.with_suffix(".tmp")
    rows.write_parquet(tmp, compression="lz4", row_group_size=batch_rows)
    tmp.replace(part)
    return rows.height


def _line_ranges(lines: pl.Series, size: int) -> list[tuple[int, int]]:
    """(first line, last line) of consecutive ranges of `size` of the sorted `lines`."""
    if not lines.len():
        return [(0, -1)]
    bounds = [*lines.gather_every(size).to_list(), lines[-1] + 1]
    return [(lo, hi - 1) for lo, hi in pairwise(bounds)]


def _patch(parts: list[Path], twice: pl.DataFrame, new_ids: pl.Series, batch_rows: int) -> None:
    """Rewrite the parts holding section 4 duplicates on devices or devices to create (new
    devices take their ids in line order, so that every run of a plan creates the same)."""
    created = 0
    for part in parts:
        rows = pl.read_parquet(part).sort("line")
        create = pl.col("action") == Action.CREATE
        creates = int(rows.select(create.sum()).item())
        if not creates and not rows["line"].is_in(twice["line"].implode()).any():
            continue
        rows = _with_duplicates(rows, twice)
        if creates:
            index = (create.cum_sum() - 1 + created).clip(0, new_ids.len() - 1)
            rows = rows.with_columns(
                device_id=pl.when(create)
                .then(pl.lit(new_ids).gather(index))
                .otherwise(pl.col("device_id"))
            )
            created += creates
        tmp = part.with_suffix(".tmp")
        rows.write_parquet(tmp, compression="lz4", row_group_size=batch_rows)
        tmp.replace(part)


def _same_device_twice(decided: pl.LazyFrame) -> pl.DataFrame:
    """SPEC section 4 on resolved devices: rows reaching one device by different identifiers.

    Returns `line`, `dup_conflict`, `dup_row` for the rows concerned only (usually none).
    """
    live = decided.filter((pl.col("action") != Action.REJECT) & pl.col("device_id").is_not_null())
    device_ids = live.select("device_id").collect().to_series()
    repeated = repeated_values(device_ids)
    if not repeated.len():  # the usual case: no second read of the plan
        return pl.DataFrame(
            schema={"line": pl.Int64, "dup_conflict": pl.Boolean, "dup_row": pl.Boolean}
        )
    rows = live.filter(pl.col("device_id").is_in(repeated.implode()))
    by_device = pl.col("device_id")
    conflict = pl.col("target").min().over(by_device) != pl.col("target").max().over(by_device)
    first = pl.col("line") == pl.col("line").min().over(by_device)
    return rows.select("line", dup_conflict=conflict, dup_row=~conflict & ~first).collect()


def _with_duplicates(rows: pl.DataFrame, twice: pl.DataFrame) -> pl.DataFrame:
    """Mark this part's rows found by `_same_device_twice`: a conflict rejects, a repeat
    skips."""
    if not twice.height:
        return rows
    found = twice.rename({"dup_conflict": "conflict", "dup_row": "repeat"})
    rows = rows.join(found, on="line", how="left", maintain_order="left")
    conflict, repeat = pl.col("conflict").fill_null(False), pl.col("repeat").fill_null(False)
    return rows.with_columns(
        mask=pl.col("mask")
        | pl.when(conflict)
        .then(pl.lit(DUPLICATE_CONFLICT, pl.UInt64))
        .when(repeat)
        .then(pl.lit(DUPLICATE_ROW, pl.UInt64))
        .otherwise(pl.lit(0, pl.UInt64)),
        action=pl.when(conflict)
        .then(pl.lit(Action.REJECT.value))
        .when(repeat)
        .then(pl.lit(Action.SKIP.value))
        .otherwise("action"),
    ).drop("conflict", "repeat")


def _new_device_ids(reg: Registry, decided: pl.LazyFrame, *, take: bool) -> pl.Series:
    """An id from the registry's sequence for every device to be created, taken now, so a
    resumed job creates exactly the same devices (none taken, all null, when not `take`).
    (Creates never count as duplicates: they have no device yet.)"""
    creating = decided.filter(pl.col("action") == Action.CREATE).select(pl.len()).collect().item()
    if not take:
        return pl.Series("new_id", [None] * creating, dtype=pl.Int64)
    rows = reg.all("SELECT nextval('device_ids') FROM range(?)", [creating]) if creating else []
    return pl.Series("new_id", [int(r[0]) for r in rows], dtype=pl.Int64)
