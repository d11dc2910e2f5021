"""The `ztbulk` command: parses arguments, calls the library, prints. Nothing else lives here.

Each subcommand module registers its parsers with a `handler(args) -> exit code`; `main`
turns every ZtbulkError into one sentence on stderr and its exit code, and anything else into
exit code 3 with the traceback kept in a file, never on the screen.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from ztbulk.cli import check as check_cmd
from ztbulk.cli import jobs as jobs_cmd
from ztbulk.cli import registry as registry_cmd
from ztbulk.cli import serve as serve_cmd
from ztbulk.cli.crash import write_crash_report
from ztbulk.errors import ZtbulkError
from ztbulk.report.text import one_line
from ztbulk.settings import Settings

EXIT_USAGE, EXIT_INTERNAL = 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ztbulk", description="Check and apply zero-touch enrollment device CSV files."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_cmd.add_parsers(sub)
    registry_cmd.add_parsers(sub)
    jobs_cmd.add_parsers(sub)
    serve_cmd.add_parsers(sub)
    return parser


# What ztbulk writes (the registry, spooled inputs, job folders, reports) is readable by its
# owner only: files 0600, folders 0700.
PRIVATE_UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage line
        return EXIT_USAGE if exc.code else 0
    try:
        # Read once, here: the library never reads the environment itself.
        args.settings = Settings.from_env(os.environ).with_options(
            db=getattr(args, "db", None), spool=getattr(args, "spool", None),
            lang=getattr(args, "lang", None),
        )  # fmt: skip
        code: int = args.handler(args)
        return code
    except ZtbulkError as exc:
        print(f"ztbulk: {one_line(str(exc))}", file=sys.stderr)  # it may quote a path
        return exc.exit_code
    except KeyboardInterrupt:
        print("ztbulk: interrupted.", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:  # output piped into `head` and the like: nothing left to say
        sys.stderr.close()
        return EXIT_INTERNAL
    except Exception as exc:
        try:
            details = f"details in {write_crash_report(traceback.format_exc())}"
        except OSError as why:  # no private place to keep it: say so, still in one sentence
            details = f"the details could not be saved ({why})"
        print(
            f"ztbulk: internal error ({one_line(f'{type(exc).__name__}: {exc}')}); {details}. "
            "Nothing was left half-done; run the command again, and report it if it repeats.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
