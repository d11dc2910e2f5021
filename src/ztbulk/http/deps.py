"""Who a request acts as: the user its bearer token names, in that user's account and role.

Every /v1 route takes `Open` (the registry for this request and the caller; `CustomerOpen`
for a customer's things) or, to open the registry itself, `Who`; the rights themselves are
checked by the registry service, exactly as for the CLI (SPEC 7, `registry.access`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ztbulk.domain import Actor
from ztbulk.errors import AuthenticationError, PermissionDeniedError
from ztbulk.http.runtime import Runtime
from ztbulk.registry.access import Principal
from ztbulk.registry.service import RegistryService

_bearer = HTTPBearer(auto_error=False, description="an API token: `ztbulk token create`")


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


Rt = Annotated[Runtime, Depends(runtime)]


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None:
        raise AuthenticationError(
            "Send an API token as `Authorization: Bearer TOKEN` (`ztbulk token create`)."
        )
    return credentials.credentials


def principal(rt: Rt, credentials: Bearer) -> Principal:
    """The caller, the registry opened only to find out (for a route that opens it itself,
    later: an upload, which must not hold it while the body streams in)."""
    with rt.registry() as svc:
        return svc.token_principal(_token(credentials))


Who = Annotated[Principal, Depends(principal)]


@dataclass(frozen=True)
class Session:
    """The registry, open for one request's work, and the caller it acts as."""

    svc: RegistryService
    who: Principal


def session(rt: Rt, credentials: Bearer) -> Iterator[Session]:
    """One opening of the registry per request, for the token and the work alike (opening
    it is most of a request's time), closed before the response goes out."""
    with rt.registry() as svc:
        yield Session(svc, svc.token_principal(_token(credentials)))


Open = Annotated[Session, Depends(session, scope="function")]


def customer_session(s: Open) -> Session:
    """A user of a customer: configurations, resellers and the customer's details are a
    customer's."""
    if s.who.kind is not Actor.CUSTOMER:
        raise PermissionDeniedError(
            f"{s.who.email} is a reseller user; configurations, resellers and customer "
            "details belong to customers."
        )
    return s


CustomerOpen = Annotated[Session, Depends(customer_session)]
