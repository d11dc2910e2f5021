"""The DuckDB registry and its commands, on a real registry file per test.

Role rules (SPEC 7) as one table over every command that changes something; tenant isolation;
the default-configuration and delete rules; export then check; bad input leaving nothing
half-written; schema versions; and DuckDB's single-writer rule seen from a second process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import seeded_at
from ztbulk.cli import main
from ztbulk.registry.db import Registry
from ztbulk.registry.schema import MIGRATIONS, SCHEMA_VERSION
from ztbulk.registry.seed import ADMIN, OTHER_OWNER, OWNER, RESELLER_OWNER, Seeded


@pytest.fixture
def seeded(db: Path) -> Seeded:
    return seeded_at(db, 300, 50)


def run(db: Path, *argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, object, str]:
    """The command's exit code, its JSON answer, and what it said of an error (in JSON mode
    an error is JSON on stdout: its message, one line, is returned as the error text)."""
    code = main([*argv, "--db", str(db), "--json"])
    captured = capsys.readouterr()
    answer = json.loads(captured.out) if captured.out.strip() else None
    if isinstance(answer, dict) and set(answer) == {"error"}:
        assert captured.err == ""  # nothing else is said
        return code, None, f"ztbulk: {answer['error']['message']}\n"
    return code, answer, captured.err


def table_rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with Registry.open(db) as reg:
        return reg.all(sql)


# (command args with {cfg}/{reseller}/{unused} placeholders, allowed for owner, for admin,
#  names an object of customer A). A command that names nothing acts on the caller's own
#  account, so another customer's owner may run it there; one that names A's objects may not.
MUTATIONS = [
    (["user", "add", "new@customer.example", "--role", "admin"], True, False, False),
    (["user", "role", ADMIN, "owner"], True, False, True),
    (["user", "remove", ADMIN, "--yes"], True, False, True),
    (["config", "add", "--name", "X", "--dpc", "p/.R", "--company", "C"], True, True, False),
    (["config", "edit", "{cfg}", "--name", "Renamed"], True, True, True),
    (["config", "delete", "{unused}", "--yes"], True, True, True),
    (["config", "default", "{cfg}"], True, True, True),
    (["reseller", "disable", "{reseller}"], True, True, False),
    (["reseller", "enable", "{reseller}"], True, True, False),  # the setup disables it first
]


def _args(args: list[str], s: Seeded, unused: int) -> list[str]:
    return [
        a.format(cfg=s.configuration_ids[1], reseller=s.reseller_id, unused=unused) for a in args
    ]


def _unused_config(db: Path, s: Seeded) -> int:
    code = main(["config", "add", "--name", "Spare", "--dpc", "d/.R", "--company", "C",
                 "--as", OWNER, "--db", str(db), "--json"])  # fmt: skip
    assert code == 0
    found = table_rows(db, "SELECT id FROM configurations WHERE name = 'Spare'")
    return int(str(found[0][0]))


@pytest.mark.parametrize(("args", "owner_ok", "admin_ok", "names_a"), MUTATIONS, ids=str)
@pytest.mark.parametrize("who", ["owner", "admin", "other", "reseller"])
def test_role_rules(
    db: Path,
    seeded: Seeded,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    owner_ok: bool,
    admin_ok: bool,
    names_a: bool,
    who: str,
) -> None:
    unused = _unused_config(db, seeded)
    if args[:2] == ["reseller", "enable"]:
        with Registry.open(db) as reg:
            reg.con.execute("UPDATE customer_resellers SET enabled = false")
    capsys.readouterr()
    user = {"owner": OWNER, "admin": ADMIN, "other": OTHER_OWNER, "reseller": RESELLER_OWNER}[who]
    allowed = {"owner": owner_ok, "admin": admin_ok, "other": not names_a}.get(who, False)
    if who == "reseller" and args[0] == "user":
        allowed = True  # a reseller's owner manages the reseller's own users
        args = [a.replace(ADMIN, RESELLER_OWNER) if args[1] != "remove" else a for a in args]
        if args[1] in ("role", "remove"):
            pytest.skip("the reseller has a single owner, who may not demote or remove itself")
    before = (
        table_rows(db, "SELECT * FROM users ORDER BY email")
        + table_rows(db, "SELECT id, name, is_default FROM configurations ORDER BY id")
        + table_rows(db, "SELECT * FROM customer_resellers ORDER BY ALL")
    )
    code, _, err = run(db, *_args(args, seeded, unused), "--as", user, capsys=capsys)
    after = (
        table_rows(db, "SELECT * FROM users ORDER BY email")
        + table_rows(db, "SELECT id, name, is_default FROM configurations ORDER BY id")
        + table_rows(db, "SELECT * FROM customer_resellers ORDER BY ALL")
    )
    if allowed:
        assert code == 0, err
        assert after != before
    else:
        assert code == 2
        assert "Traceback" not in err and err.count("\n") == 1
        assert after == before  # nothing changed


def test_tenant_isolation(db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    with Registry.open(db) as reg:
        theirs = reg.one(
            "SELECT imei FROM devices WHERE customer_id = ? AND imei IS NOT NULL",
            [seeded.other_customer_id],
        )
    assert theirs is not None
    code, found, _ = run(db, "device", "find", theirs[0], "--as", OWNER, capsys=capsys)
    assert (code, found) == (1, [])  # not found in this account: exit 1
    code, found, _ = run(db, "device", "find", theirs[0], "--as", OTHER_OWNER, capsys=capsys)
    assert code == 0 and len(found) == 1  # type: ignore[arg-type]
    for argv in (
        ["customer", "show", str(seeded.other_customer_id)],
        [
            "device",
            "export",
            "--customer",
            str(seeded.other_customer_id),
            "--out",
            str(db.parent / "x.csv"),
        ],
        ["config", "edit", str(seeded.other_configuration_id), "--name", "Mine now"],
        ["config", "delete", str(seeded.other_configuration_id), "--yes"],
        ["config", "default", str(seeded.other_configuration_id)],
        ["user", "remove", OTHER_OWNER, "--yes"],
    ):
        code, _, err = run(db, *argv, "--as", OWNER, capsys=capsys)
        assert code == 2, argv
        assert "Traceback" not in err
    assert not (db.parent / "x.csv").exists()
    code, configs, _ = run(db, "config", "list", "--as", OWNER, capsys=capsys)
    assert isinstance(configs, list)
    assert {c["customer_id"] for c in configs} == {seeded.customer_id}


def defaults(db: Path, customer_id: int) -> list[tuple[object, ...]]:
    return table_rows(
        db, f"SELECT id FROM configurations WHERE is_default AND customer_id = {customer_id}"
    )


def test_one_default_per_customer(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    for config_id in (seeded.configuration_ids[2], seeded.configuration_ids[1]):
        assert run(db, "config", "default", str(config_id), "--as", ADMIN, capsys=capsys)[0] == 0
        assert defaults(db, seeded.customer_id) == [(config_id,)]
    code, added, _ = run(db, "config", "add", "--name", "New default", "--dpc", "p/.R",
                         "--company", "C", "--default", "--as", OWNER, capsys=capsys)  # fmt: skip
    assert code == 0
    assert defaults(db, seeded.customer_id) == [(added["id"],)]  # type: ignore[index]
    # The other customer's default is untouched.
    assert defaults(db, seeded.other_customer_id) == [(seeded.other_configuration_id,)]


def test_applied_configuration_cannot_be_deleted(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        db,
        "config",
        "delete",
        str(seeded.configuration_ids[0]),
        "--yes",
        "--as",
        OWNER,
        capsys=capsys,
    )
    assert code == 2 and "is applied to" in err
    assert table_rows(
        db, f"SELECT count(*) FROM configurations WHERE id = {seeded.configuration_ids[0]}"
    ) == [(1,)]


def test_export_then_check_has_no_row_errors(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "export.csv"
    code, result, _ = run(db, "device", "export", "--out", str(out), "--as", ADMIN, capsys=capsys)
    assert code == 0 and result == {"file": str(out), "devices": 300}
    code = main(
        ["check", str(out), "--db", str(db), "--out", str(tmp_path / "chk"), "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["first_failures"]
    assert report["outcomes"] == {"valid": 300} and report["codes"] == {}
    assert report["warnings"] == []  # the informative columns are ztbulk_ columns


def config_add(*extra: str, name: str = "J") -> list[str]:
    return ["config", "add", "--name", name, "--dpc", "p", "--company", "C", *extra, "--as", OWNER]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["customer", "show", "999999", "--as", OWNER], "has no access to customer 999999"),
        (["customer", "add", "X", "--owner", "not-an-email"], "not an e-mail address"),
        (["user", "add", "bad@", "--as", OWNER], "not an e-mail address"),
        (["user", "add", ADMIN, "--as", OWNER], "already a user"),
        (config_add(name="Standard"), "already used"),
        (config_add("--extras", "{nope"), "not valid JSON"),
        (config_add("--extras", "[1]"), "must be a JSON object"),
        (config_add("--support-phone", "call me"), "digits, spaces"),
        (config_add("--support-email", "help@"), "not an e-mail address"),
        (["config", "edit", "424242", "--name", "Y", "--as", OWNER], "No configuration 424242"),
        (["reseller", "enable", "424242", "--as", OWNER], "No reseller 424242"),
        (["user", "role", OWNER, "admin", "--as", OWNER], "last owner"),
        (["device", "find", "1", "--as", "nobody@x.example"], "not a user"),
    ],
)
def test_bad_input_is_one_sentence_and_changes_nothing(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    snapshot = (
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM configurations), "
        "(SELECT count(*) FROM customers), (SELECT count(*) FROM customer_resellers)"
    )
    before = table_rows(db, snapshot)
    code, _, err = run(db, *argv, capsys=capsys)
    assert code == 2
    assert needle in err, err
    assert err.startswith("ztbulk: ") and err.count("\n") == 1 and "Traceback" not in err
    assert table_rows(db, snapshot) == before


def test_missing_registry_and_newer_schema(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(db, "customer", "list", capsys=capsys)
    assert code == 2 and "registry init" in err and not db.exists()
    assert run(db, "registry", "init", capsys=capsys)[0] == 0
    with Registry.open(db) as reg:
        assert reg.version() == SCHEMA_VERSION
        reg.con.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION + 1])
    code, _, err = run(db, "customer", "list", capsys=capsys)
    assert code == 2 and "newer than this ztbulk" in err


def test_a_v1_registry_gets_its_identifiers_numbered_exactly(db: Path) -> None:
    """Resolve matches IMEIs and MEIDs by number (schema.NUMBERED). Upgrading a version 1
    file numbers its devices, and only exact values get a number (15 digits; 14 hex digits,
    any case), so two identifiers share a number only if they are the same string."""
    con = duckdb.connect(str(db))
    for statement in MIGRATIONS[1]:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    values = [  # imei, imei2, meid
        ("490154203237518", "356938035643809", None),
        ("+49015420323751", " 35693803564380", "a0000000002329"),
        ("49015420323751", "3569380356438090", "A000000000232G"),
    ]
    for i, (imei, imei2, meid) in enumerate(values, 1):
        con.execute(
            "INSERT INTO devices (id, imei, imei2, meid, manufacturer) VALUES (?, ?, ?, ?, 'x')",
            [i, imei, imei2, meid],
        )
    con.close()
    with Registry.open(db) as reg:
        assert reg.version() == SCHEMA_VERSION
        got = reg.all("SELECT imei_n, imei2_n, meid_n FROM devices ORDER BY id")
    assert got == [
        (490154203237518, 356938035643809, None),
        (None, None, 0xA0000000002329),
        (None, None, None),
    ]


def test_second_process_gets_a_clear_message(db: Path, tmp_path: Path) -> None:
    """DuckDB's single-writer rule: while one process holds the file, another cannot open it."""
    assert main(["registry", "init", "--db", str(db)]) == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from ztbulk.registry.db import Registry
            with Registry.open({str(db)!r}):
                print("holding", flush=True)
                time.sleep(30)
            """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ztbulk", "customer", "list", "--db", str(db)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert time.monotonic() - started < 30  # answered at once, not after the holder let go
        assert done.returncode == 3  # retryable: the same command works once the file is free
        assert f"is in use by process {holder.pid}" in done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:  # opened as a pipe above
            holder.stdout.close()
    assert main(["customer", "list", "--db", str(db)]) == 0


def test_seed_builds_a_realistic_registry(db: Path, seeded: Seeded) -> None:
    with Registry.open(db) as reg:
        kinds = reg.one(
            "SELECT count(imei), count(imei2), count(meid), count(serial), count_if(kme), "
            "count(DISTINCT imei), count(*) FROM devices WHERE customer_id = ?",
            [seeded.customer_id],
        )
        assert kinds is not None
        imei, imei2, meid, serial, kme, distinct, total = kinds
        assert total == 300 and imei == distinct and imei > 200
        assert imei2 > 0 and meid > 0 and serial > 0 and kme > 0
        lowest = reg.one("SELECT count(*) FROM devices WHERE imei2 IS NOT NULL AND imei2 < imei")
        assert lowest == (0,)  # dual-SIM devices are registered by their lowest IMEI
        assert reg.one("SELECT count(*) FROM catalog")[0] > 1000  # type: ignore[index]


def test_device_find_by_every_identifier(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    with Registry.open(db) as reg:
        dual = reg.one(
            "SELECT id, imei, imei2 FROM devices WHERE imei2 IS NOT NULL AND customer_id = ?",
            [seeded.customer_id],
        )
        meid = reg.one(
            "SELECT id, meid FROM devices WHERE meid IS NOT NULL AND customer_id = ?",
            [seeded.customer_id],
        )
        serial = reg.one(
            "SELECT id, serial FROM devices WHERE serial IS NOT NULL AND customer_id = ?",
            [seeded.customer_id],
        )
    assert dual and meid and serial
    for identifier, device_id in (
        (dual[1], dual[0]),
        (dual[2], dual[0]),  # the second IMEI finds the same device
        (meid[1].lower(), meid[0]),  # MEIDs are hex: any letter case
        (serial[1], serial[0]),
    ):
        code, found, _ = run(db, "device", "find", identifier, "--as", ADMIN, capsys=capsys)
        assert code == 0 and isinstance(found, list)
        assert [d["id"] for d in found] == [device_id]
    code, found, _ = run(db, "device", "find", serial[1].lower(), "--as", ADMIN, capsys=capsys)
    assert found == []  # serial numbers are case-sensitive


def test_duckdb_memory_setting_is_checked(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(db, "registry", "init", capsys=capsys)[0] == 0
    monkeypatch.setenv("ZTBULK_DUCKDB_MEMORY", "lots")
    code, _, err = run(db, "customer", "list", capsys=capsys)
    assert code == 2 and "ZTBULK_DUCKDB_MEMORY='lots' is not a size" in err
    monkeypatch.setenv("ZTBULK_DUCKDB_MEMORY", "512MB")
    with Registry.open(db) as reg:
        assert reg.one("SELECT current_setting('memory_limit')") is not None
    assert run(db, "customer", "list", capsys=capsys)[0] == 0
