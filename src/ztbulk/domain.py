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


class Action(StrEnum):
    """What the plan does with a row: resolve decides it (in SQL), apply carries it out, the
    report turns it into the row's outcome."""

    APPLY = "apply"  # set the configuration
    UNCHANGED = "unchanged"  # already so: nothing to write
    UNCLAIM = "unclaim"
    CLAIM = "claim"  # a known device
    CREATE = "create"  # a new device, registered and claimed
    REJECT = "reject"
    SKIP = "skip"  # a repeat (DUPLICATE_ROW)

    @property
    def sql(self) -> str:
        """The action as an SQL string literal."""
        return f"'{self.value}'"


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
