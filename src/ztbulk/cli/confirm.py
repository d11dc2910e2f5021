"""Asking before a destructive action (#13 item 8): on a terminal the user types y; a script
gives --yes; without either the command refuses, having changed nothing.

The question is asked before the registry is opened: DuckDB lets one process hold the file,
and nobody else should wait on a person reading a prompt.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ztbulk.errors import UsageError


def add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do it without asking")


def confirm(
    args: argparse.Namespace, action: str, stdin: TextIO | None = None,
    stderr: TextIO | None = None,
) -> None:  # fmt: skip
    """Return when `action` (a phrase: "remove user a@b.example") may go on; else raise
    UsageError (exit 2), nothing done."""
    if getattr(args, "yes", False):
        return
    stdin, stderr = stdin or sys.stdin, stderr or sys.stderr
    if not stdin.isatty():
        raise UsageError(f"Nothing was done: to {action} without a terminal to ask on, add --yes.")
    stderr.write(f"Really {action}? [y/N] ")
    stderr.flush()
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise UsageError(f"Nothing was done: you did not confirm to {action}.")
