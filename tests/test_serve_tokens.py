"""`ztbulk token create|list|revoke`: a token is printed once and kept only as its hash; and
`ztbulk demo` names its job's status page at a running service."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import Service
from ztbulk.cli import main
from ztbulk.errors import AuthenticationError
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, seed
from ztbulk.registry.service import RegistryService
from ztbulk.report.links import status_path, valid


def test_a_token_is_shown_once_and_stored_as_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        seed(reg, 10, other_devices=0)
    assert main(["token", "create", "--user", OWNER.upper(), "--db", str(db), "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    token = made["token"]
    assert token.startswith("ztb_") and len(token) > 40 and made["user"] == OWNER
    assert main(["token", "list", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert token not in listed and token[:12] + "..." in listed
    with Registry.open(db) as reg:
        stored = reg.all("SELECT token_sha256, prefix FROM api_tokens")
        assert stored == [(hashlib.sha256(token.encode()).hexdigest(), token[:12])]
        assert token not in str(reg.all("SELECT * FROM api_tokens"))
        assert RegistryService(reg).token_principal(token).email == OWNER
    assert main(["token", "revoke", str(made["id"]), "--db", str(db)]) == 0
    assert main(["token", "revoke", str(made["id"]), "--db", str(db)]) == 2  # gone already
    with Registry.open(db) as reg, pytest.raises(AuthenticationError):
        RegistryService(reg).token_principal(token)


def test_a_token_is_only_for_a_user(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True):
        pass
    assert main(["token", "create", "--user", "nobody@example.com", "--db", str(db)]) == 2
    assert "not a user" in capsys.readouterr().err


def test_the_demo_prints_the_status_page_address_when_the_service_runs(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    demo = [sys.executable, "-m", "ztbulk", "demo", "--dir", str(folder), "--devices", "300",
            "--rows", "300"]  # fmt: skip
    first = subprocess.run(demo, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    assert "Status page at the service" not in first.stdout  # none runs yet
    service = Service(folder / "demo.duckdb", folder / "jobs")
    service.start()
    try:
        env = os.environ | {"ZTBULK_PUBLIC_URL": service.url}
        again = subprocess.run(demo, capture_output=True, text=True, timeout=300, check=False,
                               env=env)  # fmt: skip
    finally:
        service.stop()
    assert again.returncode == 0, again.stderr
    line = next(x for x in again.stdout.splitlines() if x.startswith("Status page at the service"))
    url = line.split(": ", 1)[1]
    assert url.startswith(service.url + "/status/")


def test_a_status_link_opens_its_job_only_until_it_expires() -> None:
    key, job = b"k" * 32, "20261202-141500-0a1b2c3d"
    path = status_path(key, job, hours=1, now=1_000_000)
    query = dict(p.split("=", 1) for p in path.split("?", 1)[1].split("&"))
    expires, sig = int(query["expires"]), query["sig"]
    assert expires == 1_000_000 + 3600
    assert valid(key, job, expires, sig, now=1_000_000 + 3599)
    assert not valid(key, job, expires, sig, now=1_000_000 + 3601)  # expired
    assert not valid(key, job, expires + 3600, sig, now=1_000_000)  # expiry moved
    assert not valid(key, "20261202-141500-0a1b2c3e", expires, sig, now=1_000_000)  # other job
    assert not valid(b"x" * 32, job, expires, sig, now=1_000_000)  # another registry's key
