"""`ztbulk import`, `ztbulk jobs`, `ztbulk job show|resume|cancel`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ztbulk.cli import demo as demo_cmd
from ztbulk.cli.check import ProgressBar, add_lang_option, print_summary, progress_bar
from ztbulk.cli.confirm import add_yes, confirm
from ztbulk.domain import Actor
from ztbulk.errors import UsageError
from ztbulk.jobs import ImportResult, cancel_job, import_file, ledger, resume_job
from ztbulk.jobs.api import describe
from ztbulk.jobs.folder import JobFolder, check_job_id
from ztbulk.jobs.runners import say_to_stderr, serve
from ztbulk.parse.peek import unclaims
from ztbulk.registry.db import Registry
from ztbulk.report.model import REPORT_HTML
from ztbulk.report.text import one_line, plain


def add_parsers(sub: Any) -> None:
    _import_parser(sub)
    demo_cmd.add_parser(sub)
    worker = sub.add_parser("worker", help="run import jobs sent to ZTBULK_BROKER_URL")
    worker.add_argument("--threads", type=int, default=2, metavar="N")
    worker.add_argument("--spool", metavar="DIR", help="job folders shared with `import`")
    worker.add_argument("--json", action="store_true", help="log one JSON object a line")
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
    imp.add_argument("--json", action="store_true", help="print report.json (or the job id)")
    add_yes(imp)  # a file with owner 0 rows unclaims devices: asked first
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
    if not args.dry_run and not args.yes and unclaims(args.file):
        confirm(args, f"unclaim the devices of the rows with owner 0 in {one_line(str(args.file))}")
    bar = None if args.json else progress_bar(args.file, sys.stderr)
    result = import_file(
        args.file, actor=actor, account_id=account_id, user=args.user, settings=args.settings,
        out_dir=args.out, wait=args.wait, dry_run=args.dry_run, say=_say(bar), progress=bar,
        lang=args.lang,
    )  # fmt: skip
    return _finish(result, args.json, bar)


def run_resume(args: argparse.Namespace) -> int:
    job = JobFolder(args.settings.spool, check_job_id(args.id))
    bar = None if args.json or not job.input.exists() else progress_bar(job.input, sys.stderr)
    result = resume_job(args.id, settings=args.settings, say=_say(bar), progress=bar)
    return _finish(result, args.json, bar)


def _say(bar: ProgressBar | None) -> Callable[[str], None]:
    """Progress lines on stderr, each below the progress bar's line, not on it."""

    def say(text: str) -> None:
        if bar is not None:
            bar.done()
        say_to_stderr(text)

    return say


def run_cancel(args: argparse.Namespace) -> int:
    was = cancel_job(args.id, settings=args.settings, user=args.user)
    if args.json:
        print(json.dumps({"job_id": args.id, "state": "cancelled", "was": was}))
    else:
        print(f"job {args.id}: cancelled (it was {was}); batches applied before stay applied")
    return 0


def _finish(result: ImportResult, as_json: bool = False, bar: ProgressBar | None = None) -> int:
    if bar is not None:
        bar.done()
    if as_json:
        report = result.report
        print(report.to_json() if report else json.dumps({"job_id": result.job_id}))
        return report.exit_code if report else 0
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


def run_worker(args: argparse.Namespace) -> int:
    if args.settings.broker_url is None:
        raise UsageError("Set ZTBULK_BROKER_URL (for example redis://127.0.0.1:6379/0) first.")
    serve(args.settings, args.threads, _json_log if args.json else None)
    return 0


def _json_log(text: str) -> None:
    line = {"worker": os.getpid(), "time": datetime.now(UTC).isoformat(), "message": text}
    print(json.dumps(line, ensure_ascii=False), file=sys.stderr, flush=True)


def run_jobs(args: argparse.Namespace) -> int:
    with Registry.open(args.settings.db) as reg:
        rows = [row | {"status": describe(args.settings, row)} for row in ledger.list_jobs(reg)]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    for row in [] if args.json else rows:
        account = f"{row['actor_kind']}:{row['actor_id']}"
        batches = f"{row['batches_done'] or 0}/{row['batches']}"
        name = one_line(row["file_name"])  # the user's file name: one line whatever it holds
        kind = "  dry run" if row.get("dry_run") else ""
        print(f"{row['id']}  {account}  {name}  rows={plain(row['rows'])}  batches {batches}  "
              f"{row['status']}{kind}")  # fmt: skip
    return 0


def run_show(args: argparse.Namespace) -> int:
    with Registry.open(args.settings.db) as reg:
        row = ledger.job_row(reg, check_job_id(args.id))
    row["status"] = describe(args.settings, row)
    print(
        json.dumps(row, indent=2, default=str)
        if args.json
        else "\n".join(f"{k}: {plain(v)}" for k, v in row.items())
    )
    return 0
