"""Who a request acts as: the user its bearer token names, in that user's account and role.

Every /v1 route takes `Who` (or `CustomerWho`); the rights themselves are checked by the
registry service, exactly as for the CLI (SPEC 7, `registry.access`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ztbulk.domain import Actor
from ztbulk.errors import AuthenticationError, PermissionDeniedError
from ztbulk.http.runtime import Runtime
from ztbulk.registry.access import Principal

_bearer = HTTPBearer(auto_error=False, description="an API token: `ztbulk token create`")


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


Rt = Annotated[Runtime, Depends(runtime)]


def principal(
    rt: Rt, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise AuthenticationError(
            "Send an API token as `Authorization: Bearer TOKEN` (`ztbulk token create`)."
        )
    with rt.registry() as svc:
        return svc.token_principal(credentials.credentials)


Who = Annotated[Principal, Depends(principal)]


def customer_principal(who: Who) -> Principal:
    """A user of a customer: configurations, resellers and the customer's details are a
    customer's."""
    if who.kind is not Actor.CUSTOMER:
        raise PermissionDeniedError(
            f"{who.email} is a reseller user; configurations, resellers and customer details "
            "belong to customers."
        )
    return who


CustomerWho = Annotated[Principal, Depends(customer_principal)]
