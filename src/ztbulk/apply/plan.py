"""Resolve: turn a job's valid rows into a plan, by batch joins against the registry.

One DuckDB query per job (never a query per row, nor per batch: a batch join would scan the
devices table once per batch). Each identifier kind is an equality join, so DuckDB hashes the
input and probes `devices` once: IMEI against `imei` and, for dual-SIM devices, `imei2`; MEID
against `meid`; serial with model and manufacturer against the same three. The plan says, per
row, which device it is, what to do (apply, unclaim, claim an existing device, create and
claim, nothing, reject, skip) and which SPEC section 5 codes apply; SPEC section 4 is applied
again to rows that reach the same device through different identifiers.

The caller writes the plan to Parquet before anything changes, so a resumed job applies the
same plan and reports the same outcomes as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ztbulk.codes import Code
from ztbulk.domain import Actor, Mode
from ztbulk.registry.db import Registry
from ztbulk.validate.rules import canonical_values

# Boolean plan columns and the codes they stand for.
FLAG_CODES = {
    "not_found": Code.DEVICE_NOT_FOUND,
    "mismatch": Code.MANUFACTURER_MISMATCH,
    "no_config": Code.CONFIGURATION_NOT_FOUND,
    "no_customer": Code.CUSTOMER_NOT_FOUND,
    "elsewhere": Code.DEVICE_CLAIMED_ELSEWHERE,
    "second": Code.SECONDARY_IMEI,
    "kme": Code.KME_CONFLICT,
    "dup_row": Code.DUPLICATE_ROW,
    "dup_conflict": Code.DUPLICATE_CONFLICT,
}


RESOLVE_ROWS = 2_000_000  # rows resolved per query


@dataclass(frozen=True)
class Who:
    """The acting account of a job."""

    actor: Actor
    account_id: int
    mode: Mode


def resolve_input(valid_parts: list[Path], columns: dict[str, int], out: Path) -> Path:
    """The valid rows as resolve needs them: line, kind, key, model, manufacturer, target."""
    target = "profileid" if "profileid" in columns else "owner"
    kind = pl.col("modemtype").str.to_uppercase()
    frame = (
        pl.scan_parquet(valid_parts)
        .with_columns(canonical_values(columns))
        .select(
            "line",
            kind=pl.when(pl.col("modemid").is_null()).then(pl.lit("SN")).otherwise(kind),
            key=pl.when(pl.col("modemid").is_null())
            .then(pl.col("serial"))
            .otherwise(pl.col("modemid").str.to_uppercase()),
            model=pl.col("model"),
            manufacturer=pl.col("manufacturer"),
            target=pl.col(target).cast(pl.Int64),
        )
    )
    frame.sink_parquet(out)
    return out


_DEVICE = "d.id, d.manufacturer, d.customer_id, d.reseller_id, d.configuration_id, d.kme"
_MATCHES = f"""
matches AS (
    -- Each branch is an equality join that DuckDB hashes once, and carries the device's
    -- columns along, so no second join back to `devices` is needed.
    SELECT i.line, 1 AS pri, false AS second, {_DEVICE} FROM input i
        JOIN devices d ON d.imei = i.key WHERE i.kind = 'IMEI'
    UNION ALL
    SELECT i.line, 2, true, {_DEVICE} FROM input i
        JOIN devices d ON d.imei2 = i.key WHERE i.kind = 'IMEI'
    UNION ALL
    SELECT i.line, 1, false, {_DEVICE} FROM input i
        JOIN devices d ON upper(d.meid) = i.key WHERE i.kind = 'MEID'
    UNION ALL
    SELECT i.line, 1, false, {_DEVICE} FROM input i
        JOIN devices d ON d.serial = i.key
            AND lower(d.model) = lower(i.model) AND lower(d.manufacturer) = lower(i.manufacturer)
        WHERE i.kind = 'SN'
),
-- Per line, the match by first IMEI before second IMEI, then the lowest device id: the
-- smallest (pri, id) packed in one BIGINT (ids come from a sequence, far below 2^56), found
-- by a plain min per line and joined back
-- (several times faster than arg_min over a struct).
ranked AS (SELECT *, (pri::BIGINT << 56) + id AS rank FROM matches),
firsts AS (SELECT line, min(rank) AS rank FROM ranked GROUP BY line),
best AS (
    SELECT r.line, r.second, r.id AS device_id, r.manufacturer AS d_manufacturer,
           r.customer_id AS d_customer, r.reseller_id AS d_reseller,
           r.configuration_id AS d_config, r.kme AS d_kme
    FROM ranked r JOIN firsts f ON f.line = r.line AND f.rank = r.rank
),
joined AS (
    SELECT i.*, b.* EXCLUDE (line),
           b.device_id IS NOT NULL
               AND lower(b.d_manufacturer) <> lower(i.manufacturer) AS mismatch_raw
    FROM input i LEFT JOIN best b ON b.line = i.line
)
"""

# Per-actor decision, in two steps: `facts` computes what needs a subquery (DuckDB cannot
# reuse such an alias in the same SELECT), the final SELECT decides. Every query yields: line,
# device_id, action, target, default_config and the FLAG_CODES booleans (dup_* come later).
_CUSTOMER = """
, facts AS (
    SELECT j.*,
           (device_id IS NULL OR d_customer IS DISTINCT FROM $account) AS not_found,
           ($mode = 'profileid' AND target NOT IN
                (SELECT id FROM configurations WHERE customer_id = $account)) AS no_config
    FROM joined j
)
SELECT line, kind, key, model, manufacturer,
       device_id, target, NULL::BIGINT AS default_config, not_found,
       (NOT not_found AND mismatch_raw) AS mismatch, no_config,
       false AS no_customer, false AS elsewhere,
       (NOT not_found AND coalesce(second, false)) AS second,
       (NOT not_found AND coalesce(d_kme, false)) AS kme,
       CASE WHEN not_found OR mismatch OR no_config THEN 'reject'
            WHEN $mode = 'owner' THEN 'unclaim'
            WHEN d_config IS NOT DISTINCT FROM target THEN 'unchanged'
            ELSE 'apply' END AS action
FROM facts
"""

_RESELLER = """
, facts AS (
    SELECT j.*,
           (SELECT max(id) FROM configurations c WHERE c.customer_id = j.target AND c.is_default)
               AS default_config,
           (target > 0 AND NOT EXISTS (SELECT 1 FROM customer_resellers l
                WHERE l.customer_id = j.target AND l.reseller_id = $account AND l.enabled))
               AS no_customer
    FROM joined j
)
SELECT line, kind, key, model, manufacturer, device_id, target, default_config,
       (target = 0 AND (device_id IS NULL OR d_reseller IS DISTINCT FROM $account))
           AS not_found,
       (NOT not_found AND device_id IS NOT NULL AND mismatch_raw) AS mismatch,
       false AS no_config, no_customer,
       (target > 0 AND device_id IS NOT NULL AND d_customer IS NOT NULL
            AND d_customer <> target) AS elsewhere,
       (NOT not_found AND coalesce(second, false)) AS second,
       (NOT not_found AND coalesce(d_kme, false)) AS kme,
       CASE WHEN not_found OR mismatch OR no_customer OR elsewhere THEN 'reject'
            WHEN target = 0 AND d_customer IS NULL THEN 'unchanged'
            WHEN target = 0 THEN 'unclaim'
            WHEN device_id IS NULL THEN 'create'
            WHEN d_customer = target THEN 'unchanged'
            ELSE 'claim' END AS action
FROM facts
"""


def make_plan(reg: Registry, who: Who, input_path: Path, out: Path, batch_rows: int) -> list[int]:
    """Resolve every row of `input_path` into the plan at `out`, sorted by line, each row with
    its batch number; return the rows per batch.

    Memory follows one line range, not the file: DuckDB writes each range's decisions to
    Parquet; section 4 on resolved devices and the number of new devices are found from
    narrow columns; the plan is then written range by range.
    """
    parts = _decide(reg, who, input_path, out.parent)
    decided = pl.scan_parquet(parts)
    twice = _same_device_twice(decided)
    new_ids = _new_device_ids(reg, decided)
    offset, created = 0, 0
    with _PlanWriter(out, batch_rows) as writer:
        for part in parts:
            rows = _with_duplicates(pl.read_parquet(part), twice)
            create = pl.col("action") == "create"
            creates = int(rows.select(create.sum()).item())
            if creates:  # new devices take their ids in line order
                index = (create.cum_sum() - 1 + created).clip(0, new_ids.len() - 1)
                rows = rows.with_columns(
                    device_id=pl.when(create)
                    .then(pl.lit(new_ids).gather(index))
                    .otherwise(pl.col("device_id"))
                )
            rows = rows.with_columns(
                batch=((pl.int_range(pl.len()) + offset) // batch_rows).cast(pl.Int32)
            )
            writer.write(rows)
            offset += rows.height
            created += creates
            part.unlink()
    return [min(batch_rows, offset - start) for start in range(0, offset, batch_rows)]


class _PlanWriter:
    """Appends ranges to one Parquet file, a row group per batch (apply reads one batch)."""

    def __init__(self, out: Path, batch_rows: int) -> None:
        self.out, self.batch_rows = out, batch_rows
        self.writer: pq.ParquetWriter | None = None

    def __enter__(self) -> _PlanWriter:
        return self

    def write(self, rows: pl.DataFrame) -> None:
        table = rows.to_arrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.out,
                table.schema,
                compression="lz4",
                # Statistics let apply skip to its batch; dictionaries pay only where values
                # repeat (identifiers and line numbers don't).
                write_statistics=["line", "batch"],
                use_dictionary=["kind", "model", "manufacturer", "action"],
            )
        self.writer.write_table(table, row_group_size=self.batch_rows)

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()


def _decide(reg: Registry, who: Who, input_path: Path, folder: Path) -> list[Path]:
    """The SQL decisions, one Parquet file per line range of about RESOLVE_ROWS rows, each
    sorted by line: DuckDB then hashes one range at a time and only probes `devices`."""
    decide = _CUSTOMER if who.actor is Actor.CUSTOMER else _RESELLER
    sql = (
        "WITH input AS (SELECT * FROM read_parquet($input) WHERE line BETWEEN $lo AND $hi), "
        f"{_MATCHES} {decide} ORDER BY line"
    )
    params: dict[str, object] = {"input": str(input_path), "account": who.account_id}
    if who.actor is Actor.CUSTOMER:
        params["mode"] = who.mode.value
    parts = []
    for i, (lo, hi) in enumerate(_line_ranges(input_path)):
        part = folder / f"decided-{i:04d}.parquet"
        reg.con.sql(sql, params=params | {"lo": lo, "hi": hi}).write_parquet(str(part))
        parts.append(part)
    return parts


def _line_ranges(input_path: Path) -> list[tuple[int, int]]:
    lines = pl.scan_parquet(input_path).select("line").collect()["line"].sort()
    if not lines.len():
        return [(0, -1)]
    bounds = [*lines.gather_every(RESOLVE_ROWS).to_list(), lines[-1] + 1]
    return [(lo, hi - 1) for lo, hi in pairwise(bounds)]


def _same_device_twice(decided: pl.LazyFrame) -> pl.DataFrame:
    """SPEC section 4 on resolved devices: rows reaching one device by different identifiers.

    Returns `line`, `dup_conflict`, `dup_row` for the rows concerned only (usually none).
    """
    live = decided.filter((pl.col("action") != "reject") & pl.col("device_id").is_not_null())
    device_ids = live.select("device_id").collect().to_series()
    repeated = device_ids.filter(device_ids.is_duplicated()).unique()
    rows = live.filter(pl.col("device_id").is_in(repeated.implode()))
    by_device = pl.col("device_id")
    conflict = pl.col("target").min().over(by_device) != pl.col("target").max().over(by_device)
    first = pl.col("line") == pl.col("line").min().over(by_device)
    return rows.select("line", dup_conflict=conflict, dup_row=~conflict & ~first).collect()


def _with_duplicates(rows: pl.DataFrame, twice: pl.DataFrame) -> pl.DataFrame:
    """Mark this range's rows found by `_same_device_twice`: a conflict rejects, a repeat
    skips."""
    if twice.height:
        rows = rows.join(twice, on="line", how="left", maintain_order="left")
        rows = rows.with_columns(pl.col("dup_conflict", "dup_row").fill_null(False))
    else:
        rows = rows.with_columns(dup_conflict=pl.lit(False), dup_row=pl.lit(False))
    return rows.with_columns(
        action=pl.when("dup_conflict")
        .then(pl.lit("reject"))
        .when("dup_row")
        .then(pl.lit("skip"))
        .otherwise("action")
    )


def _new_device_ids(reg: Registry, decided: pl.LazyFrame) -> pl.Series:
    """An id from the registry's sequence for every device to be created, taken now, so a
    resumed job creates exactly the same devices. (Creates never count as duplicates: they
    have no device yet.)"""
    creating = decided.filter(pl.col("action") == "create").select(pl.len()).collect().item()
    rows = reg.all("SELECT nextval('device_ids') FROM range(?)", [creating]) if creating else []
    return pl.Series("new_id", [int(r[0]) for r in rows], dtype=pl.Int64)
