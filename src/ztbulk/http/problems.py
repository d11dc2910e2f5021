"""Errors as `application/problem+json` (RFC 9457), carrying ztbulk's codes.

Each class of the exception tree (`ztbulk.errors`) has one status and one code; the detail is
the error's own sentence. Anything else is a 500 whose detail names only an incident id: the
traceback goes to the server's log, never to a client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ztbulk import errors
from ztbulk.report.text import one_line

MEDIA = "application/problem+json"
log = logging.getLogger("ztbulk.http")

# The most specific class first: the first match decides. (status, code, title)
STATUSES: list[tuple[type[errors.ZtbulkError], int, str, str]] = [
    (errors.ForeignAccountError, 404, "NOT_FOUND", "Not found"),
    (errors.NotFoundError, 404, "NOT_FOUND", "Not found"),
    (errors.AuthenticationError, 401, "UNAUTHENTICATED", "Not signed in"),
    (errors.PermissionDeniedError, 403, "PERMISSION_DENIED", "Not allowed"),
    (errors.ConflictError, 409, "CONFLICT", "Conflict"),
    (errors.JobCancelledError, 409, "JOB_CANCELLED", "Job cancelled"),
    (errors.UsageError, 400, "BAD_REQUEST", "Bad request"),
    (errors.FileTooLargeError, 413, "FILE_TOO_LARGE", "File too large"),
    (errors.InputError, 400, "INPUT_ERROR", "Unreadable input"),
    (errors.JobWaitingError, 409, "JOB_WAITING", "An earlier job is not finished"),
    (errors.RegistryBusyError, 503, "REGISTRY_BUSY", "Registry busy"),
    (errors.BrokerError, 503, "BROKER_UNREACHABLE", "Broker unreachable"),
    (errors.TransientError, 503, "TRY_AGAIN", "Try again"),
    (errors.InternalError, 500, "INTERNAL_ERROR", "Internal error"),
]
HTTP_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 405: "NOT_ALLOWED",
              413: "FILE_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}  # fmt: skip


class Problem(BaseModel):
    """An RFC 9457 problem document; `code` is ztbulk's."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = Problem(type=f"urn:ztbulk:problem:{code.lower().replace('_', '-')}", title=title,
                   status=status, detail=one_line(detail), code=code)  # fmt: skip
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 503:
        headers["Retry-After"] = "5"
    content = body.model_dump(exclude_none=True) | extra
    return JSONResponse(content, status_code=status, media_type=MEDIA, headers=headers)


def for_error(exc: errors.ZtbulkError) -> JSONResponse:
    for kind, status, code, title in STATUSES:
        if isinstance(exc, kind):
            if status >= 500 and not exc.retryable:  # an internal error's text is for the log
                return _incident(exc)
            return problem(status, code, title, str(exc))
    return _incident(exc)


def _incident(exc: BaseException) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.error("incident %s", incident, exc_info=exc)
    return problem(500, "INTERNAL_ERROR", "Internal error",
                   f"The server failed on this request (incident {incident}). Look for your "
                   "job in /v1/jobs before you try again, and report the incident id if it "
                   "repeats.")  # fmt: skip


def documented(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error response as what it is: a problem document
    (FastAPI would say application/json, and its own schema for 422)."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)  # fmt: skip
        ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
        doc["components"]["schemas"]["Problem"] = Problem.model_json_schema()
        for operation in (op for path in doc["paths"].values() for op in path.values()):
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = {MEDIA: ref}
        app.openapi_schema = doc
    return app.openapi_schema


def install(app: FastAPI) -> None:
    """Every error becomes a problem document: ztbulk's, FastAPI's own and the unforeseen."""

    async def ztbulk_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.ZtbulkError)
        return for_error(exc)

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(422, "INVALID_REQUEST", "Invalid request",
                       f"{where}: {first.get('msg', 'invalid')}")  # fmt: skip

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = HTTP_CODES.get(exc.status_code, f"HTTP_{exc.status_code}")
        return problem(exc.status_code, code, code.replace("_", " ").capitalize(), str(exc.detail))

    async def unforeseen(_request: Request, exc: Exception) -> JSONResponse:
        return _incident(exc)

    app.add_exception_handler(errors.ZtbulkError, ztbulk_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unforeseen)
    app.openapi = lambda: documented(app)  # type: ignore[method-assign]
