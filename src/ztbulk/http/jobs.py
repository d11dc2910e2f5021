"""/v1 imports, checks (dry runs) and jobs: upload, follow, cancel, download the outputs.

An upload answers 202 as soon as the job is submitted: the job runs in the service's job
threads (embedded) or in the workers (distributed), and `GET /v1/jobs/{id}` follows it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ztbulk.errors import ConflictError, NotFoundError
from ztbulk.http.deps import Open, Rt, Who
from ztbulk.http.i18n import negotiate
from ztbulk.http.models import Job, JobFile
from ztbulk.http.problems import Problem
from ztbulk.http.runtime import Runtime
from ztbulk.http.uploads import DEFAULT_NAME, Received, receive
from ztbulk.http.views import job_view, out_dir, own_job
from ztbulk.jobs import cancel_job, import_file
from ztbulk.jobs.folder import UNFINISHED, JobState
from ztbulk.jobs.ledger import list_jobs
from ztbulk.registry.access import Principal
from ztbulk.registry.tokens import reserve_key, settle_key

router = APIRouter(prefix="/v1", tags=["jobs"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem, "description": d}
    for s, d in ((400, "bad request"), (401, "no valid token"), (403, "not allowed"),
                 (404, "not found"), (409, "conflict"), (503, "registry busy, retry"))
}  # fmt: skip
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the CSV file itself, as the request body (any size: it is streamed)",
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}
MEDIA = {
    JobFile.REPORT_JSON: "application/json",
    JobFile.OUTCOMES_PARQUET: "application/vnd.apache.parquet",
    JobFile.ERRORS_CSV: "text/csv; charset=utf-8",
    JobFile.REPORT_HTML: "text/html; charset=utf-8",
    JobFile.SUMMARY_EML: "message/rfc822",
}
Name = Annotated[str, Query(max_length=255, description="the file's name, for the reports")]
Key = Annotated[str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")]
TOO_LARGE: dict[int | str, dict[str, Any]] = {413: {"model": Problem, "description": "too large"}}


@router.post("/imports", summary="upload a CSV and import it", status_code=202,
             response_model=Job, openapi_extra=CSV_BODY, responses=ERRORS | TOO_LARGE)  # fmt: skip
async def upload_import(
    request: Request, rt: Rt, who: Who, name: Name = DEFAULT_NAME, idempotency_key: Key = None
) -> JSONResponse:
    return await _accept(request, rt, who, name, idempotency_key, dry_run=False)


@router.post("/checks", summary="upload a CSV for a dry run: what each row would do",
             status_code=202, response_model=Job, openapi_extra=CSV_BODY,
             responses=ERRORS | TOO_LARGE)  # fmt: skip
async def upload_check(
    request: Request, rt: Rt, who: Who, name: Name = DEFAULT_NAME, idempotency_key: Key = None
) -> JSONResponse:
    return await _accept(request, rt, who, name, idempotency_key, dry_run=True)


async def _accept(
    request: Request, rt: Runtime, who: Principal, name: str, key: str | None, *, dry_run: bool
) -> JSONResponse:
    """Stream the body into the spool, submit the job, answer 202 with it. With an
    Idempotency-Key, a request that comes again gets the job of the first (its body unread).
    The job writes its row messages and e-mail in the request's language (Accept-Language),
    else in the user's (`ztbulk user lang`)."""
    accept = request.headers.get("accept-language")
    lang = negotiate(accept) if accept else None
    if key is not None and (earlier := await run_in_threadpool(_reserve, rt, who, key)):
        return _accepted(await run_in_threadpool(_view, rt, who, earlier), replayed=True)
    try:
        received = await receive(request, rt.settings, name)
        try:
            job_id = await run_in_threadpool(_submit, rt, who, received, dry_run, lang)
        finally:
            received.discard()
    except BaseException:
        if key is not None:
            await run_in_threadpool(_settle, rt, who, key, None)
        raise
    if key is not None:
        await run_in_threadpool(_settle, rt, who, key, job_id)
    return _accepted(await run_in_threadpool(_view, rt, who, job_id), replayed=False)


def _accepted(job: Job, replayed: bool) -> JSONResponse:
    headers = {"Location": job.links["self"]}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(job.model_dump(mode="json"), status_code=202, headers=headers)


def _reserve(rt: Runtime, who: Principal, key: str) -> str | None:
    with rt.registry() as svc:
        return reserve_key(svc.reg, who.email, key)


def _settle(rt: Runtime, who: Principal, key: str, job_id: str | None) -> None:
    with rt.registry() as svc:
        settle_key(svc.reg, who.email, key, job_id)


def _submit(
    rt: Runtime, who: Principal, received: Received, dry_run: bool, lang: str | None
) -> str:
    result = import_file(
        received.path, actor=who.kind, account_id=who.account_id, user=who.email,
        settings=rt.settings, wait=False, dry_run=dry_run, runner=rt.runner,
        upload=received.upload, lang=lang,
    )  # fmt: skip
    return result.job_id


def _view(rt: Runtime, who: Principal, job_id: str) -> Job:
    with rt.registry() as svc:
        return job_view(svc.reg, rt, own_job(svc.reg, who, job_id))


@router.get("/jobs", response_model=list[Job], responses=ERRORS, summary="the account's jobs")
def jobs(rt: Rt, s: Open, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[Job]:
    rows = list_jobs(s.svc.reg, s.who.kind, s.who.account_id, limit)
    return [job_view(s.svc.reg, rt, row) for row in rows]


@router.get("/jobs/{job_id}", response_model=Job, responses=ERRORS, summary="one job")
def job(rt: Rt, s: Open, job_id: str) -> Job:
    return job_view(s.svc.reg, rt, own_job(s.svc.reg, s.who, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=Job, responses=ERRORS, summary="cancel")
def cancel(rt: Rt, who: Who, job_id: str) -> Job:
    with rt.registry() as svc:
        state = own_job(svc.reg, who, job_id)["state"]
    if state not in UNFINISHED:
        raise ConflictError(f"Job {job_id} is {state}: only an unfinished job can be cancelled.")
    cancel_job(job_id, user=who.email, settings=rt.settings, runner=rt.runner)
    return _view(rt, who, job_id)


FILES: dict[int | str, dict[str, Any]] = {200: {"content": {m: {} for m in MEDIA.values()}}}


@router.get("/jobs/{job_id}/files/{name}", responses=ERRORS | FILES, response_class=FileResponse,
            summary="download one of the job's outputs")  # fmt: skip
def job_file(rt: Rt, s: Open, job_id: str, name: JobFile) -> FileResponse:
    state = own_job(s.svc.reg, s.who, job_id)["state"]
    out = out_dir(s.svc.reg, rt, job_id)
    path = out / name.value if out is not None else None
    if state != JobState.DONE or path is None or not path.is_file():
        raise NotFoundError(f"Job {job_id} has no {name.value} (yet: it is {state}).")
    return FileResponse(path, media_type=MEDIA[name], filename=f"{job_id}-{name.value}")
