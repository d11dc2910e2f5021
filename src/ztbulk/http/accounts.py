"""/v1 devices, configurations, users, resellers and the customer, as the CLI has them.

Each route is one call of the registry service with the caller as the acting user: the
rights of SPEC 7 are the service's. What another account holds is not found (404), the same
as what does not exist; an admin doing an owner's task is refused (403).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi import Path as InPath
from fastapi.responses import FileResponse

from ztbulk.domain import Actor
from ztbulk.errors import NotFoundError, UsageError
from ztbulk.http.deps import CustomerOpen, Open, Rt
from ztbulk.http.jobs import ERRORS
from ztbulk.http.models import (
    Configuration,
    ConfigurationChange,
    Customer,
    Device,
    Me,
    NewConfiguration,
    NewUser,
    Reseller,
    ResellerLink,
    RoleChange,
    User,
)
from ztbulk.jobs.folder import private_dir

router = APIRouter(prefix="/v1", responses=ERRORS)
Text = Annotated[str | None, Query(max_length=200)]
# Ids are BIGINTs in the registry: a larger number is no id (a 422, not an overflow).
ID = Annotated[int, InPath(ge=0, le=2**62)]


@router.get("/me", response_model=Me, tags=["account"], summary="who the token acts as")
def me(s: Open) -> Me:
    who = s.who
    return Me(email=who.email, account_kind=who.kind.value, account_id=who.account_id,
              role=who.role)  # fmt: skip


@router.get("/customer", response_model=Customer, tags=["account"])
def customer(s: CustomerOpen) -> Any:
    return s.svc.show_customer(s.who, None)


# -- devices ---------------------------------------------------------------------------


def matching(
    found: list[dict[str, Any]], imei: str | None, meid: str | None, model: str | None,
    manufacturer: str | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The devices that match the identifier as the kind asked for (find looks in all)."""
    if imei is not None:
        return [d for d in found if imei.strip() in (d["imei"], d["imei2"])]
    if meid is not None:
        return [d for d in found if (d["meid"] or "").upper() == meid.strip().upper()]
    return [d for d in found if _same(d["model"], model) and _same(d["manufacturer"], manufacturer)]


def _same(value: str | None, asked: str | None) -> bool:
    return asked is None or (value or "").lower() == asked.strip().lower()


FIND = "find devices by IMEI, MEID, or serial with model and manufacturer"


@router.get("/devices", response_model=list[Device], tags=["devices"], summary=FIND)
def devices(
    s: Open, *, imei: Text = None, meid: Text = None, serial: Text = None,
    model: Text = None, manufacturer: Text = None,
) -> Any:  # fmt: skip
    given = [v for v in (imei, meid, serial) if v is not None and v.strip()]
    if len(given) != 1 or (serial is not None and (model is None or manufacturer is None)):
        raise UsageError("Give one of imei, meid, or serial with model and manufacturer.")
    found = s.svc.find_device(s.who, given[0])
    hits = matching(found, imei, meid, model, manufacturer)
    if not hits:
        raise NotFoundError("No device of your account has that identifier.")
    return [{k: v for k, v in d.items() if not k.endswith("_n")} for d in hits]


@router.get("/devices/export", response_class=FileResponse, tags=["devices"],
            responses={200: {"content": {"text/csv": {}}}},
            summary="the customer's devices as an importable CSV")  # fmt: skip
def export(rt: Rt, s: CustomerOpen, background: BackgroundTasks) -> FileResponse:
    # Written to a private file first and streamed from there: the registry is held only
    # while the file is written (the session closes it before the response goes out), never
    # while a slow client reads.
    private_dir(rt.settings.spool)
    folder = Path(tempfile.mkdtemp(prefix=".export-", dir=rt.settings.spool))
    path = folder / "devices.csv"
    s.svc.export_devices(s.who, None, path)
    background.add_task(shutil.rmtree, folder, ignore_errors=True)
    return FileResponse(path, media_type="text/csv; charset=utf-8",
                        filename=f"devices-{s.who.account_id}.csv")  # fmt: skip


# -- configurations ----------------------------------------------------------------------


@router.get("/configurations", response_model=list[Configuration], tags=["configurations"])
def configurations(s: CustomerOpen) -> Any:
    return s.svc.list_configs(s.who)


@router.post("/configurations", response_model=Configuration, status_code=201,
             tags=["configurations"])  # fmt: skip
def add_configuration(s: CustomerOpen, body: NewConfiguration) -> Any:
    values = body.model_dump(exclude={"default"}, exclude_none=True)
    return s.svc.add_config(s.who, values, body.default)


@router.patch("/configurations/{config_id}", response_model=Configuration,
              tags=["configurations"])  # fmt: skip
def edit_configuration(s: CustomerOpen, config_id: ID, body: ConfigurationChange) -> Any:
    return s.svc.edit_config(s.who, config_id, body.model_dump(exclude_none=True))


@router.post("/configurations/{config_id}/default", response_model=Configuration,
             tags=["configurations"], summary="make it the default")  # fmt: skip
def default_configuration(s: CustomerOpen, config_id: ID) -> Any:
    return s.svc.set_default(s.who, config_id)


@router.delete("/configurations/{config_id}", status_code=204, tags=["configurations"])
def delete_configuration(s: CustomerOpen, config_id: ID) -> None:
    s.svc.delete_config(s.who, config_id)


# -- users -------------------------------------------------------------------------------


@router.get("/users", response_model=list[User], tags=["users"])
def users(s: Open) -> Any:
    return s.svc.list_users(s.who)


@router.post("/users", response_model=User, status_code=201, tags=["users"])
def add_user(s: Open, body: NewUser) -> Any:
    return s.svc.add_user(s.who, body.email, body.role.value)


@router.patch("/users/{email}", response_model=User, tags=["users"])
def set_role(s: Open, email: str, body: RoleChange) -> Any:
    return s.svc.set_role(s.who, email, body.role.value)


@router.delete("/users/{email}", status_code=204, tags=["users"])
def remove_user(s: Open, email: str) -> None:
    s.svc.remove_user(s.who, email)


# -- resellers ---------------------------------------------------------------------------


@router.get("/resellers", response_model=list[Reseller], tags=["resellers"])
def resellers(s: Open) -> Any:
    return s.svc.list_accounts(Actor.RESELLER)


@router.post("/resellers/{reseller_id}/enable", response_model=ResellerLink, tags=["resellers"])
def enable(s: CustomerOpen, reseller_id: ID) -> Any:
    return s.svc.set_reseller(s.who, reseller_id, True)


@router.post("/resellers/{reseller_id}/disable", response_model=ResellerLink, tags=["resellers"])
def disable(s: CustomerOpen, reseller_id: ID) -> Any:
    return s.svc.set_reseller(s.who, reseller_id, False)
