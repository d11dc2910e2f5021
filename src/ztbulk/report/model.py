"""The typed result of a run, and its JSON form (report.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ztbulk.codes import Outcome
from ztbulk.parse.issues import FileIssue
from ztbulk.validate.catalog import PACKAGED_SOURCE

REPORT_JSON = "report.json"
OUTCOMES_PARQUET = "outcomes.parquet"
ERRORS_CSV = "errors.csv"
REPORT_HTML = "report.html"
SUMMARY_EML = "summary.eml"


@dataclass
class FileFacts:
    name: str
    path: str
    size: int
    sha256: str
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] = field(default_factory=list)


@dataclass
class Failure:
    """One failing row, kept for the CLI's summary (the full list is in errors.csv)."""

    line: int
    outcome: str
    codes: list[str]
    message: str


@dataclass
class Report:
    command: str
    file: FileFacts
    actor: str
    mode: str | None
    catalog: str
    out_dir: str
    rows: int = 0
    blank: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    file_errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    first_failures: list[Failure] = field(default_factory=list)
    job: dict[str, Any] | None = None  # import only: job id, account, user
    # import --dry-run: resolved and planned, nothing changed; the outcomes are the rows' would-be
    dry_run: bool = False
    mail_error: str | None = None  # the summary e-mail could not be sent (the job is done)
    # import only: when the job was submitted and when its outputs were written (ISO, UTC)
    started_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The inverse of `to_dict` (derived keys dropped)."""
        known = {k: v for k, v in data.items() if k not in ("exit_code", "outputs", "hints")}
        known["file"] = FileFacts(**known["file"])
        known["first_failures"] = [Failure(**f) for f in known.get("first_failures", [])]
        return cls(**known)

    @property
    def exit_code(self) -> int:
        """SPEC section 6: 2 file-level error, 1 rows rejected or skipped, else 0."""
        if self.file_errors:
            return 2
        bad = self.outcomes.get(Outcome.REJECTED, 0) + self.outcomes.get(Outcome.SKIPPED, 0)
        return 1 if bad else 0

    @property
    def hints(self) -> list[str]:
        """What the user can do about the result beyond fixing rows, in sentences."""
        unknown = sum(self.codes.get(c, 0) for c in ("MODEL_UNKNOWN", "MANUFACTURER_UNKNOWN"))
        if not unknown or PACKAGED_SOURCE not in self.catalog:
            return []
        return [
            f"{unknown:,} row(s) name a manufacturer or model missing from the small packaged "
            "list (Android Enterprise Recommended devices only): load Google Play's full "
            "list into the registry with `ztbulk catalog fetch`, then check or import again."
        ]

    def record_issues(self, issues: list[FileIssue]) -> None:
        for issue in issues:
            (self.file_errors if issue.is_error else self.warnings).append(issue.as_dict())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["hints"] = self.hints
        names = [REPORT_JSON, OUTCOMES_PARQUET, ERRORS_CSV]
        if self.command == "import":
            names += [REPORT_HTML, SUMMARY_EML]
        data["outputs"] = {name: str(Path(self.out_dir) / name) for name in names}
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
