"""The isolation matrix over HTTP (issue 12, SPEC 7): another account's job, device,
configuration or user is 404, the same as a missing one; an admin doing an owner's task is
403; a reseller cannot unclaim what it did not register. Each refusal is set beside the same
request made by someone allowed, so that every check can fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.serving import OTHER_RESELLER, OWNER_HEADER, World, csv_bytes, finished, served, upload
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, OTHER_OWNER, OWNER, RESELLER_OWNER


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(tmp_path_factory.mktemp("isolation")) as w:
        yield w


@pytest.fixture(scope="module")
def a_job(world: World) -> dict[str, Any]:
    """A finished job of customer A (an unclaim of nothing: a row with a short IMEI)."""
    with world.client(OWNER) as client:
        sent = upload(client, csv_bytes(OWNER_HEADER, ["IMEI,123,,,Google,ZERO_TOUCH,0"]))
        return finished(client, sent.json()["id"])


def _requests(world: World, job: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Customer A's things, each as a request: (method, path, httpx options)."""
    config = world.seeded.configuration_ids[1]
    device = world.devices(world.seeded.customer_id, 1)[0]
    files: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", link, {}) for link in job["links"].values() if "/files/" in link
    ]
    return [
        ("GET", f"/v1/jobs/{job['id']}", {}),
        ("POST", f"/v1/jobs/{job['id']}/cancel", {}),
        *files,
        ("GET", "/v1/devices", {"params": {"imei": device["imei"]}}),
        ("PATCH", f"/v1/configurations/{config}", {"json": {"company_name": "Mine now"}}),
        ("POST", f"/v1/configurations/{config}/default", {}),
        ("DELETE", f"/v1/configurations/{config}", {}),
        ("PATCH", f"/v1/users/{ADMIN}", {"json": {"role": "owner"}}),
        ("DELETE", f"/v1/users/{ADMIN}", {}),
    ]


def _send(client: httpx.Client, request: tuple[str, str, dict[str, Any]]) -> httpx.Response:
    method, path, options = request
    return client.request(method, path, **options)


def test_another_account_s_things_are_not_found(world: World, a_job: dict[str, Any]) -> None:
    with world.client(OTHER_OWNER) as other:
        answers = {f"{m} {p}": _send(other, (m, p, o)) for m, p, o in _requests(world, a_job)}
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 404)
    assert all(r.json()["code"] == "NOT_FOUND" for r in answers.values())
    with world.client(OTHER_OWNER) as other:
        assert a_job["id"] not in [j["id"] for j in other.get("/v1/jobs").json()]
    # The same reads by A's own owner pass: the 404s above are the account's doing.
    with world.client(OWNER) as owner:
        reads = [r for r in _requests(world, a_job) if r[0] == "GET"]
        assert {_send(owner, r).status_code for r in reads} == {200}


def test_a_missing_thing_is_the_same_404(world: World, a_job: dict[str, Any]) -> None:
    with world.client(OTHER_OWNER) as other:
        foreign = other.patch(f"/v1/configurations/{world.seeded.configuration_ids[1]}",
                              json={"name": "x"})  # fmt: skip
        missing = other.patch("/v1/configurations/999999", json={"name": "x"})
    assert foreign.status_code == missing.status_code == 404


OWNER_TASKS = [
    ("POST", "/v1/users", {"json": {"email": "new@customer.example", "role": "admin"}}),
    ("PATCH", f"/v1/users/{OWNER}", {"json": {"role": "admin"}}),
    ("DELETE", f"/v1/users/{OWNER}", {}),
]


@pytest.mark.parametrize("request_", OWNER_TASKS, ids=lambda r: f"{r[0]} {r[1]}")
def test_an_admin_doing_an_owner_s_task_is_403(
    world: World, request_: tuple[str, str, dict[str, Any]]
) -> None:
    with world.client(ADMIN) as admin:
        answer = _send(admin, request_)
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "PERMISSION_DENIED"


def test_the_owner_may_do_those_tasks(world: World) -> None:
    with world.client(OWNER) as owner:
        assert _send(owner, OWNER_TASKS[0]).status_code == 201
        changed = owner.patch("/v1/users/new@customer.example", json={"role": "owner"})
        assert changed.json() == {"email": "new@customer.example", "role": "owner"}
        assert owner.delete("/v1/users/new@customer.example").status_code == 204


def test_a_reseller_user_has_no_configurations(world: World) -> None:
    with world.client(RESELLER_OWNER) as reseller:
        assert reseller.get("/v1/configurations").status_code == 403
        assert reseller.get("/v1/devices/export").status_code == 403


def _unclaim(world: World, user: str, devices: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [f"IMEI,{d['imei']},,,{d['manufacturer']},ZERO_TOUCH,0" for d in devices]
    with world.client(user) as client:
        return finished(client, upload(client, csv_bytes(OWNER_HEADER, rows)).json()["id"])


def _owners(world: World, ids: list[int]) -> list[int | None]:
    with Registry.open(world.service.db) as reg:
        rows = reg.all(
            f"SELECT customer_id FROM devices WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id",
            ids,
        )
    return [r[0] for r in rows]


def test_a_reseller_cannot_unclaim_what_it_did_not_register(world: World) -> None:
    devices = world.devices(world.seeded.customer_id, 3)[-2:]  # registered by the seeded one
    ids = [int(d["id"]) for d in devices]
    refused = _unclaim(world, OTHER_RESELLER, devices)
    assert refused["outcomes"] == {"rejected": 2}
    assert refused["codes"] == {"DEVICE_NOT_FOUND": 2}
    assert _owners(world, ids) == [world.seeded.customer_id] * 2
    done = _unclaim(world, RESELLER_OWNER, devices)  # the one that registered them may
    assert done["outcomes"] == {"unclaimed": 2}
    assert _owners(world, ids) == [None, None]
