"""The import job's stages as plain functions over a job: plan, then apply batch by batch;
`jobs.finalize` writes the outputs.

The actors (`jobs.actors`) only call these, with a `Context`: the settings, and how to open the
registry for a moment. Each stage can run again after a crash: `plan` starts over from the
spooled input while nothing is applied yet; `apply_from` skips a batch the ledger marks done.
"""

from __future__ import annotations

import time

from ztbulk.apply import apply_batch
from ztbulk.domain import Actor
from ztbulk.errors import InputError, JobCancelledError, JobWaitingError
from ztbulk.ingest import Ingest, Staged, Timer, file_facts
from ztbulk.jobs import ledger
from ztbulk.jobs.context import Context
from ztbulk.jobs.folder import JobFolder, JobSpec, JobState, remove_work
from ztbulk.jobs.staged import save_staged
from ztbulk.registry.db import HOLD_S, Registry
from ztbulk.registry.service import ANY_ROLE, RegistryService
from ztbulk.report.model import Report
from ztbulk.resolve import Importer, ResolveInput, batch_lines, make_plan, plan_files


def plan(ctx: Context, job_id: str) -> list[int] | None:
    """Ingest the spooled file, resolve it, persist the plan; return the batches to apply
    (None: the job was planned already, and a plan message came again: Dramatiq delivers at
    least once, and planning again would re-decide rows against a registry that moved).

    The registry is held only to read the catalogue and to resolve: parsing and checking,
    the long part, run without it, so other processes can use it meanwhile.
    """
    folder = JobFolder(ctx.settings.spool, job_id)
    timer = Timer()
    with ctx.opener(folder.db()) as reg:
        spec = allowed_to_run(reg, folder)
        if ledger.job_row(reg, job_id)["state"] != JobState.SUBMITTED:
            return None
        earlier = ledger.first_unfinished(reg, spec.who, spec.account_id, before=job_id)
        if earlier is not None and not spec.dry_run:  # a dry run changes nothing: no turn
            raise JobWaitingError(job_id, earlier)
        folder.write_note("")  # its turn has come
        catalog = RegistryService(reg).catalog()
    report = _new_report(spec, folder, catalog.source)
    remove_work(folder)
    ingest = Ingest(folder.input, spec.who, catalog, folder.work, ctx.settings.parse, timer,
                    ctx.progress, lang=spec.lang)  # fmt: skip
    staged = ingest.run(report)
    report.file.name = spec.file_name
    if report.file.sha256 != spec.sha256:  # the folder is data: its input is checked
        raise InputError(f"Job {job_id}: its spooled input is not the file it was submitted with.")
    batches: list[int] = []
    with ctx.opener(spec.db) as reg:
        with timer("resolve"):
            if staged.header is not None and staged.parts:
                batches = _resolve(reg, folder, spec, staged, ctx.settings.batch_rows)
        if spec.dry_run:  # planned, never applied: finalize reports the plan's outcomes
            batches = []
        report.timings, report.dry_run = timer.seconds, spec.dry_run
        save_staged(folder, staged, report)
        ledger.record_batches(reg, job_id, batches)
        ledger.set_state(reg, job_id, JobState.PLANNED, folder, rows=report.rows)
    return list(range(len(batches)))


def allowed_to_run(reg: Registry, folder: JobFolder) -> JobSpec:
    """The job as the ledger has it, if it may run now: not cancelled, and its user still
    has the right to import for its account (a user removed since cannot run it)."""
    spec = ledger.spec(reg, folder)
    if ledger.job_row(reg, spec.id)["state"] == JobState.CANCELLED:
        raise JobCancelledError(f"Job {spec.id} was cancelled.")
    svc = RegistryService(reg)
    svc.require(svc.principal(spec.user), spec.who, spec.account_id, ANY_ROLE, "import files")
    return spec


def _resolve(
    reg: Registry, folder: JobFolder, spec: JobSpec, staged: Staged, batch_rows: int
) -> list[int]:
    assert staged.header is not None and staged.header.mode is not None
    leave_out = folder.work / "resolve-leave-out.parquet"  # rows section 4 already decided
    staged.duplicates.select("line").write_parquet(leave_out)
    rows = ResolveInput([valid for _, valid in staged.parts], staged.header.columns, leave_out)
    importer = Importer(spec.who, spec.account_id, staged.header.mode)
    if not spec.dry_run:
        return make_plan(reg, importer, rows, folder.plan, batch_rows)
    with reg.rolled_back():  # resolve numbers devices left unnumbered: a dry run undoes it
        return make_plan(reg, importer, rows, folder.plan, batch_rows, dry_run=True)


def apply_from(
    ctx: Context, job_id: str, batch: int, hold_s: float = HOLD_S
) -> tuple[list[int], int]:
    """Apply `batch`, then the job's other pending batches while the registry is held, for at
    most `hold_s` seconds; return (the batches applied here, the batches still pending).

    Each batch is its own transaction, so this changes nothing about safety: the messages of
    batches applied here find them done. It saves every later message a turn at the registry,
    which workers otherwise queue for.
    """
    folder = JobFolder(ctx.settings.spool, job_id)
    deadline = time.monotonic() + hold_s
    applied: list[int] = []
    with ctx.opener(folder.db()) as reg:
        pending = ledger.pending_batches(reg, job_id)
        if not pending:  # applied already (by another message, or before a redelivery)
            return applied, 0
        spec = allowed_to_run(reg, folder)  # not cancelled, the user still allowed
        ledger.set_state(reg, job_id, JobState.APPLYING, folder)
        for next_batch in [batch, *(b for b in pending if b != batch)]:
            if next_batch != batch and time.monotonic() > deadline:
                break
            if _apply(reg, folder, spec, next_batch):
                applied.append(next_batch)
        return applied, len(ledger.pending_batches(reg, job_id))


def _apply(reg: Registry, folder: JobFolder, spec: JobSpec, batch: int) -> bool:
    reseller = spec.account_id if spec.who is Actor.RESELLER else None
    started = time.perf_counter()
    applied = apply_batch(
        reg, spec.id, batch, plan=plan_files(folder.plan), lines=batch_lines(folder.plan, batch),
        account=spec.account_id, reseller=reseller,
    )  # fmt: skip
    if applied:  # seconds per applied batch, summed into report.json by finalize
        with folder.apply_times.open("a", encoding="utf-8") as f:
            f.write(f"{batch} {time.perf_counter() - started:.4f}\n")
    return applied


def _new_report(spec: JobSpec, folder: JobFolder, catalog: str) -> Report:
    return Report(
        command="import",
        file=file_facts(folder.input, None, None),
        actor=spec.actor,
        mode=None,
        catalog=catalog,
        out_dir=spec.out_dir,
        job={"id": spec.id, "account_id": spec.account_id, "user": spec.user},
    )
