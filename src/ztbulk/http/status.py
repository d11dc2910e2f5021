"""The status page of a job through a signed, expiring link (`report.links`): what the
summary e-mail's button opens, and the web page's "status page" link, with no token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ztbulk.errors import NotFoundError
from ztbulk.http.deps import Rt
from ztbulk.http.i18n import negotiate, translator
from ztbulk.http.views import out_dir
from ztbulk.jobs.api import load_report
from ztbulk.jobs.folder import JOB_ID, JobState
from ztbulk.jobs.ledger import job_row
from ztbulk.registry.tokens import secret
from ztbulk.report.html import render_html
from ztbulk.report.links import LINK_SECRET, valid
from ztbulk.report.model import REPORT_JSON

router = APIRouter(tags=["status page"])
# The page is self-contained (inline style and SVG, no script): nothing else may load.
PAGE_HEADERS = {
    "Cache-Control": "private",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "Referrer-Policy": "no-referrer",  # the signed link must not leak to a site it points to
}
GONE = "This link is not valid (changed, or expired): open the job from ztbulk's web page."


@router.get("/status/{job_id}", response_class=HTMLResponse,
            responses={404: {"description": "no such link"}})  # fmt: skip
def status_page(
    request: Request, rt: Rt, job_id: str, expires: Annotated[int, Query(ge=0, le=2**40)],
    sig: Annotated[str, Query(max_length=100)],
) -> HTMLResponse:  # fmt: skip
    if not JOB_ID.fullmatch(job_id):
        raise NotFoundError(GONE)
    with rt.registry() as svc:
        if not valid(secret(svc.reg, LINK_SECRET), job_id, expires, sig):
            raise NotFoundError(GONE)  # one answer for a forged, an expired and a missing job
        state = job_row(svc.reg, job_id)["state"]
        out = out_dir(svc.reg, rt, job_id)
    if state != JobState.DONE or out is None or not (out / REPORT_JSON).is_file():
        raise NotFoundError(f"Job {job_id} has no status page yet (it is {state}).")
    # Rendered again from report.json, in the reader's language (report.html is English).
    lang = negotiate(request.headers.get("accept-language"))
    page = render_html(load_report(out), lang=lang, _=translator(lang))
    headers = {"Content-Language": lang, "Vary": "Accept-Language"}
    return HTMLResponse(page, headers=PAGE_HEADERS | headers)
