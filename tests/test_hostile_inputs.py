"""Hostile names and inputs (issue 14, items 3, 4, 5 and 7): each ends cleanly.

A file name, a column name and a cell are data: they never become an e-mail header, markup,
a spreadsheet formula or a terminal control sequence. Inputs that are not plain files, or that
change while they are read, are file-level errors (exit 2). The crash report is never written
through a planted link.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import TEST_CATALOG, run_check
from ztbulk import Catalog, check
from ztbulk.cli import main
from ztbulk.jobs import import_file, ledger
from ztbulk.jobs.folder import JobState
from ztbulk.parse import ParseConfig
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import OWNER, Seeded, seed

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
# A line feed and a header after it: once this reached the summary e-mail's Subject raw.
INJECTING_NAME = "a\nBcc: evil@example.com<script>x<script>.csv"
INJECTING_SHOWN = "a\\nBcc: evil@example.com<script>x<script>.csv"  # as ztbulk shows it


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Seeded]:
    monkeypatch.chdir(tmp_path)  # the default spool, ./ztbulk-jobs, is the test's own
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
        src, actor="customer", account_id=s.customer_id, user=OWNER, db=db, out_dir=tmp_path / "out"
    )
    with Registry.open(db) as reg:
        assert ledger.job_row(reg, result.job_id)["state"] == JobState.DONE
    assert result.report is not None and result.report.rows == 6

    raw = (tmp_path / "out" / "summary.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert list(message.keys()) == [
        "Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type",
    ]  # fmt: skip
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
    result = import_file(out, actor="customer", account_id=s.customer_id, user=OWNER, db=db)
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


# -- item 5: inputs that are not plain files, and files that move ---------------------------


def cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real `ztbulk` command in its own process (a FIFO would block a test in-process)."""
    return subprocess.run(
        [sys.executable, "-m", "ztbulk", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_check_refuses_what_is_not_a_plain_file(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "pipe.csv"
        os.mkfifo(path)  # nobody writes to it: reading it would wait forever
    else:
        path = Path(kind)  # reading it would never end
    out = tmp_path / "out"
    try:
        done = cli("check", str(path), "--out", str(out), timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`ztbulk check {path}` was still running after 30 s")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "not a plain file" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def unreadable(tmp_path: Path, kind: str) -> Path:
    """A path `check` cannot read as a file, made honestly (tests may run as root, whom a
    chmod 000 does not stop)."""
    if kind == "folder":
        return tmp_path
    path = tmp_path / f"{kind}.csv"
    if kind == "dangling link":
        path.symlink_to(tmp_path / "gone.csv")
    elif kind == "link loop":
        path.symlink_to(path)
    elif kind == "below a file":
        (tmp_path / "file").write_text("x\n")
        path = tmp_path / "file" / "devices.csv"
    else:  # "no permission": only meaningful when not root
        path.write_text(f"{HEADER}\n")
        path.chmod(0)
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "folder",
        "dangling link",
        "link loop",
        "below a file",
        pytest.param(
            "no permission",
            marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file"),
        ),
    ],
)
def test_an_unreadable_path_is_a_usage_error_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    path = unreadable(tmp_path, kind)
    out = tmp_path / "out"
    assert main(["check", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ztbulk: ") and err.count("\n") == 1, err
    assert "internal error" not in err and not out.exists()


def rows(n: int) -> str:
    return "".join(f"IMEI,{IMEI},,m,M,ZERO_TOUCH,{i + 1}\n" for i in range(n))


IMEI = "356938035643809"


@pytest.mark.parametrize(
    "change", ["truncated", "rewritten, same size", "same size, mtime put back", "appended"]
)
def test_a_file_that_changes_while_check_reads_it_is_a_file_error(
    tmp_path: Path, change: str
) -> None:
    src = tmp_path / "moving.csv"
    src.write_text(HEADER + "\n" + rows(4000), encoding="utf-8")
    original = src.read_bytes()

    def rewrite_once(done: int, total: int, rows_done: int) -> None:
        # Called after the first chunk: the rest of the file is not what was there at the start.
        if src.read_bytes() != original:
            return
        if change == "truncated":
            with src.open("r+b") as f:
                f.truncate(len(original) // 2)
        elif change == "appended":
            with src.open("ab") as f:
                f.write(rows(10).encode())
        else:  # the same size, another profileid on line 2, written in place
            times = src.stat()
            src.write_bytes(original.replace(b",1\n", b",9\n"))
            assert src.stat().st_size == len(original)
            if change == "same size, mtime put back":  # only ctime still tells
                os.utime(src, ns=(times.st_atime_ns, times.st_mtime_ns))
                assert src.stat().st_mtime_ns == times.st_mtime_ns

    report = check(
        src,
        catalog=Catalog.from_csv(TEST_CATALOG),
        out_dir=tmp_path / "out",
        config=ParseConfig(chunk_bytes=16 * 1024),
        progress=rewrite_once,
    )
    assert src.read_bytes() != original  # the hook did run while the file was read
    assert [e["code"] for e in report.file_errors] == ["FILE_CHANGED"]
    assert report.exit_code == 2
    assert report.rows == 0 and report.outcomes == {}  # no count of half a file
    assert pl.read_parquet(tmp_path / "out" / "outcomes.parquet").height == 0


# -- item 7: the crash report ---------------------------------------------------------------

# `ztbulk check` with its handler made to fail: any internal error takes this path in main().
CRASHING_CLI = (
    "import sys; import ztbulk.cli.check as c\n"
    "def boom(args): raise RuntimeError('boom')\n"
    "c.run_check = boom\n"
    "from ztbulk.cli import main; sys.exit(main(['check', 'x.csv']))\n"
)


def crash(tmp_path: Path, plant: str = "") -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the crashing CLI under sh, which first runs `plant` and then execs Python in its own
    process: `$$` is the PID the crash report is named after."""
    env = os.environ | {
        "TMPDIR": str(tmp_path / "tmp"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"),
    }
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(
        ["sh", "-c", f'{plant}\nexec "$0" -c "$1"', sys.executable, CRASHING_CLI],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "internal error (RuntimeError: boom); details in " in done.stderr
    path = Path(done.stderr.split("details in ")[1].split(". Nothing")[0])
    return done, path


def assert_private_report(path: Path) -> None:
    assert not path.is_symlink() and "RuntimeError: boom" in path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.parent.stat().st_uid == os.geteuid()


def test_the_crash_report_does_not_follow_a_link_at_the_old_path(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    _, report = crash(tmp_path, f'ln -s "{victim}" "$TMPDIR/ztbulk-crash-$$.txt"')
    assert victim.read_text() == "precious\n"
    assert_private_report(report)
    assert report.parent == tmp_path / "state" / "ztbulk"


def test_the_crash_folder_is_refused_when_it_is_a_link_or_not_private(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "ztbulk").symlink_to(elsewhere)
    _, report = crash(tmp_path)
    assert list(elsewhere.iterdir()) == []  # the link was not followed
    assert_private_report(report)
    assert report.parent.parent == tmp_path / "tmp"  # a fresh folder of its own instead

    loose = tmp_path / "loose"
    (loose / "state" / "ztbulk").mkdir(parents=True, mode=0o755)
    (loose / "state" / "ztbulk").chmod(0o755)
    _, report = crash(loose)
    assert list((loose / "state" / "ztbulk").iterdir()) == []
    assert_private_report(report)
