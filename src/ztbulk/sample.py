"""Deterministic zero-touch CSVs with realistic defects, for the demo, tests and benchmarks.

Rows are built as Polars columns (pseudo-random numbers come from hashing the row index with a
seed), so ten million rows take seconds. Each defect kind hits about `defect_rate` of the rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ztbulk.validate.catalog import Catalog

HEADER = ["modemtype", "modemid", "serial", "model", "manufacturer", "profiletype", "profileid"]

# Defect kinds, in the order their buckets are laid out (each takes `defect_rate` of rows).
DEFECTS = (
    "imei_checksum",
    "imei_scientific",
    "imei_short",
    "modemtype_case",
    "modemtype_invalid",
    "manufacturer_unknown",
    "model_unknown",
    "manufacturer_blank",
    "profiletype_case",
    "profileid_invalid",
    "serial_space",
    "duplicate",
    "conflict",
    "malformed",
    "quoted",
    "blank_line",
)


@dataclass(frozen=True)
class SampleSpec:
    rows: int
    seed: int = 7
    defect_rate: float = 0.01
    profile_ids: tuple[int, ...] = (101, 102, 103)


def read_tacs(path: Path, limit: int = 5000) -> list[str]:
    """8-digit TACs from a TAC list whose first column is `tac` (Osmocom or Samsung format)."""
    tacs: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.reader(f):
            tac = row[0].strip() if row else ""
            if len(tac) == 8 and tac.isdigit():
                tacs.append(tac)
            if len(tacs) >= limit:
                break
    return tacs


def rand(seed: int, salt: int) -> pl.Expr:
    """A pseudo-random UInt64 per row of a frame with a row-number column `i`."""
    return pl.col("i").hash(seed * 1_000_003 + salt)


def pick(values: list[str], seed: int, salt: int) -> pl.Expr:
    """A pseudo-random element of `values` per row."""
    series = pl.Series(values, dtype=pl.String)
    return pl.lit(series).implode().list.get((rand(seed, salt) % len(values)).cast(pl.Int64))


def luhn_check_digit(body14: pl.Expr) -> pl.Expr:
    """The check digit completing a 14-digit IMEI body."""
    number = body14.cast(pl.UInt64)
    total: pl.Expr = pl.lit(0, pl.UInt64)
    for k in range(14):  # k = 0 is the rightmost body digit; it is doubled in a 15-digit IMEI
        d = (number // 10**k) % 10
        if k % 2 == 0:
            d = d * 2 - pl.when(d >= 5).then(9).otherwise(0)
        total = total + d
    return ((10 - total % 10) % 10).cast(pl.String)


def _defect_kind(spec: SampleSpec) -> pl.Expr:
    """Per row: the index in DEFECTS of its defect, or -1 (each kind hits ~defect_rate)."""
    bucket = (rand(spec.seed, 1) % 10_000).cast(pl.Float64) / 10_000 / spec.defect_rate
    return pl.when(bucket < len(DEFECTS)).then(bucket.floor().cast(pl.Int32)).otherwise(-1)


def generate(spec: SampleSpec, out: Path, catalog: Catalog, tacs: list[str] | None = None) -> Path:
    """Write `spec.rows` data lines (blank-line defects included) under a header to `out`."""
    s = spec.seed
    pairs = catalog.pairs.filter(pl.col("model").is_not_null())
    makers = pairs["manufacturer"].to_list()
    models = pairs["model"].to_list()
    tac_list = tacs or [f"35{i:06d}" for i in range(0, 1_000_000, 997)]
    pair_ix = (rand(s, 2) % len(models)).cast(pl.Int64)
    body = pick(tac_list, s, 3) + (rand(s, 4) % 1_000_000).cast(pl.String).str.zfill(6)
    rows = pl.int_range(0, spec.rows, dtype=pl.UInt64, eager=True).to_frame("i")
    frame = rows.select(
        "i",
        kind=_defect_kind(spec),
        ident=(rand(s, 5) % 100).alias("ident"),
        model=pl.lit(pl.Series(models)).implode().list.get(pair_ix),
        manufacturer=pl.lit(pl.Series(makers)).implode().list.get(pair_ix),
        imei=body + luhn_check_digit(body),
        meid=(rand(s, 6) % (1 << 56)).cast(pl.String).str.zfill(14).str.slice(0, 14),
        serial=pl.lit("SN") + (rand(s, 7) % 10**10).cast(pl.String),
        profileid=pick([str(p) for p in spec.profile_ids], s, 8),
    )
    return _write(frame, out)


def from_devices(devices: pl.DataFrame, spec: SampleSpec, out: Path) -> Path:
    """Rows naming registered devices (columns imei, meid, serial, model, manufacturer), with the
    same defects, plus ~1% unknown devices and ~1% unknown configuration ids for an import."""
    s = spec.seed
    picked = devices.sample(n=spec.rows, with_replacement=spec.rows > devices.height, seed=s)
    unknown = pl.lit("3599") + (pl.col("i") % 10**10).cast(pl.String).str.zfill(10)
    frame = picked.with_row_index("i").with_columns(pl.col("i").cast(pl.UInt64))
    frame = frame.select(
        "i",
        kind=_defect_kind(spec),
        ident=pl.when(pl.col("imei").is_not_null())
        .then(0)
        .when(pl.col("meid").is_not_null())
        .then(80)
        .otherwise(90),
        model="model",
        manufacturer="manufacturer",
        imei=pl.when(rand(s, 9) % 100 == 0)
        .then(unknown + luhn_check_digit(unknown))
        .otherwise(pl.col("imei").fill_null("")),
        meid=pl.col("meid").fill_null(""),
        serial=pl.col("serial").fill_null(""),
        profileid=pl.when(rand(s, 10) % 100 == 0)
        .then(pl.lit("424242"))
        .otherwise(pick([str(p) for p in spec.profile_ids], s, 8)),
    )
    return _write(frame, out)


def _write(frame: pl.DataFrame, out: Path) -> Path:
    frame = frame.with_columns(_defect_columns())
    lines = frame.select(_line(frame.columns)).to_series()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        f.write(",".join(HEADER) + "\n")
        pl.DataFrame({"line": lines}).write_csv(f, include_header=False, quote_style="never")
    return out


def _is(kind: str) -> pl.Expr:
    return pl.col("kind") == DEFECTS.index(kind)


def _defect_columns() -> list[pl.Expr]:
    ident = pl.col("ident")
    imei_row, meid_row = ident < 75, (ident >= 75) & (ident < 85)
    modemtype = pl.when(imei_row).then(pl.lit("IMEI")).when(meid_row).then(pl.lit("MEID"))
    modemid = pl.when(imei_row).then(pl.col("imei")).when(meid_row).then(pl.col("meid"))
    serial = pl.when(~imei_row & ~meid_row).then(pl.col("serial"))
    model = pl.when(~imei_row & ~meid_row | (ident % 3 == 0)).then(pl.col("model"))
    bad_digit = ((pl.col("imei").str.slice(14, 1).cast(pl.Int32) + 1) % 10).cast(pl.String)
    shift = pl.col("i").cast(pl.Int64) - 1000  # duplicates repeat a row 1000 lines earlier
    return [
        pl.when(_is("modemtype_case") & imei_row)
        .then(pl.lit("imei"))
        .when(_is("modemtype_invalid") & imei_row)
        .then(pl.lit("IMEIS"))
        .otherwise(modemtype)
        .alias("modemtype"),
        pl.when(_is("imei_checksum") & imei_row)
        .then(pl.col("imei").str.slice(0, 14) + bad_digit)
        .when(_is("imei_scientific") & imei_row)
        .then(pl.col("imei").str.slice(0, 1) + "." + pl.col("imei").str.slice(1, 5) + "E+14")
        .when(_is("imei_short") & imei_row)
        .then(pl.col("imei").str.slice(0, 14))
        .when((_is("duplicate") | _is("conflict")) & imei_row & (shift >= 0))
        .then(pl.col("imei").shift(1000))
        .otherwise(modemid)
        .alias("modemid"),
        pl.when(_is("serial_space")).then(pl.lit("SN 1")).otherwise(serial).alias("serial"),
        *_value_defects(imei_row, model, shift),
    ]


def _value_defects(imei_row: pl.Expr, model: pl.Expr, shift: pl.Expr) -> list[pl.Expr]:
    """The defects of model, manufacturer, profiletype and profileid."""
    return [
        pl.when(_is("model_unknown"))
        .then(pl.lit("Phone 3000"))
        .when(_is("quoted"))
        .then(pl.col("model") + pl.lit(', rev. "B"'))
        .otherwise(model)
        .alias("model_out"),
        pl.when(_is("manufacturer_unknown"))
        .then(pl.lit("Acme Phones"))
        .when(_is("manufacturer_blank"))
        .then(pl.lit(""))
        .when((_is("duplicate") | _is("conflict")) & imei_row & (shift >= 0))
        .then(pl.col("manufacturer").shift(1000))
        .otherwise(pl.col("manufacturer"))
        .alias("manufacturer_out"),
        pl.when(_is("profiletype_case"))
        .then(pl.lit("zero_touch"))
        .otherwise(pl.lit("ZERO_TOUCH"))
        .alias("profiletype"),
        pl.when(_is("profileid_invalid"))
        .then(pl.lit("abc"))
        .when(_is("conflict"))
        .then(pl.lit("999"))
        .when(_is("duplicate") & (shift >= 0))
        .then(pl.col("profileid").shift(1000))
        .otherwise(pl.col("profileid"))
        .alias("profileid_out"),
    ]


def _quoted(field: pl.Expr) -> pl.Expr:
    """RFC 4180 quoting where needed (real model names hold commas and inch marks)."""
    escaped = pl.lit('"') + field.str.replace_all('"', '""', literal=True) + pl.lit('"')
    return pl.when(field.str.contains('[",]')).then(escaped).otherwise(field)


def _line(columns: list[str]) -> pl.Expr:
    fields = [
        _quoted(pl.col(c).fill_null(""))
        for c in (
            "modemtype",
            "modemid",
            "serial",
            "model_out",
            "manufacturer_out",
            "profiletype",
            "profileid_out",
        )
    ]
    line = pl.concat_str(fields, separator=",")
    return (
        pl.when(_is("malformed"))
        .then(line + ",extra")
        .when(_is("blank_line"))
        .then(pl.lit(""))
        .otherwise(line)
        .alias("line")
    )
