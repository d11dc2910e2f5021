"""`ztbulk import`, `ztbulk jobs`, `ztbulk job show|resume|cancel`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ztbulk.cli.check import add_lang_option, print_summary
from ztbulk.cli.serve import served_status_page
from ztbulk.domain import Actor
from ztbulk.errors import UsageError
from ztbulk.jobs import ImportResult, cancel_job, import_file, ledger, resume_job
from ztbulk.jobs.api import describe
from ztbulk.jobs.folder import check_job_id
from ztbulk.jobs.runners import say_to_stderr, serve
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import seed
from ztbulk.report.model import REPORT_HTML
from ztbulk.report.text import one_line
from ztbulk.sample import SampleSpec, from_devices


def add_parsers(sub: Any) -> None:
    _import_parser(sub)
    demo = sub.add_parser("demo", help="seed a registry, generate a file with defects, import it")
    demo.add_argument("--dir", type=Path, default=Path("ztbulk-demo"), metavar="DIR")
    demo.add_argument("--devices", type=int, default=200_000, metavar="N")
    demo.add_argument("--rows", type=int, default=200_000, metavar="N")
    demo.set_defaults(handler=run_demo)
    worker = sub.add_parser("worker", help="run import jobs sent to ZTBULK_BROKER_URL")
    worker.add_argument("--threads", type=int, default=2, metavar="N")
    worker.add_argument("--spool", metavar="DIR", help="job folders shared with `import`")
    worker.set_defaults(handler=run_worker)
    listing = sub.add_parser("jobs", help="list import jobs")
    listing.add_argument("--db", metavar="PATH")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_jobs)
    _job_parsers(sub)


def _import_parser(sub: Any) -> None:
    imp = sub.add_parser("import", help="apply a CSV file to the registry, row by row")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--as", dest="account", required=True, metavar="customer:ID|reseller:ID")
    imp.add_argument("--user", required=True, metavar="EMAIL", help="the importing user")
    imp.add_argument(
        "--db", metavar="PATH", help="registry (default $ZTBULK_DB or ./ztbulk.duckdb)"
    )
    imp.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: in the job folder)"
    )
    imp.add_argument(
        "--spool", metavar="DIR", help="job folders (default $ZTBULK_SPOOL or ./ztbulk-jobs)"
    )
    imp.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the job now and show its progress (default), or only submit it",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="resolve against the registry and report what each row would do; change nothing",
    )
    add_lang_option(imp)
    imp.set_defaults(handler=run_import)


def _job_parsers(sub: Any) -> None:
    job = sub.add_parser("job", help="one import job").add_subparsers(dest="action", required=True)
    for name, handler in (("show", run_show), ("resume", run_resume), ("cancel", run_cancel)):
        p = job.add_parser(name)
        p.add_argument("id", metavar="ID")
        p.add_argument("--db", metavar="PATH")
        p.add_argument("--spool", metavar="DIR")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=handler)
        if name == "cancel":
            p.add_argument("--user", required=True, metavar="EMAIL", help="who cancels")


def parse_account(value: str) -> tuple[Actor, int]:
    """`customer:1001` or `reseller:1003`."""
    kind, _, number = value.partition(":")
    try:
        return Actor(kind), int(number)
    except ValueError:
        raise UsageError(f"--as {value!r}: write customer:ID or reseller:ID.") from None


def run_import(args: argparse.Namespace) -> int:
    actor, account_id = parse_account(args.account)
    result = import_file(
        args.file, actor=actor, account_id=account_id, user=args.user, settings=args.settings,
        out_dir=args.out, wait=args.wait, dry_run=args.dry_run, say=say_to_stderr,
    )  # fmt: skip
    return _finish(result)


def run_resume(args: argparse.Namespace) -> int:
    return _finish(resume_job(args.id, settings=args.settings, say=say_to_stderr))


def run_cancel(args: argparse.Namespace) -> int:
    was = cancel_job(args.id, settings=args.settings, user=args.user)
    print(f"job {args.id}: cancelled (it was {was}); batches applied before stay applied")
    return 0


def _finish(result: ImportResult) -> int:
    if result.report is None:
        print(result.job_id)
        return 0
    if result.report.dry_run:
        print("Dry run: nothing was changed; the outcomes are those the rows would get.")
    print_summary(result.report, sys.stdout)
    if result.report.mail_error:
        print(f"Warning: {result.report.mail_error}")
    print(f"Status page: {Path(result.report.out_dir) / REPORT_HTML}")
    return result.report.exit_code


def run_demo(args: argparse.Namespace) -> int:
    """Everything end to end on the embedded default: no server, nothing to configure."""
    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "demo.duckdb"
    for stale in (db, folder / "demo.duckdb.wal"):
        stale.unlink(missing_ok=True)
    say_to_stderr(f"seeding {db} with {args.devices:,} devices")
    with Registry.open(db, create=True) as reg:
        seeded = seed(reg, args.devices)
        devices = reg.con.sql(
            "SELECT imei, meid, serial, model, manufacturer FROM devices WHERE customer_id = ?",
            params=[seeded.customer_id],
        ).pl()
    sample = folder / "devices.csv"
    say_to_stderr(f"writing {args.rows:,} rows with realistic defects to {sample}")
    spec = SampleSpec(rows=args.rows, profile_ids=tuple(seeded.configuration_ids))
    from_devices(devices, spec, sample)
    info = seeded.as_dict() | {
        "registry": str(db),
        "file": str(sample),
        "out": str(folder / "import"),
    }
    (folder / "demo.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    result = import_file(
        sample, actor=Actor.CUSTOMER, account_id=seeded.customer_id, user=seeded.admin,
        settings=args.settings, db=db, spool=folder / "jobs", out_dir=folder / "import",
        say=say_to_stderr,
    )  # fmt: skip
    _finish(result)
    if url := served_status_page(args.settings, db, result.job_id):
        print(f"Status page at the service: {url}")
    return 0  # the demo shows defects on purpose: finding them is success


def run_worker(args: argparse.Namespace) -> int:
    if args.settings.broker_url is None:
        raise UsageError("Set ZTBULK_BROKER_URL (for example redis://127.0.0.1:6379/0) first.")
    serve(args.settings, args.threads)
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    with Registry.open(args.settings.db) as reg:
        rows = [row | {"status": describe(args.settings, row)} for row in ledger.list_jobs(reg)]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    for row in [] if args.json else rows:
        account = f"{row['actor_kind']}:{row['actor_id']}"
        batches = f"{row['batches_done']}/{row['batches']}"
        name = one_line(row["file_name"])  # the user's file name: one line whatever it holds
        print(f"{row['id']}  {account}  {name}  rows={row['rows']}  batches {batches}  "
              f"{row['status']}")  # fmt: skip
    return 0


def run_show(args: argparse.Namespace) -> int:
    with Registry.open(args.settings.db) as reg:
        row = ledger.job_row(reg, check_job_id(args.id))
    row["status"] = describe(args.settings, row)
    print(
        json.dumps(row, indent=2, default=str)
        if args.json
        else "\n".join(f"{k}: {v}" for k, v in row.items())
    )
    return 0
