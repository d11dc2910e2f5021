"""The registry schema as forward migrations: MIGRATIONS[n] takes version n-1 to n.

Small tables carry primary keys. `devices` carries none on purpose: it is written in bulk
(millions of rows) and read by batch joins, where DuckDB's ART indexes only slow loads down;
uniqueness of device identifiers was kept by the code that writes them until version 3, which
makes the registry refuse twins itself (`DEVICE_INDEXES`). No foreign keys either:
DuckDB forbids updating a row that another table references, which a registry does all day.
Version 2 adds the devices' IMEIs and MEIDs as numbers (`NUMBERED`) beside the strings, which
stay the record: DuckDB has no stored generated columns, so writers fill them, and resolve
fills any a writer left out before it joins on them.
"""

from __future__ import annotations

V1 = [
    "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)",
    "CREATE SEQUENCE account_ids START 1001",
    "CREATE SEQUENCE configuration_ids START 101",
    "CREATE SEQUENCE device_ids START 1",
    """CREATE TABLE customers (
        id BIGINT PRIMARY KEY,
        name VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE resellers (
        id BIGINT PRIMARY KEY,
        name VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE customer_resellers (
        customer_id BIGINT NOT NULL,
        reseller_id BIGINT NOT NULL,
        enabled BOOLEAN NOT NULL,
        PRIMARY KEY (customer_id, reseller_id)
    )""",
    """CREATE TABLE users (
        email VARCHAR PRIMARY KEY,
        account_kind VARCHAR NOT NULL CHECK (account_kind IN ('customer', 'reseller')),
        account_id BIGINT NOT NULL,
        role VARCHAR NOT NULL CHECK (role IN ('owner', 'admin')),
        created_at TIMESTAMP NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE configurations (
        id BIGINT PRIMARY KEY,
        customer_id BIGINT NOT NULL,
        name VARCHAR NOT NULL,
        emm_dpc VARCHAR NOT NULL,
        dpc_extras VARCHAR,
        company_name VARCHAR NOT NULL,
        support_email VARCHAR,
        support_phone VARCHAR,
        custom_message VARCHAR,
        is_default BOOLEAN NOT NULL DEFAULT false,
        created_at TIMESTAMP NOT NULL DEFAULT now(),
        updated_at TIMESTAMP NOT NULL DEFAULT now(),
        UNIQUE (customer_id, name)
    )""",
    """CREATE TABLE devices (
        id BIGINT NOT NULL,
        imei VARCHAR,
        imei2 VARCHAR,
        meid VARCHAR,
        serial VARCHAR,
        model VARCHAR,
        manufacturer VARCHAR NOT NULL,
        customer_id BIGINT,
        reseller_id BIGINT,
        configuration_id BIGINT,
        kme BOOLEAN NOT NULL DEFAULT false,
        created_at TIMESTAMP NOT NULL DEFAULT now(),
        updated_at TIMESTAMP NOT NULL DEFAULT now()
    )""",
    "CREATE TABLE catalog (manufacturer VARCHAR NOT NULL, model VARCHAR NOT NULL)",
    """CREATE TABLE jobs (
        id VARCHAR PRIMARY KEY,
        state VARCHAR NOT NULL,
        actor_kind VARCHAR NOT NULL,
        actor_id BIGINT NOT NULL,
        user_email VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        file_size BIGINT NOT NULL,
        sha256 VARCHAR NOT NULL,
        spool VARCHAR NOT NULL,
        rows BIGINT,
        error VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT now(),
        updated_at TIMESTAMP NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE job_batches (
        job_id VARCHAR NOT NULL,
        batch INTEGER NOT NULL,
        state VARCHAR NOT NULL,
        rows INTEGER NOT NULL,
        done_at TIMESTAMP,
        PRIMARY KEY (job_id, batch)
    )""",
]


def imei_number(column: str) -> str:
    """SQL: the IMEI in `column` as a number where it is exactly 15 digits, else NULL.

    Only fixed-length values are numbered, so equal numbers mean equal strings."""
    return f"CASE WHEN regexp_full_match({column}, '[0-9]{{15}}') THEN {column}::UBIGINT END"


def meid_number(column: str) -> str:
    """SQL: the MEID in `column` as a number where it is exactly 14 hex digits (any case)."""
    return (
        f"CASE WHEN regexp_full_match({column}, '[0-9A-Fa-f]{{14}}') "
        f"THEN ('0x' || {column})::UBIGINT END"
    )


# Device identifiers as numbers: resolve's equality joins run on them (3x faster than on the
# strings at 10M devices). Each numbered column and the expression that numbers its string.
NUMBERED = {
    "imei_n": imei_number("imei"),
    "imei2_n": imei_number("imei2"),
    "meid_n": meid_number("meid"),
}
# Numbers the devices that lack them: writers number what they insert; this catches the rest
# (older rows, any other writer) and finds nothing to do on a registry kept up to date.
NUMBER_DEVICES = (
    "UPDATE devices SET "
    + ", ".join(f"{n} = {expr}" for n, expr in NUMBERED.items())
    + " WHERE "
    + " OR ".join(f"({n} IS NULL AND {expr} IS NOT NULL)" for n, expr in NUMBERED.items())
)

V2 = [*(f"ALTER TABLE devices ADD COLUMN {n} UBIGINT" for n in NUMBERED), NUMBER_DEVICES]

# Version 3: the registry itself refuses a twin device (one identifier on two devices), the
# ledger keeps what a job may do (its order among the account's jobs, its output folder)
# instead of trusting the job folder, and the rows that apply found changed since planning.
# DuckDB cannot ALTER a table that has indexes: a later migration of `devices` drops them first.
DEVICE_INDEXES = {  # name: the key it keeps unique (resolve's way of matching each kind)
    "devices_id": "id",
    "devices_imei": "imei",
    "devices_imei2": "imei2",
    "devices_meid": "upper(meid)",
    "devices_serial": "serial, lower(model), lower(manufacturer)",
}
CREATE_DEVICE_INDEXES = [
    f"CREATE UNIQUE INDEX {name} ON devices ({key})" for name, key in DEVICE_INDEXES.items()
]
DROP_DEVICE_INDEXES = [f"DROP INDEX IF EXISTS {name}" for name in DEVICE_INDEXES]
V3 = [
    "CREATE SEQUENCE job_order START 1",
    "ALTER TABLE jobs ADD COLUMN seq BIGINT",  # jobs from before: none (they come first)
    "ALTER TABLE jobs ADD COLUMN out_dir VARCHAR",
    """CREATE TABLE job_refusals (
        job_id VARCHAR NOT NULL,
        line BIGINT NOT NULL,
        code VARCHAR NOT NULL
    )""",
    *CREATE_DEVICE_INDEXES,
]

# Version 4: a dry run is a job too (it resolves against the registry), marked as such.
V4 = ["ALTER TABLE jobs ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT false"]

# Version 5: the HTTP service (`ztbulk serve`). API tokens are kept only as their SHA-256 (a
# token is 256 random bits: a fast hash is enough, and a stolen table gives no token); an
# upload's Idempotency-Key names the job it made (job_id NULL: that upload is still running);
# secrets holds the key that signs the status page links of the summary e-mail.
V5 = [
    "CREATE SEQUENCE token_ids START 1",
    """CREATE TABLE api_tokens (
        id BIGINT PRIMARY KEY,
        user_email VARCHAR NOT NULL,
        token_sha256 VARCHAR NOT NULL UNIQUE,
        prefix VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE idempotency_keys (
        user_email VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        job_id VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT now(),
        PRIMARY KEY (user_email, key)
    )""",
    "CREATE TABLE secrets (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
]

# Version 6: each user's language (#12): their jobs' row messages, status page and e-mail
# (NULL: the installation's, ZTBULK_LANG).
V6 = ["ALTER TABLE users ADD COLUMN lang VARCHAR"]

MIGRATIONS: dict[int, list[str]] = {1: V1, 2: V2, 3: V3, 4: V4, 5: V5, 6: V6}
SCHEMA_VERSION = max(MIGRATIONS)
