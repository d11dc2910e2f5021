"""`ztbulk serve` (the HTTP service) and `ztbulk token create|list|revoke` (its API tokens)."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from ztbulk.registry.db import Registry
from ztbulk.registry.service import RegistryService


def add_parsers(sub: Any) -> None:
    serve = sub.add_parser("serve", help="the HTTP service: the /v1 API and the web page")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument("--db", metavar="PATH", help="registry (default $ZTBULK_DB)")
    serve.add_argument("--spool", metavar="DIR", help="job folders (default $ZTBULK_SPOOL)")
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
    logging.basicConfig(level=logging.INFO, format="ztbulk serve: %(message)s")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                timeout_graceful_shutdown=10)  # fmt: skip
    return 0


def _with_service(args: argparse.Namespace, fn: Any) -> int:
    with Registry.open(args.settings.db) as reg:
        result = fn(RegistryService(reg))
    print(json.dumps(result, indent=2, default=str) if args.json else _text(result))
    return 0


def _text(result: Any) -> str:
    if isinstance(result, list):
        return "\n".join(f"{t['id']}  {t['user']}  {t['prefix']}  {t['created_at']}"
                         for t in result)  # fmt: skip
    if "token" in result:
        return f"{result['token']}\n(token {result['id']} for {result['user']}: shown only now)"
    return f"token {result['revoked']} revoked"


def _create(args: argparse.Namespace) -> int:
    return _with_service(args, lambda svc: svc.create_token(args.user))


def _list(args: argparse.Namespace) -> int:
    return _with_service(args, lambda svc: svc.list_tokens(args.user))


def _revoke(args: argparse.Namespace) -> int:
    return _with_service(args, lambda svc: svc.revoke_token(args.id))
