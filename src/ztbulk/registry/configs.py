"""Configurations of a customer (SPEC 7): add, edit, delete, the one default, list."""

from __future__ import annotations

from typing import Any

from ztbulk.domain import Actor
from ztbulk.errors import NotFoundError, UsageError
from ztbulk.registry.access import ANY_ROLE, CONFIG_FIELDS, Access, Principal
from ztbulk.registry.models import Configuration, parse_input


class ConfigurationOps(Access):
    # -- configurations ----------------------------------------------------------------

    def add_config(self, who: Principal, values: dict[str, Any], default: bool) -> dict[str, Any]:
        cid = self._own_customer(who, None, "add configurations")
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
        cid = self._own_customer(who, None, action)
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
        cid = self._own_customer(who, customer_id, "list configurations")
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


def _make_default(con: Any, customer_id: int, config_id: int) -> None:
    # One statement, so "at most one default per customer" holds at every instant.
    con.execute(
        "UPDATE configurations SET is_default = (id = ?), updated_at = now() WHERE customer_id = ?",
        [config_id, customer_id],
    )
