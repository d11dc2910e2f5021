"""summary.eml: the import's summary e-mail, written always, sent when an SMTP URL is set.

ZTBULK_SMTP_URL=smtp://host:port (or smtps://) sends it; ZTBULK_MAIL_FROM sets the sender.
The recipient is the importing user.
"""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlparse

from ztbulk.errors import TransientError
from ztbulk.report.html import render_html
from ztbulk.report.model import SUMMARY_EML, CheckReport
from ztbulk.report.text import one_line


def build_message(report: CheckReport) -> EmailMessage:
    job = report.job or {}
    name = one_line(report.file.name)  # data from the user: never a header break (issue 14)
    msg = EmailMessage()
    msg["Subject"] = f"ztbulk import of {name}: " + ", ".join(
        f"{n:,} {k}" for k, n in sorted(report.outcomes.items(), key=lambda kv: -kv[1])
    )
    msg["From"] = one_line(os.environ.get("ZTBULK_MAIL_FROM", "ztbulk@localhost"))
    msg["To"] = one_line(str(job.get("user", "ztbulk@localhost")))
    lines = [
        f"Import of {name} (job {job.get('id', '-')}): {report.rows:,} data rows.",
        "",
        *[f"  {k:<10} {n:>12,}" for k, n in sorted(report.outcomes.items(), key=lambda kv: -kv[1])],
        "",
        *[f"  {i['code']}: {one_line(i['message'])}" for i in report.file_errors],
        f"Details: {Path(report.out_dir) / 'report.html'}",
    ]
    msg.set_content("\n".join(lines) + "\n")
    msg.add_alternative(render_html(report), subtype="html")
    return msg


def write_summary_email(report: CheckReport, out: Path) -> Path:
    msg = build_message(report)
    path = out / SUMMARY_EML
    path.write_bytes(bytes(msg))
    url = os.environ.get("ZTBULK_SMTP_URL")
    if url:
        send(msg, url)
    return path


def send(msg: EmailMessage, url: str) -> None:
    parts = urlparse(url)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    try:
        with smtp_class(parts.hostname or "localhost", parts.port or 25, timeout=30) as smtp:
            if parts.username:
                smtp.login(parts.username, parts.password or "")
            smtp.send_message(msg)
    except OSError as exc:
        raise TransientError(
            f"The summary e-mail could not be sent via {parts.hostname} ({exc}); "
            "it is saved as summary.eml."
        ) from None
