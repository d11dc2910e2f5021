"""report.html: the import's status page (counts, a bar chart, the failures with reasons).

One self-contained file (inline CSS and SVG, no script), so it opens anywhere and can be
attached to a ticket. Every value shown goes through `_text`: HTML-escaped, and its control
characters written as escapes (a file name, a column name and a cell are the user's data).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from ztbulk.report.model import REPORT_HTML, Report
from ztbulk.report.text import one_line

_COLOURS = {
    "applied": "#2e7d32",
    "claimed": "#2e7d32",
    "unclaimed": "#1565c0",
    "unchanged": "#757575",
    "valid": "#2e7d32",
    "skipped": "#f9a825",
    "rejected": "#c62828",
}


def _text(value: object) -> str:
    return escape(one_line(str(value)))


def _chart(outcomes: dict[str, int]) -> str:
    total = max(sum(outcomes.values()), 1)
    bars, y = [], 0
    for name, n in sorted(outcomes.items(), key=lambda kv: -kv[1]):
        width = max(2, round(400 * n / total))
        colour = _COLOURS.get(name, "#455a64")
        bars.append(
            f'<rect x="110" y="{y}" width="{width}" height="22" fill="{colour}"/>'
            f'<text x="0" y="{y + 16}">{_text(name)}</text>'
            f'<text x="{116 + width}" y="{y + 16}">{n:,}</text>'
        )
        y += 28
    return (f'<svg role="img" aria-label="outcomes" width="620" height="{y}" '
            f'viewBox="0 0 620 {y}">{"".join(bars)}</svg>')  # fmt: skip


def _button(link: str | None) -> str:
    """The e-mail's "view details" button: the status page's signed link (`report.links`)."""
    if link is None:
        return ""
    return (f'<p><a href="{escape(link)}" style="display:inline-block;padding:.6em 1.2em;'
            'background:#1565c0;color:#fff;border-radius:4px;text-decoration:none">'
            "View details: every failure and its reason</a></p>")  # fmt: skip


def render_html(report: Report, link: str | None = None) -> str:
    rows = "".join(
        f"<tr><td>{_text(k)}</td><td class=n>{v:,}</td></tr>"
        for k, v in sorted(report.outcomes.items(), key=lambda kv: -kv[1])
    )
    codes = "".join(
        f"<tr><td>{_text(k)}</td><td class=n>{v:,}</td></tr>"
        for k, v in sorted(report.codes.items(), key=lambda kv: -kv[1])
    )
    failures = "".join(
        f"<tr><td class=n>{f.line}</td><td>{_text(f.outcome)}</td>"
        f"<td>{_text(', '.join(f.codes))}</td><td>{_text(f.message)}</td></tr>"
        for f in report.first_failures
    )
    issues = "".join(
        f"<li><b>{_text(i['code'])}</b>: {_text(i['message'])}</li>"
        for i in report.file_errors + report.warnings
    )
    job = report.job or {}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ztbulk import {_text(job.get("id", ""))}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}td,th{{padding:.2em .8em;
text-align:left}}.n{{text-align:right}}table{{border-collapse:collapse}}tr:nth-child(even)
{{background:#f4f4f4}}svg{{max-width:100%;height:auto}}@media (max-width:40em){{body{{margin:1em}}
td,th{{padding:.2em .4em}}}}</style></head><body>
<h1>Import of {_text(report.file.name)}</h1>{_button(link)}
<p>Job <code>{_text(job.get("id", ""))}</code> by {_text(job.get("user", ""))}
as {_text(report.actor)} {_text(job.get("account_id", ""))}, mode
{_text(report.mode or "-")}: <b id="rows">{report.rows:,}</b> data rows,
{report.blank:,} blank. Exit code {report.exit_code}.</p>
<ul>{issues}</ul>
<h2>Outcomes</h2>{_chart(report.outcomes)}
<table id="outcomes"><tr><th>outcome</th><th>rows</th></tr>{rows}</table>
<h2>Codes</h2><table id="codes"><tr><th>code</th><th>rows</th></tr>{codes}</table>
<h2>First rows with codes</h2><p>Every rejected and skipped row is in errors.csv; a row
with a warning only (such as KME_CONFLICT) was still applied.</p>
<table id="failures"><tr><th>line</th><th>outcome</th><th>codes</th><th>why</th></tr>
{failures}</table></body></html>
"""


def write_html(report: Report, out: Path) -> Path:
    path = out / REPORT_HTML
    path.write_text(render_html(report), encoding="utf-8")
    return path
