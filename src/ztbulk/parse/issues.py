"""File-level findings: problems of the input file itself, recorded in the report."""

from __future__ import annotations

from dataclasses import dataclass

from ztbulk.codes import Category, Code


@dataclass(frozen=True)
class FileIssue:
    code: Code
    detail: str  # one sentence naming the problem and the fix

    @property
    def is_error(self) -> bool:
        return self.code.info.category is Category.FILE

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.detail}
