"""The bulk registry builder for demos, tests and benchmarks (`ztbulk registry seed`).

It creates a customer (an owner and an admin), a reseller enabled by that customer, three
configurations (one default), a second customer for isolation tests, and N devices drawn from
the catalogue: most identified by IMEI (some dual-SIM, registered by their lowest IMEI, with
the second one known), some by MEID, some Wi-Fi-only by serial, a few Samsung ones flagged for
Knox Mobile Enrollment. Devices are made as Polars columns and inserted with one statement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import polars as pl

from ztbulk.domain import Actor
from ztbulk.registry.db import Registry
from ztbulk.registry.schema import CREATE_DEVICE_INDEXES, DROP_DEVICE_INDEXES, NUMBERED
from ztbulk.registry.service import RegistryService
from ztbulk.sample import luhn_check_digit, pick, rand
from ztbulk.validate.catalog import Catalog

OWNER, ADMIN = "owner@customer.example", "admin@customer.example"
RESELLER_OWNER, OTHER_OWNER = "owner@reseller.example", "owner@other.example"
CONFIGS = [
    ("Standard", "com.example.emm/.AdminReceiver", True),
    ("Kiosk", "com.example.emm/.KioskReceiver", False),
    ("Field", "com.example.emm/.FieldReceiver", False),
]


@dataclass
class Seeded:
    customer_id: int
    other_customer_id: int
    reseller_id: int
    owner: str
    admin: str
    reseller_owner: str
    other_owner: str
    configuration_ids: list[int]
    default_configuration_id: int
    other_configuration_id: int
    devices: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def seed(reg: Registry, devices: int, *, seed_value: int = 11, other_devices: int = 100) -> Seeded:
    svc = RegistryService(reg)
    if not reg.one("SELECT count(*) FROM catalog")[0]:  # type: ignore[index]
        svc.load_catalog(Catalog.packaged())
    customer, other, reseller, config_ids, other_config = _accounts(svc)
    catalog = svc.catalog()
    for n, owner, configs, s in (
        (devices, customer, config_ids, seed_value),
        (other_devices, other, [other_config], seed_value + 1),
    ):
        _insert_devices(reg, catalog, n, customer=owner, reseller=reseller, configs=configs, s=s)
    return Seeded(
        customer_id=customer,
        other_customer_id=other,
        reseller_id=reseller,
        owner=OWNER,
        admin=ADMIN,
        reseller_owner=RESELLER_OWNER,
        other_owner=OTHER_OWNER,
        configuration_ids=config_ids,
        default_configuration_id=config_ids[0],
        other_configuration_id=other_config,
        devices=devices,
    )


def _accounts(svc: RegistryService) -> tuple[int, int, int, list[int], int]:
    """Two customers, a reseller the first has enabled, its users and configurations:
    (customer, other customer, reseller, the customer's configurations, the other's)."""
    customer = svc.add_account(Actor.CUSTOMER, "Example Customer", OWNER)["id"]
    other = svc.add_account(Actor.CUSTOMER, "Other Customer", OTHER_OWNER)["id"]
    reseller = svc.add_account(Actor.RESELLER, "Example Reseller", RESELLER_OWNER)["id"]
    owner = svc.principal(OWNER)
    svc.add_user(owner, ADMIN, "admin")
    svc.set_reseller(owner, reseller, True)
    config_ids = [
        svc.add_config(owner, {"name": n, "emm_dpc": d, "company_name": "Example"}, default)["id"]
        for n, d, default in CONFIGS
    ]
    other_config = svc.add_config(
        svc.principal(OTHER_OWNER),
        {"name": "Other", "emm_dpc": "org.other/.Receiver", "company_name": "Other"},
        True,
    )["id"]
    return customer, other, reseller, config_ids, other_config


def device_frame(
    catalog: Catalog,
    n: int,
    *,
    first_id: int,
    customer: int,
    reseller: int,
    configs: list[int],
    s: int,
) -> pl.DataFrame:
    """`n` devices with unique identifiers (ids and IMEI serials follow the row number)."""
    pairs = catalog.pairs.filter(pl.col("model").is_not_null())
    models, makers = pairs["model"].to_list(), pairs["manufacturer"].to_list()
    kind = rand(s, 1) % 100
    pair_ix = (rand(s, 2) % len(models)).cast(pl.Int64)
    # The device number makes every identifier unique; the prefix keeps seeds apart.
    number = (pl.col("i") + first_id).cast(pl.String).str.zfill(6)
    body = pl.lit(f"35{s % 100:02d}") + number.str.slice(-10).str.zfill(10)
    # Second IMEIs get a higher prefix: unique, and above the first (the registered lowest).
    body2 = pl.lit(f"36{s % 100:02d}") + number.str.slice(-10).str.zfill(10)
    frame = (
        pl.int_range(0, n, dtype=pl.UInt64, eager=True)
        .to_frame("i")
        .select(
            id=(pl.col("i") + first_id).cast(pl.Int64),
            kind=kind,
            manufacturer=pl.lit(pl.Series(makers)).implode().list.get(pair_ix),
            model=pl.lit(pl.Series(models)).implode().list.get(pair_ix),
            imei=body + luhn_check_digit(body),
            imei2=body2 + luhn_check_digit(body2),
            meid=pl.lit("A0") + (pl.col("i") + first_id).cast(pl.String).str.zfill(12),
            serial=pl.lit("SN") + number,
            configuration_id=pick([str(c) for c in configs], s, 3).cast(pl.Int64),
            kme=(rand(s, 4) % 100) < 30,
        )
    )
    return _one_identifier_kind(frame, customer, reseller)


def _one_identifier_kind(frame: pl.DataFrame, customer: int, reseller: int) -> pl.DataFrame:
    """80% IMEI devices (a tenth of them dual-SIM), 5% MEID, the rest known by serial."""
    imei_row, meid_row = pl.col("kind") < 80, (pl.col("kind") >= 80) & (pl.col("kind") < 85)
    return frame.select(
        "id",
        imei=pl.when(imei_row).then("imei"),
        imei2=pl.when(imei_row & (pl.col("kind") < 10)).then("imei2"),
        meid=pl.when(meid_row).then("meid"),
        serial=pl.when(~imei_row & ~meid_row).then("serial"),
        model="model",
        manufacturer="manufacturer",
        customer_id=pl.lit(customer, pl.Int64),
        reseller_id=pl.lit(reseller, pl.Int64),
        configuration_id="configuration_id",
        kme=pl.col("kme") & (pl.col("manufacturer").str.to_lowercase() == "samsung"),
    )


def _insert_devices(
    reg: Registry,
    catalog: Catalog,
    n: int,
    *,
    customer: int,
    reseller: int,
    configs: list[int],
    s: int,
) -> None:
    if n <= 0:
        return
    # Identifier numbers continue after the devices already there, so seeds never collide.
    top = reg.one("SELECT count(*) FROM devices")
    first_id = int(top[0]) + 1 if top else 1
    frame = device_frame(
        catalog, n, first_id=first_id, customer=customer, reseller=reseller, configs=configs, s=s
    )
    before = reg.one("SELECT coalesce(max(id), 0) FROM devices")
    with reg.transaction() as con:
        # The indexes are built again over the bulk rows, in a transaction of their own: 2x
        # faster than keeping them up row by row, or than building them in the same one.
        for statement in DROP_DEVICE_INDEXES:
            con.execute(statement)
        con.register("new_devices", frame)
        # Ids come from the registry's sequence, like those of devices an import creates.
        con.execute(
            "INSERT INTO devices (id, imei, imei2, meid, serial, model, manufacturer, customer_id, "
            f"reseller_id, configuration_id, kme, {', '.join(NUMBERED)}) "
            "SELECT nextval('device_ids'), imei, imei2, meid, serial, model, manufacturer, "
            f"customer_id, reseller_id, configuration_id, kme, {', '.join(NUMBERED.values())} "
            "FROM (SELECT * FROM new_devices ORDER BY id)"
        )
        con.unregister("new_devices")
    _restore_indexes(reg, int(before[0]) if before else 0)


def _restore_indexes(reg: Registry, last_old_id: int) -> None:
    """Build the device indexes again; if the new rows hold a twin, take them out first, so
    the registry is never left without its indexes."""
    try:
        with reg.transaction() as con:
            for statement in CREATE_DEVICE_INDEXES:
                con.execute(statement)
    except duckdb.ConstraintException:
        with reg.transaction() as con:
            con.execute("DELETE FROM devices WHERE id > ?", [last_old_id])
            for statement in CREATE_DEVICE_INDEXES:
                con.execute(statement)
        raise
