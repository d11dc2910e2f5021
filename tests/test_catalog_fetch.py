"""`ztbulk catalog fetch` (#13 item 4): Google Play's device list downloaded into the registry,
from a real HTTP server on this machine serving the shared copy (never the network); `check`
and `import` then know the Galaxy S21 the packaged list does not, and a MODEL_UNKNOWN found
with the packaged list says how to load the full one.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IMEI_OK, SHARED_DATA, seeded_at
from tests.services import http_files
from ztbulk.cli import main
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import RESELLER_OWNER, Seeded

PLAY = SHARED_DATA / "device_catalogs" / "google_play_supported_devices_2025-01-20.csv"
S21 = f"IMEI,{IMEI_OK},,SM-G991B,Samsung,ZERO_TOUCH,{{target}}\n"
HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,{mode}\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("www")
    shutil.copy(PLAY, folder / "supported_devices.csv")  # the published file, UTF-16 and all
    (folder / "page.html").write_text("<html><body>Sign in to continue</body></html>")
    with http_files(folder) as base:
        yield base


@pytest.fixture
def seeded(db: Path) -> Seeded:
    return seeded_at(db, 50, 5)  # with the packaged list, as `registry init` loads


def _s21_file(tmp_path: Path, mode: str = "profileid", target: str = "0") -> Path:
    path = tmp_path / f"s21-{mode}.csv"
    path.write_text(HEADER.format(mode=mode) + S21.format(target=target), encoding="utf-8")
    return path


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main(["check", *argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_fetch_loads_the_play_list_and_check_uses_it(
    served: str, db: Path, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _s21_file(tmp_path, target=str(seeded.default_configuration_id))
    code, before = _check(capsys, str(file), "--db", str(db), "--out", str(tmp_path / "a"))
    assert (code, before["codes"]) == (1, {"MODEL_UNKNOWN": 1})
    hint = before["hints"][0]  # type: ignore[index]
    assert "ztbulk catalog fetch" in hint and "packaged" in hint

    code = main(["catalog", "fetch", f"{served}/supported_devices.csv", "--db", str(db), "--json"])
    fetched = json.loads(capsys.readouterr().out)
    assert code == 0
    assert fetched["from_url"] > 38_000 and fetched["models"] >= fetched["from_url"]
    with Registry.open(db) as reg:
        assert reg.one("SELECT count(*) FROM catalog") == (fetched["models"],)
        # the packaged list's models stay known: a file that checked clean still does
        assert reg.one("SELECT count(*) FROM catalog WHERE model = 'SC-51C'") == (1,)

    code, after = _check(capsys, str(file), "--db", str(db), "--out", str(tmp_path / "b"))
    assert (code, after["codes"], after["hints"]) == (0, {}, [])
    assert after["outcomes"] == {"valid": 1} and str(db) in str(after["catalog"])


def test_check_finds_the_default_registry_on_its_own(
    served: str, db: Path, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    file = _s21_file(tmp_path, target="101")
    monkeypatch.chdir(tmp_path)
    code, alone = _check(capsys, str(file), "--out", "none")  # no ./ztbulk.duckdb: packaged
    assert code == 1 and "packaged" in str(alone["catalog"]) and alone["hints"]
    monkeypatch.setenv("ZTBULK_DB", str(db))
    assert main(["catalog", "fetch", f"{served}/supported_devices.csv"]) == 0
    assert "models: " in capsys.readouterr().out
    code, found = _check(capsys, str(file), "--out", "with")
    assert (code, found["codes"]) == (0, {})
    code, named = _check(capsys, str(file), "--catalog", str(PLAY), "--out", "named")
    assert code == 0 and named["catalog"] == str(PLAY)  # --catalog still wins


def test_import_claims_a_device_only_the_play_list_knows(
    served: str, db: Path, seeded: Seeded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = _s21_file(tmp_path, "owner", str(seeded.customer_id))
    argv = ["import", str(file), "--as", f"reseller:{seeded.reseller_id}", "--user",
            RESELLER_OWNER, "--db", str(db), "--spool", str(tmp_path / "jobs")]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "before")]) == 1
    assert "ztbulk catalog fetch" in capsys.readouterr().out
    assert main(["catalog", "fetch", f"{served}/supported_devices.csv", "--db", str(db)]) == 0
    assert main([*argv, "--out", str(tmp_path / "after")]) == 0
    with Registry.open(db) as reg:
        assert reg.one("SELECT model, customer_id FROM devices WHERE imei = ?", [IMEI_OK]) == (
            "SM-G991B",
            seeded.customer_id,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("path", "exit_code", "says"),
    [
        ("{served}/missing.csv", 2, "answered HTTP 404"),
        ("{served}/page.html", 2, "needs the columns manufacturer and model"),
        ("http://127.0.0.1:{port}/supported_devices.csv", 3, "cannot be reached"),
        ("ftp://example.invalid/list.csv", 2, "is not an http:// or https:// address"),
    ],
)
def test_a_failed_fetch_says_why_and_keeps_the_catalogue(
    served: str, db: Path, seeded: Seeded, capsys: pytest.CaptureFixture[str],
    path: str, exit_code: int, says: str,
) -> None:  # fmt: skip
    with Registry.open(db) as reg:
        before = reg.one("SELECT count(*) FROM catalog")
    capsys.readouterr()
    url = path.format(served=served, port=_free_port())
    assert main(["catalog", "fetch", url, "--db", str(db)]) == exit_code
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
    with Registry.open(db) as reg:
        assert reg.one("SELECT count(*) FROM catalog") == before
