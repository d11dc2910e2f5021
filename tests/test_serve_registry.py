"""The registry over HTTP as the CLI has it: devices found by each kind of identifier and
exported as an importable CSV, configurations, resellers and the customer's details."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.serving import World, served
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, RESELLER_OWNER


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(tmp_path_factory.mktemp("registry")) as w:
        yield w


def _one(world: World, where: str) -> dict[str, Any]:
    with Registry.open(world.service.db) as reg:
        cur = reg.con.execute(
            f"SELECT id, imei, imei2, meid, serial, model, manufacturer FROM devices "
            f"WHERE customer_id = ? AND {where} ORDER BY id LIMIT 1",
            [world.seeded.customer_id],
        )
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchall()[0], strict=True))


def test_devices_are_found_by_each_identifier(world: World) -> None:
    dual = _one(world, "imei2 IS NOT NULL")
    meid = _one(world, "meid IS NOT NULL")
    serial = _one(world, "imei IS NULL AND meid IS NULL")
    asks = [
        ({"imei": dual["imei"]}, dual),
        ({"imei": dual["imei2"]}, dual),  # the second IMEI finds it too
        ({"meid": str(meid["meid"]).lower()}, meid),
        ({"serial": serial["serial"], "model": str(serial["model"]).upper(),
          "manufacturer": serial["manufacturer"]}, serial),
    ]  # fmt: skip
    with world.client(OWNER) as client:
        for params, device in asks:
            found = client.get("/v1/devices", params=params)
            assert found.status_code == 200, (params, found.text)
            assert [d["id"] for d in found.json()] == [device["id"]]
        wrong_model = client.get("/v1/devices", params={
            "serial": serial["serial"], "model": "No such model",
            "manufacturer": serial["manufacturer"]})  # fmt: skip
        two_kinds = client.get("/v1/devices", params={"imei": "1", "meid": "2"})
    assert wrong_model.status_code == 404
    assert two_kinds.status_code == 400


def test_the_export_is_the_customer_s_devices_as_csv(world: World) -> None:
    with world.client(OWNER) as client, client.stream("GET", "/v1/devices/export") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        text = b"".join(answer.iter_bytes()).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    with Registry.open(world.service.db) as reg:
        count = reg.one("SELECT count(*) FROM devices WHERE customer_id = ?",
                        [world.seeded.customer_id])  # fmt: skip
    assert count is not None and len(rows) == count[0] > 0
    assert {"modemtype", "modemid", "profileid", "ztbulk_device_id"} <= set(rows[0])
    assert not list(world.service.spool.glob(".export-*"))  # the file is removed once sent


def test_configurations_round_trip(world: World) -> None:
    new = {"name": "Warehouse", "emm_dpc": "com.example/.Receiver", "company_name": "Example",
           "dpc_extras": '{"b": 1, "a": 2}', "support_email": "Help@Example.com"}  # fmt: skip
    with world.client(OWNER) as client:
        made = client.post("/v1/configurations", json=new)
        assert made.status_code == 201, made.text
        config = made.json()
        assert config["dpc_extras"] == '{"a":2,"b":1}' and not config["is_default"]
        assert config["support_email"] == "help@example.com"
        edited = client.patch(f"/v1/configurations/{config['id']}", json={"name": "Depot"})
        assert edited.json()["name"] == "Depot" and edited.json()["emm_dpc"] == new["emm_dpc"]
        default = client.post(f"/v1/configurations/{config['id']}/default").json()
        listed = client.get("/v1/configurations").json()
        bad = client.post("/v1/configurations", json=new | {"dpc_extras": "[1]"})
        assert client.delete(f"/v1/configurations/{config['id']}").status_code == 204
        after = [c["id"] for c in client.get("/v1/configurations").json()]
    assert default["is_default"]
    assert [c["id"] for c in listed if c["is_default"]] == [config["id"]]
    assert bad.status_code == 400 and "JSON object" in bad.json()["detail"]
    assert config["id"] not in after


def test_resellers_and_the_customer(world: World) -> None:
    reseller = world.seeded.reseller_id
    with world.client(OWNER) as client:
        listed = client.get("/v1/resellers").json()
        off = client.post(f"/v1/resellers/{reseller}/disable").json()
        shown = client.get("/v1/customer").json()
        on = client.post(f"/v1/resellers/{reseller}/enable").json()
        missing = client.post("/v1/resellers/999999/enable")
    assert reseller in [r["id"] for r in listed]
    assert off == {"customer_id": world.seeded.customer_id, "reseller_id": reseller,
                   "enabled": False}  # fmt: skip
    assert {"id": reseller, "enabled": False} in [
        {"id": r["id"], "enabled": r["enabled"]} for r in shown["resellers"]
    ]
    assert shown["id"] == world.seeded.customer_id and shown["devices"] > 0
    assert on["enabled"] and missing.status_code == 404
    with world.client(RESELLER_OWNER) as reseller_user:
        assert reseller_user.get("/v1/me").json()["account_kind"] == "reseller"
        assert reseller_user.get("/v1/customer").status_code == 403
