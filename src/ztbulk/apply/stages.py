"""The import job's stages as plain functions over (registry, job folder): plan, apply, finalize.

The Dramatiq actors (`apply/worker.py`) only call these. Each stage can run again after a crash:
`plan` starts over from the spooled input while nothing is applied yet; `apply_from` skips a
batch the ledger marks done; `finalize` rebuilds every output from the staged rows and the plan.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import polars as pl

from ztbulk.apply import jobs
from ztbulk.apply.execute import apply_batch
from ztbulk.apply.plan import (
    PARTS,
    ResolveInput,
    Who,
    batch_lines,
    make_plan,
    plan_files,
)
from ztbulk.codes import ROW_CODES, Outcome
from ztbulk.domain import Actor, Mode
from ztbulk.errors import InputError, InternalError, JobCancelledError, JobWaitingError
from ztbulk.frames import merge_by_line
from ztbulk.ingest import Batch, Ingest, Staged, Timer, file_facts
from ztbulk.parse import ParseConfig
from ztbulk.parse.header import Header
from ztbulk.parse.prefetch import prefetch
from ztbulk.registry.db import Registry
from ztbulk.registry.service import ANY_ROLE, RegistryService
from ztbulk.report.html import write_html
from ztbulk.report.mail import write_summary_email
from ztbulk.report.messages import QUOTING_MASK
from ztbulk.report.model import REPORT_JSON, CheckReport
from ztbulk.report.outputs import IN_ERRORS_CSV, RENDERED, OutputWriter, render
from ztbulk.validate.rules import FIELDS, canonical_values

# Plan rows applied per transaction (ZTBULK_BATCH_ROWS overrides, e.g. for many small batches).
# Each batch's UPDATE joins against every device, so a batch costs a fixed ~0.04 s on top of
# its rows: 500k rows halved apply at 10M rows against 100k (5.4 -> 2.6 s), and a crash
# costs at most one batch's work again.
BATCH_ROWS = int(os.environ.get("ZTBULK_BATCH_ROWS", "500000"))
# How long an apply message may go on with the job's next pending batches while it holds the
# registry (other processes wait that long at most for their turn).
HOLD_S = 5.0
# Opens the registry at a path for one stage's work: the embedded runner hands back the
# registry it holds; a worker opens the file, waiting while another process holds it.
Opener = Callable[[str], AbstractContextManager[Registry]]
ACTION_OUTCOME = {
    "apply": Outcome.APPLIED,
    "unchanged": Outcome.UNCHANGED,
    "unclaim": Outcome.UNCLAIMED,
    "claim": Outcome.CLAIMED,
    "create": Outcome.CLAIMED,
    "reject": Outcome.REJECTED,
    "skip": Outcome.SKIPPED,
}


def plan(opener: Opener, root: Path, job_id: str, config: ParseConfig | None = None) -> list[int]:
    """Ingest the spooled file, resolve it, persist the plan; return the batches to apply.

    The registry is held only to read the catalogue and to resolve: parsing and checking,
    the long part, run without it, so other processes can use it meanwhile.
    """
    folder = jobs.JobFolder(root, job_id)
    timer = Timer()
    with opener(folder.db()) as reg:
        spec = allowed_to_run(reg, folder)
        earlier = jobs.first_unfinished(reg, spec.who, spec.account_id, before=job_id)
        if earlier is not None:
            raise JobWaitingError(job_id, earlier)
        catalog = RegistryService(reg).catalog()
    report = _new_report(spec, folder, catalog.source)
    jobs.remove_work(folder)
    staged = Ingest(
        folder.input, spec.who, catalog, folder.work, config or ParseConfig(), timer
    ).run(report)
    report.file.name = spec.file_name
    if report.file.sha256 != spec.sha256:  # the folder is data: its input is checked
        raise InputError(f"Job {job_id}: its spooled input is not the file it was submitted with.")
    batches: list[int] = []
    with opener(spec.db) as reg:
        with timer("resolve"):
            if staged.header is not None and staged.parts:
                batches = _resolve(reg, folder, spec, staged)
        report.timings = timer.seconds
        _save_staged(folder, staged, report)
        jobs.record_batches(reg, job_id, batches)
        jobs.set_state(reg, job_id, jobs.PLANNED, folder, rows=report.rows)
    return list(range(len(batches)))


def allowed_to_run(reg: Registry, folder: jobs.JobFolder) -> jobs.JobSpec:
    """The job as the ledger has it, if it may run now: not cancelled, and its user still
    has the right to import for its account (a user removed since cannot run it)."""
    spec = jobs.spec(reg, folder)
    if jobs.job_row(reg, spec.id)["state"] == jobs.CANCELLED:
        raise JobCancelledError(f"Job {spec.id} was cancelled.")
    svc = RegistryService(reg)
    svc.require(svc.principal(spec.user), spec.who, spec.account_id, ANY_ROLE, "import files")
    return spec


def _resolve(
    reg: Registry, folder: jobs.JobFolder, spec: jobs.JobSpec, staged: Staged
) -> list[int]:
    assert staged.header is not None and staged.header.mode is not None
    leave_out = folder.work / "resolve-leave-out.parquet"  # rows section 4 already decided
    staged.duplicates.select("line").write_parquet(leave_out)
    rows = ResolveInput([valid for _, valid in staged.parts], staged.header.columns, leave_out)
    who = Who(spec.who, spec.account_id, staged.header.mode)
    return make_plan(reg, who, rows, folder.plan, BATCH_ROWS)


def apply_from(
    opener: Opener, root: Path, job_id: str, batch: int, hold_s: float = HOLD_S
) -> tuple[list[int], int]:
    """Apply `batch`, then the job's other pending batches while the registry is held, for at
    most `hold_s` seconds; return (the batches applied here, the batches still pending).

    Each batch is its own transaction, so this changes nothing about safety: the messages of
    batches applied here find them done. It saves every later message a turn at the registry,
    which workers otherwise queue for.
    """
    folder = jobs.JobFolder(root, job_id)
    deadline = time.monotonic() + hold_s
    applied: list[int] = []
    with opener(folder.db()) as reg:
        pending = jobs.pending_batches(reg, job_id)
        if not pending:  # applied already (by another message, or before a redelivery)
            return applied, 0
        spec = jobs.spec(reg, folder)
        if jobs.job_row(reg, job_id)["state"] == jobs.CANCELLED:
            raise JobCancelledError(f"Job {job_id} was cancelled.")
        jobs.set_state(reg, job_id, jobs.APPLYING, folder)
        for next_batch in [batch, *(b for b in pending if b != batch)]:
            if next_batch != batch and time.monotonic() > deadline:
                break
            if _apply(reg, folder, spec, next_batch):
                applied.append(next_batch)
        return applied, len(jobs.pending_batches(reg, job_id))


def _apply(reg: Registry, folder: jobs.JobFolder, spec: jobs.JobSpec, batch: int) -> bool:
    reseller = spec.account_id if spec.who is Actor.RESELLER else None
    started = time.perf_counter()
    lines = batch_lines(folder.plan, batch)
    applied = apply_batch(
        reg, spec.id, batch, plan=plan_files(folder.plan), lines=lines,
        account=spec.account_id, reseller=reseller,
    )  # fmt: skip
    if applied:  # seconds per applied batch, summed into report.json by finalize
        with folder.apply_times.open("a", encoding="utf-8") as f:
            f.write(f"{batch} {time.perf_counter() - started:.4f}\n")
    return applied


def finalize(opener: Opener, root: Path, job_id: str) -> CheckReport:
    """Write every output from the staged rows and the plan; mark the job done."""
    folder = jobs.JobFolder(root, job_id)
    with opener(folder.db()) as reg:
        spec = jobs.spec(reg, folder)
        refused = reg.con.sql(
            "SELECT line, code FROM job_refusals WHERE job_id = ?", params=[job_id]
        ).pl()
    report, staged = _load_staged(folder)
    report.out_dir = spec.out_dir  # the ledger's, whatever the folder says
    out = Path(report.out_dir)
    jobs.private_dir(out)
    timer = Timer()
    plan = PlanRows(folder.plan, refused) if folder.plan.exists() else None
    names = staged.header.names if staged.header else []
    with timer("finalize"), OutputWriter(out, names) as writer:
        for batch in prefetch(staged.batches()):
            plain, resolved = _plan_rows(batch, plan, staged.header)
            failing = batch.failing.with_columns(device_id=pl.lit(None, pl.Int64))
            if resolved.height:
                failing = merge_by_line(failing, resolved.select(failing.columns))
            writer.write(plain, failing)
    writer.fill(report)
    report.timings.update(timer.seconds)
    if folder.apply_times.exists():
        seconds = [float(line.split()[1]) for line in folder.apply_times.read_text().splitlines()]
        report.timings["apply"] = round(sum(seconds), 4)
    report.timings["total"] = round(sum(v for k, v in report.timings.items() if k != "total"), 4)
    (out / REPORT_JSON).write_text(report.to_json() + "\n", encoding="utf-8")
    write_html(report, out)
    write_summary_email(report, out)
    with opener(spec.db) as reg:
        jobs.set_state(reg, job_id, jobs.DONE, folder, rows=report.rows)
    return report


class PlanRows:
    """The plan's rows with their outcome and code mask, handed out in line order, batch by
    batch. The parts are read one at a time (each holds one range of lines), so memory follows a
    part, and each part is read and decided in one go rather than once per batch. Rows that
    apply refused (`refused`: line, code; the registry had moved) are rejected with that code.
    """

    def __init__(self, folder: Path, refused: pl.DataFrame) -> None:
        self.parts = sorted(folder.glob(PARTS))
        self.refused = refused.select(
            "line",
            refusal=pl.col("code").replace_strict(
                {c.value: 1 << c.bit for c in ROW_CODES}, return_dtype=pl.UInt64
            ),
        )
        self.rows = pl.DataFrame(
            schema={
                "line": pl.Int64,
                "device_id": pl.Int64,
                "mask": pl.UInt64,
                "outcome": pl.String,
            }
        )

    def upto(self, last_line: int) -> pl.DataFrame:
        """The rows not yet handed out up to `last_line`: line, device_id, mask, outcome."""
        while self.parts and (not self.rows.height or self.rows["line"][-1] < last_line):
            self.rows = pl.concat([self.rows, self._read(self.parts.pop(0), self.refused)])
        n = self.rows["line"].search_sorted(last_line, side="right")
        taken, self.rows = self.rows.head(n), self.rows.slice(n)
        return taken

    @staticmethod
    def _read(part: Path, refused: pl.DataFrame) -> pl.DataFrame:
        rows = pl.read_parquet(part, columns=["line", "device_id", "action", "mask"]).sort("line")
        if refused.height:
            rows = _with_refusals(rows, refused)
        return rows.select(
            "line",
            "device_id",
            "mask",
            outcome=pl.col("action").replace_strict(
                {k: v.value for k, v in ACTION_OUTCOME.items()}, return_dtype=pl.String
            ),
        )


def _with_refusals(rows: pl.DataFrame, refused: pl.DataFrame) -> pl.DataFrame:
    """Reject the rows apply refused, with the refusal's code; a device it did not create
    has no id."""
    rows = rows.join(refused, on="line", how="left", maintain_order="left")
    hit = pl.col("refusal").is_not_null()
    return rows.with_columns(
        mask=pl.col("mask") | pl.col("refusal").fill_null(0),
        action=pl.when(hit).then(pl.lit("reject")).otherwise("action"),
        device_id=pl.when(hit & (pl.col("action") == "create")).then(None).otherwise("device_id"),
    ).drop("refusal")


def _plan_rows(
    batch: Batch, plan: PlanRows | None, header: Header | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """This batch's valid rows with their planned outcome: (rows without codes, with codes)."""
    empty = pl.DataFrame(schema={"line": pl.Int64, "outcome": pl.String, "device_id": pl.Int64})
    if plan is None or header is None or not batch.valid.len():
        return empty, pl.DataFrame()
    rows = plan.upto(batch.valid[-1])
    # The plan holds exactly the batch's valid rows: resolve left out the same duplicates.
    if rows.height != batch.valid.len() or rows["line"][0] != batch.valid[0]:
        raise InternalError(f"The plan does not hold the rows of lines {batch.valid[0]} on.")
    plain = rows.filter(pl.col("mask") == 0).select("line", "outcome", "device_id")
    coded = rows.filter(pl.col("mask") != 0)
    if not coded.height:
        return plain, pl.DataFrame()
    # Values are read only for the rows that show them: in errors.csv (rejected, skipped) or
    # in a message. Most rows with codes have only a warning that quotes none (KME_CONFLICT).
    quoting = (pl.col("mask") & pl.lit(QUOTING_MASK, pl.UInt64)) != 0
    shown = IN_ERRORS_CSV | quoting
    values = batch.values(coded.filter(shown)["line"])
    coded = coded.join(values, on="line", how="left", maintain_order="left")
    planned = coded["outcome"]  # render's outcome knows only the codes, not the plan
    coded = render(coded.drop("outcome").with_columns(canonical_values(header.columns)))
    return plain, coded.with_columns(outcome=planned).select(*RENDERED, "mask", FIELDS, "device_id")


def _new_report(spec: jobs.JobSpec, folder: jobs.JobFolder, catalog: str) -> CheckReport:
    return CheckReport(
        command="import",
        file=file_facts(folder.input, None, None),
        actor=spec.actor,
        mode=None,
        catalog=catalog,
        out_dir=spec.out_dir,
        job={"id": spec.id, "account_id": spec.account_id, "user": spec.user},
    )


def _save_staged(folder: jobs.JobFolder, staged: Staged, report: CheckReport) -> None:
    header = staged.header
    data: dict[str, Any] = {
        "report": report.to_dict(),
        "parts": [[str(a), str(b)] for a, b in staged.parts],
        "header": None
        if header is None
        else {"names": header.names, "columns": header.columns, "delimiter": header.delimiter,
              "mode": header.mode.value if header.mode else None},
    }  # fmt: skip
    if folder.work.exists():
        staged.duplicates.write_parquet(folder.work / "duplicates.parquet")
    folder.staged.write_text(json.dumps(data, default=str), encoding="utf-8")


def _load_staged(folder: jobs.JobFolder) -> tuple[CheckReport, Staged]:
    data = json.loads(folder.staged.read_text(encoding="utf-8"))
    report = CheckReport.from_dict(data["report"])
    head = data["header"]
    header = None
    if head is not None:
        header = Header(
            head["names"], head["delimiter"], 1, 0, False, head["columns"], Mode(head["mode"])
        )
    staged = Staged(header, [(folder.inside(a), folder.inside(b)) for a, b in data["parts"]])
    dups = folder.work / "duplicates.parquet"
    if dups.exists():
        staged.duplicates = pl.read_parquet(dups)
    return report, staged
