"""The status page's parts shared by its pages: the frame (styles that fit a phone and a
laptop), tables of rows built a page at a time with Polars (escaped in bulk, never a Python
string operation per cell), and the pages of failures and of warnings beyond the first.

A value from the input can hold anything: every one goes through `escaped`, which replaces
control and bidi characters and HTML-escapes the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from pathlib import Path

import polars as pl

from ztbulk.report.model import ERRORS_CSV, REPORT_HTML
from ztbulk.report.text import one_line

PAGE_ROWS = 2_000
# Pages written per list: 1M failures; errors.csv (linked from every page) has them all.
MAX_PAGES = 500
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
padding:1em;max-width:72em;line-height:1.45;color:#1b1b1b}
h1{font-size:1.45em;overflow-wrap:anywhere}h2{font-size:1.2em;margin-top:1.6em}
.banner{padding:.8em 1em;border-radius:6px;margin:1em 0}
.bad{background:#fdecea;border-left:6px solid #c62828}
.good{background:#edf7ed;border-left:6px solid #2e7d32}
.note{background:#e8f0fe;border-left:6px solid #1565c0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:0}
dl.facts dt{color:#555}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}
td,th{padding:.3em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #e3e3e3;
overflow-wrap:break-word}
.n{text-align:right;font-variant-numeric:tabular-nums}
td.id,code{font-family:ui-monospace,Menlo,Consolas,monospace}td code{white-space:nowrap}
table.fixed{table-layout:fixed}td.id{overflow-wrap:anywhere}
svg{max-width:100%;height:auto;display:block}nav.pager{margin:.8em 0}nav.pager a{margin-right:1em}
@media (max-width:640px){
table.rows thead{display:none}table.rows,table.rows tbody{display:block}
table.rows tr{display:block;border-bottom:1px solid #ccc;padding:.4em 0}
table.rows td{display:block;border:0;padding:.1em 0;text-align:left;overflow-wrap:anywhere}
table.rows td::before{content:attr(data-label) ": ";font-weight:600}
td code{white-space:normal;overflow-wrap:anywhere}
dl.facts{grid-template-columns:1fr}dl.facts dt{font-weight:600;margin-top:.3em}}
"""


def text(value: object) -> str:
    """One value of ours or the user's, safe in HTML."""
    return escape(one_line(str(value)))


def escaped(expr: pl.Expr) -> pl.Expr:
    """`text` for a column: controls replaced, HTML special characters escaped."""
    expr = expr.cast(pl.String).fill_null("").str.replace_all(_CONTROL, "\ufffd")
    for char, entity in _ESCAPES:
        expr = expr.str.replace_all(char, entity, literal=True)
    return expr


def shell(title: str, body: str, lang: str = "en") -> str:
    return (
        f'<!doctype html>\n<html lang="{text(lang)}"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


_ROW = (
    '<tr><td class=n data-label="line">{}</td><td class=id data-label="device">{}</td>'
    '<td data-label="outcome">{}</td><td data-label="codes">{}</td>'
    '<td data-label="why">{}</td></tr>'
)


# Fixed column widths: a long message or serial wraps in its cell instead of widening the table.
_WIDTHS = "".join(
    f'<col style="width:{w}">' if w else "<col>" for w in ("5em", "16em", "6.5em", "14em", "")
).join(("<colgroup>", "</colgroup>"))


def row_table(rows: pl.DataFrame, table_id: str) -> str:
    """line, identifier, outcome, codes (a list), message: one table, its cells built in bulk."""
    cells = rows.select(
        pl.format(
            _ROW,
            pl.col("line").cast(pl.String),
            escaped(pl.col("identifier")),
            escaped(pl.col("outcome")),
            escaped(pl.col("codes").list.join(", ")),
            escaped(pl.col("message")),
        )
    ).to_series()
    head = "<th>line</th><th>device</th><th>outcome</th><th>codes</th><th>why</th>"
    return (
        f'<table class="rows fixed" id="{table_id}">{_WIDTHS}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(cells.to_list())}</tbody></table>"
    )


def page_name(kind: str, number: int) -> str:
    return REPORT_HTML if number == 1 else f"report-{kind}-{number}.html"


def pager(kind: str, number: int, total_rows: int) -> str:
    """Where this page of the list is, with links to the page before and after."""
    pages = min(-(-total_rows // PAGE_ROWS), MAX_PAGES)
    first, last = (number - 1) * PAGE_ROWS + 1, min(number * PAGE_ROWS, total_rows)
    links = [f"rows {first:,}-{last:,} of {total_rows:,} (page {number} of {pages})"]
    if number > 1:
        links.append(f'<a href="{page_name(kind, number - 1)}">&lsaquo; previous</a>')
    if number < pages:
        links.append(f'<a href="{page_name(kind, number + 1)}">next &rsaquo;</a>')
    if number == pages and total_rows > pages * PAGE_ROWS:
        links.append(f'the rest are in <a href="{ERRORS_CSV}">{ERRORS_CSV}</a>')
    return f'<nav class=pager aria-label="{kind} pages">{" ".join(links)}</nav>'


def write_pages(
    out: Path, kind: str, title: str, pages: Iterator[pl.DataFrame], total_rows: int
) -> str:
    """Write every page of the list after the first (`report-KIND-N.html`) and return the
    first page's part of report.html (empty without rows)."""
    first = next(pages, None)
    if first is None:
        return ""
    for number, rows in enumerate(pages, start=2):
        if number > MAX_PAGES:
            break
        body = (
            f'<p><a href="{REPORT_HTML}">&lsaquo; the status page</a> &middot; '
            f'<a href="{ERRORS_CSV}">{ERRORS_CSV}</a></p><h1>{title}</h1>'
            f"{pager(kind, number, total_rows)}{row_table(rows, kind)}"
            f"{pager(kind, number, total_rows)}"
        )
        (out / page_name(kind, number)).write_text(shell(title, body), encoding="utf-8")
    return f"{pager(kind, 1, total_rows)}{row_table(first, kind)}"
