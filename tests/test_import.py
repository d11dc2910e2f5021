"""`ztbulk import`, embedded mode, on a real registry file: SPEC sections 1, 4, 5 and 6.

Each test builds its input from the seeded registry's own devices, imports it, and checks the
outcomes (outcomes.parquet) and the registry state against what the rows asked for.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import shutil
import subprocess
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ztbulk.cli import main
from ztbulk.errors import InternalError, UsageError
from ztbulk.ingest import OUTPUT_PARTS
from ztbulk.jobs import import_file, ledger, resume_job, stages
from ztbulk.jobs.context import Context
from ztbulk.jobs.folder import JobFolder, exclusive
from ztbulk.parse import ParseConfig
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, OTHER_OWNER, OWNER, RESELLER_OWNER, Seeded, seed
from ztbulk.resolve import sql
from ztbulk.sample import SampleSpec, from_devices
from ztbulk.settings import Settings

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Seeded]:
    monkeypatch.chdir(tmp_path)  # the default spool, ./ztbulk-jobs, is the test's own
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        seeded = seed(reg, 400, other_devices=40)
    return db, seeded


def devices(db: Path, customer: int, where: str = "true") -> pl.DataFrame:
    with Registry.open(db) as reg:
        frame: pl.DataFrame = reg.con.sql(
            f"SELECT * FROM devices WHERE customer_id = ? AND {where} ORDER BY id",
            params=[customer],
        ).pl()
    return frame


def state(db: Path, customer: int) -> pl.DataFrame:
    """The customer's devices without their timestamps (which say when, not what)."""
    return devices(db, customer).drop("created_at", "updated_at")


def rows_for(frame: pl.DataFrame, target: str) -> list[str]:
    """One CSV row per device, identified as the registry knows it."""
    out = []
    for d in frame.iter_rows(named=True):
        if d["imei"]:
            ident = f"IMEI,{d['imei']},"
        elif d["meid"]:
            ident = f"MEID,{d['meid']},"
        else:
            ident = f",,{d['serial']}"
        out.append(f"{ident},{d['model']},{d['manufacturer']},ZERO_TOUCH,{target}")
    return out


def write(tmp_path: Path, header: str, rows: list[str], name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def outcomes(report_dir: str) -> pl.DataFrame:
    return pl.read_parquet(Path(report_dir) / "outcomes.parquet")


def test_customer_applies_configurations(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    db, s = env
    mine = devices(db, s.customer_id)
    target = s.configuration_ids[2]
    src = write(tmp_path, HEADER, rows_for(mine.head(100), str(target)))
    result = import_file(src, actor="customer", account_id=s.customer_id, user=ADMIN, db=db)
    assert result.report is not None
    already = mine.head(100).filter(pl.col("configuration_id") == target).height
    assert 0 < already < 100  # the seed spreads devices over the three configurations
    assert result.report.outcomes == {"applied": 100 - already, "unchanged": already}
    after = devices(db, s.customer_id)
    assert after.head(100)["configuration_id"].to_list() == [target] * 100
    assert (
        after.slice(100)["configuration_id"].to_list()
        == mine.slice(100)["configuration_id"].to_list()
    )
    got = outcomes(result.report.out_dir)
    assert got["device_id"].to_list() == mine.head(100)["id"].to_list()
    assert result.report.file.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    # The same file again applies nothing.
    again = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db)
    assert again.report is not None and set(again.report.outcomes) == {"unchanged"}
    assert again.report.exit_code == 0


def test_tenant_isolation(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    db, s = env
    theirs = devices(db, s.other_customer_id).head(5)
    mine = devices(db, s.customer_id).head(3)
    rows = rows_for(theirs, str(s.configuration_ids[1])) + rows_for(
        mine, str(s.other_configuration_id)
    )
    result = import_file(
        write(tmp_path, HEADER, rows), actor="customer", account_id=s.customer_id, user=OWNER, db=db
    )
    got = outcomes(result.report.out_dir)  # type: ignore[union-attr]
    assert got["codes"].to_list()[:5] == [["DEVICE_NOT_FOUND"]] * 5
    assert got["codes"].to_list()[5:] == [["CONFIGURATION_NOT_FOUND"]] * 3
    assert set(got["outcome"]) == {"rejected"}
    assert (
        devices(db, s.other_customer_id).head(5)["configuration_id"].to_list()
        == theirs["configuration_id"].to_list()
    )
    assert (
        devices(db, s.customer_id).head(3)["configuration_id"].to_list()
        == mine["configuration_id"].to_list()
    )


def test_rights_are_checked_before_the_file_is_read(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    src = write(tmp_path, HEADER, rows_for(devices(db, s.customer_id).head(1), "101"))
    for actor, account_id, user in (
        ("customer", s.customer_id, OTHER_OWNER),
        ("reseller", s.reseller_id, OWNER),
    ):
        with pytest.raises(UsageError, match="has no access"):
            import_file(src, actor=actor, account_id=account_id, user=user, db=db)
    with pytest.raises(UsageError, match="has no access"):
        import_file(
            tmp_path / "missing.csv",
            actor="customer",
            account_id=s.customer_id,
            user=OTHER_OWNER,
            db=db,
        )
    with Registry.open(db) as reg:
        assert ledger.list_jobs(reg) == []


def test_customer_unclaims(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    db, s = env
    mine = devices(db, s.customer_id).head(10)
    src = write(tmp_path, OWNER_HEADER, rows_for(mine, "0"))
    result = import_file(src, actor="customer", account_id=s.customer_id, user=ADMIN, db=db)
    assert result.report is not None and result.report.outcomes == {"unclaimed": 10}
    with Registry.open(db) as reg:
        left = reg.con.sql(
            "SELECT count(*) FROM devices WHERE list_contains($ids, id) AND customer_id IS NULL",
            params={"ids": mine["id"].to_list()},
        ).fetchall()
    assert left == [(10,)]
    again = import_file(src, actor="customer", account_id=s.customer_id, user=ADMIN, db=db)
    assert again.report is not None and again.report.outcomes == {"rejected": 10}
    assert again.report.codes == {"DEVICE_NOT_FOUND": 10}


def test_reseller_claims_and_unclaims(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    db, s = env
    customer = str(s.customer_id)
    new = [
        f"IMEI,490154203237518,,SM-A155M,samsung,ZERO_TOUCH,{customer}",  # unknown device
        f",,NEW-SERIAL-1,SM-A155M,Samsung,ZERO_TOUCH,{customer}",
    ]
    held = rows_for(devices(db, s.other_customer_id).head(2), customer)  # held by another customer
    not_enabled = [f"IMEI,356938035643809,,SM-A155M,Samsung,ZERO_TOUCH,{s.other_customer_id}"]
    src = write(tmp_path, OWNER_HEADER, new + held + not_enabled)
    result = import_file(
        src, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER, db=db
    )
    got = outcomes(result.report.out_dir)  # type: ignore[union-attr]
    assert got["outcome"].to_list() == ["claimed", "claimed", "rejected", "rejected", "rejected"]
    assert got["codes"].to_list()[2:] == [["DEVICE_CLAIMED_ELSEWHERE"]] * 2 + [
        ["CUSTOMER_NOT_FOUND"]
    ]
    created = devices(db, s.customer_id, "imei = '490154203237518' OR serial = 'NEW-SERIAL-1'")
    assert created.height == 2
    assert created["configuration_id"].to_list() == [s.default_configuration_id] * 2
    assert created["reseller_id"].to_list() == [s.reseller_id] * 2
    assert created["manufacturer"].to_list() == ["Samsung", "Samsung"]  # the list's spelling
    assert sorted(created["id"].to_list()) == sorted(got["device_id"].head(2).to_list())
    assert created.sort("imei", nulls_last=True)["imei_n"].to_list() == [
        490154203237518,
        None,
    ]  # numbered
    # Claiming again changes nothing; unclaiming releases the devices.
    again = import_file(src, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER, db=db)
    assert outcomes(again.report.out_dir)["outcome"].head(2).to_list() == ["unchanged", "unchanged"]  # type: ignore[union-attr]
    release = write(
        tmp_path, OWNER_HEADER, [r.rsplit(",", 1)[0] + ",0" for r in new], "release.csv"
    )
    released = import_file(
        release, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER, db=db
    )
    assert released.report is not None and released.report.outcomes == {"unclaimed": 2}


def test_created_devices_take_their_ids_in_line_order(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    """The plan's parts hold their rows in no particular order; devices to create still get
    their ids in line order, so every run of the same plan creates the same devices."""
    db, s = env
    customer = str(s.customer_id)
    known = rows_for(devices(db, s.customer_id), customer)  # already the customer's
    rows = []
    for i, row in enumerate(known):
        rows += [row, f",,NEW-SN-{i:05d},SM-A155M,Samsung,ZERO_TOUCH,{customer}"]
    src = write(tmp_path, OWNER_HEADER, rows)
    result = import_file(
        src, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER, db=db
    )
    created = outcomes(result.report.out_dir).filter(pl.col("outcome") == "claimed")  # type: ignore[union-attr]
    assert created.height == len(known)
    assert created["device_id"].is_sorted() and created["line"].is_sorted()
    assert created["device_id"].n_unique() == len(known)


def test_a_row_resolve_does_not_plan_stops_the_job(
    tmp_path: Path, env: tuple[Path, Seeded], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every planned row is counted: were a join to miss a kind of identifier (here the
    serial join is taken out), the job stops with an internal error instead of losing rows."""
    db, s = env
    monkeypatch.setattr(sql, "MATCHES", sql.MATCHES.replace("WHERE i.kind = 'SN'", "WHERE false"))
    serial = devices(db, s.customer_id, "serial IS NOT NULL AND imei IS NULL").head(1)
    src = write(tmp_path, HEADER, rows_for(serial, str(s.configuration_ids[0])))
    with pytest.raises(InternalError, match="planned 0 rows"):
        import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db)


def test_registry_codes_and_warnings(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    db, s = env
    dual = devices(db, s.customer_id, "imei2 IS NOT NULL").head(1).row(0, named=True)
    kme = devices(db, s.customer_id, "kme AND imei IS NOT NULL").head(1).row(0, named=True)
    cfg = s.configuration_ids[1]
    rows = [
        f"IMEI,{dual['imei2']},,{dual['model']},{dual['manufacturer']},ZERO_TOUCH,{cfg}",
        f"IMEI,{kme['imei']},,{kme['model']},{kme['manufacturer']},ZERO_TOUCH,{cfg}",
        f"IMEI,{kme['imei']},,,Google,ZERO_TOUCH,{cfg}".replace(kme["imei"], dual["imei"]),
    ]
    result = import_file(
        write(tmp_path, HEADER, rows), actor="customer", account_id=s.customer_id, user=OWNER, db=db
    )
    got = outcomes(result.report.out_dir)  # type: ignore[union-attr]
    assert got["codes"].to_list()[0] == ["SECONDARY_IMEI"] + (
        ["KME_CONFLICT"] if dual["kme"] else []
    )
    assert got["outcome"][0] in ("applied", "unchanged")
    assert got["codes"].to_list()[1] == ["KME_CONFLICT"]
    # Line 4 names the dual-SIM device by its first IMEI with another manufacturer.
    assert "MANUFACTURER_MISMATCH" in got["codes"].to_list()[2]


def test_an_identifier_of_several_devices_resolves_to_one(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    """An IMEI that is one device's first IMEI and another's second resolves to the first,
    even where the other has the lower id. One row, one outcome, whatever the registry holds.
    (The row is inserted as a writer that does not number identifiers would: resolve numbers
    it first.) A serial, model and maker of two devices cannot be: the registry refuses it."""
    db, s = env
    first = devices(db, s.customer_id, "imei IS NOT NULL AND NOT kme").row(0, named=True)
    serial = devices(db, s.customer_id, "serial IS NOT NULL AND imei IS NULL").row(0, named=True)
    copy = "model, manufacturer, customer_id, reseller_id, configuration_id"
    with Registry.open(db) as reg:
        reg.con.execute(  # ids start at 1: the lowest
            f"INSERT INTO devices (id, imei2, {copy}) SELECT 0, ?, {copy} FROM devices "
            "WHERE id = ?",
            [first["imei"], first["id"]],
        )
        with pytest.raises(duckdb.ConstraintException, match="Duplicate key"):
            reg.con.execute(
                f"INSERT INTO devices (id, serial, {copy}) SELECT nextval('device_ids'), ?, "
                f"{copy} FROM devices WHERE id = ?",
                [serial["serial"], serial["id"]],
            )
    cfg = s.configuration_ids[0]
    rows = [
        f"IMEI,{first['imei']},,{first['model']},{first['manufacturer']},ZERO_TOUCH,{cfg}",
        f",,{serial['serial']},{serial['model']},{serial['manufacturer']},ZERO_TOUCH,{cfg}",
    ]
    result = import_file(
        write(tmp_path, HEADER, rows), actor="customer", account_id=s.customer_id, user=OWNER, db=db
    )
    got = outcomes(result.report.out_dir)  # type: ignore[union-attr]
    assert got["device_id"].to_list() == [first["id"], serial["id"]]
    assert got["codes"].to_list() == [[], []]  # not SECONDARY_IMEI, not a duplicate


def test_outcomes_do_not_depend_on_how_ingest_splits_the_file(
    tmp_path: Path, env: tuple[Path, Seeded], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finalize takes several ingest batches at a time and pairs their rows with the plan's by
    line. Read in 2 KiB chunks (dozens of batches, with defects, repeated devices and
    registry codes spread over them), a file gets the outcomes, errors.csv and registry state
    it gets in one batch."""
    db, s = env
    known = devices(db, s.customer_id).select("imei", "meid", "serial", "model", "manufacturer")
    spec = SampleSpec(rows=600, defect_rate=0.04, profile_ids=tuple(s.configuration_ids))
    src = from_devices(known, spec, tmp_path / "sample.csv")  # 600 rows of 400 devices
    runs = []
    for chunk in (None, 2048):
        settings = Settings(parse=ParseConfig(chunk_bytes=chunk)) if chunk else None
        trial = tmp_path / f"trial-{chunk}.duckdb"
        shutil.copy(db, trial)
        result = import_file(
            src, actor="customer", account_id=s.customer_id, user=OWNER, settings=settings,
            db=trial, out_dir=tmp_path / f"out-{chunk}",
        )  # fmt: skip
        assert result.report is not None
        staged = JobFolder(tmp_path / "ztbulk-jobs", result.job_id).staged.read_text()
        out = Path(result.report.out_dir)
        errors = (out / "errors.csv").read_text(encoding="utf-8")
        runs.append((outcomes(str(out)), errors, state(trial, s.customer_id), staged))
    (one, one_errors, one_state, one_staged), (many, many_errors, many_state, many_staged) = runs
    assert len(json.loads(many_staged)["parts"]) > 2 * OUTPUT_PARTS > 1
    assert len(json.loads(one_staged)["parts"]) == 1
    assert set(one["outcome"]) >= {"applied", "rejected", "skipped"}
    assert one.equals(many) and one_errors == many_errors and one_state.equals(many_state)


def test_same_device_through_two_identifiers(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    db, s = env
    d = devices(db, s.customer_id, "imei2 IS NOT NULL").head(2)
    a, b = d.row(0, named=True), d.row(1, named=True)
    cfg, other = s.configuration_ids[1], s.configuration_ids[2]
    rows = [
        f"IMEI,{a['imei']},,{a['model']},{a['manufacturer']},ZERO_TOUCH,{cfg}",
        f"IMEI,{a['imei2']},,{a['model']},{a['manufacturer']},ZERO_TOUCH,{cfg}",
        f"IMEI,{b['imei']},,{b['model']},{b['manufacturer']},ZERO_TOUCH,{cfg}",
        f"IMEI,{b['imei2']},,{b['model']},{b['manufacturer']},ZERO_TOUCH,{other}",
    ]
    result = import_file(
        write(tmp_path, HEADER, rows), actor="customer", account_id=s.customer_id, user=OWNER, db=db
    )
    got = outcomes(result.report.out_dir)  # type: ignore[union-attr]
    assert got["outcome"][1] == "skipped" and "DUPLICATE_ROW" in got["codes"][1]
    assert got["outcome"][2:].to_list() == ["rejected", "rejected"]
    assert all("DUPLICATE_CONFLICT" in c for c in got["codes"][2:])


def test_a_rejected_row_does_not_make_its_device_a_duplicate(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    d = devices(db, s.customer_id, "imei2 IS NOT NULL")
    c = d.row(0, named=True)
    wrong = d.filter(pl.col("manufacturer").str.to_lowercase() != c["manufacturer"].lower())
    maker = wrong["manufacturer"][0]
    cfg, other = s.configuration_ids[1], s.configuration_ids[2]
    rows = [
        f"IMEI,{c['imei']},,,{maker},ZERO_TOUCH,{other}",  # MANUFACTURER_MISMATCH
        f"IMEI,{c['imei2']},,{c['model']},{c['manufacturer']},ZERO_TOUCH,{cfg}",
    ]
    result = import_file(
        write(tmp_path, HEADER, rows), actor="customer", account_id=s.customer_id, user=OWNER, db=db
    )
    got = outcomes(result.report.out_dir)  # type: ignore[union-attr]
    assert got["codes"][0].to_list() == ["MANUFACTURER_MISMATCH"]
    assert got["outcome"][1] in ("applied", "unchanged")
    assert not [code for code in got["codes"][1] if code.startswith("DUPLICATE")]


def test_redelivered_batch_changes_nothing_and_resume_matches(
    tmp_path: Path, env: tuple[Path, Seeded], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job stopped after planning, or after some batches, finishes with `resume` exactly as
    an uninterrupted run does (same outcomes, same registry)."""
    db, s = env
    rows = rows_for(devices(db, s.customer_id).head(200), str(s.configuration_ids[2]))
    src = write(tmp_path, HEADER, rows)
    reference = tmp_path / "reference.duckdb"
    shutil.copy(db, reference)
    small = Settings(batch_rows=50)
    full = import_file(
        src, actor="customer", account_id=s.customer_id, user=OWNER, settings=small,
        db=reference, spool=tmp_path / "s1",
    )  # fmt: skip
    expected_devices = state(reference, s.customer_id)
    expected = outcomes(full.report.out_dir)  # type: ignore[union-attr]

    for stop_after in (0, 2, 4):  # batches applied before the "crash"
        trial = tmp_path / f"trial-{stop_after}.duckdb"
        shutil.copy(db, trial)
        spool = tmp_path / f"spool-{stop_after}"
        submitted = import_file(
            src, actor="customer", account_id=s.customer_id, user=OWNER, settings=small,
            db=trial, spool=spool, wait=False,
        )  # fmt: skip
        with Registry.open(trial) as reg:
            # The embedded runner's context: the registry it holds.
            ctx = Context(replace(small, spool=spool), lambda _db: nullcontext(reg))
            batches = stages.plan(ctx, submitted.job_id)
            assert batches is not None and len(batches) == 4
            for batch in batches[:stop_after]:
                job = submitted.job_id
                assert stages.apply_from(ctx, job, batch, hold_s=0)[0] == [batch]
                assert stages.apply_from(ctx, job, batch, hold_s=0)[0] == []  # again
        resumed = resume_job(submitted.job_id, settings=small, db=trial, spool=spool)
        assert state(trial, s.customer_id).equals(expected_devices)
        assert outcomes(resumed.report.out_dir).equals(expected)  # type: ignore[union-attr]


def test_an_apply_message_goes_on_with_pending_batches(
    tmp_path: Path, env: tuple[Path, Seeded], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Holding the registry, one apply message applies the job's other pending batches too
    (each in its own transaction); the later messages of those batches change nothing. With
    no time to hold on, a message applies its own batch only."""
    db, s = env
    chosen = devices(db, s.customer_id).head(200)
    config = s.configuration_ids[1]
    src = write(tmp_path, HEADER, rows_for(chosen, str(config)))
    spool = tmp_path / "spool-hold"
    small = Settings(batch_rows=50, spool=spool)
    job = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER,
                      settings=small, db=db, wait=False).job_id  # fmt: skip
    with Registry.open(db) as reg:
        ctx = Context(small, lambda _db: nullcontext(reg))  # the embedded runner's
        assert stages.plan(ctx, job) == [0, 1, 2, 3]
        assert stages.apply_from(ctx, job, 2, hold_s=0) == ([2], 3)
        assert stages.apply_from(ctx, job, 1) == ([1, 0, 3], 0)
        assert stages.apply_from(ctx, job, 3) == ([], 0)  # its batch was applied
    after = devices(db, s.customer_id).filter(pl.col("id").is_in(chosen["id"].implode()))
    assert after["configuration_id"].to_list() == [config] * 200


def test_one_finalize_at_a_time(tmp_path: Path) -> None:
    """The finalize lock: a second holder is turned away until the first lets go."""
    folder = JobFolder(tmp_path, "20261202-141500-0a1b2c3d")
    folder.dir.mkdir()
    with (
        exclusive(folder, "finalize") as first,
        exclusive(folder, "finalize") as second,
    ):
        assert first and not second
    with exclusive(folder, "finalize") as again:
        assert again


def test_cli_import_jobs_and_status_page(
    tmp_path: Path, env: tuple[Path, Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    db, s = env
    rows = [
        *rows_for(devices(db, s.customer_id).head(20), str(s.configuration_ids[1])),
        "IMEI,1,,,,ZERO_TOUCH,1",
    ]
    src = write(tmp_path, HEADER, rows)
    code = main(
        [
            "import",
            str(src),
            "--as",
            f"customer:{s.customer_id}",
            "--user",
            OWNER,
            "--db",
            str(db),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1 and "Status page:" in printed
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="rows">21<' in html and "IMEI_FORMAT" in html and "<svg" in html
    message = email.message_from_bytes(
        (tmp_path / "out" / "summary.eml").read_bytes(), policy=email.policy.default
    )
    assert message["To"] == OWNER
    assert "1 rejected" in message["Subject"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "21 data rows" in body.get_content()
    assert main(["jobs", "--db", str(db)]) == 0
    assert "done" in capsys.readouterr().out
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:  # the page as a browser renders it
        dom = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
             (tmp_path / "out" / "report.html").as_uri()],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
        assert 'id="rows">21<' in dom
