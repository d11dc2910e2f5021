"""report.html: the import's status page, one an admin can forward.

It says what happened in its first lines (applied, rejected, or nothing applied and why), when
and how long, then the outcomes as a chart that fits a phone, each code with what it means,
and every failure with its line and device: the first page here, the others in
`report-failures-N.html` (and `report-warnings-N.html` for rows applied with a warning), all
linked, with errors.csv. Self-contained files (inline CSS and SVG, no script), so they open
anywhere and can be attached to a ticket.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ztbulk.codes import CATALOGUE, Category, Code, Outcome
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


def _banner(report: Report) -> str:
    bad = report.outcomes.get(Outcome.REJECTED, 0) + report.outcomes.get(Outcome.SKIPPED, 0)
    if report.file_errors:
        items = "".join(
            f"<li><b>{text(i['code'])}</b>: {text(i['message'])} <i>({text(explain(i['code']))})"
            "</i></li>"
            for i in report.file_errors
        )
        return (
            "<div class='banner bad' id=verdict><p><b>Nothing was applied.</b> The file was "
            "refused as a whole before any row was applied, for the reasons below. Fix the "
            f"file and import it again.</p><ul>{items}</ul></div>"
        )
    done = ", ".join(
        f"{n:,} {text(k)}" for k, n in sorted(report.outcomes.items(), key=lambda kv: -kv[1])
    )
    if report.dry_run:
        return (
            f"<div class='banner note' id=verdict><p><b>Dry run: nothing was changed.</b> "
            f"The rows would be: {done}.</p></div>"
        )
    kind, lead = ("bad", f"{bad:,} row(s) need fixing.") if bad else ("good", "Every row went on.")
    return f"<div class='banner {kind}' id=verdict><p><b>{lead}</b> {done or 'No rows'}.</p></div>"


def _facts(report: Report) -> str:
    job = report.job or {}
    facts = [
        ("job", job.get("id", "")),
        ("by", f"{job.get('user', '')} for {report.actor} {job.get('account_id', '')}"),
        ("file", f"{report.file.name} ({report.file.size:,} bytes)"),
        ("sha256", report.file.sha256),
        ("mode", report.mode or "-"),
        ("submitted", _when(report.started_at)),
        ("finished", _when(report.finished_at)),
        ("took", _duration(report)),
        ("catalogue", report.catalog),
    ]
    rows = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in facts)
    return (
        f'<dl class=facts>{rows}<dt>rows</dt><dd><b id="rows">{report.rows:,}</b> data rows, '
        f"{report.blank:,} blank</dd></dl>"
    )


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


def _links(report: Report) -> str:
    bad = report.outcomes.get(Outcome.REJECTED, 0) + report.outcomes.get(Outcome.SKIPPED, 0)
    return (
        f'<p>Download: <a id=errors-link href="{ERRORS_CSV}">{ERRORS_CSV}</a> ({bad:,} rows '
        "to fix, with their original values: fix them in a spreadsheet and import the file as "
        f'is) &middot; <a href="{REPORT_JSON}">{REPORT_JSON}</a> &middot; '
        f'<a href="{OUTCOMES_PARQUET}">{OUTCOMES_PARQUET}</a> (every row)</p>'
    )


def _sections(report: Report, out: Path, warned: pl.DataFrame | None) -> str:
    bad = report.outcomes.get(Outcome.REJECTED, 0) + report.outcomes.get(Outcome.SKIPPED, 0)
    failed = write_pages(out, "failures", f"Failures of {text(report.file.name)}",
                         failures(out, PAGE_ROWS), bad) if bad else ""  # fmt: skip
    parts = [f"<h2 id=failures-title>Failures ({bad:,}: rejected and skipped)</h2>",
             failed or "<p>None.</p>"]  # fmt: skip
    if warned is not None and warned.height:
        pages = iter(warned.iter_slices(PAGE_ROWS))
        title = f"Rows applied with a warning in {text(report.file.name)}"
        parts += [f"<h2>Applied with a warning ({warned.height:,})</h2>",
                  write_pages(out, "warnings", title, pages, warned.height)]  # fmt: skip
    return "".join(parts)


def render_html(report: Report, out: Path | None = None, warned: pl.DataFrame | None = None) -> str:
    """The page; its lists of rows (and their further pages) only with the outputs in `out`."""
    name = text(report.file.name)
    hints = "".join(f"<p class='banner note'>{text(h)}</p>" for h in report.hints)
    warnings = "".join(f"<li><b>{text(i['code'])}</b>: {text(i['message'])}</li>"
                       for i in report.warnings)  # fmt: skip
    body = (
        f"<h1>Import of {name}</h1>{_banner(report)}{_facts(report)}{_links(report)}{hints}"
        + (f"<ul>{warnings}</ul>" if warnings else "")
        + f"<h2>Outcomes</h2>{_chart(report.outcomes)}"
        + (f"<h2>Codes</h2>{_codes(report)}" if report.codes else "")
        + ("" if report.file_errors or out is None else _sections(report, out, warned))
    )
    return shell(f"ztbulk import {text((report.job or {}).get('id', ''))}: {name}", body)


def write_html(report: Report, out: Path, warned: pl.DataFrame | None = None) -> Path:
    """report.html (and its further pages) in `out`, beside errors.csv and outcomes.parquet;
    `warned`: the rows applied with a warning, with their identifier (`status.warned`)."""
    path = out / REPORT_HTML
    path.write_text(render_html(report, out, warned), encoding="utf-8")
    return path
