"""`ztbulk demo`: a registry seeded, a file with realistic defects, imported into it; then
what was left where, and who its users are, so the next command can be typed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ztbulk.cli.check import print_summary
from ztbulk.cli.serve import served_status_page
from ztbulk.domain import Actor
from ztbulk.jobs import import_file
from ztbulk.jobs.runners import say_to_stderr
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import Seeded, seed
from ztbulk.report.model import REPORT_HTML
from ztbulk.sample import SampleSpec, from_devices


def add_parser(sub: Any) -> None:
    demo = sub.add_parser("demo", help="seed a registry, generate a file with defects, import it")
    demo.add_argument("--dir", type=Path, default=Path("ztbulk-demo"), metavar="DIR")
    demo.add_argument("--devices", type=int, default=200_000, metavar="N")
    demo.add_argument("--rows", type=int, default=200_000, metavar="N")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(handler=run_demo)


def _seeded(db: Path, devices: int, rows: int, sample: Path) -> Seeded:
    say_to_stderr(f"seeding {db} with {devices:,} devices")
    with Registry.open(db, create=True) as reg:
        seeded = seed(reg, devices)
        found = reg.con.sql(
            "SELECT imei, meid, serial, model, manufacturer FROM devices WHERE customer_id = ?",
            params=[seeded.customer_id],
        ).pl()
    say_to_stderr(f"writing {rows:,} rows with realistic defects to {sample}")
    from_devices(found, SampleSpec(rows=rows, profile_ids=tuple(seeded.configuration_ids)), sample)
    return seeded


def run_demo(args: argparse.Namespace) -> int:
    """Everything end to end on the embedded default: no server, nothing to configure."""
    folder: Path = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    db, sample, out = folder / "demo.duckdb", folder / "devices.csv", folder / "import"
    for stale in (db, folder / "demo.duckdb.wal"):
        stale.unlink(missing_ok=True)
    seeded = _seeded(db, args.devices, args.rows, sample)
    info = seeded.as_dict() | {"registry": str(db), "file": str(sample), "out": str(out)}
    (folder / "demo.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    result = import_file(
        sample, actor=Actor.CUSTOMER, account_id=seeded.customer_id, user=seeded.admin,
        settings=args.settings, db=db, spool=folder / "jobs", out_dir=out, say=say_to_stderr,
    )  # fmt: skip
    assert result.report is not None  # it waited for the job
    served = served_status_page(args.settings, db, result.job_id)
    if args.json:
        found = {"demo": info, "report": result.report.to_dict(), "status_page": served}
        print(json.dumps(found, indent=2))
    else:
        print_summary(result.report, sys.stdout)
        _tell(info, result.report.rows, out)
        if served:
            print(f"Status page at the service: {served}")
    return 0  # the demo shows defects on purpose: finding them is success


def _tell(info: dict[str, Any], rows: int, out: Path) -> None:
    w = sys.stdout.write
    w(f"\nThe demo imported {rows:,} rows of {info['file']} as {info['admin']}.\n")
    w(f"  registry      {info['registry']}  (give --db {info['registry']} to every command)\n")
    w(f"  status page   {out / REPORT_HTML}\n")
    w(f"  reports       {out}/  (report.json, errors.csv, outcomes.parquet, summary.eml)\n")
    w(f"  job folders   {Path(info['registry']).parent / 'jobs'}/\n")
    w(f"  customer {info['customer_id']}: owner {info['owner']}, admin {info['admin']}; ")
    w(f"configurations {', '.join(map(str, info['configuration_ids']))}\n")
    w(f"  reseller {info['reseller_id']}: owner {info['reseller_owner']}\n")
    w(f"  customer {info['other_customer_id']}: owner {info['other_owner']}\n")
    w(f"Try: ztbulk customer show --as {info['owner']} --db {info['registry']}\n")
