"""Every row code of SPEC sections 3 and 4: a row that triggers it and a near miss that does not.

Each case is checked end to end through `check` (parse, validate, duplicates, outputs), with
the test catalogue. A near miss must not get the code; most near misses are fully valid, and
where they are not, the test states the code they get instead.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from tests.conftest import IMEI_OK, csv_text, run_check
from ztbulk import ingest
from ztbulk.codes import Category, Code
from ztbulk.codes import Code as C  # noqa: N817 - keeps the table one case per line
from ztbulk.parse import ParseConfig
from ztbulk.validate.duplicates import DuplicateFinder

OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"
BASE = f"IMEI,{IMEI_OK},,SM-A155M,Samsung,ZERO_TOUCH,101"


def row(
    modemtype: str = "IMEI",
    modemid: str = IMEI_OK,
    serial: str = "",
    model: str = "SM-A155M",
    manufacturer: str = "Samsung",
    profiletype: str = "ZERO_TOUCH",
    target: str = "101",
) -> str:
    return ",".join([modemtype, modemid, serial, model, manufacturer, profiletype, target])


def of_length(n: int) -> str:
    """A row of exactly n bytes (its model padded), for the record byte limit."""
    short = row(model="")
    return row(model="M" * (n - len(short)))


LIMIT = ParseConfig().max_record_bytes

# (code, trigger row, near-miss row, codes the near miss gets): profileid files of a customer
# fmt: off
CASES: list[tuple[Code, str, str, list[str]]] = [
    (C.ROW_MALFORMED, BASE + ",extra", row(model='"SM-A155M"'), []),
    (C.ROW_MALFORMED, row(model='"SM-A155M"x'), row(model='"SM,A155M"'), ["MODEL_UNKNOWN"]),
    (C.ROW_TOO_LONG, of_length(LIMIT + 1), of_length(LIMIT), ["MODEL_UNKNOWN"]),
    (C.IDENTIFIER_MISSING, row("", "", ""), row("", "", "SN1"), []),
    (C.MODEMTYPE_MISSING, row(""), BASE, []),
    (C.MODEMID_MISSING, row(modemid=""), BASE, []),
    (C.MODEMTYPE_CASE, row("imei"), BASE, []),
    (C.MODEMTYPE_INVALID, row("IMEIS"), row("Imei"), ["MODEMTYPE_CASE"]),
    (C.IMEI_SCIENTIFIC, row(modemid="3.56938E+14"), row(modemid="3.56938E+1X"), ["IMEI_FORMAT"]),
    (C.IMEI_SCIENTIFIC, row(modemid='"3,56938E+14"'), row(modemid='"3,56938"'), ["IMEI_FORMAT"]),
    (C.IMEI_FORMAT, row(modemid=IMEI_OK[:14]), BASE, []),
    (C.IMEI_FORMAT, row(modemid="35693803564380９"), row(modemid=f" {IMEI_OK}\t"), []),
    (C.IMEI_CHECKSUM, row(modemid="356938035643810"), row(modemid="123456789012347"), []),
    (C.MEID_FORMAT, row("MEID", "A100000000000G"), row("MEID", "a10000009296f2"), []),
    (C.MODEL_MISSING, row("", "", "SN1", model=""), row("", "", "SN1"), []),
    (C.SERIAL_FORMAT, row("", "", "SN 1"), row("", "", "ABcd1235678", "VM1A", "Honeywell"), []),
    (C.SERIAL_FORMAT, row("", "", "S" * 65), row("", "", "S" * 64), []),
    (C.MANUFACTURER_MISSING, row(manufacturer=""), BASE, []),
    (C.MANUFACTURER_UNKNOWN, row(manufacturer="Acme"), row(manufacturer="samsung"), []),
    (C.MODEL_UNKNOWN, row(model="SM-X000"), row(model="sm-a155m"), []),
    (C.MODEL_UNKNOWN, row(model="SM-X000"), row(model="SM-X000", manufacturer="Acme"),
     ["MANUFACTURER_UNKNOWN"]),
    (C.PROFILETYPE_MISSING, row(profiletype=""), BASE, []),
    (C.PROFILETYPE_CASE, row(profiletype="zero_touch"), BASE, []),
    (C.PROFILETYPE_INVALID, row(profiletype="KNOX"), row(profiletype="Zero_Touch"),
     ["PROFILETYPE_CASE"]),
    (C.PROFILEID_MISSING, row(target=""), BASE, []),
    (C.PROFILEID_INVALID, row(target="0"), row(target="123456789012345678"), []),
    (C.PROFILEID_INVALID, row(target="1234567890123456789"), row(target="007"), []),
    (C.PROFILEID_INVALID, row(target="-5"), row(target="5"), []),
]

# The same for owner files, with the acting actor.
OWNER_CASES: list[tuple[Code, str, str, list[str], str]] = [
    (C.OWNER_MISSING, row(target=""), row(target="0"), [], "customer"),
    (C.OWNER_INVALID, row(target="123"), row(target="0"), [], "customer"),
    (C.OWNER_INVALID, row(target="abc"), row(target="123456789012"), [], "reseller"),
]
# fmt: on


def check_pair(
    tmp_path: Path,
    code: Code,
    trigger: str,
    near: str,
    near_codes: list[str],
    text: str,
    actor: str,
) -> None:
    result = run_check(tmp_path, text, actor=actor)
    assert code.value in result.codes(2), result.row(2)
    assert result.row(2)["outcome"] == "rejected"
    assert code.value not in result.codes(3)
    assert result.codes(3) == near_codes, result.row(3)


@pytest.mark.parametrize(("code", "trigger", "near", "near_codes"), CASES)
def test_trigger_and_near_miss(
    tmp_path: Path, code: Code, trigger: str, near: str, near_codes: list[str]
) -> None:
    check_pair(tmp_path, code, trigger, near, near_codes, csv_text(trigger, near), "customer")


@pytest.mark.parametrize(("code", "trigger", "near", "near_codes", "actor"), OWNER_CASES)
def test_owner_mode_trigger_and_near_miss(
    tmp_path: Path, code: Code, trigger: str, near: str, near_codes: list[str], actor: str
) -> None:
    text = csv_text(trigger, near, header=OWNER_HEADER)
    check_pair(tmp_path, code, trigger, near, near_codes, text, actor)


def test_field_encoding_spoils_only_its_row(tmp_path: Path) -> None:
    data = csv_text(BASE, row(model="SM-A155M"), row(modemid="123456789012347")).encode()
    data = data.replace(
        b",SM-A155M,Samsung,ZERO_TOUCH,101\nIMEI", b",SM-\xff155M,Samsung,ZERO_TOUCH,101\nIMEI", 1
    )
    data += (
        row(manufacturer="Samsüng").encode()
        + b"\n"
        + b"IMEI,\x00,,SM-A155M,Samsung,ZERO_TOUCH,101\n"
    )
    result = run_check(tmp_path, data)
    assert result.codes(2) == ["FIELD_ENCODING"]
    assert result.codes(3) == []
    assert result.codes(4) == []
    assert result.codes(5) == ["MANUFACTURER_UNKNOWN"]  # valid UTF-8, just not a known name
    assert result.codes(6) == ["FIELD_ENCODING"]  # a NUL byte


def test_malformed_and_encoding_add_no_other_code(tmp_path: Path) -> None:
    result = run_check(tmp_path, csv_text("imei,1,x y,,,zero,abc,extra"))
    assert result.codes(2) == ["ROW_MALFORMED"]


def test_a_row_collects_every_code_in_catalogue_order(tmp_path: Path) -> None:
    result = run_check(tmp_path, csv_text("imei,3.5E+14,SN 1,,Acme,zero_touch,0"))
    assert result.codes(2) == [
        "MODEMTYPE_CASE",
        "IMEI_SCIENTIFIC",
        "MODEL_MISSING",
        "SERIAL_FORMAT",
        "MANUFACTURER_UNKNOWN",
        "PROFILETYPE_CASE",
        "PROFILEID_INVALID",
    ]
    order = [c.value for c in Code]
    assert result.codes(2) == sorted(result.codes(2), key=order.index)


def test_values_are_trimmed_before_checks(tmp_path: Path) -> None:
    result = run_check(
        tmp_path, csv_text(f" IMEI , {IMEI_OK}\t,, SM-A155M ,Samsung , ZERO_TOUCH , 101 ")
    )
    assert result.codes(2) == []
    assert result.row(2)["outcome"] == "valid"


@pytest.mark.parametrize(
    ("rows", "dup_line", "codes"),
    [
        # Same device, same target: the first goes on, each later one is skipped (an IMEI
        # row's identity is the IMEI alone, so another model spelling changes nothing).
        ([BASE, row(model="sm-a155m"), BASE], [3, 4], ["DUPLICATE_ROW"]),
        # profileid compared as numbers.
        ([BASE, row(target="0101")], [3], ["DUPLICATE_ROW"]),
        # MEID identity is case-insensitive.
        ([row("MEID", "A10000009296F2"), row("MEID", "a10000009296f2")], [3], ["DUPLICATE_ROW"]),
        # Serial identity: serial as written, model and manufacturer lower-cased.
        ([row("", "", "SN1"), row("", "", "SN1", "sm-a155m", "SAMSUNG")], [3], ["DUPLICATE_ROW"]),
    ],
)
def test_duplicate_row(
    tmp_path: Path, rows: list[str], dup_line: list[int], codes: list[str]
) -> None:
    result = run_check(tmp_path, csv_text(*rows))
    for line in range(2, 2 + len(rows)):
        if line in dup_line:
            assert result.codes(line) == codes
            assert result.row(line)["outcome"] == "skipped"
        else:
            assert result.row(line)["outcome"] == "valid"


def test_duplicate_near_misses(tmp_path: Path) -> None:
    rows = [
        row("", "", "SN1"),
        row("", "", "sn1"),  # serials are case-sensitive: another device
        row(modemid="123456789012347"),
        row(modemid="356938035643809"),
        row(modemid=IMEI_OK, manufacturer="Acme"),  # invalid rows are not duplicates
    ]
    result = run_check(tmp_path, csv_text(*rows))
    assert [result.row(n)["outcome"] for n in range(2, 6)] == ["valid"] * 4
    assert result.codes(6) == ["MANUFACTURER_UNKNOWN"]


def test_duplicate_conflict_rejects_every_occurrence(tmp_path: Path) -> None:
    result = run_check(
        tmp_path, csv_text(BASE, row(target="102"), BASE, row(modemid="123456789012347"))
    )
    for line in (2, 3, 4):
        assert result.codes(line) == ["DUPLICATE_CONFLICT"]
        assert result.row(line)["outcome"] == "rejected"
    assert result.row(5)["outcome"] == "valid"


def test_duplicates_across_batches_and_partitions(tmp_path: Path) -> None:
    """Section 4 holds across the whole file, not one batch: tiny chunks force many batches."""
    rows = [
        row(modemid=IMEI_OK if i % 50 == 0 else "123456789012347", target=str(100 + (i % 50 == 0)))
        for i in range(400)
    ]
    rows.append(row(modemid=IMEI_OK, target="101"))
    result = run_check(tmp_path, csv_text(*rows), chunk_bytes=512)
    first_other = 3  # line of the first 123456789012347 row
    assert result.row(first_other)["outcome"] == "valid"
    skipped = result.outcomes.filter(result.outcomes["outcome"] == "skipped").height
    imei_ok_rows, other_rows = 8 + 1, 392  # IMEI_OK on every 50th row and the last line
    assert skipped == (imei_ok_rows - 1) + (other_rows - 1)
    assert result.row(2)["outcome"] == "valid"  # IMEI_OK, target 101, first
    assert result.codes(402) == ["DUPLICATE_ROW"]


def test_duplicates_do_not_depend_on_the_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `rows_per_partition` valid rows, the duplicate pass works one hash partition at a
    time: with 7 rows a partition (dozens of partitions), the outcomes are those of one."""
    others = ["123456789012347", "490154203237518"]  # each always with one target: repeats
    rows = [  # IMEI_OK with two targets: conflicts
        row(modemid=IMEI_OK if i % 7 == 0 else others[i % 2], target=str(100 + i % 2))
        for i in range(300)
    ]
    one = run_check(tmp_path, csv_text(*rows), name="one.csv")
    monkeypatch.setattr(ingest, "DuplicateFinder", partial(DuplicateFinder, rows_per_partition=7))
    many = run_check(tmp_path, csv_text(*rows), name="many.csv")
    outcomes = set(one.outcomes["outcome"])
    assert {"skipped", "rejected"} <= outcomes and one.outcomes.equals(many.outcomes)


def test_every_row_code_is_covered() -> None:
    covered = (
        {case[0] for case in CASES}
        | {case[0] for case in OWNER_CASES}
        | {
            Code.FIELD_ENCODING,
            Code.DUPLICATE_ROW,
            Code.DUPLICATE_CONFLICT,
        }
    )
    row_codes = {c for c in Code if c.info.category in (Category.ROW, Category.DUPLICATE)}
    assert row_codes <= covered, row_codes - covered
