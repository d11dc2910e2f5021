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

import polars as pl
import pytest

from tests.conftest import run_check
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


def outcomes_of(out_dir: str) -> pl.DataFrame:
    return pl.read_parquet(Path(out_dir) / "outcomes.parquet")


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


# -- item 4: formulas neutralised everywhere SPEC 6 says ------------------------------------

FORMULAS = ["-2+3+cmd|' /C calc'!A0", '=HYPERLINK("http://x")', "+1", "@SUM(1)"]


def test_device_export_neutralises_formulas_and_imports_again(
    tmp_path: Path, env: tuple[Path, Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    db, s = env
    with Registry.open(db) as reg, reg.transaction() as con:
        ids = [
            r[0]
            for r in con.execute(
                "SELECT id FROM devices WHERE customer_id = ? AND imei IS NOT NULL "
                "AND configuration_id IS NOT NULL ORDER BY id LIMIT 4",
                [s.customer_id],
            ).fetchall()
        ]
        for device_id, serial in zip(ids, ["-X1", "=X2", "+X3", "@X4"], strict=True):
            con.execute("UPDATE devices SET serial = ? WHERE id = ?", [serial, device_id])
        serial_only = con.execute(
            "SELECT min(id) FROM devices WHERE customer_id = ? AND imei IS NULL AND meid IS NULL",
            [s.customer_id],
        ).fetchone()[0]  # type: ignore[index]
        con.execute("UPDATE devices SET serial = '-S5' WHERE id = ?", [serial_only])
        for config_id, name in zip(s.configuration_ids, FORMULAS, strict=False):
            con.execute("UPDATE configurations SET name = ? WHERE id = ?", [name, config_id])
    out = tmp_path / "export.csv"
    assert main(["device", "export", "--out", str(out), "--as", OWNER, "--db", str(db)]) == 0
    capsys.readouterr()
    exported = pl.read_csv(out, infer_schema=False)
    cells = [v for col in exported.columns for v in exported[col].drop_nulls()]
    assert not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r")]
    serials = exported.filter(pl.col("ztbulk_device_id").cast(pl.Int64).is_in(ids))["serial"]
    assert serials.to_list() == ["'-X1", "'=X2", "'+X3", "'@X4"]
    names = set(exported["ztbulk_configuration"].drop_nulls())
    assert {f"'{n}" for n in FORMULAS[: len(s.configuration_ids)]} <= names
    # As the README says, the export imports again as is: the devices are already so, except
    # the one known by its serial alone, whose serial now reads '-S5: no device has that one.
    result = import_file(out, account=f"customer:{s.customer_id}", user=OWNER, db=db)
    assert result.report is not None
    assert result.report.outcomes == {"unchanged": exported.height - 1, "rejected": 1}
    assert result.report.codes["DEVICE_NOT_FOUND"] == 1  # (KME_CONFLICT warnings aside)
    line = exported["ztbulk_device_id"].cast(pl.Int64).to_list().index(serial_only) + 2
    assert outcomes_of(result.report.out_dir).filter(pl.col("line") == line)["codes"].to_list() == [
        ["DEVICE_NOT_FOUND"]
    ]


def test_errors_csv_neutralises_a_formula_in_a_column_name(tmp_path: Path) -> None:
    got = run_check(tmp_path, f"{HEADER},=evilheader,@x\nIMEI,1,,m,M,ZERO_TOUCH,1,=1+1,\n")
    first, row = got.errors_csv.splitlines()[:2]
    assert first.split(",")[7:9] == ["'=evilheader", "'@x"]
    assert row.split(",")[7] == "'=1+1"
