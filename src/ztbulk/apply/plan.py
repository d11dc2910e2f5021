"""Resolve: turn a job's valid rows into a plan, by batch joins against the registry.

One DuckDB query per job (never a query per row, nor per batch: a batch join would scan the
devices table once per batch). Each identifier kind is an equality join, so DuckDB hashes the
input and probes `devices` once: IMEI against `imei` and, for dual-SIM devices, `imei2`; MEID
against `meid`; serial with model and manufacturer against the same three. The plan says, per
row, which device it is, what to do (apply, unclaim, claim an existing device, create and
claim, nothing, reject, skip) and which SPEC section 5 codes apply; SPEC section 4 is applied
again to rows that reach the same device through different identifiers.

The plan is written to Parquet before anything changes, so a resumed job applies the same
plan and reports the same outcomes as an uninterrupted one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

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


_MATCHES = """
matches AS (
    SELECT i.line, d.id, 1 AS pri, false AS second FROM input i
        JOIN devices d ON d.imei = i.key WHERE i.kind = 'IMEI'
    UNION ALL
    SELECT i.line, d.id, 2, true FROM input i
        JOIN devices d ON d.imei2 = i.key WHERE i.kind = 'IMEI'
    UNION ALL
    SELECT i.line, d.id, 1, false FROM input i
        JOIN devices d ON upper(d.meid) = i.key WHERE i.kind = 'MEID'
    UNION ALL
    SELECT i.line, d.id, 1, false FROM input i
        JOIN devices d ON d.serial = i.key
            AND lower(d.model) = lower(i.model) AND lower(d.manufacturer) = lower(i.manufacturer)
        WHERE i.kind = 'SN'
),
best AS (
    SELECT m.line, m.second, d.id AS device_id, d.manufacturer AS d_manufacturer,
           d.customer_id AS d_customer, d.reseller_id AS d_reseller,
           d.configuration_id AS d_config, d.kme AS d_kme
    FROM matches m JOIN devices d ON d.id = m.id
    QUALIFY row_number() OVER (PARTITION BY m.line ORDER BY m.pri, d.id) = 1
),
joined AS (
    SELECT i.*, b.* EXCLUDE (line),
           b.device_id IS NOT NULL
               AND lower(b.d_manufacturer) <> lower(i.manufacturer) AS mismatch_raw
    FROM input i LEFT JOIN best b ON b.line = i.line
)
"""

# Per-actor decision, in two steps: FACTS computes what needs a subquery (DuckDB cannot reuse
# such an alias in the same SELECT), DECIDE decides. Every DECIDE yields: line, device_id,
# target, default_config, the FLAG_CODES booleans but dup_*, and action.
_CUSTOMER_FACTS = """
    SELECT j.*, NULL::BIGINT AS default_config,
           (device_id IS NULL OR d_customer IS DISTINCT FROM $account) AS not_found,
           ($mode = 'profileid' AND target NOT IN
                (SELECT id FROM configurations WHERE customer_id = $account)) AS no_config,
           false AS no_customer
    FROM joined j
"""
_CUSTOMER_DECIDE = """
    SELECT line, device_id, target, default_config, not_found,
           (NOT not_found AND mismatch_raw) AS mismatch, no_config, no_customer,
           false AS elsewhere,
           (NOT not_found AND coalesce(second, false)) AS second,
           (NOT not_found AND coalesce(d_kme, false)) AS kme,
           CASE WHEN not_found OR mismatch OR no_config THEN 'reject'
                WHEN $mode = 'owner' THEN 'unclaim'
                WHEN d_config IS NOT DISTINCT FROM target THEN 'unchanged'
                ELSE 'apply' END AS action
    FROM facts
"""
_RESELLER_FACTS = """
    SELECT j.*,
           (SELECT max(id) FROM configurations c WHERE c.customer_id = j.target AND c.is_default)
               AS default_config,
           (target = 0 AND (device_id IS NULL OR d_reseller IS DISTINCT FROM $account))
               AS not_found,
           false AS no_config,
           (target > 0 AND NOT EXISTS (SELECT 1 FROM customer_resellers l
                WHERE l.customer_id = j.target AND l.reseller_id = $account AND l.enabled))
               AS no_customer
    FROM joined j
"""
_RESELLER_DECIDE = """
    SELECT line, device_id, target, default_config, not_found,
           (NOT not_found AND device_id IS NOT NULL AND mismatch_raw) AS mismatch,
           no_config, no_customer,
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


_FINISH = """
live AS (  -- SPEC section 4 on resolved devices, among rows that would change something
    SELECT line, count(*) OVER w AS n, min(target) OVER w AS tmin, max(target) OVER w AS tmax,
           min(line) OVER w AS first_line
    FROM decided WHERE action <> 'reject' AND device_id IS NOT NULL
    WINDOW w AS (PARTITION BY device_id)
),
flagged AS (
    SELECT d.*,
           coalesce(l.n > 1 AND l.tmin <> l.tmax, false) AS dup_conflict,
           coalesce(l.n > 1 AND l.tmin = l.tmax AND d.line <> l.first_line, false) AS dup_row
    FROM decided d LEFT JOIN live l USING (line)
)
SELECT f.* REPLACE (
           CASE WHEN f.dup_conflict THEN 'reject' WHEN f.dup_row THEN 'skip'
                ELSE f.action END AS action,
           -- New devices get their id now, from the registry's sequence, so a resumed job
           -- creates exactly the same devices.
           CASE WHEN f.action = 'create' THEN nextval('device_ids')
                ELSE f.device_id END AS device_id),
       i.kind, i.key, i.model, i.manufacturer,
       (row_number() OVER (ORDER BY f.line) - 1) // $batch_rows AS batch
FROM flagged f JOIN input i USING (line)
ORDER BY f.line
"""


def make_plan(reg: Registry, who: Who, input_path: Path, out: Path, batch_rows: int) -> list[int]:
    """Resolve every row of `input_path` into the plan at `out` (sorted by line, in batches of
    `batch_rows`); return the row count of each batch. The plan goes from DuckDB straight to
    Parquet: no per-row Python, and memory stays within DuckDB's limit at any file size."""
    customer = who.actor is Actor.CUSTOMER
    facts = _CUSTOMER_FACTS if customer else _RESELLER_FACTS
    decide = _CUSTOMER_DECIDE if customer else _RESELLER_DECIDE
    sql = (
        f"WITH input AS (SELECT * FROM read_parquet($input)), {_MATCHES}, "
        f"facts AS ({facts}), decided AS ({decide}), {_FINISH}"
    )
    params: dict[str, object] = {
        "input": str(input_path),
        "account": who.account_id,
        "batch_rows": batch_rows,
    }
    if customer:
        params["mode"] = who.mode.value
    reg.con.sql(sql, params=params).write_parquet(str(out))
    counts = reg.con.sql(
        "SELECT batch, count(*) FROM read_parquet($plan) GROUP BY batch ORDER BY batch",
        params={"plan": str(out)},
    ).fetchall()
    return [int(n) for _, n in counts]
