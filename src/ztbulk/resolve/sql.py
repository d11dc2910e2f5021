"""Resolve's SQL: each row joined to the devices its identifier can name, then decided.

The decisions are written in SQL so that DuckDB makes them in the same pass as the joins; the
actions they produce are `domain.Action`'s values.
"""

from __future__ import annotations

from ztbulk.codes import Code
from ztbulk.domain import Action

A = {a.name: a.sql for a in Action}  # the actions as SQL literals, for the queries below

# The decisions' boolean columns and the codes they stand for. The plan stores them as one
# code `mask` (UInt64, as `validate.checks.code_mask`), which finalize reads as it is: with
# nine boolean columns (these and section 4's two), DuckDB took a third longer to write a part.
FLAG_CODES = {
    "not_found": Code.DEVICE_NOT_FOUND,
    "mismatch": Code.MANUFACTURER_MISMATCH,
    "no_config": Code.CONFIGURATION_NOT_FOUND,
    "no_customer": Code.CUSTOMER_NOT_FOUND,
    "elsewhere": Code.DEVICE_CLAIMED_ELSEWHERE,
    "second": Code.SECONDARY_IMEI,
    "kme": Code.KME_CONFLICT,
}
MASK = " | ".join(f"({flag}::UBIGINT << {code.bit})" for flag, code in FLAG_CODES.items())


# The device columns a decision reads, as the plan names them.
_DEVICE = {
    "id": "device_id",
    "manufacturer": "d_manufacturer",
    "customer_id": "d_customer",
    "reseller_id": "d_reseller",
    "configuration_id": "d_config",
    "kme": "d_kme",
}


def _device(alias: str) -> str:
    return ", ".join(f"{alias}.{column} AS {name}" for column, name in _DEVICE.items())


# Each input row LEFT JOINs the devices its kind of identifier can name, so it comes out
# once, or once per device where several carry its identifier (an IMEI that is one device's
# first IMEI and another's second; a serial, model and maker of two devices). `_keep_best`
# then keeps the row of the lowest rank: first IMEI before second, then the lowest device id,
# packed in one BIGINT (ids come from a sequence, far below 2^56). That is rare, and found by
# counting a range's rows: grouping every row's matches by line cost a fifth of resolve.
# IMEIs and MEIDs are matched by number (registry/schema.py NUMBERED).
MATCHES = f"""
matched AS (
    SELECT i.*, d.second, {_device("d")}, (d.second::BIGINT << 56) + d.id AS rank
    FROM input i LEFT JOIN (
        SELECT imei_n AS n, false AS second, * FROM devices
        UNION ALL
        SELECT imei2_n, true, * FROM devices WHERE imei2_n IS NOT NULL
    ) d ON d.n = i.num
    WHERE i.kind = 'IMEI'
    UNION ALL
    SELECT i.*, false, {_device("d")}, d.id
    FROM input i LEFT JOIN (SELECT * FROM devices WHERE meid_n IS NOT NULL) d
        ON d.meid_n = i.num
    WHERE i.kind = 'MEID'
    UNION ALL
    SELECT i.*, false, {_device("d")}, d.id
    FROM input i LEFT JOIN (SELECT * FROM devices WHERE serial IS NOT NULL) d
        ON d.serial = i.key AND lower(d.model) = lower(i.model)
            AND lower(d.manufacturer) = lower(i.manufacturer)
    WHERE i.kind = 'SN'
),
joined AS (
    SELECT *,
           -- lower() only where the spellings differ (DuckDB evaluates an AND's right side
           -- on the rows its left side leaves)
           device_id IS NOT NULL AND d_manufacturer <> manufacturer
               AND lower(d_manufacturer) <> lower(manufacturer) AS mismatch_raw
    FROM matched
)
"""

# Per-actor decision, in two steps: `facts` computes what needs a subquery (DuckDB cannot
# reuse such an alias in the same SELECT), the final SELECT decides. Every query yields: line,
# device_id, action, target, default_config, rank, the FLAG_CODES booleans and the device as
# the decision saw it (d_customer, d_reseller, d_config), which apply checks again.
# A reseller's plan also carries the identifier and names of the devices it creates, and only
# of those: writing every row's strings took a third of resolve's time.
CUSTOMER = f"""
, facts AS (
    SELECT j.*,
           (device_id IS NULL OR d_customer IS DISTINCT FROM $account) AS not_found,
           ($mode = 'profileid' AND target NOT IN
                (SELECT id FROM configurations WHERE customer_id = $account)) AS no_config
    FROM joined j
)
SELECT line, device_id, target, NULL::BIGINT AS default_config, d_customer, d_reseller,
       d_config, not_found,
       (NOT not_found AND mismatch_raw) AS mismatch, no_config,
       false AS no_customer, false AS elsewhere,
       (NOT not_found AND coalesce(second, false)) AS second,
       (NOT not_found AND coalesce(d_kme, false)) AS kme,
       CASE WHEN not_found OR mismatch OR no_config THEN {A["REJECT"]}
            WHEN $mode = 'owner' THEN {A["UNCLAIM"]}
            WHEN d_config IS NOT DISTINCT FROM target THEN {A["UNCHANGED"]}
            ELSE {A["APPLY"]} END AS action,
       rank
FROM facts
"""

RESELLER = f"""
, facts AS (
    SELECT j.*,
           (SELECT max(id) FROM configurations c WHERE c.customer_id = j.target AND c.is_default)
               AS default_config,
           (target > 0 AND NOT EXISTS (SELECT 1 FROM customer_resellers l
                WHERE l.customer_id = j.target AND l.reseller_id = $account AND l.enabled))
               AS no_customer
    FROM joined j
)
SELECT line, device_id, target, default_config, d_customer, d_reseller, d_config,
       (target = 0 AND (device_id IS NULL OR d_reseller IS DISTINCT FROM $account))
           AS not_found,
       (NOT not_found AND device_id IS NOT NULL AND mismatch_raw) AS mismatch,
       false AS no_config, no_customer,
       (target > 0 AND device_id IS NOT NULL AND d_customer IS NOT NULL
            AND d_customer <> target) AS elsewhere,
       (NOT not_found AND coalesce(second, false)) AS second,
       (NOT not_found AND coalesce(d_kme, false)) AS kme,
       CASE WHEN not_found OR mismatch OR no_customer OR elsewhere THEN {A["REJECT"]}
            WHEN target = 0 AND d_customer IS NULL THEN {A["UNCHANGED"]}
            WHEN target = 0 THEN {A["UNCLAIM"]}
            WHEN device_id IS NULL THEN {A["CREATE"]}
            WHEN d_customer = target THEN {A["UNCHANGED"]}
            ELSE {A["CLAIM"]} END AS action,
       CASE WHEN action = {A["CREATE"]} THEN kind END AS kind,
       CASE WHEN action = {A["CREATE"]} THEN key END AS key,
       CASE WHEN action = {A["CREATE"]} THEN model END AS model,
       CASE WHEN action = {A["CREATE"]} THEN manufacturer END AS manufacturer,
       rank
FROM facts
"""
