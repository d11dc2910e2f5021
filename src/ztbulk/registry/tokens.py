"""API tokens, upload idempotency keys and the link-signing secret (schema version 5).

A token is shown once, when it is made (`create_token`); the registry keeps only its SHA-256
and its first characters (so `token list` can tell tokens apart). A request's token names a
user, and through the user the account and role it acts with (`registry.access`): a removed
user's tokens stop working at once.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ztbulk.errors import AuthenticationError, ConflictError, NotFoundError
from ztbulk.registry.access import Access, Principal, check_email_or_usage
from ztbulk.registry.db import Registry

TOKEN_PREFIX = "ztb_"
SHOWN = 12  # characters of a token that `token list` shows: its prefix and 8 random ones
STALE_UPLOAD_S = 3600  # an Idempotency-Key reserved this long ago by an upload that died


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenOps(Access):
    def create_token(self, email: str) -> dict[str, Any]:
        """A new token for the user `email` (a user of this registry): the only time it is
        seen in clear."""
        email = check_email_or_usage(email)
        self.principal(email)  # a user of some account, or a usage error
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.reg.transaction() as con:
            token_id = int(con.execute("SELECT nextval('token_ids')").fetchall()[0][0])
            con.execute(
                "INSERT INTO api_tokens (id, user_email, token_sha256, prefix) VALUES (?, ?, ?, ?)",
                [token_id, email, _digest(token), token[:SHOWN]],
            )
        return {"id": token_id, "user": email, "token": token}

    def list_tokens(self, email: str | None = None) -> list[dict[str, Any]]:
        rows = self.reg.all(
            "SELECT id, user_email, prefix, created_at FROM api_tokens "
            "WHERE ? IS NULL OR user_email = ? ORDER BY id",
            [email, email and check_email_or_usage(email)],
        )
        return [
            {"id": r[0], "user": r[1], "prefix": r[2] + "...", "created_at": str(r[3])}
            for r in rows
        ]

    def revoke_token(self, token_id: int) -> dict[str, Any]:
        if self.reg.one("SELECT 1 FROM api_tokens WHERE id = ?", [token_id]) is None:
            raise NotFoundError(f"No token {token_id}; `ztbulk token list` shows them.")
        with self.reg.transaction() as con:
            con.execute("DELETE FROM api_tokens WHERE id = ?", [token_id])
        return {"revoked": token_id}

    def token_principal(self, token: str) -> Principal:
        """Who a request's bearer token acts as; AuthenticationError for any token that does
        not name a current user (one message for all, so a caller learns nothing)."""
        found = self.reg.one(
            "SELECT t.user_email FROM api_tokens t JOIN users u ON u.email = t.user_email "
            "WHERE t.token_sha256 = ?",
            [_digest(token)],
        )
        if found is None:
            raise AuthenticationError("The API token is not valid (unknown, revoked, or its user "
                                      "was removed).")  # fmt: skip
        return self.principal(str(found[0]))


def secret(reg: Registry, name: str) -> bytes:
    """A random secret kept in the registry under `name`, made the first time it is asked
    for: the key that signs links, shared by the server and the workers through the registry."""
    found = reg.one("SELECT value FROM secrets WHERE name = ?", [name])
    if found is None:  # read far more often than made: a write only the first time
        with reg.transaction() as con:
            con.execute(
                "INSERT INTO secrets VALUES (?, ?) ON CONFLICT DO NOTHING",
                [name, secrets.token_hex(32)],
            )
        found = reg.one("SELECT value FROM secrets WHERE name = ?", [name])
    assert found is not None  # inserted just above if it was missing
    return bytes.fromhex(str(found[0]))


def reserve_key(reg: Registry, user: str, key: str) -> str | None:
    """Reserve an upload's Idempotency-Key: None if this request may go on (the key is now
    its own), else the id of the job an earlier request with that key made. A key whose
    upload is still running is a ConflictError; one left by an upload that died long ago is
    taken over."""
    with reg.transaction() as con:
        con.execute(
            "DELETE FROM idempotency_keys WHERE user_email = ? AND key = ? AND job_id IS NULL "
            "AND created_at < now() - to_seconds(?)",
            [user, key, STALE_UPLOAD_S],
        )
        found = con.execute(
            "SELECT job_id FROM idempotency_keys WHERE user_email = ? AND key = ?", [user, key]
        ).fetchall()
        if not found:
            con.execute("INSERT INTO idempotency_keys (user_email, key) VALUES (?, ?)", [user, key])
            return None
    if found[0][0] is None:
        raise ConflictError("An upload with this Idempotency-Key is still in progress; "
                            "ask again when it is answered.")  # fmt: skip
    return str(found[0][0])


def settle_key(reg: Registry, user: str, key: str, job_id: str | None) -> None:
    """Record the job an upload made under its key, or (None) free the key of an upload that
    made no job, so that a retry can."""
    with reg.transaction() as con:
        if job_id is None:
            con.execute(
                "DELETE FROM idempotency_keys WHERE user_email = ? AND key = ? AND job_id IS NULL",
                [user, key],
            )
        else:
            con.execute(
                "UPDATE idempotency_keys SET job_id = ? WHERE user_email = ? AND key = ?",
                [job_id, user, key],
            )
