"""`ztbulk check` and `ztbulk demo`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ztbulk import api
from ztbulk.domain import Actor
from ztbulk.errors import UsageError
from ztbulk.i18n import languages
from ztbulk.registry.catalogs import registry_catalog
from ztbulk.report.model import Report
from ztbulk.report.text import one_line
from ztbulk.validate import Catalog

PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def add_parsers(sub: Any) -> None:
    chk = sub.add_parser("check", help="validate a CSV file and report every row's outcome")
    chk.add_argument("file", type=Path, metavar="FILE")
    chk.add_argument("--as", dest="actor", choices=[a.value for a in Actor], default="customer")
    chk.add_argument("--catalog", type=Path, metavar="CSV", help="manufacturer,model list")
    chk.add_argument(
        "--db",
        metavar="PATH",
        help="read the catalogue from this registry (default: $ZTBULK_DB or ./ztbulk.duckdb "
        "when it exists and holds one; else the packaged list)",
    )
    chk.add_argument("--out", type=Path, metavar="DIR", help="output folder")
    chk.add_argument("--format", choices=["text", "json"], default="text")
    chk.add_argument("--json", action="store_true", help="the same as --format json")
    add_lang_option(chk)
    chk.set_defaults(handler=run_check)


def add_lang_option(parser: Any) -> None:
    """--lang: the language of the row messages (and an import's report.html and e-mail)."""
    parser.add_argument(
        "--lang", choices=languages(), help="language of the messages (default $ZTBULK_LANG or en)"
    )


def _catalog(args: argparse.Namespace) -> Catalog | Path | None:
    """--catalog; else the registry's catalogue (--db, $ZTBULK_DB or ./ztbulk.duckdb) when
    there is one; else None: the packaged list."""
    if args.catalog is not None:
        if args.db is not None:
            raise UsageError("Give --catalog or --db, not both.")
        return args.catalog  # type: ignore[no-any-return]
    return registry_catalog(args.settings, required=args.db is not None)


def run_check(args: argparse.Namespace) -> int:
    path: Path = args.file
    catalog = _catalog(args)
    as_json = args.json or args.format == "json"
    bar = None if as_json else progress_bar(path, sys.stderr)
    report = api.check(
        path,
        actor=args.actor,
        catalog=catalog,
        out_dir=args.out,
        config=args.settings.parse,
        progress=bar,
        lang=args.lang or args.settings.lang,
    )
    if bar is not None:
        bar.done()
    if as_json:
        print(report.to_json())
    else:
        print_summary(report, sys.stdout)
    return report.exit_code


class ProgressBar:
    def __init__(self, stream: TextIO) -> None:
        self.stream, self.start, self.shown = stream, time.monotonic(), False

    def __call__(self, done: int, total: int, rows: int) -> None:
        frac = min(done / total, 1.0)
        filled = int(frac * 30)
        bar = "#" * filled + "." * (30 - filled)
        rate = rows / max(time.monotonic() - self.start, 1e-6)
        self.stream.write(f"\r[{bar}] {frac:6.1%}  {rows:,} rows  {rate:,.0f} rows/s")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """End the bar's line (before anything else is written below it)."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


def progress_bar(path: Path, stream: TextIO) -> ProgressBar | None:
    try:
        big = path.stat().st_size >= PROGRESS_MIN_BYTES
    except OSError:
        return None
    return ProgressBar(stream) if big and stream.isatty() else None


def print_summary(report: Report, out: TextIO) -> None:
    # What came from the file (its name, messages quoting its values) goes through one_line: a
    # line feed or an escape sequence in it must not forge or erase lines of this summary.
    w = out.write
    w(f"{one_line(report.file.name)}: {report.rows:,} data rows, {report.blank:,} blank")
    w(f" (as {report.actor}, mode {report.mode or '-'})\n")
    w(f"  catalogue: {one_line(report.catalog)}\n")
    for issue in report.file_errors:
        w(f"  FILE ERROR {issue['code']}: {one_line(issue['message'])}\n")
    for issue in report.warnings:
        w(f"  warning {issue['code']}: {one_line(issue['message'])}\n")
    if report.outcomes:
        w("\n  outcome      rows\n")
        for name, n in sorted(report.outcomes.items(), key=lambda kv: -kv[1]):
            w(f"  {name:<10} {n:>10,}\n")
    if report.codes:
        w("\n  code                          rows\n")
        for name, n in sorted(report.codes.items(), key=lambda kv: -kv[1]):
            w(f"  {name:<26} {n:>10,}\n")
    if report.first_failures:
        w("\n  first lines with codes (all rejected and skipped rows are in errors.csv):\n")
        for f in report.first_failures[:10]:
            w(f"  line {f.line:>8}  {','.join(f.codes)}: {one_line(f.message)}\n")
    for hint in report.hints:
        w(f"\n  {hint}\n")
    took = report.timings.get("total", 0.0)
    w(f"\nReports in {one_line(report.out_dir)} ({took:.2f} s). Exit code {report.exit_code}.\n")
