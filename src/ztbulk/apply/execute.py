"""Apply one batch of a plan: every change and the batch's "done" mark in one transaction.

Dramatiq delivers at least once, so a batch may arrive twice; the transaction first looks at
the ledger and does nothing for a batch already done. Statements are bulk `UPDATE ... FROM`
and `INSERT ... SELECT` over the batch's plan rows, read straight from the plan's Parquet.
"""

from __future__ import annotations

from ztbulk.registry.db import Registry
from ztbulk.registry.schema import imei_number, meid_number

_BATCH = "(SELECT * FROM read_parquet($plan) WHERE line BETWEEN $lo AND $hi)"
# Each statement sees the batch's plan rows as `p`.
_STATEMENTS = {
    # Customer, profileid mode: set the configuration.
    "apply": f"""UPDATE devices SET configuration_id = p.target, updated_at = now()
       FROM {_BATCH} p WHERE p.action = 'apply' AND devices.id = p.device_id""",
    # Unclaim (customer or reseller): the device leaves the customer's account.
    "unclaim": f"""UPDATE devices SET customer_id = NULL, configuration_id = NULL,
           updated_at = now()
       FROM {_BATCH} p WHERE p.action = 'unclaim' AND devices.id = p.device_id""",
    # Reseller claim of a known device: the customer's default configuration applies.
    "claim": f"""UPDATE devices SET customer_id = p.target, reseller_id = $reseller,
           configuration_id = p.default_config, updated_at = now()
       FROM {_BATCH} p WHERE p.action = 'claim' AND devices.id = p.device_id""",
    # Reseller claim of a new device: registered with the list's spelling of the names.
    "create": f"""INSERT INTO devices (id, imei, meid, serial, model, manufacturer, customer_id,
                            reseller_id, configuration_id, imei_n, meid_n)
       SELECT p.device_id,
              CASE WHEN p.kind = 'IMEI' THEN p.key END,
              CASE WHEN p.kind = 'MEID' THEN p.key END,
              CASE WHEN p.kind = 'SN' THEN p.key END,
              coalesce((SELECT any_value(c.model) FROM catalog c
                        WHERE lower(c.manufacturer) = lower(p.manufacturer)
                          AND lower(c.model) = lower(p.model)), p.model),
              coalesce((SELECT any_value(c.manufacturer) FROM catalog c
                        WHERE lower(c.manufacturer) = lower(p.manufacturer)), p.manufacturer),
              p.target, $reseller, p.default_config,
              CASE WHEN p.kind = 'IMEI' THEN {imei_number("p.key")} END,
              CASE WHEN p.kind = 'MEID' THEN {meid_number("p.key")} END
       FROM {_BATCH} p WHERE p.action = 'create'""",
}


def apply_batch(
    reg: Registry,
    job_id: str,
    batch: int,
    *,
    plan: str,
    lines: tuple[int, int],
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
        # Each statement joins the batch against every device: run only those whose action
        # the batch holds (a customer's file has one or two of the four).
        for action, statement in _STATEMENTS.items():
            if (action,) in found:
                params = rows | ({"reseller": reseller} if "$reseller" in statement else {})
                con.execute(statement, params)
        con.execute(
            "UPDATE job_batches SET state = 'done', done_at = now() WHERE job_id = ? AND batch = ?",
            [job_id, batch],
        )
    return True
