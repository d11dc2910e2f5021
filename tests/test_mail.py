"""The summary e-mail (issue 13, item 6): sent through a real SMTP server with Date and
Message-ID and the status page attached; a server that is down never fails the applied job."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.services import SmtpSink
from ztbulk.jobs import import_file, ledger
from ztbulk.jobs.api import ImportResult
from ztbulk.jobs.folder import JobState
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, seed
from ztbulk.settings import Settings

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.close()


def run(tmp_path: Path, smtp_url: str) -> tuple[ImportResult, Path]:
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        s = seed(reg, 20, other_devices=0)
        found = reg.all("SELECT imei, manufacturer FROM devices WHERE imei IS NOT NULL LIMIT 3")
    src = tmp_path / "in.csv"
    rows = [f"IMEI,{imei},,,{maker},ZERO_TOUCH,0" for imei, maker in found]
    src.write_text("\n".join([HEADER, *rows, "IMEI,1,,,,ZERO_TOUCH,0"]) + "\n", encoding="utf-8")
    settings = Settings(smtp_url=smtp_url, mail_from="ztbulk@example.com", spool=tmp_path / "s")
    result = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                         settings=settings, out_dir=tmp_path / "out")  # fmt: skip
    return result, db


def test_the_summary_is_sent_with_date_message_id_and_the_status_page(
    tmp_path: Path, sink: SmtpSink
) -> None:
    result, _ = run(tmp_path, sink.url)
    assert result.report is not None and result.report.mail_error is None
    [raw] = sink.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == OWNER and message["From"] == "ztbulk@example.com"
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")
    [page] = list(message.iter_attachments())
    assert page.get_filename() == "report.html" and "<svg" in page.get_content()
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and str(tmp_path) not in body.get_content()  # no local path


def test_an_smtp_server_that_is_down_does_not_fail_the_applied_job(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result, db = run(tmp_path, f"smtp://127.0.0.1:{port}")
    assert result.report is not None
    assert result.report.outcomes == {"unclaimed": 3, "rejected": 1}
    assert result.report.mail_error is not None and "could not be sent" in result.report.mail_error
    assert (tmp_path / "out" / "summary.eml").exists()
    with Registry.open(db) as reg:
        assert ledger.job_row(reg, result.job_id)["state"] == JobState.DONE
