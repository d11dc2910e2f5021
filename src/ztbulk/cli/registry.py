"""Registry administration commands: registry, customer, reseller, user, config, device, catalog.

Every command takes `--db PATH` (else ZTBULK_DB, else ./ztbulk.duckdb) and `--json`; those
that act inside an account take the acting user as `--as EMAIL`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ztbulk.cli.confirm import add_yes, confirm
from ztbulk.domain import Actor
from ztbulk.i18n import languages
from ztbulk.registry.catalogs import fetch_catalog
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import seed
from ztbulk.registry.service import CONFIG_FIELDS, DEFAULT_LANG, RegistryService
from ztbulk.report.text import plain
from ztbulk.validate import Catalog

Handler = Callable[[RegistryService, argparse.Namespace], Any]
Asks = Callable[[argparse.Namespace], str]
_ONE_CUSTOMER = "a reseller: only the devices it registered for this customer"


class _Builder:
    """Adds command groups and commands, each with --db/--json (and --as where needed)."""

    def __init__(self, sub: Any) -> None:
        self.sub = sub
        self.common = argparse.ArgumentParser(add_help=False)
        self.common.add_argument(
            "--db", metavar="PATH", help="registry file (default $ZTBULK_DB or ./ztbulk.duckdb)"
        )
        self.common.add_argument("--json", action="store_true", help="machine-readable output")
        self.acting = argparse.ArgumentParser(add_help=False)
        self.acting.add_argument(
            "--as", dest="user", required=True, metavar="EMAIL", help="acting user"
        )

    def group(self, name: str, help_text: str) -> Any:
        if name in self.sub.choices:
            return _subparsers_of(self.sub, name)
        return self.sub.add_parser(name, help=help_text).add_subparsers(
            dest="action", required=True
        )

    def command(
        self, parent: Any, name: str, fn: Handler, *, user: bool = False, create: bool = False,
        found: bool = False, asks: Asks | None = None,
    ) -> Any:  # fmt: skip
        """`found`: a look-up, whose empty answer is exit code 1 (like `grep`); `asks`: a
        destructive action, confirmed first (the phrase it asks about) and taking --yes."""
        parents = [self.common, self.acting] if user else [self.common]
        p = parent.add_parser(name, parents=parents)
        p.set_defaults(handler=_runner(fn, create, found, asks))
        if asks is not None:
            add_yes(p)
        return p


def add_parsers(sub: Any) -> None:
    b = _Builder(sub)
    reg = b.group("registry", "create or fill a registry")
    b.command(reg, "init", _init, create=True)
    b.command(reg, "seed", _seed, create=True).add_argument(
        "--devices", type=int, default=10_000, metavar="N"
    )
    _account_parsers(b)
    _user_parsers(b)
    _config_parsers(b)
    devices = b.group("device", "devices of an account")
    p = b.command(
        devices, "find", lambda s, a: s.find_device(s.principal(a.user), a.id), user=True,
        found=True,
    )  # fmt: skip
    p.add_argument("id", metavar="ID", help="IMEI, second IMEI, MEID or serial")
    p = b.command(devices, "list", _list_devices, user=True)
    p.add_argument("--customer", type=int, metavar="ID", help=_ONE_CUSTOMER)
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (default 50)")
    p = b.command(devices, "export", _export, user=True)
    p.add_argument("--customer", type=int, metavar="ID", help=_ONE_CUSTOMER)
    p.add_argument("--out", type=Path, metavar="FILE", default=None)
    catalog = b.group("catalog", "the manufacturer and model list")
    p = b.command(
        catalog, "load", lambda s, a: {"models": s.load_catalog(Catalog.from_csv(a.file))}
    )
    p.add_argument("file", type=Path)
    b.command(catalog, "list", _catalog_list).add_argument("--manufacturer", metavar="NAME")
    p = catalog.add_parser(
        "fetch", parents=[b.common], help="download Google Play's device list into the registry"
    )
    p.add_argument("url", nargs="?", metavar="URL", help="default $ZTBULK_CATALOG_URL or Google's")
    p.set_defaults(handler=_fetch)


def _account_parsers(b: _Builder) -> None:
    for kind in Actor:
        accounts = b.group(kind.value, f"{kind.value} accounts")
        p = b.command(accounts, "add", _add_account)
        p.add_argument("name")
        p.add_argument("--owner", required=True, metavar="EMAIL", help="the first owner")
        p.set_defaults(kind=kind)
        b.command(accounts, "list", _list_accounts).set_defaults(kind=kind)
    customers = b.group("customer", "")
    b.command(customers, "show", _show_customer, user=True).add_argument("id", type=int, nargs="?")
    b.command(
        customers, "delete", lambda s, a: s.delete_customer(s.principal(a.user), a.id),
        user=True, asks=lambda a: f"delete the customer account of {a.user}, its users and "
        "configurations",
    ).add_argument("id", type=int, nargs="?")  # fmt: skip
    resellers = b.group("reseller", "")
    for action, enabled in (("enable", True), ("disable", False)):
        p = b.command(resellers, action, _set_reseller, user=True)
        p.add_argument("id", type=int, metavar="RESELLER_ID")
        p.set_defaults(enabled=enabled)


def _user_parsers(b: _Builder) -> None:
    users = b.group("user", "users of an account and their roles")
    p = b.command(
        users, "add", lambda s, a: s.add_user(s.principal(a.user), a.email, a.role), user=True
    )
    p.add_argument("email")
    p.add_argument("--role", choices=["owner", "admin"], default="admin")
    b.command(users, "list", lambda s, a: s.list_users(s.principal(a.user)), user=True)
    p = b.command(
        users, "role", lambda s, a: s.set_role(s.principal(a.user), a.email, a.role), user=True
    )
    p.add_argument("email")
    p.add_argument("role", choices=["owner", "admin"])
    p = b.command(
        users, "lang", lambda s, a: s.set_language(s.principal(a.user), a.email, a.lang),
        user=True,
    )  # fmt: skip
    p.add_argument("email")
    p.add_argument("lang", choices=[*languages(), DEFAULT_LANG],
                   help="for their reports and e-mail ($ZTBULK_LANG by default)")  # fmt: skip
    p = b.command(
        users, "remove", lambda s, a: s.remove_user(s.principal(a.user), a.email), user=True,
        asks=lambda a: f"remove user {a.email} from the account",
    )  # fmt: skip
    p.add_argument("email")


def _config_parsers(b: _Builder) -> None:
    configs = b.group("config", "configurations of a customer")
    p = b.command(configs, "add", _config_add, user=True)
    _config_options(p, required=True)
    p.add_argument("--default", action="store_true", help="make it the default")
    b.command(configs, "list", lambda s, a: s.list_configs(s.principal(a.user)), user=True)
    p = b.command(configs, "edit", _config_edit, user=True)
    p.add_argument("id", type=int)
    _config_options(p, required=False)
    b.command(
        configs, "delete", _config_call("delete_config"), user=True,
        asks=lambda a: f"delete configuration {a.id}",
    ).add_argument("id", type=int)  # fmt: skip
    b.command(configs, "default", _config_call("set_default"), user=True).add_argument(
        "id", type=int
    )


def _subparsers_of(sub: Any, name: str) -> Any:
    parser = sub.choices[name]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _runner(
    fn: Handler, create: bool, found: bool, asks: Asks | None
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if asks is not None:  # before the registry is opened: nobody waits on the question
            confirm(args, asks(args))
        settings = args.settings
        with Registry.open(settings.db, create=create, memory=settings.duckdb_memory) as reg:
            result = fn(RegistryService(reg), args)
        _emit(result, args.json)
        return 1 if found and not result else 0

    return run


def _emit(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str, ensure_ascii=False))
    elif isinstance(result, list):
        for item in result:
            print(_pairs(item))
        if not result:
            print("(none)")
    elif isinstance(result, dict):
        for key, value in result.items():
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                print(f"{key}:" if value else f"{key}: (none)")
                for item in value:  # a customer's users, configurations, resellers
                    print(f"  {_pairs(item)}")
            else:
                print(f"{key}: {plain(value)}")


def _pairs(item: dict[str, Any]) -> str:
    return "  ".join(f"{k}={plain(v)}" for k, v in item.items())


def _fetch(args: argparse.Namespace) -> int:
    # Not through `_runner`: the registry is opened only after the download, not during it.
    _emit(fetch_catalog(args.settings, args.url), args.json)
    return 0


def _init(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    models = (
        svc.catalog().pairs.height if svc.has_catalog() else svc.load_catalog(Catalog.packaged())
    )
    return {
        "registry": str(svc.reg.path),
        "schema_version": svc.reg.version(),
        "catalog_models": models,
    }


def _seed(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    return seed(svc.reg, args.devices).as_dict()


def _add_account(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    return svc.add_account(args.kind, args.name, args.owner)


def _list_accounts(svc: RegistryService, args: argparse.Namespace) -> list[dict[str, Any]]:
    return svc.list_accounts(args.kind)


def _show_customer(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    return svc.show_customer(svc.principal(args.user), args.id)


def _set_reseller(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    return svc.set_reseller(svc.principal(args.user), args.id, args.enabled)


def _config_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--name", required=required)
    p.add_argument("--dpc", dest="emm_dpc", required=required, metavar="EMM_DPC")
    p.add_argument("--company", dest="company_name", required=required, metavar="NAME")
    p.add_argument("--extras", dest="dpc_extras", metavar="JSON", help="DPC extras, a JSON object")
    p.add_argument("--support-email", dest="support_email", metavar="EMAIL")
    p.add_argument("--support-phone", dest="support_phone", metavar="PHONE")
    p.add_argument("--message", dest="custom_message", metavar="TEXT")


def _config_values(args: argparse.Namespace) -> dict[str, Any]:
    return {f: getattr(args, f) for f in CONFIG_FIELDS if getattr(args, f) is not None}


def _config_add(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    return svc.add_config(svc.principal(args.user), _config_values(args), args.default)


def _config_edit(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    return svc.edit_config(svc.principal(args.user), args.id, _config_values(args))


def _config_call(method: str) -> Handler:
    def call(svc: RegistryService, args: argparse.Namespace) -> Any:
        return getattr(svc, method)(svc.principal(args.user), args.id)

    return call


def _list_devices(svc: RegistryService, args: argparse.Namespace) -> list[dict[str, Any]]:
    return svc.list_devices(svc.principal(args.user), args.customer, args.limit)


def _export(svc: RegistryService, args: argparse.Namespace) -> dict[str, Any]:
    who = svc.principal(args.user)
    out = args.out or Path(f"devices-{args.customer or who.account_id}.csv")
    rows = svc.export_devices(who, args.customer, out)
    return {"file": str(out), "devices": rows}


def _catalog_list(svc: RegistryService, args: argparse.Namespace) -> list[dict[str, Any]]:
    frame = svc.catalog().pairs
    if args.manufacturer:
        frame = frame.filter(frame["m_key"] == args.manufacturer.lower())
    return [dict(r) for r in frame.select("manufacturer", "model").iter_rows(named=True)]
