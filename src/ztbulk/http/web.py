"""The web page at `/`: sign in with a token, upload a CSV with a progress bar, the account's
jobs with their live status, the status page, errors.csv.

Server-rendered HTML and a little plain JavaScript (`static/app.js`) over the /v1 API: the
page holds nothing of an account until it is signed in, and the token stays in the tab
(sessionStorage). Every value the script shows is set as text, never as markup, and the
Content-Security-Policy allows only this service's own script and style.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from ztbulk.errors import NotFoundError

router = APIRouter(include_in_schema=False)
STATIC = files("ztbulk.http") / "static"
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}  # fmt: skip


@router.get("/")
def page() -> HTMLResponse:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers=HEADERS | {"Cache-Control": "no-cache"})


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFoundError(f"No {name[:40]!r} here.")
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=ASSETS[name], headers=HEADERS)
