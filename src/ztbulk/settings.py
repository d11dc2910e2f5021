"""Settings: every knob of ztbulk in one frozen object, read once.

The CLI reads them from the environment (`Settings.from_env`) and its options override them
(`with_options`); the library takes a `Settings` (or the defaults) and never reads the
environment itself. Nothing is read at import time.

Each field is read from `ZTBULK_<FIELD>` (the README's table lists them all):
`ZTBULK_DB` registry file (./ztbulk.duckdb); `ZTBULK_SPOOL` job folders (./ztbulk-jobs);
`ZTBULK_BROKER_URL` Redis for distributed mode (unset: embedded); `ZTBULK_BATCH_ROWS` plan
rows per transaction (500000); `ZTBULK_HEARTBEAT_MS` a silent worker's messages are requeued
after this (60000); `ZTBULK_MAINTENANCE_CHANCE` Redis commands per million that requeue dead
workers' messages (50000); `ZTBULK_DUCKDB_MEMORY` DuckDB's memory cap (DuckDB's default);
`ZTBULK_SMTP_URL` send summary.eml (unset: written only); `ZTBULK_MAIL_FROM` its sender
(ztbulk@localhost); `ZTBULK_CATALOG_URL` where `catalog fetch` downloads Google Play's device
list (Google's published URL); `ZTBULK_MAX_FILE_BYTES` refuse larger files in check, import
and resume (`FILE_TOO_LARGE`; no limit); `ZTBULK_ENGINE` `reference` for the Polars reference
engine (native: the Rust core); `ZTBULK_PUBLIC_URL` the address the HTTP service is reached at,
for the status page link of summary.eml (unset: no link; `ztbulk serve` sets its own address);
`ZTBULK_LINK_HOURS` how long such a signed link opens the page (168, a week); `ZTBULK_LANG`
the language of the row messages, report.html and summary.eml (en; `fr`, or any language
with a catalogue in locales/; codes stay English).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ztbulk.errors import UsageError
from ztbulk.i18n import SOURCE, known_language
from ztbulk.parse.config import ParseConfig

_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
_BROKER = re.compile(r"^rediss?://")
_PUBLIC = re.compile(r"^https?://[^/\s]+(/\S*)?$")
PREFIX = "ZTBULK_"


@dataclass(frozen=True)
class Settings:
    db: Path = Path("ztbulk.duckdb")
    spool: Path = Path("ztbulk-jobs")
    broker_url: str | None = None
    # Each batch's UPDATE joins against every device, so a batch costs a fixed ~0.04 s on top
    # of its rows: 500k rows halved apply at 10M rows against 100k (5.4 -> 2.6 s), and a crash
    # costs at most one batch's work again.
    batch_rows: int = 500_000
    heartbeat_ms: int = 60_000
    # Dramatiq's default share (0.1%) suits busy queues; jobs send few messages, so a dead
    # worker's batch could wait for minutes: 5% here.
    maintenance_chance: int = 50_000
    # Not capped by default: resolving 10M rows against 10M devices did not fit in 2 GB
    # (DuckDB reported out of memory rather than spilling).
    duckdb_memory: str | None = None
    smtp_url: str | None = None
    mail_from: str = "ztbulk@localhost"
    public_url: str | None = None
    link_hours: int = 168
    # Google Play's published "supported devices" list (UTF-16): `ztbulk catalog fetch`.
    catalog_url: str = "https://storage.googleapis.com/play_public/supported_devices.csv"
    lang: str = SOURCE
    parse: ParseConfig = field(default_factory=ParseConfig)

    def __post_init__(self) -> None:
        if self.broker_url is not None and not _BROKER.match(self.broker_url):
            raise UsageError(
                f"ZTBULK_BROKER_URL={self.broker_url!r} is not a Redis URL: write "
                "redis://host:6379/0 (or rediss:// for TLS)."
            )
        if self.duckdb_memory is not None and not _MEMORY.match(self.duckdb_memory):
            raise UsageError(
                f"ZTBULK_DUCKDB_MEMORY={self.duckdb_memory!r} is not a size such as 1GB or 512MB."
            )
        if self.public_url is not None and not _PUBLIC.match(self.public_url):
            raise UsageError(
                f"ZTBULK_PUBLIC_URL={self.public_url!r} is not an http(s) address such as "
                "https://ztbulk.example.com."
            )
        known_language(self.lang, f"{PREFIX}LANG")
        for name in ("batch_rows", "heartbeat_ms", "maintenance_chance", "link_hours"):
            if getattr(self, name) <= 0:
                raise UsageError(f"{PREFIX}{name.upper()} must be a positive number.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings a process's environment gives (unset or empty: the default)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(PREFIX + f.name.upper(), "").strip()
            if raw and f.name != "parse":
                values[f.name] = _parse(f.name, raw, f.type)
        values["parse"] = _parse_config(environ)
        return cls(**values)

    def with_options(self, **options: Any) -> Settings:
        """These settings with the options that were given (None: not given)."""
        given = {k: v for k, v in options.items() if v is not None}
        for name in ("db", "spool"):
            if name in given:
                given[name] = Path(given[name])
        return replace(self, **given)

    @property
    def distributed(self) -> bool:
        return self.broker_url is not None


def _parse_config(environ: Mapping[str, str]) -> ParseConfig:
    """The parse stage's settings: the byte limit, and the engine (the Rust core unless
    ZTBULK_ENGINE=reference)."""
    limit = environ.get(PREFIX + "MAX_FILE_BYTES", "").strip()
    engine = environ.get(PREFIX + "ENGINE", "").strip() or "native"
    if engine not in ("native", "reference"):
        raise UsageError(f"ZTBULK_ENGINE={engine!r} is not native or reference.")
    return ParseConfig(
        max_bytes=_number("MAX_FILE_BYTES", limit) if limit else None,
        engine="native" if engine == "native" else "reference",
    )


def _parse(name: str, raw: str, kind: object) -> object:
    if kind in ("Path", Path):
        return Path(raw)
    if kind in ("int", int):
        return _number(name.upper(), raw)
    return raw


def _number(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"{PREFIX}{name}={raw!r} is not a whole number.") from None
