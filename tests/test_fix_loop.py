"""The loop a user lives in (issue 13, item 1): check, fix errors.csv, check it again. ztbulk's
own columns are dropped when errors.csv is written again (they are ignored on the way in), and
a ROW_MALFORMED row keeps every cell it had."""

from __future__ import annotations

import csv
from pathlib import Path

from ztbulk import check

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalog_test.csv"
HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"


def read_errors(out: Path) -> list[list[str]]:
    with (out / "errors.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_three_rounds_of_errors_csv_hold_one_set_of_ztbulk_columns(tmp_path: Path) -> None:
    rows = ["imei,356938035643809,,SM-A155M,Samsung,ZERO_TOUCH,101"]  # MODEMTYPE_CASE
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    for n in range(3):
        out = tmp_path / f"round-{n}"
        check(src, catalog=CATALOG, out_dir=out)
        header, *body = read_errors(out)
        assert header == [*HEADER.split(","), "ztbulk_line", "ztbulk_outcome", "ztbulk_codes",
                          "ztbulk_message"]  # fmt: skip
        assert [r[9] for r in body] == ["MODEMTYPE_CASE"]  # this round's codes, not stale ones
        src = out / "errors.csv"


def test_a_malformed_row_keeps_every_cell_in_errors_csv(tmp_path: Path) -> None:
    rows = [
        "IMEI,356938035643809,,SM-A155M,Samsung,ZERO_TOUCH,101,extra,cells",  # too many
        "IMEI,356938035643809,,SM-A155M",  # too few: the missing cells are blank
    ]
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    check(src, catalog=CATALOG, out_dir=tmp_path / "out")
    _, long, short = read_errors(tmp_path / "out")
    assert long[:7] == ["IMEI", "356938035643809", "", "SM-A155M", "Samsung", "ZERO_TOUCH",
                        "101,extra,cells"]  # fmt: skip
    assert long[9] == short[9] == "ROW_MALFORMED"
    assert short[:7] == ["IMEI", "356938035643809", "", "SM-A155M", "", "", ""]
