"""Destructive actions confirm (#13 item 8): `user remove`, `config delete`, `customer delete`
and an import of a file with owner 0 rows ask on a terminal (a real pseudo-terminal here) and
take `--yes`; without either they refuse in one sentence, exit 2, having changed nothing.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IMEI_OK, seeded_at
from ztbulk.cli import main
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, OWNER, RESELLER_OWNER, Seeded

NEW_OWNER = "owner@empty.example"
OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"


@pytest.fixture
def seeded(db: Path) -> Seeded:
    s = seeded_at(db, 30, 5)
    assert main(["customer", "add", "Empty Ltd", "--owner", NEW_OWNER, "--db", str(db)]) == 0
    return s


def _state(db: Path) -> list[object]:
    with Registry.open(db) as reg:
        return [
            reg.all(f"SELECT * FROM {t} ORDER BY ALL")
            for t in ("users", "configurations", "customers", "customer_resellers")
        ] + [reg.all("SELECT id, customer_id, configuration_id FROM devices ORDER BY id")]


def _unclaim_file(db: Path, s: Seeded, tmp_path: Path) -> Path:
    with Registry.open(db) as reg:
        found = reg.one(
            "SELECT imei, model, manufacturer FROM devices WHERE customer_id = ? AND imei "
            "IS NOT NULL ORDER BY id",
            [s.customer_id],
        )
    assert found is not None
    path = tmp_path / "unclaim.csv"
    path.write_text(f"{OWNER_HEADER}\nIMEI,{found[0]},,{found[1]},{found[2]},ZERO_TOUCH,0\n")
    return path


def _commands(db: Path, s: Seeded, tmp_path: Path) -> dict[str, list[str]]:
    spare = ["config", "add", "--name", "Spare", "--dpc", "d/.R", "--company", "C", "--as", OWNER]
    assert main([*spare, "--db", str(db)]) == 0
    with Registry.open(db) as reg:
        unused = reg.one("SELECT id FROM configurations WHERE name = 'Spare'")
    assert unused is not None
    return {
        "user remove": ["user", "remove", ADMIN, "--as", OWNER],
        "config delete": ["config", "delete", str(unused[0]), "--as", OWNER],
        "customer delete": ["customer", "delete", "--as", NEW_OWNER],
        "import owner=0": ["import", str(_unclaim_file(db, s, tmp_path)), "--as",
                           f"customer:{s.customer_id}", "--user", OWNER,
                           "--spool", str(tmp_path / "jobs"), "--out", str(tmp_path / "out")],
    }  # fmt: skip


@pytest.mark.parametrize("command", ["user remove", "config delete", "customer delete",
                                     "import owner=0"])  # fmt: skip
def test_without_a_terminal_only_yes_goes_on(
    db: Path, seeded: Seeded, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    argv = [*_commands(db, seeded, tmp_path)[command], "--db", str(db)]
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # a pipe saying y is no terminal
    before = _state(db)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ztbulk: Nothing was done") and "--yes" in err and err.count("\n") == 1
    assert _state(db) == before
    assert main([*argv, "--yes"]) == 0, capsys.readouterr().err
    assert _state(db) != before


def _on_a_terminal(argv: list[str], answer: bytes) -> tuple[int, str]:
    """`ztbulk ARGV` with its stdin on a real pseudo-terminal, where `answer` is typed."""
    leader, follower = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "ztbulk", *argv], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    os.close(follower)
    os.write(leader, answer)
    _, err = proc.communicate(timeout=60)
    os.close(leader)
    return proc.returncode, err.decode()


@pytest.mark.parametrize(("answer", "done"), [(b"n\n", False), (b"y\n", True), (b"\n", False)])
def test_on_a_terminal_it_asks(
    db: Path, seeded: Seeded, tmp_path: Path, answer: bytes, done: bool
) -> None:
    before = _state(db)
    code, err = _on_a_terminal(["user", "remove", ADMIN, "--as", OWNER, "--db", str(db)], answer)
    assert f"Really remove user {ADMIN} from the account? [y/N]" in err
    assert (code, _state(db) != before) == ((0, True) if done else (2, False)), err


def test_customer_delete_is_refused_while_devices_are_claimed(
    db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _state(db)
    for user in (OWNER, ADMIN, RESELLER_OWNER):
        assert main(["customer", "delete", "--as", user, "--yes", "--db", str(db)]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert _state(db) == before
    assert main(["customer", "delete", "--as", NEW_OWNER, "--yes", "--db", str(db)]) == 0
    with Registry.open(db) as reg:
        assert reg.one("SELECT count(*) FROM users WHERE email = ?", [NEW_OWNER]) == (0,)
        assert reg.one("SELECT count(*) FROM customers") == (2,)


def test_a_claim_file_does_not_ask(db: Path, seeded: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "claim.csv"
    path.write_text(f"{OWNER_HEADER}\nIMEI,{IMEI_OK},,SC-51C,Samsung,ZERO_TOUCH,"
                    f"{seeded.customer_id}\n")  # fmt: skip
    argv = ["import", str(path), "--as", f"reseller:{seeded.reseller_id}", "--user",
            RESELLER_OWNER, "--db", str(db), "--spool", str(tmp_path / "jobs")]  # fmt: skip
    assert main(argv) == 0  # no question asked: it ran and claimed the device
    with Registry.open(db) as reg:
        assert reg.one("SELECT customer_id FROM devices WHERE imei = ?", [IMEI_OK]) == (
            seeded.customer_id,
        )
