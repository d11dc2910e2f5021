"""The import job's last stage: every output from the staged rows and the plan.

The plan says each valid row's action (`domain.Action`) and codes; the rows apply refused
(`job_refusals`: the registry had moved) are rejected with their code. Finalize can run again
after a crash: it rebuilds every output from the job folder.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ztbulk.codes import ROW_CODES, Outcome, codes_of
from ztbulk.domain import Action
from ztbulk.errors import InternalError
from ztbulk.frames import merge_by_line
from ztbulk.i18n import SOURCE
from ztbulk.ingest import Group, Timer
from ztbulk.jobs import ledger
from ztbulk.jobs.context import Context
from ztbulk.jobs.folder import JobFolder, JobState, private_dir
from ztbulk.jobs.staged import load_staged
from ztbulk.parse.header import Header
from ztbulk.parse.prefetch import prefetch
from ztbulk.registry.db import Registry
from ztbulk.registry.tokens import secret
from ztbulk.report import status
from ztbulk.report.html import write_html
from ztbulk.report.links import LINK_SECRET, status_path
from ztbulk.report.mail import write_summary_email
from ztbulk.report.messages import QUOTING_MASK
from ztbulk.report.model import OUTCOMES_PARQUET, Report
from ztbulk.report.outputs import IN_ERRORS_CSV, RENDERED, render, save_report, write_outputs
from ztbulk.resolve.plan import PARTS
from ztbulk.validate.duplicates import DUPLICATE_ROW
from ztbulk.validate.rules import FIELDS, canonical_values
from ztbulk.wording import REPEAT_OF_REJECTED, phrase

ACTION_OUTCOME = {
    Action.APPLY: Outcome.APPLIED,
    Action.UNCHANGED: Outcome.UNCHANGED,
    Action.UNCLAIM: Outcome.UNCLAIMED,
    Action.CLAIM: Outcome.CLAIMED,
    Action.CREATE: Outcome.CLAIMED,
    Action.REJECT: Outcome.REJECTED,
    Action.SKIP: Outcome.SKIPPED,
}


def finalize(ctx: Context, job_id: str) -> Report:
    """Write every output from the staged rows and the plan; mark the job done."""
    folder = JobFolder(ctx.settings.spool, job_id)
    with ctx.opener(folder.db()) as reg:
        spec = ledger.spec(reg, folder)
        refused = reg.con.sql(
            "SELECT line, code FROM job_refusals WHERE job_id = ?", params=[job_id]
        ).pl()
        link = _status_link(ctx, reg, job_id)
    report, staged = load_staged(folder, spec.lang)
    report.out_dir = spec.out_dir  # the ledger's, whatever the folder says
    out = Path(report.out_dir)
    private_dir(out)
    timer = Timer()
    plan = PlanRows(folder.plan, refused) if folder.plan.exists() else None
    names = staged.header.names if staged.header else []
    notes = repeats_of_rejected(staged.duplicates, folder.plan, refused, spec.lang)
    groups = (
        _with_notes(_planned_rows(group, plan, staged.header, spec.lang), notes)
        for group in prefetch(staged.groups())
    )
    with timer("finalize"):
        write_outputs(report, out, names, groups)
    _times(report, timer, folder, spec.created_at)
    save_report(report, out)  # again, with every stage's time
    warned = status.warned(out) if (out / OUTCOMES_PARQUET).exists() else None
    if warned is not None and warned.height:
        with ctx.opener(spec.db) as reg:
            warned = _identified(reg, warned)
    write_html(report, out, warned, spec.lang)
    write_summary_email(report, out, ctx.settings.mail_from, link, spec.lang)
    with ctx.opener(spec.db) as reg:
        ledger.set_state(reg, job_id, JobState.DONE, folder, rows=report.rows)
    return report


def _times(report: Report, timer: Timer, folder: JobFolder, created_at: str) -> None:
    """Every stage's seconds (apply's from its batches' log), and when the job ran."""
    report.timings.update(timer.seconds)
    if folder.apply_times.exists():
        seconds = [float(line.split()[1]) for line in folder.apply_times.read_text().splitlines()]
        report.timings["apply"] = round(sum(seconds), 4)
    report.timings["total"] = round(sum(v for k, v in report.timings.items() if k != "total"), 4)
    submitted = datetime.fromisoformat(created_at)  # the ledger's: UTC, maybe unmarked
    report.started_at = submitted.replace(tzinfo=submitted.tzinfo or UTC).isoformat()
    report.finished_at = datetime.now(UTC).isoformat()


def _status_link(ctx: Context, reg: Registry, job_id: str) -> str | None:
    """The status page's signed address at the HTTP service, if its address is known."""
    base = ctx.settings.public_url
    if base is None:
        return None
    key = secret(reg, LINK_SECRET)
    return base.rstrip("/") + status_path(key, job_id, ctx.settings.link_hours)


def _identified(reg: Registry, warned: pl.DataFrame) -> pl.DataFrame:
    """The rows applied with a warning, with their device's identifier (the status page names
    each row's device; these rows' values are not in errors.csv)."""
    reg.con.register("warned_devices", warned.select("device_id").unique())
    try:
        found = reg.con.sql(
            "SELECT d.id AS device_id, d.imei, d.meid, d.serial FROM devices d "
            "JOIN warned_devices w ON d.id = w.device_id"
        ).pl()
    finally:
        reg.con.unregister("warned_devices")
    kind = pl.when(pl.col("imei").is_not_null()).then(pl.lit("IMEI")).otherwise(pl.lit("MEID"))
    found = found.select(
        "device_id",
        identifier=status.identifier(kind, pl.coalesce("imei", "meid"), pl.col("serial")),
    )
    return warned.join(found, on="device_id", how="left", maintain_order="left").with_columns(
        pl.col("identifier").fill_null(status.NO_IDENTIFIER)
    )


class PlanRows:
    """The plan's rows with their outcome and code mask, handed out in line order, group by
    group. The parts are read one at a time (each holds one range of lines), so memory follows a
    part, and each part is read and decided in one go rather than once per group. Rows that
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
                {k.value: v.value for k, v in ACTION_OUTCOME.items()}, return_dtype=pl.String
            ),
        )


def _with_refusals(rows: pl.DataFrame, refused: pl.DataFrame) -> pl.DataFrame:
    """Reject the rows apply refused, with the refusal's code; a device it did not create
    has no id."""
    rows = rows.join(refused, on="line", how="left", maintain_order="left")
    hit = pl.col("refusal").is_not_null()
    return rows.with_columns(
        mask=pl.col("mask") | pl.col("refusal").fill_null(0),
        action=pl.when(hit).then(pl.lit(Action.REJECT.value)).otherwise("action"),
        device_id=pl.when(hit & (pl.col("action") == Action.CREATE))
        .then(None)
        .otherwise("device_id"),
    ).drop("refusal")


def repeats_of_rejected(
    duplicates: pl.DataFrame, plan: Path, refused: pl.DataFrame, lang: str = SOURCE
) -> pl.DataFrame:
    """line -> note (in `lang`), for each DUPLICATE_ROW whose first line the registry rejected.

    The rule (README, "Duplicates"): a repeat stays skipped even when the line it repeats is
    rejected at resolution (ztbulk never picks another row than the first one written), and
    its message says that the device was not updated by this file and which line to fix.
    """
    repeats = duplicates.filter(pl.col("dup_mask") == DUPLICATE_ROW).select("line", "dup_first")
    if not repeats.height or not plan.exists():
        return pl.DataFrame(schema={"line": pl.Int64, "note": pl.String})
    firsts = repeats["dup_first"].unique().implode()
    planned = pl.scan_parquet(sorted(plan.glob(PARTS))).filter(pl.col("line").is_in(firsts))
    first = planned.select("line", "action", "mask").collect()
    first = _with_refusals(first, refused) if refused.height else first
    rejected = first.filter(pl.col("action") == Action.REJECT)
    codes = {m: ", ".join(c.value for c in codes_of(m)) for m in rejected["mask"].unique()}
    said = rejected.select(
        dup_first=pl.col("line"),
        note=phrase(
            REPEAT_OF_REJECTED,
            lang,
            line=pl.col("line"),
            codes=pl.col("mask").replace_strict(codes, return_dtype=pl.String),
        ),
    )
    return repeats.join(said, on="dup_first").select("line", "note")


def _with_notes(
    rows: tuple[pl.DataFrame, pl.DataFrame], notes: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The group's rows with each repeat's note (`repeats_of_rejected`) after its message."""
    plain, failing = rows
    if not notes.height or not failing.height:
        return plain, failing
    noted = failing.join(notes, on="line", how="left", maintain_order="left")
    message = pl.concat_str("message", pl.lit(" "), "note")
    return plain, noted.with_columns(message=pl.coalesce(message, "message")).drop("note")


def _planned_rows(
    group: Group, plan: PlanRows | None, header: Header | None, lang: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A group of an import's rows: its rows without codes, and every row with codes (section 3 and
    4's, and those the plan gave codes), with their planned outcome and device."""
    plain, resolved = _plan_rows(group, plan, header, lang)
    failing = group.failing.with_columns(device_id=pl.lit(None, pl.Int64))
    if resolved.height:
        failing = merge_by_line(failing, resolved.select(failing.columns))
    return plain, failing


def _plan_rows(
    group: Group, plan: PlanRows | None, header: Header | None, lang: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """This group's valid rows with their planned outcome: (rows without codes, with codes),
    the messages in `lang`."""
    empty = pl.DataFrame(schema={"line": pl.Int64, "outcome": pl.String, "device_id": pl.Int64})
    if plan is None or header is None or not group.valid.len():
        return empty, pl.DataFrame()
    rows = plan.upto(group.valid[-1])
    # The plan holds exactly the group's valid rows: resolve left out the same duplicates.
    if rows.height != group.valid.len() or rows["line"][0] != group.valid[0]:
        raise InternalError(f"The plan does not hold the rows of lines {group.valid[0]} on.")
    plain = rows.filter(pl.col("mask") == 0).select("line", "outcome", "device_id")
    coded = rows.filter(pl.col("mask") != 0)
    if not coded.height:
        return plain, pl.DataFrame()
    # Values are read only for the rows that show them: in errors.csv (rejected, skipped) or
    # in a message. Most rows with codes have only a warning that quotes none (KME_CONFLICT).
    quoting = (pl.col("mask") & pl.lit(QUOTING_MASK, pl.UInt64)) != 0
    shown = IN_ERRORS_CSV | quoting
    values = group.values(coded.filter(shown)["line"])
    coded = coded.join(values, on="line", how="left", maintain_order="left")
    planned = coded["outcome"]  # render's outcome knows only the codes, not the plan
    coded = render(coded.drop("outcome").with_columns(canonical_values(header.columns)), lang)
    return plain, coded.with_columns(outcome=planned).select(*RENDERED, "mask", FIELDS, "device_id")
