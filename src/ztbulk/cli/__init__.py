"""The `ztbulk` command: parses arguments, calls the library, prints. Nothing else lives here.

Each subcommand module registers its parsers with a `handler(args) -> exit code`; `main`
turns every ZtbulkError into one sentence on stderr and its exit code, and anything else into
exit code 3 with the traceback kept in a file, never on the screen.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
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
    argv = list(sys.argv[1:] if argv is None else argv)
    # In JSON mode every answer is JSON, errors included (on stdout, where a script reads).
    as_json = "--json" in argv or "--format=json" in argv or _pair(argv, "--format", "json")
    parser = build_parser()
    args, code = _parse(parser, argv, as_json)
    if args is None:
        return code
    try:
        # Read once, here: the library never reads the environment itself.
        args.settings = Settings.from_env(os.environ).with_options(
            db=getattr(args, "db", None), spool=getattr(args, "spool", None)
        )
        done: int = args.handler(args)
        return done
    except ZtbulkError as exc:
        return _fail(as_json, exc.exit_code, type(exc).__name__, one_line(str(exc)))
    except KeyboardInterrupt:
        return _fail(as_json, EXIT_INTERNAL, "Interrupted", "interrupted.")
    except BrokenPipeError:  # output piped into `head` and the like: nothing left to say
        sys.stderr.close()
        return EXIT_INTERNAL
    except Exception as exc:
        return _fail(as_json, EXIT_INTERNAL, "InternalError", _internal(exc))


def _pair(argv: list[str], option: str, value: str) -> bool:
    return any(a == option and b == value for a, b in itertools.pairwise(argv))


def _parse(
    parser: argparse.ArgumentParser, argv: list[str], as_json: bool
) -> tuple[argparse.Namespace | None, int]:
    """The arguments, or None and the exit code (argparse said why: as JSON in JSON mode)."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said) if as_json else contextlib.nullcontext():
            return parser.parse_args(argv), 0
    except SystemExit as exc:  # argparse printed the usage line (or --help)
        if not exc.code:
            return None, 0
        if as_json:
            lines = [line for line in said.getvalue().splitlines() if line.strip()]
            why = lines[-1].split(": error: ", 1)[-1] if lines else "bad usage"
            _fail(True, EXIT_USAGE, "UsageError", f"{why}.")
        return None, EXIT_USAGE


def _internal(exc: Exception) -> str:
    try:
        details = f"details in {write_crash_report(traceback.format_exc())}"
    except OSError as why:  # no private place to keep it: say so, still in one sentence
        details = f"the details could not be saved ({why})"
    return (
        f"internal error ({one_line(f'{type(exc).__name__}: {exc}')}); {details}. "
        "Nothing was left half-done; run the command again, and report it if it repeats."
    )


def _fail(as_json: bool, code: int, kind: str, message: str) -> int:
    if as_json:
        error = {"error": {"type": kind, "message": message, "exit_code": code}}
        print(json.dumps(error, ensure_ascii=False))
    else:
        print(f"ztbulk: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
