"""The comparison baseline: a plain per-row validator (csv + pydantic + python-stdnum).

This is how such a tool is usually first written: read rows with the csv module, validate each
with a pydantic model, find duplicates with a dict, write the failures. It applies the same
SPEC section 3 and 4 rules as ztbulk (so the comparison is like for like), one Python object
per row. It is a benchmark baseline only, not part of ztbulk.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from pydantic import BaseModel, ValidationInfo, field_validator
from stdnum import luhn

SCIENTIFIC = re.compile(r"^[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+$")
SERIAL = re.compile(r"^[!-~]{1,64}$")
HEX14 = re.compile(r"^[0-9A-Fa-f]{14}$")


class DeviceRow(BaseModel):
    modemtype: str = ""
    modemid: str = ""
    serial: str = ""
    model: str = ""
    manufacturer: str = ""
    profiletype: str = ""
    profileid: str = ""

    @field_validator("*", mode="before")
    @classmethod
    def trim(cls, value: object) -> str:
        return str(value or "").strip(" \t")

    @field_validator("modemid")
    @classmethod
    def imei_format(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("modemtype", "").upper()
        if kind == "IMEI" and value:
            if SCIENTIFIC.match(value):
                raise ValueError("IMEI_SCIENTIFIC")
            if not (len(value) == 15 and value.isascii() and value.isdigit()):
                raise ValueError("IMEI_FORMAT")
            if not luhn.is_valid(value):
                raise ValueError("IMEI_CHECKSUM")
        if kind == "MEID" and value and not HEX14.match(value):
            raise ValueError("MEID_FORMAT")
        return value


def codes_of(  # noqa: PLR0912 - one branch per SPEC rule, as a plain validator reads
    row: DeviceRow | None, raw: dict[str, str], catalog: dict[str, set[str]]
) -> list[str]:
    """The remaining section 3 rules, which need several fields or the catalogue."""
    values = row.model_dump() if row else {k: (v or "").strip(" \t") for k, v in raw.items()}
    codes = []
    mt, mid, serial = values["modemtype"], values["modemid"], values["serial"]
    if not (mt or mid or serial):
        codes.append("IDENTIFIER_MISSING")
    if mid and not mt:
        codes.append("MODEMTYPE_MISSING")
    if mt and not mid:
        codes.append("MODEMID_MISSING")
    if mt.upper() in ("IMEI", "MEID") and mt not in ("IMEI", "MEID"):
        codes.append("MODEMTYPE_CASE")
    if mt and mt.upper() not in ("IMEI", "MEID"):
        codes.append("MODEMTYPE_INVALID")
    if serial and not values["model"]:
        codes.append("MODEL_MISSING")
    if serial and not SERIAL.match(serial):
        codes.append("SERIAL_FORMAT")
    maker = values["manufacturer"].lower()
    if not maker:
        codes.append("MANUFACTURER_MISSING")
    elif maker not in catalog:
        codes.append("MANUFACTURER_UNKNOWN")
    elif values["model"] and values["model"].lower() not in catalog[maker]:
        codes.append("MODEL_UNKNOWN")
    pt = values["profiletype"]
    if not pt:
        codes.append("PROFILETYPE_MISSING")
    elif pt.upper() == "ZERO_TOUCH" and pt != "ZERO_TOUCH":
        codes.append("PROFILETYPE_CASE")
    elif pt.upper() != "ZERO_TOUCH":
        codes.append("PROFILETYPE_INVALID")
    pid = values["profileid"]
    if not pid:
        codes.append("PROFILEID_MISSING")
    elif not (pid.isascii() and pid.isdigit() and len(pid) <= 18 and int(pid) > 0):
        codes.append("PROFILEID_INVALID")
    return codes


def validate_file(path: Path, catalog_csv: Path, out: Path) -> dict[str, int]:
    """Validate every row; write failing rows to `out`; return counts per outcome."""
    catalog: dict[str, set[str]] = {}
    with catalog_csv.open(encoding="utf-8-sig", newline="") as f:
        for entry in csv.DictReader(f):
            catalog.setdefault(entry["manufacturer"].strip().lower(), set()).add(
                (entry["model"] or "").strip().lower()
            )
    counts = {"valid": 0, "rejected": 0, "skipped": 0}
    first: dict[tuple[str, str], str] = {}
    with path.open(encoding="utf-8", newline="", errors="replace") as f, out.open("w") as o:
        reader, writer = csv.reader(f), csv.writer(o)
        names: list[str] = [n.strip().lower().replace("_", "") for n in next(reader)]
        for rec in reader:
            if not any(v.strip(" \t") for v in rec):
                continue
            line = reader.line_num
            if len(rec) != len(names):
                counts["rejected"] += 1
                writer.writerow([*rec, line, "ROW_MALFORMED"])
                continue
            raw = dict(zip(names, rec, strict=True))
            try:
                row: DeviceRow | None = DeviceRow(**raw)
                codes: list[str] = []
            except ValueError as exc:  # pydantic's ValidationError
                errors = exc.errors()  # type: ignore[attr-defined]
                row, codes = None, [e["msg"].removeprefix("Value error, ") for e in errors]
            codes += codes_of(row, raw, catalog)
            if not codes and row is not None:
                key = (row.modemtype.upper(), row.modemid.upper() or row.serial)
                if key in first:  # (the first of a conflicting pair is not revisited here)
                    same = int(first[key]) == int(row.profileid)
                    codes = ["DUPLICATE_ROW" if same else "DUPLICATE_CONFLICT"]
                else:
                    first[key] = row.profileid
            if codes:
                outcome = "skipped" if codes == ["DUPLICATE_ROW"] else "rejected"
                counts[outcome] += 1
                writer.writerow([*rec, line, ";".join(codes)])
            else:
                counts["valid"] += 1
    return counts
