"""What a job's plan stage leaves for finalize in its folder: `staged.json` (the report so
far, the staged parts, the header) and the duplicates found. The folder is data: every path
read back must lie inside it."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from ztbulk.domain import Mode
from ztbulk.i18n import SOURCE
from ztbulk.ingest import Staged
from ztbulk.jobs.folder import JobFolder
from ztbulk.parse.header import Header
from ztbulk.report.model import Report


def save_staged(folder: JobFolder, staged: Staged, report: Report) -> None:
    header = staged.header
    data: dict[str, Any] = {
        "report": report.to_dict(),
        "parts": [[str(a), str(b)] for a, b in staged.parts],
        "header": None
        if header is None
        else {"names": header.names, "columns": header.columns, "delimiter": header.delimiter,
              "mode": header.mode.value if header.mode else None},
    }  # fmt: skip
    if folder.work.exists():
        staged.duplicates.write_parquet(folder.work / "duplicates.parquet")
    folder.staged.write_text(json.dumps(data, default=str), encoding="utf-8")


def load_staged(folder: JobFolder, lang: str = SOURCE) -> tuple[Report, Staged]:
    """The report so far and the staged rows, whose messages are rendered in `lang`."""
    data = json.loads(folder.staged.read_text(encoding="utf-8"))
    report = Report.from_dict(data["report"])
    head = data["header"]
    header = None
    if head is not None:
        header = Header(
            head["names"], head["delimiter"], 1, 0, False, head["columns"], Mode(head["mode"])
        )
    parts = [(folder.inside(a), folder.inside(b)) for a, b in data["parts"]]
    staged = Staged(header, parts, lang=lang)
    dups = folder.work / "duplicates.parquet"
    if dups.exists():
        staged.duplicates = pl.read_parquet(dups)
    return report, staged
