"""Duplicates say which line they repeat (issue 13, item 3), and a repeat of a line that the
registry then rejected says so: the device was not updated by this file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ztbulk import check
from ztbulk.jobs import import_file
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, Seeded, seed

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalog_test.csv"
IMEI_A, IMEI_B = "356938035643809", "490154203237518"


def outcomes(out: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = pl.read_parquet(out / "outcomes.parquet").to_dicts()
    return rows


def test_a_repeat_names_the_first_line_and_a_conflict_every_other_line(tmp_path: Path) -> None:
    rows = [
        f"IMEI,{IMEI_A},,SM-A155M,Samsung,ZERO_TOUCH,101",  # line 2: goes on
        f"IMEI,{IMEI_A},,SM-A155M,Samsung,ZERO_TOUCH,101",  # line 3: repeats line 2
        f"IMEI,{IMEI_B},,SM-A155M,Samsung,ZERO_TOUCH,101",  # line 4: conflicts with 5, 6
        f"IMEI,{IMEI_B},,SM-A155M,Samsung,ZERO_TOUCH,102",  # line 5
        f"IMEI,{IMEI_B},,SM-A155M,Samsung,ZERO_TOUCH,103",  # line 6
        f"IMEI,{IMEI_A},,SM-A155M,Samsung,ZERO_TOUCH,101",  # line 7: repeats line 2
    ]
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    check(src, catalog=CATALOG, out_dir=tmp_path / "out")
    got = {int(str(r["line"])): r for r in outcomes(tmp_path / "out")}
    assert got[2]["outcome"] == "valid"
    for line in (3, 7):
        assert got[line]["codes"] == ["DUPLICATE_ROW"]
        assert "is on line 2;" in str(got[line]["message"])
    assert "lines 5, 6 with another target" in str(got[4]["message"])
    assert "lines 4, 6 with another target" in str(got[5]["message"])
    errors = pl.read_csv(tmp_path / "out" / "errors.csv", infer_schema=False)
    assert errors["ztbulk_line"].to_list() == ["3", "4", "5", "6", "7"]
    assert errors["modemid"].to_list()[0] == IMEI_A  # the duplicate's own values


def test_a_device_repeated_many_times_names_a_few_lines_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    rows = [f"IMEI,{IMEI_B},,SM-A155M,Samsung,ZERO_TOUCH,{100 + i}" for i in range(9)]
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    check(src, catalog=CATALOG, out_dir=tmp_path / "out")
    first = outcomes(tmp_path / "out")[0]
    assert first["message"] == (
        "The same device is on lines 3, 4, 5, 6, 7 and 3 more with another target."
    )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Seeded]:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        return db, seed(reg, 20, other_devices=0)


def test_a_repeat_of_a_line_the_registry_rejected_says_the_device_was_not_updated(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    with Registry.open(db) as reg:
        d = (
            reg.con.sql(
                f"SELECT imei, manufacturer FROM devices WHERE customer_id = {s.customer_id} "
                "AND imei IS NOT NULL ORDER BY id LIMIT 1"
            )
            .pl()
            .row(0, named=True)
        )
    wrong = "Zebra" if d["manufacturer"] != "Zebra" else "Google"
    target = s.configuration_ids[1]
    rows = [
        f"IMEI,{d['imei']},,,{wrong},ZERO_TOUCH,{target}",  # line 2: MANUFACTURER_MISMATCH
        f"IMEI,{d['imei']},,,{d['manufacturer']},ZERO_TOUCH,{target}",  # line 3: its repeat
    ]
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                out_dir=tmp_path / "out")  # fmt: skip
    first, repeat = outcomes(tmp_path / "out")
    assert first["codes"] == ["MANUFACTURER_MISMATCH"] and first["outcome"] == "rejected"
    assert repeat["outcome"] == "skipped" and repeat["codes"] == ["DUPLICATE_ROW"]
    message = str(repeat["message"])
    assert "Line 2, which this row repeats, was rejected (MANUFACTURER_MISMATCH)" in message
    assert "not updated" in message
