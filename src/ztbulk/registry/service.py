"""Registry operations with SPEC section 7's rules: who may do what, inside which account.

Every operation on a customer's or reseller's data takes the acting user (`Principal`) and
checks, before reading or writing anything: the user belongs to that account (tenant
isolation) and holds a role that allows the action. A user of another account is told the
account is not theirs; nothing of its data is shown.

Roles (SPEC 7): `owner` and `admin` may export, add/edit/assign configurations, unclaim devices
and enable resellers; only `owner` adds users, changes roles and removes users.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ztbulk.domain import Actor
from ztbulk.errors import NotFoundError, PermissionDeniedError, UsageError
from ztbulk.registry.db import Registry
from ztbulk.registry.models import Configuration, Role, check_email, parse_input
from ztbulk.report.outputs import spreadsheet_safe
from ztbulk.validate.catalog import Catalog

ANY_ROLE = (Role.OWNER, Role.ADMIN)
OWNER_ONLY = (Role.OWNER,)
CONFIG_FIELDS = (
    "name",
    "emm_dpc",
    "dpc_extras",
    "company_name",
    "support_email",
    "support_phone",
    "custom_message",
)


@dataclass(frozen=True)
class Principal:
    email: str
    kind: Actor
    account_id: int
    role: Role


class RegistryService:
    def __init__(self, registry: Registry) -> None:
        self.reg = registry

    # -- who is acting ---------------------------------------------------------------

    def principal(self, email: str) -> Principal:
        found = self.reg.one(
            "SELECT email, account_kind, account_id, role FROM users WHERE email = ?",
            [check_email_or_usage(email)],
        )
        if found is None:
            raise PermissionDeniedError(f"{email} is not a user of this registry.")
        return Principal(found[0], Actor(found[1]), int(found[2]), Role(found[3]))

    def require(
        self,
        who: Principal,
        kind: Actor,
        account_id: int,
        roles: tuple[Role, ...],
        action: str,
    ) -> None:
        if who.kind is not kind or who.account_id != account_id:
            raise PermissionDeniedError(f"{who.email} has no access to {kind.value} {account_id}.")
        if who.role not in roles:
            raise PermissionDeniedError(
                f"{who.email} is {who.role.value} of {kind.value} {account_id}; only "
                f"{' or '.join(r.value for r in roles)} may {action}."
            )

    def _own_customer(self, who: Principal, customer_id: int | None) -> int:
        """The customer an operation works on: the given one, or the acting user's own."""
        if customer_id is None:
            if who.kind is not Actor.CUSTOMER:
                raise UsageError(f"{who.email} is a reseller user; give --customer.")
            return who.account_id
        return customer_id

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
        cid = self._own_customer(who, customer_id)
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

    def set_reseller(self, who: Principal, reseller_id: int, enabled: bool) -> dict[str, Any]:
        cid = self._own_customer(who, None)
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
        email, new_role = check_email_or_usage(email), _role(role)
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
            "SELECT email, role FROM users WHERE account_kind = ? AND account_id = ? "
            "ORDER BY email",
            [who.kind.value, account],
        )
        return [{"email": r[0], "role": r[1]} for r in rows]

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
        new_role = _role(role)
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

    # -- configurations ----------------------------------------------------------------

    def add_config(self, who: Principal, values: dict[str, Any], default: bool) -> dict[str, Any]:
        cid = self._own_customer(who, None)
        self.require(who, Actor.CUSTOMER, cid, ANY_ROLE, "add configurations")
        cfg = parse_input(Configuration, **values)
        self._name_free(cid, cfg.name)
        with self.reg.transaction() as con:
            config_id = int(con.execute("SELECT nextval('configuration_ids')").fetchall()[0][0])
            con.execute(
                f"INSERT INTO configurations (id, customer_id, {', '.join(CONFIG_FIELDS)}) "
                f"VALUES (?, ?, {', '.join('?' * len(CONFIG_FIELDS))})",
                [config_id, cid, *(getattr(cfg, f) for f in CONFIG_FIELDS)],
            )
            if default:
                _make_default(con, cid, config_id)
        return self._config(cid, config_id)

    def _name_free(self, customer_id: int, name: str, other_than: int | None = None) -> None:
        clash = self.reg.one(
            "SELECT id FROM configurations WHERE customer_id = ? AND name = ? AND id <> ?",
            [customer_id, name, other_than or -1],
        )
        if clash is not None:
            raise UsageError(f"Configuration name {name!r} is already used (id {clash[0]}).")

    def _owned_config(self, who: Principal, config_id: int, action: str) -> int:
        cid = self._own_customer(who, None)
        self.require(who, Actor.CUSTOMER, cid, ANY_ROLE, action)
        found = self.reg.one(
            "SELECT customer_id FROM configurations WHERE id = ? AND customer_id = ?",
            [config_id, cid],
        )
        if found is None:
            raise NotFoundError(f"No configuration {config_id} in customer {cid}.")
        return cid

    def edit_config(
        self, who: Principal, config_id: int, changes: dict[str, Any]
    ) -> dict[str, Any]:
        cid = self._owned_config(who, config_id, "edit configurations")
        current = self._config(cid, config_id)
        merged = {f: current[f] for f in CONFIG_FIELDS}
        merged.update({k: v for k, v in changes.items() if v is not None})
        cfg = parse_input(Configuration, **merged)
        self._name_free(cid, cfg.name, other_than=config_id)
        with self.reg.transaction() as con:
            con.execute(
                f"UPDATE configurations SET {', '.join(f + ' = ?' for f in CONFIG_FIELDS)}, "
                "updated_at = now() WHERE id = ?",
                [*(getattr(cfg, f) for f in CONFIG_FIELDS), config_id],
            )
        return self._config(cid, config_id)

    def delete_config(self, who: Principal, config_id: int) -> dict[str, Any]:
        self._owned_config(who, config_id, "delete configurations")
        applied = self.reg.one(
            "SELECT count(*) FROM devices WHERE configuration_id = ?", [config_id]
        )
        if applied and applied[0]:
            raise UsageError(
                f"Configuration {config_id} is applied to {applied[0]:,} device(s); assign "
                "them another configuration first."
            )
        with self.reg.transaction() as con:
            con.execute("DELETE FROM configurations WHERE id = ?", [config_id])
        return {"deleted": config_id}

    def set_default(self, who: Principal, config_id: int) -> dict[str, Any]:
        cid = self._owned_config(who, config_id, "set the default configuration")
        with self.reg.transaction() as con:
            _make_default(con, cid, config_id)
        return self._config(cid, config_id)

    def list_configs(self, who: Principal, customer_id: int | None = None) -> list[dict[str, Any]]:
        cid = self._own_customer(who, customer_id)
        self.require(who, Actor.CUSTOMER, cid, ANY_ROLE, "list configurations")
        ids = self.reg.all("SELECT id FROM configurations WHERE customer_id = ? ORDER BY id", [cid])
        return [self._config(cid, int(r[0])) for r in ids]

    def _config(self, customer_id: int, config_id: int) -> dict[str, Any]:
        cols = ["id", "customer_id", *CONFIG_FIELDS, "is_default"]
        row = self.reg.one(
            f"SELECT {', '.join(cols)} FROM configurations WHERE id = ? AND customer_id = ?",
            [config_id, customer_id],
        )
        if row is None:
            raise NotFoundError(f"No configuration {config_id} in customer {customer_id}.")
        return dict(zip(cols, row, strict=True))

    # -- devices -------------------------------------------------------------------------

    def find_device(self, who: Principal, identifier: str) -> list[dict[str, Any]]:
        """Devices of the caller's account whose IMEI, second IMEI, MEID or serial matches."""
        scope = "customer_id" if who.kind is Actor.CUSTOMER else "reseller_id"
        self.require(who, who.kind, who.account_id, ANY_ROLE, "look up devices")
        value = identifier.strip()
        rows = self.reg.con.execute(
            f"SELECT * FROM devices WHERE {scope} = ? AND "
            "(imei = ? OR imei2 = ? OR upper(meid) = upper(?) OR serial = ?) ORDER BY id",
            [who.account_id, value, value, value, value],
        )
        names = [d[0] for d in rows.description]
        return [
            {k: (str(v) if k.endswith("_at") else v) for k, v in zip(names, r, strict=True)}
            for r in rows.fetchall()
        ]

    def export_devices(self, who: Principal, customer_id: int | None, out: Path) -> int:
        """Write the customer's devices as an importable CSV (SPEC columns + ztbulk_ extras)."""
        cid = self._own_customer(who, customer_id)
        self.require(who, Actor.CUSTOMER, cid, ANY_ROLE, "export devices")
        frame = self.reg.con.sql(
            """
            SELECT CASE WHEN d.imei IS NOT NULL THEN 'IMEI'
                        WHEN d.meid IS NOT NULL THEN 'MEID' END AS modemtype,
                   coalesce(d.imei, d.meid) AS modemid,
                   d.serial, d.model, d.manufacturer,
                   'ZERO_TOUCH' AS profiletype,
                   CAST(d.configuration_id AS VARCHAR) AS profileid,
                   d.id AS ztbulk_device_id, d.imei2 AS ztbulk_imei2,
                   c.name AS ztbulk_configuration, d.reseller_id AS ztbulk_reseller_id,
                   d.kme AS ztbulk_kme
            FROM devices d LEFT JOIN configurations c ON c.id = d.configuration_id
            WHERE d.customer_id = ?
            ORDER BY d.id
            """,
            params=[cid],
        ).pl()
        # SPEC 6's rule for errors.csv holds here too: a serial or configuration name starting
        # =, +, -, @ gets a leading ' (README: what that means for importing the file again).
        text = [c for c, t in frame.schema.items() if t == pl.String]
        frame = frame.with_columns(spreadsheet_safe(c) for c in text)
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.write_csv(out)
        rows: int = frame.height
        return rows

    # -- catalogue -------------------------------------------------------------------------

    def load_catalog(self, catalog: Catalog) -> int:
        pairs = catalog.pairs.filter(pl.col("model").is_not_null()).select("manufacturer", "model")
        with self.reg.transaction() as con:
            con.execute("DELETE FROM catalog")
            con.register("new_catalog", pairs)
            con.execute("INSERT INTO catalog SELECT manufacturer, model FROM new_catalog")
            con.unregister("new_catalog")
        return pairs.height

    def catalog(self) -> Catalog:
        frame = self.reg.con.sql("SELECT manufacturer, model FROM catalog").pl()
        if not frame.height:
            raise UsageError(
                f"Registry {self.reg.path} holds no catalogue; load one with `ztbulk catalog load`."
            )
        return Catalog.from_frame(frame, f"registry {self.reg.path}")


def _make_default(con: Any, customer_id: int, config_id: int) -> None:
    # One statement, so "at most one default per customer" holds at every instant.
    con.execute(
        "UPDATE configurations SET is_default = (id = ?), updated_at = now() WHERE customer_id = ?",
        [config_id, customer_id],
    )


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise UsageError(f"Role {value!r} is not owner or admin.") from None


def check_email_or_usage(value: str) -> str:
    try:
        return check_email(value)
    except ValueError as exc:
        raise UsageError(f"{exc}.") from None
