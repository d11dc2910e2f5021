"""Hostile names and inputs (issue 14, items 3, 4, 5 and 7): each ends cleanly.

A file name, a column name and a cell are data: they never become an e-mail header, markup,
a spreadsheet formula or a terminal control sequence. Inputs that are not plain files, or that
change while they are read, are file-level errors (exit 2). The crash report is never written
through a planted link.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from ztbulk.apply import import_file
from ztbulk.apply import jobs as ledger
from ztbulk.cli import main
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, Seeded, seed

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
# A line feed and a header after it: once this reached the summary e-mail's Subject raw.
INJECTING_NAME = "a\nBcc: evil@example.com<script>x<script>.csv"
INJECTING_SHOWN = "a\\nBcc: evil@example.com<script>x<script>.csv"  # as ztbulk shows it


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Seeded]:
    monkeypatch.setenv("ZTBULK_SPOOL", str(tmp_path / "spool"))
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        seeded = seed(reg, 50, other_devices=5)
    return db, seeded


def imei_rows(db: Path, customer: int, profileid: int, n: int) -> list[str]:
    with Registry.open(db) as reg:
        found = reg.all(
            "SELECT imei, model, manufacturer FROM devices WHERE customer_id = ? "
            "AND imei IS NOT NULL ORDER BY id LIMIT ?",
            [customer, n],
        )
    return [f"IMEI,{imei},,{model},{maker},ZERO_TOUCH,{profileid}" for imei, model, maker in found]


# -- item 3: a file name is data, never a header -------------------------------------------


def test_a_hostile_file_name_finishes_the_import_and_stays_data(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    rows = imei_rows(db, s.customer_id, s.configuration_ids[1], 5)
    rows.append("IMEI,1,,m,<b>m</b>,ZERO_TOUCH,1")  # a rejected row quoting markup
    src = tmp_path / INJECTING_NAME
    header = HEADER + ",<script>y</script>"  # an unknown column named with markup
    src.write_text("\n".join([header, *(r + "," for r in rows)]) + "\n", encoding="utf-8")
    result = import_file(
        src, account=f"customer:{s.customer_id}", user=OWNER, db=db, out_dir=tmp_path / "out"
    )
    with Registry.open(db) as reg:
        assert ledger.job_row(reg, result.job_id)["state"] == ledger.DONE
    assert result.report is not None and result.report.rows == 6

    raw = (tmp_path / "out" / "summary.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert list(message.keys()) == ["Subject", "From", "To", "MIME-Version", "Content-Type"]
    assert message.get_all("To") == [OWNER] and message["Bcc"] is None
    assert message["Subject"].startswith(f"ztbulk import of {INJECTING_SHOWN}: ")
    assert message.defects == []
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None and f"Import of {INJECTING_SHOWN} (job" in plain.get_content()

    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<h1>Import of a\\nBcc: evil@example.com&lt;script&gt;x&lt;script&gt;.csv</h1>" in html
    assert "&lt;script&gt;y&lt;/script&gt;" in html  # the column name, in its warning
    assert "&lt;b&gt;m&lt;/b&gt;" in html  # the value, in its failure's message
    assert "<script" not in html.lower() and "<b>m" not in html


def test_check_prints_a_hostile_name_and_column_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An escape sequence that clears the screen, and a line feed that forges a summary line.
    src = tmp_path / "b\x1b[2J\nFILE ERROR none.csv"
    src.write_text(f"{HEADER},x\x1b[31my\nIMEI,1,,m,M,ZERO_TOUCH,1,\n", encoding="utf-8")
    code = main(["check", str(src), "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == 1
    assert "\x1b" not in printed
    assert printed.splitlines()[0].startswith("b\\x1b[2J\\nFILE ERROR none.csv: 1 data rows")
    assert "Ignored unknown column(s): 'x\\x1b[31my'" in printed
