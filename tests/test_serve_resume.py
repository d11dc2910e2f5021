"""An embedded service runs the jobs left unfinished in its spool: one submitted but never
run (`import --no-wait`, or a service stopped mid-job) is sent again when the service starts."""

from __future__ import annotations

from pathlib import Path

from tests.serving import HEADER, csv_bytes, finished, served
from ztbulk.jobs import import_file
from ztbulk.jobs.folder import JobState
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, Seeded
from ztbulk.settings import Settings


def test_a_job_left_submitted_is_run_when_the_service_starts(tmp_path: Path) -> None:
    submitted: list[str] = []

    def submit(db: Path, seeded: Seeded) -> None:
        with Registry.open(db) as reg:
            imeis = reg.all("SELECT imei, manufacturer FROM devices WHERE customer_id = ? "
                            "AND imei IS NOT NULL LIMIT 3", [seeded.customer_id])  # fmt: skip
        src = tmp_path / "left.csv"
        target = seeded.configuration_ids[1]
        rows = [f"IMEI,{imei},,,{maker},ZERO_TOUCH,{target}" for imei, maker in imeis]
        src.write_bytes(csv_bytes(HEADER, rows))
        settings = Settings(db=db, spool=tmp_path / "spool")
        result = import_file(src, actor="customer", account_id=seeded.customer_id, user=OWNER,
                             settings=settings, wait=False)  # fmt: skip
        with Registry.open(db) as reg:
            state = reg.one("SELECT state FROM jobs WHERE id = ?", [result.job_id])
        assert state == (JobState.SUBMITTED,)  # nothing runs it yet
        submitted.append(result.job_id)

    with served(tmp_path, before=submit) as world, world.client(OWNER) as client:
        job = finished(client, submitted[0], timeout_s=120)
    assert job["state"] == "done" and job["rows"] == 3
