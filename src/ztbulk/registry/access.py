"""Who is acting: the principal behind a user's e-mail, and the check of a right (SPEC 7).

Every operation of the registry service (`registry.service`) starts here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ztbulk.domain import Actor
from ztbulk.errors import ForeignAccountError, PermissionDeniedError, UsageError
from ztbulk.registry.db import Registry
from ztbulk.registry.models import Role, check_email

ANY_ROLE = (Role.OWNER, Role.ADMIN)
OWNER_ONLY = (Role.OWNER,)
CONFIG_FIELDS = (
    "name",
    "emm_dpc",
    "dpc_extras",
    "company_name",
    "support_email",
    "support_phone",
    "custom_message",
)


@dataclass(frozen=True)
class Principal:
    email: str
    kind: Actor
    account_id: int
    role: Role
    lang: str | None = None  # the user's language; None: the installation's


class Access:
    """The acting user's principal and rights, over one open registry."""

    def __init__(self, registry: Registry) -> None:
        self.reg = registry

    # -- who is acting ---------------------------------------------------------------

    def principal(self, email: str) -> Principal:
        found = self.reg.one(
            "SELECT email, account_kind, account_id, role, lang FROM users WHERE email = ?",
            [check_email_or_usage(email)],
        )
        if found is None:
            raise PermissionDeniedError(f"{email} is not a user of this registry.")
        return Principal(found[0], Actor(found[1]), int(found[2]), Role(found[3]), found[4])

    def require(
        self,
        who: Principal,
        kind: Actor,
        account_id: int,
        roles: tuple[Role, ...],
        action: str,
    ) -> None:
        if who.kind is not kind or who.account_id != account_id:
            raise ForeignAccountError(f"{who.email} has no access to {kind.value} {account_id}.")
        if who.role not in roles:
            raise PermissionDeniedError(
                f"{who.email} is {who.role.value} of {kind.value} {account_id}; only "
                f"{' or '.join(r.value for r in roles)} may {action}."
            )

    def _own_customer(self, who: Principal, customer_id: int | None, action: str) -> int:
        """The customer an operation works on: the given one, or the acting user's own."""
        if customer_id is None:
            if who.kind is not Actor.CUSTOMER:
                raise PermissionDeniedError(
                    f"{who.email} is a user of reseller {who.account_id}, and only a "
                    f"customer's users may {action}."
                )
            return who.account_id
        return customer_id


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise UsageError(f"Role {value!r} is not owner or admin.") from None


def check_email_or_usage(value: str) -> str:
    try:
        return check_email(value)
    except ValueError as exc:
        raise UsageError(f"{exc}.") from None
