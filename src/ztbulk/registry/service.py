"""Registry operations with SPEC section 7's rules: who may do what, inside which account.

Every operation on a customer's or reseller's data takes the acting user (`Principal`) and
checks, before reading or writing anything: the user belongs to that account (tenant
isolation) and holds a role that allows the action. A user of another account is told the
account is not theirs; nothing of its data is shown.

Roles (SPEC 7): `owner` and `admin` may export, add/edit/assign configurations, unclaim devices
and enable resellers; only `owner` adds users, changes roles and removes users.
"""

from __future__ import annotations

from typing import Any

from ztbulk.domain import Actor
from ztbulk.errors import NotFoundError, UsageError
from ztbulk.i18n import known_language
from ztbulk.registry.access import (
    ANY_ROLE,
    CONFIG_FIELDS,
    OWNER_ONLY,
    Access,
    Principal,
    check_email_or_usage,
    parse_role,
)
from ztbulk.registry.configs import ConfigurationOps
from ztbulk.registry.devices import DeviceOps
from ztbulk.registry.models import Role
from ztbulk.registry.tokens import TokenOps

DEFAULT_LANG = "default"  # a user without a language of their own: the installation's

# What a customer account is made of, besides its users.
_CUSTOMER_ROWS = (
    ("configurations", "customer_id"),
    ("customer_resellers", "customer_id"),
    ("customers", "id"),
)

__all__ = ["ANY_ROLE", "CONFIG_FIELDS", "OWNER_ONLY", "Access", "Principal", "RegistryService"]


class RegistryService(ConfigurationOps, DeviceOps, TokenOps):
    """Every role-checked operation: accounts and users here, configurations
    (`registry.configs`), devices and the catalogue (`registry.devices`) and API tokens
    (`registry.tokens`) in their own."""

    # -- accounts ----------------------------------------------------------------------

    def add_account(self, kind: Actor, name: str, owner: str) -> dict[str, Any]:
        """Create a customer or reseller together with its first owner."""
        if not name.strip():
            raise UsageError(f"A {kind.value} needs a name.")
        owner = check_email_or_usage(owner)
        self._email_free(owner)
        table = "customers" if kind is Actor.CUSTOMER else "resellers"
        with self.reg.transaction() as con:
            account_id = int(con.execute("SELECT nextval('account_ids')").fetchall()[0][0])
            con.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [account_id, name.strip()])
            con.execute(
                "INSERT INTO users (email, account_kind, account_id, role) "
                "VALUES (?, ?, ?, 'owner')",
                [owner, kind.value, account_id],
            )
        return {"id": account_id, "name": name.strip(), "owner": owner}

    def list_accounts(self, kind: Actor) -> list[dict[str, Any]]:
        table = "customers" if kind is Actor.CUSTOMER else "resellers"
        rows = self.reg.all(f"SELECT id, name, created_at FROM {table} ORDER BY id")
        return [{"id": r[0], "name": r[1], "created_at": str(r[2])} for r in rows]

    def show_customer(self, who: Principal, customer_id: int | None) -> dict[str, Any]:
        cid = self._own_customer(who, customer_id, "view a customer's details")
        self.require(who, Actor.CUSTOMER, cid, ANY_ROLE, "view the customer")
        name = self.reg.one("SELECT name FROM customers WHERE id = ?", [cid])
        if name is None:
            raise NotFoundError(f"No customer {cid}.")
        devices = self.reg.one("SELECT count(*) FROM devices WHERE customer_id = ?", [cid])
        resellers = self.reg.all(
            "SELECT r.id, r.name, l.enabled FROM customer_resellers l "
            "JOIN resellers r ON r.id = l.reseller_id WHERE l.customer_id = ? ORDER BY r.id",
            [cid],
        )
        return {
            "id": cid,
            "name": name[0],
            "devices": devices[0] if devices else 0,
            "users": self.list_users(who, cid),
            "configurations": self.list_configs(who, cid),
            "resellers": [{"id": r[0], "name": r[1], "enabled": r[2]} for r in resellers],
        }

    def delete_customer(self, who: Principal, customer_id: int | None) -> dict[str, Any]:
        """The owner deletes the customer account: its users, configurations and reseller
        links. Refused while it holds devices (SPEC 7: unclaim them first, which a reseller's
        records keep); the ledger keeps its jobs, as history."""
        cid = self._own_customer(who, customer_id, "delete a customer")
        self.require(who, Actor.CUSTOMER, cid, OWNER_ONLY, "delete the customer")
        held = self.reg.one("SELECT count(*) FROM devices WHERE customer_id = ?", [cid])
        if held and held[0]:
            raise UsageError(
                f"Customer {cid} still holds {held[0]:,} device(s); unclaim them first: import "
                "a file of them whose owner column is 0 (`ztbulk device export` lists them)."
            )
        with self.reg.transaction() as con:
            for table, column in _CUSTOMER_ROWS:
                con.execute(f"DELETE FROM {table} WHERE {column} = ?", [cid])
            con.execute(
                "DELETE FROM users WHERE account_kind = 'customer' AND account_id = ?", [cid]
            )
        return {"deleted_customer": cid}

    def set_reseller(self, who: Principal, reseller_id: int, enabled: bool) -> dict[str, Any]:
        cid = self._own_customer(who, None, "enable or disable resellers")
        self.require(who, Actor.CUSTOMER, cid, ANY_ROLE, "enable or disable resellers")
        if self.reg.one("SELECT 1 FROM resellers WHERE id = ?", [reseller_id]) is None:
            raise NotFoundError(f"No reseller {reseller_id}.")
        with self.reg.transaction() as con:
            con.execute(
                "INSERT INTO customer_resellers VALUES (?, ?, ?) "
                "ON CONFLICT (customer_id, reseller_id) DO UPDATE SET enabled = excluded.enabled",
                [cid, reseller_id, enabled],
            )
        return {"customer_id": cid, "reseller_id": reseller_id, "enabled": enabled}

    # -- users ---------------------------------------------------------------------------

    def _email_free(self, email: str) -> None:
        if self.reg.one("SELECT 1 FROM users WHERE email = ?", [email]) is not None:
            raise UsageError(f"{email} is already a user (a user belongs to one account).")

    def add_user(self, who: Principal, email: str, role: str) -> dict[str, Any]:
        self.require(who, who.kind, who.account_id, OWNER_ONLY, "add users")
        email, new_role = check_email_or_usage(email), parse_role(role)
        self._email_free(email)
        with self.reg.transaction() as con:
            con.execute(
                "INSERT INTO users (email, account_kind, account_id, role) VALUES (?, ?, ?, ?)",
                [email, who.kind.value, who.account_id, new_role.value],
            )
        return {"email": email, "role": new_role.value, who.kind.value: who.account_id}

    def list_users(self, who: Principal, customer_id: int | None = None) -> list[dict[str, Any]]:
        account = who.account_id if customer_id is None else customer_id
        self.require(who, who.kind, account, ANY_ROLE, "list users")
        rows = self.reg.all(
            "SELECT email, role, lang FROM users WHERE account_kind = ? AND account_id = ? "
            "ORDER BY email",
            [who.kind.value, account],
        )
        return [{"email": r[0], "role": r[1], "lang": r[2] or DEFAULT_LANG} for r in rows]

    def set_language(self, who: Principal, email: str, lang: str) -> dict[str, Any]:
        """A user's language (`default`: the installation's): their own, or any user's of
        the account for its owner."""
        email = check_email_or_usage(email)
        if email != who.email:
            self.require(who, who.kind, who.account_id, OWNER_ONLY, "set other users' language")
        self._member(who, email)
        chosen = None if lang == DEFAULT_LANG else known_language(lang)
        with self.reg.transaction() as con:
            con.execute("UPDATE users SET lang = ? WHERE email = ?", [chosen, email])
        return {"email": email, "lang": lang}

    def _member(self, who: Principal, email: str) -> str:
        email = check_email_or_usage(email)
        found = self.reg.one(
            "SELECT role FROM users WHERE email = ? AND account_kind = ? AND account_id = ?",
            [email, who.kind.value, who.account_id],
        )
        if found is None:
            raise NotFoundError(f"{email} is not a user of {who.kind.value} {who.account_id}.")
        return str(found[0])

    def _owners_left(self, who: Principal, without: str) -> int:
        found = self.reg.one(
            "SELECT count(*) FROM users WHERE account_kind = ? AND account_id = ? "
            "AND role = 'owner' AND email <> ?",
            [who.kind.value, who.account_id, without],
        )
        return int(found[0]) if found else 0

    def set_role(self, who: Principal, email: str, role: str) -> dict[str, Any]:
        self.require(who, who.kind, who.account_id, OWNER_ONLY, "change roles")
        new_role = parse_role(role)
        email = check_email_or_usage(email)
        demoting = self._member(who, email) == "owner" and new_role is not Role.OWNER
        if demoting and not self._owners_left(who, email):
            raise UsageError(f"{email} is the last owner; make another user owner first.")
        with self.reg.transaction() as con:
            con.execute("UPDATE users SET role = ? WHERE email = ?", [new_role.value, email])
        return {"email": email, "role": new_role.value}

    def remove_user(self, who: Principal, email: str) -> dict[str, Any]:
        self.require(who, who.kind, who.account_id, OWNER_ONLY, "remove users")
        email = check_email_or_usage(email)
        if self._member(who, email) == "owner" and not self._owners_left(who, email):
            raise UsageError(f"{email} is the last owner; make another user owner first.")
        with self.reg.transaction() as con:
            con.execute("DELETE FROM users WHERE email = ?", [email])
        return {"removed": email}
