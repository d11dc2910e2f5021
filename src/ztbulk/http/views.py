"""A job as the API shows it: the ledger's row, its progress, and its report once done.

A job of another account is not found, the same as one that does not exist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ztbulk.errors import NotFoundError, UsageError
from ztbulk.http.models import Job, JobFile, Progress
from ztbulk.http.runtime import Runtime
from ztbulk.jobs import ledger
from ztbulk.jobs.api import describe
from ztbulk.jobs.folder import JOB_ID, UNFINISHED, JobFolder, JobState
from ztbulk.registry.access import Principal
from ztbulk.registry.db import Registry
from ztbulk.registry.tokens import secret
from ztbulk.report.links import LINK_SECRET, status_path
from ztbulk.report.model import REPORT_JSON


def own_job(reg: Registry, who: Principal, job_id: str) -> dict[str, Any]:
    """The ledger's row of the job, if it is a job of the caller's account."""
    missing = NotFoundError(f"No job {job_id[:40]!r} in your account.")
    if not JOB_ID.fullmatch(job_id) or reg.one("SELECT 1 FROM jobs WHERE id = ?", [job_id]) is None:
        raise missing
    job = ledger.job_row(reg, job_id)
    if job["actor_kind"] != who.kind.value or int(job["actor_id"]) != who.account_id:
        raise missing
    return job


def out_dir(reg: Registry, rt: Runtime, job_id: str) -> Path | None:
    """Where the job's outputs are (None: spooled elsewhere than this service's spool)."""
    try:
        return Path(ledger.spec(reg, JobFolder(rt.settings.spool, job_id)).out_dir)
    except UsageError:
        return None


def job_view(reg: Registry, rt: Runtime, job: dict[str, Any]) -> Job:
    job_id, state = str(job["id"]), str(job["state"])
    done, total = ledger.progress(reg, job_id)
    out = out_dir(reg, rt, job_id)
    report = _report(out) if state == JobState.DONE and out is not None else None
    done_report: dict[str, Any] = report or {}
    return Job(
        id=job_id, state=state, status=_status(rt, job), dry_run=bool(job["dry_run"]),
        file_name=str(job["file_name"]), file_size=int(job["file_size"]),
        sha256=str(job["sha256"]), account_kind=str(job["actor_kind"]),
        account_id=int(job["actor_id"]), user=str(job["user_email"]),
        created_at=str(job["created_at"]), updated_at=str(job["updated_at"]),
        rows=job["rows"],
        progress=Progress(rows_done=done, rows_total=total,
                          batches_done=int(job["batches_done"] or 0),
                          batches=int(job["batches"] or 0)),
        outcomes=done_report.get("outcomes"), codes=done_report.get("codes"),
        file_errors=done_report.get("file_errors"), exit_code=done_report.get("exit_code"),
        links=_links(reg, rt, job_id, report is not None),
    )  # fmt: skip


def _report(out: Path) -> dict[str, Any] | None:
    path = out / REPORT_JSON
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _status(rt: Runtime, job: dict[str, Any]) -> str:
    """`describe`'s words; an embedded service runs its unfinished jobs itself."""
    state, folder = str(job["state"]), JobFolder(rt.settings.spool, str(job["id"]))
    told = describe(rt.settings, job)
    plain = state in UNFINISHED and not job.get("error") and not folder.note()
    if plain and not rt.settings.distributed and folder.state() != JobState.FAILED:
        return f"{state}: running in this service"
    return told


def _links(reg: Registry, rt: Runtime, job_id: str, done: bool) -> dict[str, str]:
    links = {"self": f"/v1/jobs/{job_id}", "cancel": f"/v1/jobs/{job_id}/cancel"}
    if done:
        links |= {f.value: f"/v1/jobs/{job_id}/files/{f.value}" for f in JobFile}
        # The key is read from the registry each time: the workers sign the e-mail's link
        # with it too, and a registry made anew (the demo's) has a key of its own.
        key = secret(reg, LINK_SECRET)
        links["status_page"] = status_path(key, job_id, rt.settings.link_hours)
    return links
