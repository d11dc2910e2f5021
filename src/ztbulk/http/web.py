"""The web page at `/`: sign in with a token, upload a CSV with a progress bar, the account's
jobs with their live status, the status page, errors.csv.

Server-rendered HTML and a little plain JavaScript (`static/app.js`) over the /v1 API: the
page holds nothing of an account until it is signed in, and the token stays in the tab
(sessionStorage). Every value the script shows is set as text, never as markup, and the
Content-Security-Policy allows only this service's own script and style. Its language is the
request's Accept-Language (`http.i18n`).
"""

from __future__ import annotations

import json
import re
from functools import cache
from html import escape
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ztbulk.errors import NotFoundError
from ztbulk.http.i18n import negotiate, translator

router = APIRouter(include_in_schema=False)
STATIC = files("ztbulk.http") / "static"
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}  # fmt: skip


_MARK = re.compile(r"\[\[(.+?)\]\]")  # [[a message]] in index.html
_SCRIPT_MESSAGE = re.compile(r'\bt\("([^"]+)"')  # t("a message") in app.js


@router.get("/")
def page(request: Request) -> HTMLResponse:
    lang = negotiate(request.headers.get("accept-language"))
    headers = {"Cache-Control": "no-cache", "Content-Language": lang, "Vary": "Accept-Language"}
    return HTMLResponse(render_page(lang), headers=HEADERS | headers)


@cache
def render_page(lang: str) -> str:
    """index.html in `lang`: its [[messages]] translated, and the script's in a JSON block
    (data, not code: the Content-Security-Policy allows no inline script)."""
    _ = translator(lang)
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    words = {m: _(m) for m in page_messages(script, _SCRIPT_MESSAGE)}
    html = (STATIC / "index.html").read_text(encoding="utf-8").replace("[[lang]]", lang)
    html = html.replace("[[messages]]", json.dumps(words).replace("<", "\\u003c"))
    return _MARK.sub(lambda m: escape(_(m.group(1))), html)


def page_messages(text: str, pattern: re.Pattern[str] = _MARK) -> list[str]:
    """The messages of a page's text (index.html's, or app.js's with `_SCRIPT_MESSAGE`)."""
    return [m for m in pattern.findall(text) if m not in ("lang", "messages")]


def all_messages() -> list[str]:
    """Every message the web page shows: what each catalogue must translate."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    return page_messages(html) + page_messages(script, _SCRIPT_MESSAGE)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFoundError(f"No {name[:40]!r} here.")
    body = (STATIC / name).read_bytes()
    return Response(body, media_type=ASSETS[name], headers=HEADERS)
