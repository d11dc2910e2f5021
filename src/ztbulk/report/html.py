"""report.html: the import's status page, one an admin can forward.

It says what happened in its first lines (applied, rejected, or nothing applied and why), when
and how long, then the outcomes as a chart that fits a phone, each code with what it means,
and every failure with its line and device: the first page here, the others in
`report-failures-N.html` (and `report-warnings-N.html` for rows applied with a warning), all
linked, with errors.csv. Self-contained files (inline CSS and SVG, no script), so they open
anywhere and can be attached to a ticket.

The page's own words go through `_` (English as written here; an import in another language
and the HTTP service pass a translation, `ztbulk.i18n`); codes, outcomes and row messages
(written in the job's language already) stay as they are.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import polars as pl

from ztbulk.codes import CATALOGUE, Category, Code, Outcome
from ztbulk.i18n import SOURCE, Translate, translator
from ztbulk.report.model import ERRORS_CSV, OUTCOMES_PARQUET, REPORT_HTML, REPORT_JSON, Report
from ztbulk.report.pages import PAGE_ROWS, shell, text, write_pages
from ztbulk.report.status import failures

_COLOURS = {
    "applied": "#2e7d32",
    "claimed": "#2e7d32",
    "unclaimed": "#1565c0",
    "unchanged": "#757575",
    "valid": "#2e7d32",
    "skipped": "#b28704",
    "rejected": "#c62828",
}
_KINDS = {
    Category.FILE: "file error: nothing applied",
    Category.ROW: "row rejected",
    Category.DUPLICATE: "duplicate in the file",
    Category.REGISTRY: "row rejected by the registry",
    Category.WARNING: "warning: the row still applied",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
SUMMARY = "{rows} data rows, {blank} blank"
FAILURES_NOTE = ("Every rejected and skipped row is in errors.csv; a row with a warning only "
                 "(such as KME_CONFLICT) was still applied.")  # fmt: skip
REFUSED = ("The file was refused as a whole before any row was applied, for the reasons below. "
           "Fix the file and import it again.")  # fmt: skip


def _same(message: str) -> str:
    return message


def explain(code: str) -> str:
    """What a code means, from the code catalogue: its title and its message, the row's
    values shown as the column they come from (`[modemid]`)."""
    info = CATALOGUE[Code(code)]
    said = _PLACEHOLDER.sub(
        lambda m: "[the record]" if m.group(1) == "raw" else f"[{m.group(1)}]", info.template
    )
    return f"{info.title}: {said}"


def _chart(outcomes: dict[str, int]) -> str:
    """Bars in a 320-unit-wide SVG that scales to its container: a phone's width included."""
    total = max(sum(outcomes.values()), 1)
    bars, y = [], 0
    for name, n in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        width = max(2, round(170 * n / total))
        colour = _COLOURS.get(name, "#455a64")
        bars.append(
            f'<text x="0" y="{y + 15}">{text(name)}</text>'
            f'<rect x="80" y="{y}" width="{width}" height="20" rx="2" fill="{colour}"/>'
            f'<text x="{86 + width}" y="{y + 15}">{n:,}</text>'
        )
        y += 26
    return (
        f'<svg role="img" aria-label="rows per outcome" viewBox="0 0 320 {max(y, 1)}" '
        f'width="520" font-size="13" font-family="sans-serif">{"".join(bars)}</svg>'
    )


def _utc(stamp: str) -> datetime:
    """An ISO time; one without a zone is UTC (the ledger's)."""
    when = datetime.fromisoformat(stamp)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _when(stamp: str | None) -> str:
    return _utc(stamp).strftime("%Y-%m-%d %H:%M:%S UTC") if stamp else "-"


def _duration(report: Report) -> str:
    if not (report.started_at and report.finished_at):
        return f"{_seconds(report.timings.get('total', 0.0))} of work"
    took = max((_utc(report.finished_at) - _utc(report.started_at)).total_seconds(), 0.0)
    processing = report.timings.get("total", 0.0)
    return f"{_seconds(took)} from submission to the reports ({_seconds(processing)} of work)"


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {s % 60:.0f} s"


def _banner(report: Report, _: Translate) -> str:
    bad = report.outcomes.get(Outcome.REJECTED, 0) + report.outcomes.get(Outcome.SKIPPED, 0)
    if report.file_errors:
        items = "".join(
            f"<li><b>{text(i['code'])}</b>: {text(i['message'])} <i>({text(explain(i['code']))})"
            "</i></li>"
            for i in report.file_errors
        )
        said = f"<b>{text(_('Nothing was applied.'))}</b> {text(_(REFUSED))}"
        return f"<div class='banner bad' id=verdict><p>{said}</p><ul>{items}</ul></div>"
    done = ", ".join(
        f"{n:,} {text(k)}" for k, n in sorted(report.outcomes.items(), key=lambda kv: -kv[1])
    )
    if report.dry_run:
        said = text(_("Dry run: nothing was changed. The rows would be: {done}.")).format(done=done)
        return f"<div class='banner note' id=verdict><p>{said}</p></div>"
    kind = "bad" if bad else "good"
    lead = _("{bad} row(s) need fixing.").format(bad=f"{bad:,}") if bad else _("Every row went on.")
    return (f"<div class='banner {kind}' id=verdict><p><b>{text(lead)}</b> "
            f"{done or text(_('No rows'))}.</p></div>")  # fmt: skip


def _facts(report: Report, _: Translate) -> str:
    job = report.job or {}
    facts = [
        (_("job"), job.get("id", "")),
        (_("by"), f"{job.get('user', '')} ({report.actor} {job.get('account_id', '')})"),
        (_("file"), f"{report.file.name} ({report.file.size:,} bytes)"),
        ("sha256", report.file.sha256),
        (_("mode"), report.mode or "-"),
        (_("submitted"), _when(report.started_at)),
        (_("finished"), _when(report.finished_at)),
        (_("took"), _duration(report)),
        (_("catalogue"), report.catalog),
    ]
    rows = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in facts)
    counts = escape(_(SUMMARY)).format(rows=f'<b id="rows">{report.rows:,}</b>',
                                       blank=f"{report.blank:,}")  # fmt: skip
    return f"<dl class=facts>{rows}<dt>{text(_('rows'))}</dt><dd>{counts}</dd></dl>"


def _codes(report: Report) -> str:
    rows = "".join(
        f'<tr><td data-label="code"><code>{text(code)}</code></td>'
        f'<td class=n data-label="rows">{n:,}</td>'
        f'<td data-label="kind">{text(_KINDS[CATALOGUE[Code(code)].category])}</td>'
        f'<td data-label="meaning">{text(explain(code))}</td></tr>'
        for code, n in sorted(report.codes.items(), key=lambda kv: -kv[1])
    )
    head = "<th>code</th><th>rows</th><th>kind</th><th>meaning</th>"
    return f"<table class=rows id=codes><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _outcomes(report: Report, _: Translate) -> str:
    """The chart's counts as a table too: exact, and read by screen readers and scripts."""
    rows = "".join(
        f'<tr><td data-label="{text(_("outcome"))}">{text(k)}</td>'
        f'<td class=n data-label="{text(_("rows"))}">{n:,}</td></tr>'
        for k, n in sorted(report.outcomes.items(), key=lambda kv: -kv[1])
    )
    head = f"<th>{text(_('outcome'))}</th><th>{text(_('rows'))}</th>"
    table = f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
    return f"<table class=rows id=outcomes>{table}</table>"


def _links(report: Report) -> str:
    bad = report.outcomes.get(Outcome.REJECTED, 0) + report.outcomes.get(Outcome.SKIPPED, 0)
    return (
        f'<p>Download: <a id=errors-link href="{ERRORS_CSV}">{ERRORS_CSV}</a> ({bad:,} rows '
        "to fix, with their original values: fix them in a spreadsheet and import the file as "
        f'is) &middot; <a href="{REPORT_JSON}">{REPORT_JSON}</a> &middot; '
        f'<a href="{OUTCOMES_PARQUET}">{OUTCOMES_PARQUET}</a> (every row)</p>'
    )


def _sections(report: Report, out: Path, warned: pl.DataFrame | None, _: Translate) -> str:
    bad = report.outcomes.get(Outcome.REJECTED, 0) + report.outcomes.get(Outcome.SKIPPED, 0)
    failed = write_pages(out, "failures", f"Failures of {text(report.file.name)}",
                         failures(out, PAGE_ROWS), bad) if bad else ""  # fmt: skip
    title = _("Failures ({n}: rejected and skipped)").format(n=f"{bad:,}")
    parts = [f"<p>{text(_(FAILURES_NOTE))}</p><h2 id=failures-title>{text(title)}</h2>",
             failed or f"<p>{text(_('None.'))}</p>"]  # fmt: skip
    if warned is not None and warned.height:
        pages = iter(warned.iter_slices(PAGE_ROWS))
        title = f"Rows applied with a warning in {text(report.file.name)}"
        heading = _("Applied with a warning ({n})").format(n=f"{warned.height:,}")
        parts += [f"<h2>{text(heading)}</h2>",
                  write_pages(out, "warnings", title, pages, warned.height)]  # fmt: skip
    return "".join(parts)


def _button(link: str | None, _: Translate) -> str:
    """The e-mail's "view details" button: the status page's signed link (`report.links`)."""
    if link is None:
        return ""
    return (f'<p><a href="{escape(link)}" style="display:inline-block;padding:.6em 1.2em;'
            'background:#1565c0;color:#fff;border-radius:4px;text-decoration:none">'
            f"{text(_('View details: every failure and its reason'))}</a></p>")  # fmt: skip


def render_html(
    report: Report,
    out: Path | None = None,
    warned: pl.DataFrame | None = None,
    *,
    link: str | None = None,
    lang: str = SOURCE,
    _: Translate = _same,
) -> str:
    """The page; its lists of rows (and their further pages) only with the outputs in `out`;
    `link` its e-mail's button; `lang` and `_` its language and translation."""
    name = report.file.name
    hints = "".join(f"<p class='banner note'>{text(h)}</p>" for h in report.hints)
    warnings = "".join(f"<li><b>{text(i['code'])}</b>: {text(i['message'])}</li>"
                       for i in report.warnings)  # fmt: skip
    body = (
        f"<h1>{text(_('Import of {name}').format(name=name))}</h1>{_button(link, _)}"
        f"{_banner(report, _)}{_facts(report, _)}{_links(report)}{hints}"
        + (f"<ul>{warnings}</ul>" if warnings else "")
        + f"<h2>{text(_('Outcomes'))}</h2>{_chart(report.outcomes)}{_outcomes(report, _)}"
        + (f"<h2>{text(_('Codes'))}</h2>{_codes(report)}" if report.codes else "")
        + ("" if report.file_errors or out is None else _sections(report, out, warned, _))
    )
    title = _("ztbulk import {job}").format(job=(report.job or {}).get("id", ""))
    return shell(f"{text(title)}: {text(name)}", body, lang)


def write_html(
    report: Report, out: Path, warned: pl.DataFrame | None = None, lang: str = SOURCE
) -> Path:
    """report.html (and its further pages) in `out`, beside errors.csv and outcomes.parquet,
    in `lang`; `warned`: the rows applied with a warning, with their identifier
    (`status.warned`)."""
    path = out / REPORT_HTML
    page = render_html(report, out, warned, lang=lang, _=translator(lang))
    path.write_text(page, encoding="utf-8")
    return path
