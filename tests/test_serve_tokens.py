"""`ztbulk token create|list|revoke`: a token is printed once and kept only as its hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ztbulk.cli import main
from ztbulk.errors import AuthenticationError
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, seed
from ztbulk.registry.service import RegistryService


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
