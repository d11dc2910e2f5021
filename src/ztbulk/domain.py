"""Words shared by every stage: who imports, in which mode, and the canonical columns."""

from __future__ import annotations

from enum import StrEnum


class Actor(StrEnum):
    CUSTOMER = "customer"
    RESELLER = "reseller"


class Mode(StrEnum):
    """Which target column a file carries (SPEC section 1)."""

    PROFILEID = "profileid"
    OWNER = "owner"


CANONICAL_COLUMNS: tuple[str, ...] = (
    "modemtype",
    "modemid",
    "serial",
    "model",
    "manufacturer",
    "profiletype",
    "profileid",
    "owner",
    "ordernumber",
)


def normalize_column(name: str) -> str:
    """SPEC section 2: trim, lower-case, drop `_`, `-` and spaces."""
    return "".join(ch for ch in name.strip().lower() if ch not in "_- ")
