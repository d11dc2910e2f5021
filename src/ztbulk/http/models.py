"""The JSON shapes of the /v1 API: what its OpenAPI document promises, and what is checked
against it (the responses are validated by these models before they leave)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ztbulk.registry.models import Role
from ztbulk.report.model import ERRORS_CSV, OUTCOMES_PARQUET, REPORT_HTML, REPORT_JSON, SUMMARY_EML


class Me(BaseModel):
    email: str
    account_kind: str
    account_id: int
    role: Role


class Progress(BaseModel):
    rows_done: int = Field(description="rows of applied batches")
    rows_total: int | None = Field(description="rows planned in all; null before planning")
    batches_done: int
    batches: int


class Job(BaseModel):
    id: str
    state: str
    status: str = Field(description="what the job is doing, in words")
    dry_run: bool
    file_name: str
    file_size: int
    sha256: str
    account_kind: str
    account_id: int
    user: str
    created_at: str
    updated_at: str
    rows: int | None
    progress: Progress
    outcomes: dict[str, int] | None = Field(description="counts per outcome, once done")
    codes: dict[str, int] | None = Field(description="counts per code, once done")
    file_errors: list[dict[str, str]] | None
    exit_code: int | None
    links: dict[str, str]


class JobFile(StrEnum):
    REPORT_JSON = REPORT_JSON
    OUTCOMES_PARQUET = OUTCOMES_PARQUET
    ERRORS_CSV = ERRORS_CSV
    REPORT_HTML = REPORT_HTML
    SUMMARY_EML = SUMMARY_EML


class Device(BaseModel):
    id: int
    imei: str | None
    imei2: str | None
    meid: str | None
    serial: str | None
    model: str | None
    manufacturer: str
    customer_id: int | None
    reseller_id: int | None
    configuration_id: int | None
    kme: bool
    created_at: str
    updated_at: str


class Configuration(BaseModel):
    id: int
    customer_id: int
    name: str
    emm_dpc: str
    dpc_extras: str | None
    company_name: str
    support_email: str | None
    support_phone: str | None
    custom_message: str | None
    is_default: bool


class ConfigurationChange(BaseModel):
    """The fields to set; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    emm_dpc: str | None = Field(default=None, max_length=500)
    company_name: str | None = Field(default=None, max_length=200)
    dpc_extras: str | None = Field(default=None, max_length=100_000)
    support_email: str | None = Field(default=None, max_length=320)
    support_phone: str | None = Field(default=None, max_length=32)
    custom_message: str | None = Field(default=None, max_length=2000)


class NewConfiguration(ConfigurationChange):
    name: str = Field(max_length=200)
    emm_dpc: str = Field(max_length=500)
    company_name: str = Field(max_length=200)
    default: bool = False


class User(BaseModel):
    email: str
    role: Role


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    role: Role = Role.ADMIN


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class Reseller(BaseModel):
    id: int
    name: str
    created_at: str


class CustomerReseller(BaseModel):
    id: int
    name: str
    enabled: bool


class ResellerLink(BaseModel):
    customer_id: int
    reseller_id: int
    enabled: bool


class Customer(BaseModel):
    id: int
    name: str
    devices: int
    users: list[User]
    configurations: list[Configuration]
    resellers: list[CustomerReseller]
