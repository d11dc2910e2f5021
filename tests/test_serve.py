"""`ztbulk serve` as a client sees it (issue 12): a real server process on a free port, a real
registry, httpx. Uploads, jobs and their files, the idempotent retry, the byte limit, errors as
problem documents, and the registry never held between requests."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.serving import HEADER, World, csv_bytes, finished, served, upload
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, OWNER

LIMIT = 200_000  # the service's byte limit here (ZTBULK_MAX_FILE_BYTES)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(tmp_path_factory.mktemp("serve"), ZTBULK_MAX_FILE_BYTES=str(LIMIT)) as w:
        yield w


def _apply_rows(world: World, n: int, bad: int = 1) -> bytes:
    """Rows applying the customer's second configuration to its first devices, and `bad`
    rows with a short IMEI."""
    target = world.seeded.configuration_ids[1]
    rows = [f"IMEI,{d['imei']},,,{d['manufacturer']},ZERO_TOUCH,{target}"
            for d in world.devices(world.seeded.customer_id, n)]  # fmt: skip
    return csv_bytes(HEADER, rows + ["IMEI,12345,,,Google,ZERO_TOUCH,1"] * bad)


def test_an_upload_is_imported_and_its_outputs_download(world: World) -> None:
    with world.client(OWNER) as client:
        sent = upload(client, _apply_rows(world, 20), name="../../my devices.csv")
        assert sent.status_code == 202, sent.text
        job = sent.json()
        assert sent.headers["location"] == f"/v1/jobs/{job['id']}"
        assert job["file_name"] == "my devices.csv"  # a name, never a path
        done = finished(client, job["id"])
        assert done["rows"] == 21 and done["exit_code"] == 1
        assert sum(done["outcomes"].values()) == 21 and done["outcomes"]["rejected"] == 1
        assert done["codes"]["IMEI_FORMAT"] == 1
        assert done["progress"]["rows_done"] == done["progress"]["rows_total"] == 20
        files = {name: client.get(link) for name, link in done["links"].items()
                 if "/files/" in link}  # fmt: skip
    assert {n: r.status_code for n, r in files.items()} == dict.fromkeys(files, 200)
    assert json.loads(files["report.json"].content)["job"]["id"] == job["id"]
    outcomes = pl.read_parquet(io.BytesIO(files["outcomes.parquet"].content))
    assert outcomes.height == 21
    errors = list(csv.DictReader(io.StringIO(files["errors.csv"].content.decode("utf-8-sig"))))
    assert [(e["ztbulk_line"], e["ztbulk_codes"]) for e in errors] == [("22", "IMEI_FORMAT")]
    assert files["errors.csv"].headers["content-type"].startswith("text/csv")
    assert "<svg" in files["report.html"].text
    with Registry.open(world.service.db) as reg:  # what the job applied is in the registry
        applied = reg.one(
            "SELECT count(*) FROM devices WHERE customer_id = ? AND configuration_id = ?",
            [world.seeded.customer_id, world.seeded.configuration_ids[1]],
        )
    assert applied is not None and applied[0] >= 20


def test_a_dry_run_changes_nothing(world: World) -> None:
    body = _apply_rows(world, 5, bad=0).replace(b",ZERO_TOUCH,", b",ZERO_TOUCH,9")  # no config
    with world.client(OWNER) as client:
        job = finished(client, upload(client, body, path="/v1/checks").json()["id"])
    assert job["dry_run"] and job["outcomes"] == {"rejected": 5}
    assert job["codes"] == {"CONFIGURATION_NOT_FOUND": 5}


def test_a_retried_upload_with_its_idempotency_key_gets_the_same_job(world: World) -> None:
    body, key = _apply_rows(world, 3), {"Idempotency-Key": "retry-42"}
    with world.client(OWNER) as client:
        first = upload(client, body, headers=key)
        again = upload(client, body, headers=key)
        other = upload(client, body, headers={"Idempotency-Key": "another"})
        listed = [j["id"] for j in client.get("/v1/jobs", params={"limit": 500}).json()]
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] != other.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert listed.count(first.json()["id"]) == 1
    with world.client(ADMIN) as admin:  # a key is the user's own: another user's is another
        assert upload(admin, body, headers=key).json()["id"] != first.json()["id"]


def test_a_file_over_the_limit_is_413_and_leaves_nothing(world: World) -> None:
    big = b"x" * (LIMIT + 1)
    with world.client(OWNER) as client:
        before = len(client.get("/v1/jobs", params={"limit": 500}).json())
        declared = upload(client, big)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found by counting
            yield from (big[i : i + 65536] for i in range(0, len(big), 65536))

        streamed = client.post(
            "/v1/imports", content=chunks(), headers={"Content-Type": "text/csv"}
        )
        after = len(client.get("/v1/jobs", params={"limit": 500}).json())
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "FILE_TOO_LARGE"
    assert after == before
    assert list((world.service.spool / ".uploads").iterdir()) == []


def test_errors_are_problem_documents_without_tracebacks(world: World) -> None:
    with world.client(None) as anonymous:
        no_token = anonymous.get("/v1/jobs")
        bad_token = anonymous.get("/v1/jobs", headers={"Authorization": "Bearer ztb_nope"})
    with world.client(OWNER) as client:
        not_a_job = client.get("/v1/jobs/not-a-job")
        bad_query = client.get("/v1/jobs", params={"limit": "many"})
        no_route = client.get("/v1/nothing-here")
    for answer, status, code in (
        (no_token, 401, "UNAUTHENTICATED"), (bad_token, 401, "UNAUTHENTICATED"),
        (not_a_job, 404, "NOT_FOUND"), (bad_query, 422, "INVALID_REQUEST"),
        (no_route, 404, "NOT_FOUND"),
    ):  # fmt: skip
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert problem["status"] == status and problem["code"] == code
        assert problem["type"].startswith("urn:ztbulk:problem:") and problem["title"]
        assert "Traceback" not in answer.text
    assert no_token.headers["www-authenticate"] == "Bearer"


def test_the_registry_is_free_between_requests(world: World) -> None:
    with world.client(OWNER) as client:
        assert client.get("/v1/customer").status_code == 200
        # DuckDB lets one process open the file: this open fails if the service kept it.
        with Registry.open(world.service.db) as reg:
            assert reg.one("SELECT count(*) FROM users") is not None
        assert client.get("/v1/me").json()["account_id"] == world.seeded.customer_id


def test_a_removed_user_token_stops_working_and_a_revoked_one_too(world: World) -> None:
    with world.client(OWNER) as owner:
        assert owner.post("/v1/users", json={"email": "temp@customer.example"}).status_code == 201
    with Registry.open(world.service.db) as reg:
        from ztbulk.registry.service import RegistryService

        made = RegistryService(reg).create_token("temp@customer.example")
    temp = {"Authorization": f"Bearer {made['token']}"}
    with world.client(None) as anonymous:
        assert anonymous.get("/v1/me", headers=temp).status_code == 200
        with world.client(OWNER) as owner:
            assert owner.delete("/v1/users/temp@customer.example").status_code == 204
        assert anonymous.get("/v1/me", headers=temp).status_code == 401


def test_the_summary_email_link_opens_the_status_page_without_a_token(world: World) -> None:
    with world.client(OWNER) as client:
        job = finished(client, upload(client, _apply_rows(world, 4)).json()["id"])
        eml = client.get(job["links"]["summary.eml"]).content
    message = email.message_from_bytes(eml, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    text = message.get_body(("plain",))
    assert text is not None
    link = next(w for w in text.get_content().split() if "/status/" in w)
    assert link.startswith(world.service.url + f"/status/{job['id']}?expires=")
    with world.client(None) as anonymous:
        page = anonymous.get(link)
        forged = anonymous.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
        other = anonymous.get(link.replace(job["id"], job["id"][:-1] + "0"))
    assert page.status_code == 200 and "<svg" in page.text
    assert job["id"] in page.text or "4" in page.text
    assert forged.status_code == other.status_code == 404


def test_the_openapi_document_is_served(world: World, tmp_path: Path) -> None:
    with world.client(None) as anonymous:
        doc = anonymous.get("/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/imports", "/v1/checks", "/v1/jobs", "/v1/jobs/{job_id}/files/{name}",
            "/v1/devices", "/v1/devices/export", "/v1/configurations", "/v1/users",
            "/v1/resellers", "/v1/customer"} <= set(doc["paths"])  # fmt: skip
    body = doc["paths"]["/v1/imports"]["post"]["requestBody"]["content"]
    assert "text/csv" in body
