"""summary.eml: the import's summary e-mail, written always, sent when an SMTP URL is set.

`Settings.smtp_url` (smtp://host:port or smtps://) sends it, `Settings.mail_from` is the
sender, the importing user the recipient. It carries the status page as an attachment, and,
when the HTTP service's address is known (`Settings.public_url`), a signed, expiring link to
the page as the service serves it (`report.links`), which opens without a token. Sending is a
step of its own, after the job is done (`jobs.actors`): an SMTP server that is down never
fails an applied job.
"""

from __future__ import annotations

import json
import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlparse

from ztbulk.errors import TransientError
from ztbulk.i18n import SOURCE, translator
from ztbulk.report.html import render_html
from ztbulk.report.model import REPORT_HTML, REPORT_JSON, SUMMARY_EML, Report
from ztbulk.report.text import one_line

# The e-mail's words, translated like the status page's (`i18n`); outcomes and codes stay.
SUBJECT = "ztbulk import of {name}: {outcomes}"
HEADLINE = "Import of {name} (job {job}): {rows} data rows."
DETAILS_LINK = (
    "Details: {link} (every failure and its reason; the link opens the status page without "
    "signing in, for a limited time). The page is also attached (report.html)."
)
DETAILS_ATTACHED = (
    "Details: the status page is attached (report.html), with every failure and its reason."
)
MAIL_MESSAGES = (SUBJECT, HEADLINE, DETAILS_LINK, DETAILS_ATTACHED)


def build_message(
    report: Report, sender: str = "ztbulk@localhost", link: str | None = None,
    lang: str = SOURCE,
) -> EmailMessage:  # fmt: skip
    """The summary e-mail in `lang`; `link` (the status page's signed address, when the
    service's address is known) becomes its "view details" button."""
    job, _ = report.job or {}, translator(lang)
    name = one_line(report.file.name)  # data from the user: never a header break (issue 14)
    msg = EmailMessage()
    counts = sorted(report.outcomes.items(), key=lambda kv: -kv[1])
    outcomes = ", ".join(f"{n:,} {k}" for k, n in counts)
    msg["Subject"] = _(SUBJECT).format(name=name, outcomes=outcomes)
    msg["From"] = one_line(sender)
    msg["To"] = one_line(str(job.get("user", "ztbulk@localhost")))
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    lines = [
        _(HEADLINE).format(name=name, job=job.get("id", "-"), rows=f"{report.rows:,}"),
        "",
        *[f"  {k:<10} {n:>12,}" for k, n in counts],
        "",
        *[f"  {i['code']}: {one_line(i['message'])}" for i in report.file_errors],
        _(DETAILS_LINK).format(link=link) if link else _(DETAILS_ATTACHED),
    ]
    written = Path(report.out_dir) / REPORT_HTML  # finalize writes the page first
    page = (
        written.read_text(encoding="utf-8")
        if written.exists()
        else render_html(report, lang=lang, _=_)
    )
    msg.set_content("\n".join(lines) + "\n")
    msg.add_alternative(render_html(report, link=link, lang=lang, _=_), subtype="html")
    msg.add_attachment(page.encode("utf-8"), maintype="text", subtype="html",
                       filename="report.html")  # fmt: skip
    return msg


def write_summary_email(
    report: Report, out: Path, sender: str, link: str | None = None, lang: str = SOURCE
) -> Path:
    path = out / SUMMARY_EML
    path.write_bytes(bytes(build_message(report, sender, link, lang)))
    return path


def send_saved(out: Path, url: str) -> None:
    """Send the summary.eml written in `out`."""
    saved = message_from_bytes((out / SUMMARY_EML).read_bytes(), policy=policy.default)
    assert isinstance(saved, EmailMessage)  # what policy.default parses into
    send(saved, url)


def note_mail_failure(out: Path, why: str) -> None:
    """Record in report.json that the e-mail was not sent (the job itself is done)."""
    report = Report.from_dict(json.loads((out / REPORT_JSON).read_text(encoding="utf-8")))
    report.mail_error = (
        f"The summary e-mail could not be sent ({one_line(why)}); it is saved as {SUMMARY_EML}."
    )
    (out / REPORT_JSON).write_text(report.to_json() + "\n", encoding="utf-8")


def send(msg: EmailMessage, url: str) -> None:
    """Send through the SMTP server at `url`; a server that cannot be reached is retryable."""
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
