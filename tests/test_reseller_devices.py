"""A reseller sees the devices its account registered (#13 item 7): list, find and export them
(`device export` without `--customer`), in a file that imports again as is; and no command
points a reseller user at an option it does not have.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seeded_at
from ztbulk.cli import main
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, RESELLER_OWNER, Seeded

OTHER_RESELLER = "owner@second-reseller.example"


@pytest.fixture
def seeded(db: Path) -> Seeded:
    s = seeded_at(db, 40, 10)
    with Registry.open(db) as reg:
        # Some devices registered by nobody (an older import): a reseller must not see them.
        reg.con.execute("UPDATE devices SET reseller_id = NULL WHERE id % 10 = 0")
    return s


def run(db: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    code = main([*argv, "--db", str(db), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def _registered(db: Path, reseller: int, customer: int | None = None) -> list[int]:
    """The ids of the devices the reseller registered (for one customer, if given)."""
    with Registry.open(db) as reg:
        rows = reg.all(
            "SELECT id FROM devices WHERE reseller_id = ? AND coalesce(customer_id = ?, true) "
            "ORDER BY id",
            [reseller, customer],
        )
    return [int(str(r[0])) for r in rows]


def test_a_reseller_lists_and_finds_the_devices_it_registered(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = _registered(db, seeded.reseller_id)
    assert 0 < len(mine) < 50  # not every device: the unregistered ones are left out
    code, listed, _ = run(db, capsys, "device", "list", "--limit", "1000", "--as", RESELLER_OWNER)
    assert code == 0 and [d["id"] for d in listed] == mine
    assert not any(k.endswith("_n") for k in listed[0])  # no imei_n
    code, one, _ = run(db, capsys, "device", "list", "--customer", str(seeded.customer_id),
                       "--limit", "1000", "--as", RESELLER_OWNER)  # fmt: skip
    assert [d["id"] for d in one] == _registered(db, seeded.reseller_id, seeded.customer_id)
    with Registry.open(db) as reg:
        imei = reg.one("SELECT imei FROM devices WHERE id = ?", [mine[0]])
        theirs = reg.one("SELECT imei FROM devices WHERE reseller_id IS NULL AND imei IS NOT NULL")
    assert imei is not None and theirs is not None
    code, found, _ = run(db, capsys, "device", "find", str(imei[0]), "--as", RESELLER_OWNER)
    assert code == 0 and [d["id"] for d in found] == [mine[0]]
    code, found, _ = run(db, capsys, "device", "find", str(theirs[0]), "--as", RESELLER_OWNER)
    assert (code, found) == (1, [])  # another account's device: not found, exit 1


def test_a_reseller_export_imports_again_as_is(
    db: Path, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine.csv"
    code, done, err = run(db, capsys, "device", "export", "--customer", str(seeded.customer_id),
                          "--out", str(out), "--as", RESELLER_OWNER)  # fmt: skip
    assert code == 0, err
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert (
        len(rows) == done["devices"] == len(_registered(db, seeded.reseller_id, seeded.customer_id))
    )
    assert {r["owner"] for r in rows} == {str(seeded.customer_id)} and "profileid" not in rows[0]
    with Registry.open(db) as reg:
        before = reg.all("SELECT * FROM devices ORDER BY id")
    capsys.readouterr()
    code = main(["import", str(out), "--as", f"reseller:{seeded.reseller_id}", "--user",
                 RESELLER_OWNER, "--db", str(db), "--spool", str(tmp_path / "jobs"),
                 "--out", str(tmp_path / "again")])  # fmt: skip
    report = json.loads((tmp_path / "again" / "report.json").read_text(encoding="utf-8"))
    assert code == 0 and set(report["outcomes"]) <= {"unchanged", "claimed"}
    with Registry.open(db) as reg:
        after = reg.all("SELECT id, customer_id, reseller_id FROM devices ORDER BY id")
    assert after == [(r[0], r[7], r[8]) for r in before]  # the same devices, the same owners


def test_without_customer_a_reseller_exports_everything_it_registered(
    db: Path, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "all.csv"
    code, done, _ = run(db, capsys, "device", "export", "--out", str(out), "--as", RESELLER_OWNER)
    assert code == 0 and done["devices"] == len(_registered(db, seeded.reseller_id))
    assert main(["reseller", "add", "Second", "--owner", OTHER_RESELLER, "--db", str(db)]) == 0
    code, done, _ = run(db, capsys, "device", "export", "--out", str(tmp_path / "none.csv"),
                        "--as", OTHER_RESELLER)  # fmt: skip
    assert code == 0 and done["devices"] == 0


def test_customer_show_tells_a_reseller_what_it_can_do(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, answer, _ = run(db, capsys, "customer", "show", "--as", RESELLER_OWNER)
    said = answer["error"]["message"]  # --json: the error is JSON too
    assert code == 2 and "--customer" not in said and "only a customer's users may" in said
    code, shown, _ = run(db, capsys, "customer", "show", "--as", OWNER)
    assert code == 0 and shown["id"] == seeded.customer_id
