"""report.html: the import's status page (counts, a bar chart, the failures with reasons).

One self-contained file (inline CSS and SVG, no script), so it opens anywhere and can be
attached to a ticket. Every value shown goes through `_text`: HTML-escaped, and its control
characters written as escapes (a file name, a column name and a cell are the user's data).
The page's own words go through `_` (English as written here; an import in another language
and the HTTP service pass a translation, `ztbulk.i18n`); codes, outcomes and row messages
(written in the job's language already) stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from pathlib import Path

from ztbulk.i18n import SOURCE, Translate, translator
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
_STYLE = """body{font-family:sans-serif;margin:2em;max-width:70em}td,th{padding:.2em .8em;
text-align:left}.n{text-align:right}table{border-collapse:collapse}tr:nth-child(even)
{background:#f4f4f4}svg{max-width:100%;height:auto}@media (max-width:40em){body{margin:1em}
td,th{padding:.2em .4em}}"""
SUMMARY = ("Job {job} by {user} as {actor} {account}, mode {mode}: {rows} data rows, "
           "{blank} blank. Exit code {exit_code}.")  # fmt: skip
FAILURES_NOTE = ("Every rejected and skipped row is in errors.csv; a row with a warning only "
                 "(such as KME_CONFLICT) was still applied.")  # fmt: skip


def _text(value: object) -> str:
    return escape(one_line(str(value)))


def _same(message: str) -> str:
    return message


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


def _button(link: str | None, _: Translate) -> str:
    """The e-mail's "view details" button: the status page's signed link (`report.links`)."""
    if link is None:
        return ""
    return (f'<p><a href="{escape(link)}" style="display:inline-block;padding:.6em 1.2em;'
            'background:#1565c0;color:#fff;border-radius:4px;text-decoration:none">'
            f"{_text(_('View details: every failure and its reason'))}</a></p>")  # fmt: skip


def _table(table_id: str, heads: list[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in heads)
    return f'<table id="{table_id}"><tr>{head}</tr>{"".join(rows)}</table>'


def _counts(counts: dict[str, int]) -> list[str]:
    return [f"<tr><td>{_text(k)}</td><td class=n>{v:,}</td></tr>"
            for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]  # fmt: skip


def _summary(report: Report, _: Translate) -> str:
    job = report.job or {}
    return escape(_(SUMMARY)).format(
        job=f"<code>{_text(job.get('id', ''))}</code>", user=_text(job.get("user", "")),
        actor=_text(report.actor), account=_text(job.get("account_id", "")),
        mode=_text(report.mode or "-"), rows=f'<b id="rows">{report.rows:,}</b>',
        blank=f"{report.blank:,}", exit_code=report.exit_code,
    )  # fmt: skip


def render_html(
    report: Report, link: str | None = None, *, lang: str = SOURCE, _: Translate = _same
) -> str:
    """The page; `link` its e-mail's button; `lang` and `_` its language and translation."""
    failures = [
        f"<tr><td class=n>{f.line}</td><td>{_text(f.outcome)}</td>"
        f"<td>{_text(', '.join(f.codes))}</td><td>{_text(f.message)}</td></tr>"
        for f in report.first_failures
    ]
    issues = "".join(
        f"<li><b>{_text(i['code'])}</b>: {_text(i['message'])}</li>"
        for i in report.file_errors + report.warnings
    )
    title = _("ztbulk import {job}").format(job=(report.job or {}).get("id", ""))
    return f"""<!doctype html>
<html lang="{_text(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_text(title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{_text(_("Import of {name}").format(name=report.file.name))}</h1>{_button(link, _)}
<p>{_summary(report, _)}</p>
<ul>{issues}</ul>
<h2>{_text(_("Outcomes"))}</h2>{_chart(report.outcomes)}
{_table("outcomes", [_("outcome"), _("rows")], _counts(report.outcomes))}
<h2>{_text(_("Codes"))}</h2>{_table("codes", [_("code"), _("rows")], _counts(report.codes))}
<h2>{_text(_("First rows with codes"))}</h2><p>{_text(_(FAILURES_NOTE))}</p>
{_table("failures", [_("line"), _("outcome"), _("codes"), _("why")], failures)}
</body></html>
"""


def write_html(report: Report, out: Path, lang: str = SOURCE) -> Path:
    path = out / REPORT_HTML
    path.write_text(render_html(report, lang=lang, _=translator(lang)), encoding="utf-8")
    return path
