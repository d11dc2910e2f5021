"""Apply one batch of a plan: every change and the batch's "done" mark in one transaction.

Dramatiq delivers at least once, so a batch may arrive twice; the transaction first looks at
the ledger and does nothing for a batch already done. Statements are bulk `UPDATE ... FROM`
and `INSERT ... SELECT` over the batch's plan rows, read straight from the plan's Parquet.

The registry may have moved since the plan was made (another account claimed a device, a
configuration was deleted, another reseller registered the device to create), and the plan is
a file in the job folder. So the same transaction first checks, row by row, what each row's
decision rested on (`_REFUSALS`), records the rows where it no longer holds in
`job_refusals` with the code finalize reports for them, and writes only the others.
"""

from __future__ import annotations

from ztbulk.codes import Code
from ztbulk.domain import Action
from ztbulk.registry.db import Registry
from ztbulk.registry.schema import imei_number, meid_number

A = {a.name: a.sql for a in Action}  # the actions as SQL literals
# The codes a refused row gets, as SQL literals.
C = {c.name: f"'{c.value}'" for c in (Code.DEVICE_CHANGED, Code.CONFIGURATION_NOT_FOUND,
                                       Code.CUSTOMER_NOT_FOUND)}  # fmt: skip
WRITES = (Action.APPLY, Action.UNCLAIM, Action.CLAIM, Action.CREATE)  # actions that write

_BATCH = "(SELECT * FROM read_parquet($plan) WHERE line BETWEEN $lo AND $hi)"
_WRITES = f"({', '.join(a.sql for a in WRITES)})"
# The rows of the batch still to write: those the checks below did not refuse.
_KEPT = f"""(SELECT * FROM {_BATCH} WHERE action IN {_WRITES} AND line NOT IN (
    SELECT line FROM job_refusals WHERE job_id = $job AND line BETWEEN $lo AND $hi))"""

# The decision a row rests on, against the device as the plan saw it (`d_*`): the device is
# this account's (a customer's rows), this reseller's and claimed (a reseller's unclaim), or
# nobody's (a claim). `$reseller` is NULL for a customer's job. Checked on the plan's own
# view, so a plan edited by hand cannot reach another account's device either.
_ALLOWED = f"""CASE p.action
    WHEN {A["APPLY"]} THEN p.d_customer = $account
    WHEN {A["UNCLAIM"]} THEN CASE WHEN $reseller IS NULL THEN p.d_customer = $account
                             ELSE p.d_reseller = $account AND p.d_customer IS NOT NULL END
    WHEN {A["CLAIM"]} THEN p.d_customer IS NULL
END"""
_AS_SEEN = """d.customer_id IS NOT DISTINCT FROM p.d_customer
    AND d.reseller_id IS NOT DISTINCT FROM p.d_reseller
    AND d.configuration_id IS NOT DISTINCT FROM p.d_config"""
_LINKED = """EXISTS (SELECT 1 FROM customer_resellers l WHERE l.customer_id = p.target
    AND l.reseller_id = $account AND l.enabled)"""
# A device to create that some device now carries an identifier of (resolve's matching), or
# whose id (taken from the sequence at planning) a device holds: a plan edited by hand.
_TWINS = f"""(
    SELECT p.line FROM {_BATCH} p SEMI JOIN devices t ON t.id = p.device_id
    WHERE p.action = {A["CREATE"]}
    UNION ALL
    SELECT p.line FROM {_BATCH} p SEMI JOIN devices t ON t.imei = p.key
    WHERE p.action = {A["CREATE"]} AND p.kind = 'IMEI'
    UNION ALL
    SELECT p.line FROM {_BATCH} p SEMI JOIN devices t ON t.imei2 = p.key
    WHERE p.action = {A["CREATE"]} AND p.kind = 'IMEI'
    UNION ALL
    SELECT p.line FROM {_BATCH} p SEMI JOIN devices t ON upper(t.meid) = p.key
    WHERE p.action = {A["CREATE"]} AND p.kind = 'MEID'
    UNION ALL
    SELECT p.line FROM {_BATCH} p SEMI JOIN devices t ON t.serial = p.key
        AND lower(t.model) = lower(p.model) AND lower(t.manufacturer) = lower(p.manufacturer)
    WHERE p.action = {A["CREATE"]} AND p.kind = 'SN')"""
# Only a reseller's plan has devices to create (and the columns naming them).
_CREATES = f"""
        WHEN p.action = {A["CREATE"]} AND p.line IN {_TWINS} THEN {C["DEVICE_CHANGED"]}
        WHEN p.action = {A["CREATE"]} THEN
            CASE WHEN NOT {_LINKED} THEN {C["CUSTOMER_NOT_FOUND"]} END"""
_REFUSALS = f"""
INSERT INTO job_refusals
SELECT $job, line, code FROM (
    SELECT p.line, CASE {{creates}}
        WHEN d.id IS NULL OR NOT coalesce({_ALLOWED}, false) OR NOT ({_AS_SEEN})
            THEN {C["DEVICE_CHANGED"]}
        WHEN p.action = {A["APPLY"]} AND p.target NOT IN
            (SELECT id FROM configurations WHERE customer_id = $account)
            THEN {C["CONFIGURATION_NOT_FOUND"]}
        WHEN p.action = {A["CLAIM"]} AND NOT {_LINKED} THEN {C["CUSTOMER_NOT_FOUND"]}
    END AS code
    FROM {_BATCH} p LEFT JOIN devices d ON d.id = p.device_id
    WHERE p.action IN {_WRITES}
) WHERE code IS NOT NULL"""

# A claim applies the customer's default configuration as it is now.
_DEFAULTS = """(SELECT customer_id, max(id) AS config FROM configurations WHERE is_default
    GROUP BY customer_id)"""
_CLAIMING = f"""(SELECT k.*, c.config FROM {_KEPT} k
    LEFT JOIN {_DEFAULTS} c ON c.customer_id = k.target)"""
# Each statement sees the batch's kept plan rows as `p`.
_STATEMENTS = {
    # Customer, profileid mode: set the configuration.
    Action.APPLY: f"""UPDATE devices SET configuration_id = p.target, updated_at = now()
       FROM {_KEPT} p WHERE p.action = {A["APPLY"]} AND devices.id = p.device_id""",
    # Unclaim (customer or reseller): the device leaves the customer's account.
    Action.UNCLAIM: f"""UPDATE devices SET customer_id = NULL, configuration_id = NULL,
           updated_at = now()
       FROM {_KEPT} p WHERE p.action = {A["UNCLAIM"]} AND devices.id = p.device_id""",
    # Reseller claim of a known device: the customer's default configuration applies.
    Action.CLAIM: f"""UPDATE devices SET customer_id = p.target, reseller_id = $reseller,
           configuration_id = p.config, updated_at = now()
       FROM {_CLAIMING} p WHERE p.action = {A["CLAIM"]} AND devices.id = p.device_id""",
    # Reseller claim of a new device: registered with the list's spelling of the names.
    Action.CREATE: f"""INSERT INTO devices (id, imei, meid, serial, model, manufacturer,
                            customer_id, reseller_id, configuration_id, imei_n, meid_n)
       SELECT p.device_id,
              CASE WHEN p.kind = 'IMEI' THEN p.key END,
              CASE WHEN p.kind = 'MEID' THEN p.key END,
              CASE WHEN p.kind = 'SN' THEN p.key END,
              coalesce((SELECT any_value(c.model) FROM catalog c
                        WHERE lower(c.manufacturer) = lower(p.manufacturer)
                          AND lower(c.model) = lower(p.model)), p.model),
              coalesce((SELECT any_value(c.manufacturer) FROM catalog c
                        WHERE lower(c.manufacturer) = lower(p.manufacturer)), p.manufacturer),
              p.target, $reseller, p.config,
              CASE WHEN p.kind = 'IMEI' THEN {imei_number("p.key")} END,
              CASE WHEN p.kind = 'MEID' THEN {meid_number("p.key")} END
       FROM {_CLAIMING} p WHERE p.action = {A["CREATE"]}""",
}


def apply_batch(
    reg: Registry,
    job_id: str,
    batch: int,
    *,
    plan: str,
    lines: tuple[int, int],
    account: int,
    reseller: int | None,
) -> bool:
    """Apply `batch` of the plan (`plan`: its parts, a glob; `lines`: the batch's first and
    last line) unless the ledger says it is done; True if it was applied."""
    with reg.transaction() as con:
        state = con.execute(
            "SELECT state FROM job_batches WHERE job_id = ? AND batch = ?", [job_id, batch]
        ).fetchall()
        if state and state[0][0] == "done":
            return False
        # Read straight from the plan (the part of the batch's lines): each statement
        # reads only the columns it needs, far cheaper than copying the batch into a table.
        rows = {"plan": plan, "lo": lines[0], "hi": lines[1]}
        found = con.execute(f"SELECT DISTINCT action FROM {_BATCH}", rows).fetchall()
        found_writes = {Action(a) for (a,) in found} & set(_STATEMENTS)
        ids = {"job": job_id, "account": account, "reseller": reseller}
        if found_writes:
            creates = _CREATES if Action.CREATE in found_writes else ""
            refusals = _REFUSALS.replace("{creates}", creates)
            con.execute(refusals, rows | _used(refusals, ids))
        # Each statement joins the batch against every device: run only those whose action
        # the batch holds (a customer's file has one or two of the four).
        for action, statement in _STATEMENTS.items():
            if action in found_writes:
                con.execute(statement, rows | _used(statement, ids))
        con.execute(
            "UPDATE job_batches SET state = 'done', done_at = now() WHERE job_id = ? AND batch = ?",
            [job_id, batch],
        )
    return True


def _used(statement: str, params: dict[str, object]) -> dict[str, object]:
    """The named parameters `statement` uses (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in statement}
