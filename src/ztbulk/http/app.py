"""The ASGI application: the /v1 API, the status page and the web page, over one runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ztbulk.http import accounts, jobs, problems, status, web
from ztbulk.http.runtime import running
from ztbulk.settings import Settings

DESCRIPTION = """ztbulk's zero-touch CSV imports over HTTP. Every /v1 request carries an API
token (`Authorization: Bearer TOKEN`, made with `ztbulk token create --user EMAIL`) and acts as
that user, in that user's account, with that user's role. Errors are RFC 9457 problem
documents (`application/problem+json`) with ztbulk's `code`."""


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = running(settings)
        app.state.runtime = await run_in_threadpool(runtime.__enter__)
        try:
            yield
        finally:
            await run_in_threadpool(runtime.__exit__, None, None, None)

    app = FastAPI(title="ztbulk", version="1", description=DESCRIPTION, lifespan=lifespan,
                  openapi_url="/v1/openapi.json", docs_url="/v1/docs", redoc_url=None)  # fmt: skip
    problems.install(app)
    app.include_router(jobs.router)
    app.include_router(accounts.router)
    app.include_router(status.router)
    app.include_router(web.router)
    return app
