"""Inputs to the registry, validated at the edge with pydantic (SPEC section 7)."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ztbulk.errors import UsageError

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[0-9 +\-()]{3,32}$")


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"


def check_email(value: str) -> str:
    value = value.strip()
    if not EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value.lower()


class Configuration(BaseModel):
    """A configuration's fields; `dpc_extras` is JSON text (an object)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    emm_dpc: str = Field(min_length=1, max_length=500)
    company_name: str = Field(min_length=1, max_length=200)
    dpc_extras: str | None = None
    support_email: str | None = None
    support_phone: str | None = None
    custom_message: str | None = Field(default=None, max_length=2000)

    @field_validator("name", "emm_dpc", "company_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("dpc_extras")
    @classmethod
    def _json_object(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(parsed, dict):
            raise ValueError("must be a JSON object")
        return json.dumps(parsed, separators=(",", ":"), sort_keys=True)

    @field_validator("support_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else check_email(value)

    @field_validator("support_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not PHONE.match(value.strip()) or not any(c.isdigit() for c in value):
            raise ValueError("may hold only digits, spaces, +, - and parentheses")
        return value.strip()


M = TypeVar("M", bound=BaseModel)


# The fields as a person names them, in messages.
LABELS = {
    "name": "the name",
    "emm_dpc": "the EMM DPC",
    "company_name": "the company name",
    "dpc_extras": "the DPC extras",
    "support_email": "the support e-mail",
    "support_phone": "the support phone",
    "custom_message": "the custom message",
}


def _said(error: Any) -> str:
    """One pydantic error as words: what is wrong, never pydantic's own text."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else (
            f"must be at least {ctx.get('min_length')} characters long"
        )  # fmt: skip
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field ztbulk knows"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return "must be text"  # string_type and the like: the only other input is text


def parse_input(model: type[M], **values: object) -> M:
    """Validate, turning pydantic's report into one sentence for the user."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        label = LABELS.get(field, field.replace("_", " "))
        raise UsageError(f"{label[0].upper()}{label[1:]} {_said(first)}.") from None
