"""A seeded registry served by a real `ztbulk serve`, with a token per user: what the HTTP
tests (test_serve*.py) share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.services import Service
from ztbulk.domain import Actor
from ztbulk.registry.db import Registry, open_when_free
from ztbulk.registry.seed import ADMIN, OTHER_OWNER, OWNER, RESELLER_OWNER, Seeded, seed
from ztbulk.registry.service import RegistryService

OTHER_RESELLER = "owner@reseller2.example"
HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"


@dataclass
class World:
    service: Service
    seeded: Seeded
    tokens: dict[str, str]  # user e-mail: token

    def client(self, user: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.service.url, headers=headers, timeout=120)

    def devices(self, customer: int, n: int) -> list[dict[str, Any]]:
        """The first `n` devices of the customer identified by IMEI, read from the registry
        file itself (taking turns with the service, which opens it for each request)."""
        with open_when_free(self.service.db, wait_s=30) as reg:
            cur = reg.con.execute(
                "SELECT id, imei, manufacturer, customer_id, configuration_id FROM devices "
                "WHERE customer_id = ? AND imei IS NOT NULL ORDER BY id LIMIT ?",
                [customer, n],
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@contextmanager
def served(
    folder: Path, devices: int = 300, before: Callable[[Path, Seeded], None] | None = None,
    **env: str,
) -> Iterator[World]:  # fmt: skip
    """A seeded registry in `folder`, served; `before(db, seeded)` runs before the service
    starts."""
    db = folder / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        seeded = seed(reg, devices, other_devices=30)
        svc = RegistryService(reg)
        svc.add_account(Actor.RESELLER, "Second reseller", OTHER_RESELLER)
        users = (OWNER, ADMIN, OTHER_OWNER, RESELLER_OWNER, OTHER_RESELLER)
        tokens = {u: str(svc.create_token(u)["token"]) for u in users}
    if before is not None:
        before(db, seeded)
    service = Service(db, folder / "spool", **env)
    service.start()
    try:
        yield World(service, seeded, tokens)
    finally:
        service.stop()


def finished(client: httpx.Client, job_id: str, timeout_s: float = 300) -> dict[str, Any]:
    """The job once it is done (or cancelled), polled as a client would."""
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").raise_for_status().json()
        if job["state"] in ("done", "cancelled"):
            return job
        assert "failed" not in job["status"], job
        assert time.monotonic() < deadline, f"job {job_id} not done in {timeout_s} s: {job}"
        time.sleep(0.1)


def upload(
    client: httpx.Client, body: bytes, *, path: str = "/v1/imports", name: str = "in.csv",
    headers: dict[str, str] | None = None,
) -> httpx.Response:  # fmt: skip
    return client.post(path, params={"name": name}, content=body,
                       headers={"Content-Type": "text/csv"} | (headers or {}))  # fmt: skip


def csv_bytes(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()
