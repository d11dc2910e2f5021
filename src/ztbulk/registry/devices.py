"""Devices (find, export) and the manufacturer/model catalogue of the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ztbulk.domain import Actor
from ztbulk.errors import UsageError
from ztbulk.registry.access import ANY_ROLE, Access, Principal
from ztbulk.report.outputs import spreadsheet_safe
from ztbulk.validate.catalog import Catalog


class DeviceOps(Access):
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
                f"Registry {self.reg.path} holds no catalogue; load one with `ztbulk catalog "
                "fetch` (Google Play's list) or `ztbulk catalog load FILE`."
            )
        found = Catalog.from_frame(frame, f"registry {self.reg.path}")
        packaged = Catalog.packaged()
        if found.same_models(packaged):  # what `registry init` loads: said, for the hint
            return Catalog(found.pairs, f"{found.source}, holding the {packaged.source}")
        return found

    def has_catalog(self) -> bool:
        found = self.reg.one("SELECT count(*) FROM catalog")
        return bool(found and found[0])
