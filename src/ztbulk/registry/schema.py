"""The registry schema as forward migrations: MIGRATIONS[n] takes version n-1 to n.

Small tables carry primary keys. `devices` carries none on purpose: it is written in bulk
(millions of rows) and read by batch joins, where DuckDB's ART indexes only slow loads down;
uniqueness of device identifiers is kept by the code that writes them. No foreign keys either:
DuckDB forbids updating a row that another table references, which a registry does all day.
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

MIGRATIONS: dict[int, list[str]] = {1: V1}
SCHEMA_VERSION = max(MIGRATIONS)
