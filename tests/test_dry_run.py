"""`import --dry-run` (issue 13, item 2): resolved and planned against the registry, the same
reports with the outcomes the rows would get, and nothing changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from ztbulk.cli import main
from ztbulk.jobs import import_file
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, RESELLER_OWNER, Seeded, seed

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Seeded]:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        return db, seed(reg, 60, other_devices=10)


def snapshot(db: Path) -> tuple[pl.DataFrame, int]:
    """Every device, and where the device id sequence stands."""
    with Registry.open(db) as reg:
        frame: pl.DataFrame = reg.con.sql("SELECT * FROM devices ORDER BY id").pl()
        seq = reg.one("SELECT currval('device_ids')")
    return frame, int(seq[0]) if seq else 0


def devices(db: Path, where: str) -> list[dict[str, object]]:
    with Registry.open(db) as reg:
        found: list[dict[str, object]] = (
            reg.con.sql(f"SELECT * FROM devices WHERE {where} ORDER BY id").pl().to_dicts()
        )
    return found


def row(d: dict[str, object], target: object, maker: object = None) -> str:
    return f"IMEI,{d['imei']},,,{maker or d['manufacturer']},ZERO_TOUCH,{target}"


def test_a_dry_run_shows_the_registry_codes_and_changes_nothing(
    tmp_path: Path, env: tuple[Path, Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    db, s = env
    mine = devices(db, f"customer_id = {s.customer_id} AND imei IS NOT NULL")
    theirs = devices(db, f"customer_id = {s.other_customer_id} AND imei IS NOT NULL")
    wrong_maker = "Zebra" if mine[2]["manufacturer"] != "Zebra" else "Google"
    rows = [
        row(mine[0], s.configuration_ids[2]),  # applied (or unchanged)
        row(theirs[0], s.configuration_ids[2]),  # DEVICE_NOT_FOUND: another account's
        row(mine[1], s.other_configuration_id),  # CONFIGURATION_NOT_FOUND
        row(mine[2], s.configuration_ids[1], wrong_maker),  # MANUFACTURER_MISMATCH
    ]
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    real = tmp_path / "real.duckdb"
    shutil.copy(db, real)
    before = snapshot(db)

    code = main(["import", str(src), "--as", f"customer:{s.customer_id}", "--user", OWNER,
                 "--db", str(db), "--out", str(tmp_path / "dry"), "--dry-run"])  # fmt: skip

    printed = capsys.readouterr().out
    assert code == 1 and "Dry run: nothing was changed" in printed
    after = snapshot(db)
    assert after[0].equals(before[0]) and after[1] == before[1]
    dry = pl.read_parquet(tmp_path / "dry" / "outcomes.parquet")
    assert dry["codes"].to_list()[1:] == [
        ["DEVICE_NOT_FOUND"], ["CONFIGURATION_NOT_FOUND"], ["MANUFACTURER_MISMATCH"],
    ]  # fmt: skip
    assert json.loads((tmp_path / "dry" / "report.json").read_text())["dry_run"] is True
    # The real import of the same file gets exactly the outcomes the dry run said.
    done = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=real,
                       out_dir=tmp_path / "real")  # fmt: skip
    assert done.report is not None and not done.report.dry_run
    assert pl.read_parquet(tmp_path / "real" / "outcomes.parquet").equals(dry)


def test_a_reseller_dry_run_shows_claims_and_unclaims_without_taking_ids(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    held = devices(db, f"customer_id = {s.customer_id} AND imei IS NOT NULL")[:2]
    rows = [
        f"IMEI,490154203237518,,SM-A155M,Samsung,ZERO_TOUCH,{s.customer_id}",  # new: claimed
        row(held[0], 0),  # unclaimed: the reseller registered it
        f"IMEI,356938035643809,,SM-A155M,Samsung,ZERO_TOUCH,{s.other_customer_id}",  # no link
    ]
    src = tmp_path / "r.csv"
    src.write_text("\n".join([OWNER_HEADER, *rows]) + "\n", encoding="utf-8")
    before = snapshot(db)
    result = import_file(src, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER,
                         db=db, out_dir=tmp_path / "out", dry_run=True)  # fmt: skip
    got = pl.read_parquet(tmp_path / "out" / "outcomes.parquet")
    assert got["outcome"].to_list() == ["claimed", "unclaimed", "rejected"]
    assert got["codes"][2].to_list() == ["CUSTOMER_NOT_FOUND"]
    assert got["device_id"][0] is None  # no id was taken for the device it would create
    after = snapshot(db)
    assert after[0].equals(before[0]) and after[1] == before[1]
    assert result.report is not None and result.report.dry_run


def test_a_dry_run_does_not_wait_for_unfinished_jobs_nor_hold_them_up(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    mine = devices(db, f"customer_id = {s.customer_id} AND imei IS NOT NULL")[:3]
    src = tmp_path / "in.csv"
    src.write_text("\n".join([OWNER_HEADER, *(row(d, 0) for d in mine)]) + "\n", "utf-8")
    pending = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                          wait=False)  # fmt: skip
    dry = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                      dry_run=True)  # fmt: skip
    assert dry.report is not None and dry.report.outcomes == {"unclaimed": 3}
    assert pending.job_id != dry.job_id
