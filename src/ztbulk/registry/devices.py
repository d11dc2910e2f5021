"""Devices (find, list, export: a customer's own, those a reseller registered) and the
manufacturer/model catalogue of the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ztbulk.domain import Actor
from ztbulk.errors import UsageError
from ztbulk.registry.access import ANY_ROLE, Access, Principal
from ztbulk.report.outputs import spreadsheet_safe
from ztbulk.validate.catalog import Catalog

# What `device find` and `device list` show of a device: not the numbered identifiers
# (`imei_n`...), which only serve resolve's joins.
SHOWN = (
    "id, imei, imei2, meid, serial, model, manufacturer, customer_id, reseller_id, "
    "configuration_id, kme, created_at, updated_at"
)
# `device export`: SPEC's columns, so the file imports again as is, and ztbulk_ extras. A
# customer's file sets configurations (profileid); a reseller's claims (owner = the customer).
_IDENTIFIERS = """CASE WHEN d.imei IS NOT NULL THEN 'IMEI' WHEN d.meid IS NOT NULL THEN 'MEID' END
       AS modemtype, coalesce(d.imei, d.meid) AS modemid, d.serial, d.model, d.manufacturer,
       'ZERO_TOUCH' AS profiletype"""
EXPORT = {
    Actor.CUSTOMER: f"""SELECT {_IDENTIFIERS}, CAST(d.configuration_id AS VARCHAR) AS profileid,
       d.id AS ztbulk_device_id, d.imei2 AS ztbulk_imei2, c.name AS ztbulk_configuration,
       d.reseller_id AS ztbulk_reseller_id, d.kme AS ztbulk_kme
       FROM devices d LEFT JOIN configurations c ON c.id = d.configuration_id""",
    Actor.RESELLER: f"""SELECT {_IDENTIFIERS}, CAST(d.customer_id AS VARCHAR) AS owner,
       d.id AS ztbulk_device_id, d.imei2 AS ztbulk_imei2, d.kme AS ztbulk_kme
       FROM devices d""",
}


class DeviceOps(Access):
    # -- devices -------------------------------------------------------------------------

    def _scope(self, who: Principal, customer_id: int | None, action: str) -> tuple[str, list[int]]:
        """SQL condition on `devices d` (and its parameters) for the devices `who` may see: a
        customer's own devices; the devices a reseller registered (of one customer, if given)."""
        if who.kind is Actor.CUSTOMER:
            self.require(who, Actor.CUSTOMER, customer_id or who.account_id, ANY_ROLE, action)
            return "d.customer_id = ?", [who.account_id]
        self.require(who, who.kind, who.account_id, ANY_ROLE, action)
        if customer_id is None:
            return "d.reseller_id = ?", [who.account_id]
        return "d.reseller_id = ? AND d.customer_id = ?", [who.account_id, customer_id]

    def _devices(self, where: str, params: list[Any], tail: str = "") -> list[dict[str, Any]]:
        rows = self.reg.con.execute(
            f"SELECT {SHOWN} FROM devices d WHERE {where} ORDER BY id {tail}", params
        )
        names = [d[0] for d in rows.description]
        return [
            {k: (str(v) if k.endswith("_at") else v) for k, v in zip(names, r, strict=True)}
            for r in rows.fetchall()
        ]

    def find_device(self, who: Principal, identifier: str) -> list[dict[str, Any]]:
        """Devices of the caller's account whose IMEI, second IMEI, MEID or serial matches
        (for a reseller: the devices it registered)."""
        where, params = self._scope(who, None, "look up devices")
        value = identifier.strip()
        match = "(imei = ? OR imei2 = ? OR upper(meid) = upper(?) OR serial = ?)"
        return self._devices(f"{where} AND {match}", [*params, value, value, value, value])

    def list_devices(
        self, who: Principal, customer_id: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """The first `limit` devices the caller may see, by id."""
        if limit < 1:
            raise UsageError("--limit must be a positive number.")
        where, params = self._scope(who, customer_id, "list devices")
        return self._devices(where, params, f"LIMIT {int(limit)}")

    def export_devices(self, who: Principal, customer_id: int | None, out: Path) -> int:
        """Write the devices the caller may see as an importable CSV (SPEC columns + ztbulk_
        extras): a customer's with profileid, a reseller's with owner."""
        where, params = self._scope(who, customer_id, "export devices")
        frame = self.reg.con.sql(
            f"{EXPORT[who.kind]} WHERE {where} ORDER BY d.id", params=params
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
                f"Registry {self.reg.path} holds no catalogue; load one with `ztbulk catalog "
                "fetch` (Google Play's list) or `ztbulk catalog load FILE`."
            )
        found = Catalog.from_frame(frame, f"registry {self.reg.path}")
        packaged = Catalog.packaged()
        if found.same_models(packaged):  # what `registry init` loads: said, for the hint
            return Catalog(found.pairs, f"{found.source}: {packaged.source}")
        return found

    def has_catalog(self) -> bool:
        found = self.reg.one("SELECT count(*) FROM catalog")
        return bool(found and found[0])
