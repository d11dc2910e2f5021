"""`ztbulk serve` (the HTTP service) and `ztbulk token create|list|revoke` (its API tokens)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ztbulk.registry.db import Registry, open_when_free
from ztbulk.registry.service import RegistryService
from ztbulk.registry.tokens import secret
from ztbulk.report.links import LINK_SECRET, status_path
from ztbulk.settings import Settings


def add_parsers(sub: Any) -> None:
    serve = sub.add_parser("serve", help="the HTTP service: the /v1 API and the web page")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument("--db", metavar="PATH", help="registry (default $ZTBULK_DB)")
    serve.add_argument("--spool", metavar="DIR", help="job folders (default $ZTBULK_SPOOL)")
    serve.add_argument("--json", action="store_true", help="its address and errors as JSON")
    serve.set_defaults(handler=run_serve)
    token = sub.add_parser("token", help="API tokens of the HTTP service")
    actions = token.add_subparsers(dest="action", required=True)
    for name, handler in (("create", _create), ("list", _list), ("revoke", _revoke)):
        p = actions.add_parser(name)
        p.add_argument("--db", metavar="PATH", help="registry (default $ZTBULK_DB)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=handler)
        if name == "revoke":
            p.add_argument("id", type=int, metavar="ID")
        else:
            p.add_argument("--user", required=name == "create", metavar="EMAIL")


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn  # the service's dependencies are loaded only by the service

    from ztbulk.http.app import create_app

    settings = args.settings
    if settings.public_url is None:  # the summary e-mail's link: this service, as started
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        settings = settings.with_options(public_url=f"http://{host}:{args.port}")
    with open_when_free(settings.db, settings.duckdb_memory, wait_s=30):
        pass  # no registry there, or one too new: said in one sentence, before uvicorn starts
    if args.json:
        print(json.dumps({"url": f"http://{args.host}:{args.port}"}), flush=True)
    logging.basicConfig(level=logging.INFO, format="ztbulk serve: %(message)s")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                timeout_graceful_shutdown=10)  # fmt: skip
    return 0


DEFAULT_ADDRESS = "http://127.0.0.1:8000"


def served_status_page(settings: Settings, db: Path, job_id: str) -> str | None:
    """The job's status page at the HTTP service (ZTBULK_PUBLIC_URL, else `ztbulk serve`'s
    default address), if a service there serves it: the demo prints it when one does."""
    with Registry.open(db) as reg:
        key = secret(reg, LINK_SECRET)
    url = (settings.public_url or DEFAULT_ADDRESS).rstrip("/")
    url += status_path(key, job_id, settings.link_hours)
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return url if answer.status == 200 else None
    except (urllib.error.URLError, OSError):  # no service there, or one of another registry
        return None


def _with_service(args: argparse.Namespace, fn: Any) -> int:
    with Registry.open(args.settings.db) as reg:
        result = fn(RegistryService(reg))
    print(json.dumps(result, indent=2, default=str) if args.json else _text(result))
    return 0


def _text(result: Any) -> str:
    if isinstance(result, list):
        return "\n".join(f"{t['id']}  {t['user']}  {t['prefix']}  {t['created_at']}"
                         for t in result)  # fmt: skip
    if "token" in result:  # the token alone on stdout, so that TOKEN=$(...) takes it
        print(f"ztbulk: token {result['id']} for {result['user']}; it is shown only now",
              file=sys.stderr)  # fmt: skip
        return str(result["token"])
    return f"token {result['revoked']} revoked"


def _create(args: argparse.Namespace) -> int:
    return _with_service(args, lambda svc: svc.create_token(args.user))


def _list(args: argparse.Namespace) -> int:
    return _with_service(args, lambda svc: svc.list_tokens(args.user))


def _revoke(args: argparse.Namespace) -> int:
    return _with_service(args, lambda svc: svc.revoke_token(args.id))
