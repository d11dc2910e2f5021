"""Integrity (issue 14): a plan never writes what the registry no longer allows, a job never
trusts its folder, and the registry refuses twin devices.

The scenario suite plans a job, changes the registry the way other accounts and users would
(the job stopped between plan and apply), then resumes it, and checks the **whole** devices
table against the state a careful user expects: the rows whose device moved are rejected
with a code of their own and write nothing; the others are applied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import duckdb
import polars as pl
import pytest
from stdnum import luhn

from ztbulk.domain import Actor
from ztbulk.errors import InputError, JobWaitingError, UsageError
from ztbulk.jobs import ImportResult, import_file, ledger, resume_job, stages
from ztbulk.jobs.context import Context
from ztbulk.jobs.folder import JobFolder, exclusive
from ztbulk.registry.db import Registry
from ztbulk.registry.schema import MIGRATIONS
from ztbulk.registry.seed import ADMIN, OTHER_OWNER, OWNER, RESELLER_OWNER, Seeded, seed
from ztbulk.registry.service import RegistryService
from ztbulk.settings import Settings

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
OWNER_HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,owner"
SECOND_RESELLER = "owner@second-reseller.example"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Seeded]:
    monkeypatch.chdir(tmp_path)  # the default spool, ./ztbulk-jobs, is the test's own
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        seeded = seed(reg, 200, other_devices=20)
    return db, seeded


def table(db: Path) -> pl.DataFrame:
    """Every device of every account, without timestamps (they say when, not what)."""
    with Registry.open(db) as reg:
        frame: pl.DataFrame = reg.con.sql("SELECT * FROM devices ORDER BY id").pl()
    return frame.drop("created_at", "updated_at")


def mine(db: Path, customer: int, n: int, where: str = "imei IS NOT NULL") -> pl.DataFrame:
    with Registry.open(db) as reg:
        frame: pl.DataFrame = reg.con.sql(
            f"SELECT * FROM devices WHERE customer_id = ? AND {where} ORDER BY id LIMIT ?",
            params=[customer, n],
        ).pl()
    return frame


def rows(frame: pl.DataFrame, target: object) -> list[str]:
    return [
        f"IMEI,{d['imei']},,{d['model']},{d['manufacturer']},ZERO_TOUCH,{target}"
        for d in frame.iter_rows(named=True)
    ]


def write(tmp_path: Path, header: str, lines: list[str], name: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def outcomes(result: ImportResult) -> pl.DataFrame:
    assert result.report is not None
    return pl.read_parquet(Path(result.report.out_dir) / "outcomes.parquet")


def planned(path: Path, actor: str, account_id: int, user: str, db: Path, spool: Path) -> str:
    """Submit a job and plan it, as a job stopped between planning and applying is left."""
    job = import_file(
        path, actor=actor, account_id=account_id, user=user, db=db, spool=spool, wait=False
    ).job_id
    with Registry.open(db) as reg:
        stages.plan(Context(Settings(spool=spool), lambda _db: nullcontext(reg)), job)
    return job


def planned_unclaim(tmp_path: Path, db: Path, s: Seeded) -> tuple[str, Path]:
    """A planned job of the customer's admin unclaiming three of its devices; its spool."""
    src = write(tmp_path, OWNER_HEADER, rows(mine(db, s.customer_id, 3), 0), "a.csv")
    spool = tmp_path / "spool"
    return planned(src, "customer", s.customer_id, ADMIN, db, spool), spool


def move_to_other_customer(db: Path, s: Seeded, device: dict[str, object], tmp: Path) -> None:
    """What other accounts do meanwhile: the reseller unclaims the device, and claims it for
    the other customer (who has enabled the reseller)."""
    with Registry.open(db) as reg:
        svc = RegistryService(reg)
        svc.set_reseller(svc.principal(OTHER_OWNER), s.reseller_id, True)
    frame = pl.DataFrame([device])
    for target, name in ((0, "release.csv"), (s.other_customer_id, "claim-other.csv")):
        src = write(tmp, OWNER_HEADER, rows(frame, target), name)
        import_file(src, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER, db=db)


def with_changes(before: pl.DataFrame, ids: list[int], **values: object) -> pl.DataFrame:
    """`before` with `values` set on the devices `ids`."""
    hit = pl.col("id").is_in(ids)
    return before.with_columns(
        **{k: pl.when(hit).then(pl.lit(v)).otherwise(pl.col(k)) for k, v in values.items()}
    )


@pytest.mark.parametrize("mode", ["unclaim", "profileid"])
def test_a_device_moved_to_another_account_after_planning_is_not_touched(
    tmp_path: Path, env: tuple[Path, Seeded], mode: str
) -> None:
    """Customer A's job (unclaim, or apply a configuration) is planned; one of its devices is
    then unclaimed and claimed for customer B by the reseller. Resumed, the job leaves B's
    device exactly as it is (DEVICE_CHANGED) and applies every other row."""
    db, s = env
    chosen = mine(db, s.customer_id, 10)
    config = s.configuration_ids[2]
    header, target = (OWNER_HEADER, 0) if mode == "unclaim" else (HEADER, config)
    src = write(tmp_path, header, rows(chosen, target), "a.csv")
    spool = tmp_path / "spool"
    job = planned(src, "customer", s.customer_id, ADMIN, db, spool)
    moved = chosen.row(0, named=True)
    move_to_other_customer(db, s, moved, tmp_path)
    before = table(db)
    assert before.filter(pl.col("id") == moved["id"])["customer_id"][0] == s.other_customer_id

    got = outcomes(resume_job(job, db=db, spool=spool))

    assert got["codes"][0].to_list() == ["DEVICE_CHANGED"] and got["outcome"][0] == "rejected"
    rest = chosen["id"].to_list()[1:]
    if mode == "unclaim":
        expected = with_changes(before, rest, customer_id=None, configuration_id=None)
        assert set(got["outcome"][1:]) == {"unclaimed"}
    else:
        expected = with_changes(before, rest, configuration_id=config)
        assert set(got["outcome"][1:]) <= {"applied", "unchanged"}
    assert table(db).equals(expected.cast(before.schema))  # the whole table


def test_a_device_another_reseller_registered_meanwhile_is_not_created_twice(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    with Registry.open(db) as reg:
        svc = RegistryService(reg)
        second = svc.add_account(Actor.RESELLER, "Second Reseller", SECOND_RESELLER)["id"]
        svc.set_reseller(svc.principal(OWNER), second, True)
    new = [
        f"IMEI,{imei},,SM-A155M,Samsung,ZERO_TOUCH,{s.customer_id}"
        for imei in ("490154203237518", "356938035643809")  # Luhn-valid, not in the registry
    ]
    src = write(tmp_path, OWNER_HEADER, new, "claims.csv")
    spool = tmp_path / "spool"
    job = planned(src, "reseller", s.reseller_id, RESELLER_OWNER, db, spool)
    other = write(tmp_path, OWNER_HEADER, new[:1], "other.csv")
    first = import_file(other, actor="reseller", account_id=second, user=SECOND_RESELLER, db=db)
    assert outcomes(first)["outcome"].to_list() == ["claimed"]
    before = table(db)

    got = outcomes(resume_job(job, db=db, spool=spool))

    assert got["outcome"].to_list() == ["rejected", "claimed"]
    assert got["codes"][0].to_list() == ["DEVICE_CHANGED"] and got["device_id"][0] is None
    after = table(db)
    assert after.filter(pl.col("imei") == "490154203237518")["reseller_id"].to_list() == [second]
    assert after.height == before.height + 1  # only the second row's device is new
    assert after.filter(pl.col("id").is_in(before["id"].implode())).equals(before)


def test_a_configuration_deleted_after_planning_is_not_applied(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    with Registry.open(db) as reg:
        svc = RegistryService(reg)
        new = svc.add_config(
            svc.principal(OWNER), {"name": "Short-lived", "emm_dpc": "x/.Y", "company_name": "E"},
            False,
        )["id"]  # fmt: skip
    chosen = mine(db, s.customer_id, 5)
    src = write(tmp_path, HEADER, rows(chosen, new), "a.csv")
    spool = tmp_path / "spool"
    job = planned(src, "customer", s.customer_id, OWNER, db, spool)
    with Registry.open(db) as reg:
        svc = RegistryService(reg)
        svc.delete_config(svc.principal(OWNER), new)  # applied to no device yet: allowed
    before = table(db)

    got = outcomes(resume_job(job, db=db, spool=spool))

    assert got["codes"].to_list() == [["CONFIGURATION_NOT_FOUND"]] * 5
    assert table(db).equals(before)


def test_two_jobs_of_one_account_queued_together_end_as_run_in_order(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    """The same reseller file submitted twice before either ran: the second job waits for the
    first, plans against what it left (`unchanged`), and the registry ends as after the two run
    one after the other; no device is registered twice."""
    db, s = env
    bodies = [f"35693803564{n:03d}" for n in range(50)]
    claims = [
        f"IMEI,{b}{luhn.calc_check_digit(b)},,SM-A155M,Samsung,ZERO_TOUCH,{s.customer_id}"
        for b in bodies
    ]
    src = write(tmp_path, OWNER_HEADER, claims, "claims.csv")
    reference = tmp_path / "reference.duckdb"
    shutil.copy(db, reference)
    in_order = [
        outcomes(
            import_file(
                src, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER,
                db=reference, spool=tmp_path / "spool-ref",
            )
        )
        for _ in range(2)
    ]  # fmt: skip
    spool = tmp_path / "spool"
    first, second = (
        import_file(
            src,
            actor="reseller",
            account_id=s.reseller_id,
            user=RESELLER_OWNER,
            db=db,
            spool=spool,
            wait=False,
        )
        for _ in range(2)
    )
    with pytest.raises(JobWaitingError, match=first.job_id):
        resume_job(second.job_id, db=db, spool=spool)
    with pytest.raises(UsageError, match=f"Job {first.job_id} of this account is not finished"):
        import_file(
            src, actor="reseller", account_id=s.reseller_id, user=RESELLER_OWNER, db=db, spool=spool
        )
    queued = [outcomes(resume_job(j.job_id, db=db, spool=spool)) for j in (first, second)]

    assert set(queued[0]["outcome"]) == {"claimed"} and set(queued[1]["outcome"]) == {"unchanged"}
    for got, expected in zip(queued, in_order, strict=True):
        assert got.equals(expected)
    assert table(db).equals(table(reference))
    assert table(db)["imei"].drop_nulls().is_unique().all()


@pytest.mark.parametrize(
    ("column", "value_of"),
    [
        ("imei", lambda d: d["imei"]),
        ("imei2", lambda d: d["imei2"]),
        ("meid", lambda d: str(d["meid"]).lower()),  # MEIDs compare in any case
        ("serial", lambda d: d["serial"]),
    ],
)
def test_the_registry_refuses_a_twin_device(
    env: tuple[Path, Seeded], column: str, value_of: Callable[[dict[str, object]], object]
) -> None:
    """Whatever writes to it, the registry keeps each identifier on one device."""
    db, _ = env
    with Registry.open(db) as reg:
        known = reg.con.sql(f"SELECT * FROM devices WHERE {column} IS NOT NULL LIMIT 1").pl()
        d = known.row(0, named=True)
        model = str(d["model"]).upper()  # serial + model + maker compare without case
        with pytest.raises(duckdb.ConstraintException, match="Duplicate key"):
            reg.con.execute(
                f"INSERT INTO devices (id, {column}, model, manufacturer) VALUES (0, ?, ?, ?)",
                [value_of(d), model, str(d["manufacturer"]).lower()],
            )


# -- a job never trusts its folder -----------------------------------------------------------


def test_a_job_id_that_is_not_one_is_refused(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    db, _ = env
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "input.csv").write_text("modemtype\n", encoding="utf-8")
    for job_id in ("../evil", "20261202-141500-0a1b2c3d/../../evil", "x\nBcc: a@b"):
        with pytest.raises(UsageError, match="is not a job id"):
            resume_job(job_id, db=db, spool=tmp_path / "spool")
    with Registry.open(db) as reg:
        assert ledger.list_jobs(reg) == []


def test_a_hand_written_job_folder_is_not_run(tmp_path: Path, env: tuple[Path, Seeded]) -> None:
    """A folder with a well-formed id, naming an unknown user and another account's id, and
    a file unclaiming that account's devices: the ledger never knew it, so nothing runs, and
    no device changes."""
    db, s = env
    spool = tmp_path / "spool"
    folder = JobFolder(spool, "20261202-141500-0a1b2c3d")
    folder.dir.mkdir(parents=True)
    theirs = mine(db, s.other_customer_id, 5)
    write(folder.dir, OWNER_HEADER, rows(theirs, 0), "input.csv")
    spec = {"id": folder.id, "actor": "customer", "account_id": s.other_customer_id,
            "user": "intruder@example.com", "file_name": "x.csv", "size": 1, "sha256": "0",
            "db": str(db.resolve()), "out_dir": str(tmp_path / "o"),
            "created_at": "now"}  # fmt: skip
    folder.spec_file.write_text(json.dumps(spec), encoding="utf-8")
    before = table(db)
    with pytest.raises(UsageError, match=f"No job {folder.id}"):
        resume_job(folder.id, db=db, spool=spool)
    assert table(db).equals(before)
    with Registry.open(db) as reg:
        assert ledger.list_jobs(reg) == []


def test_who_imports_comes_from_the_ledger_not_the_folder(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    """job.json rewritten after submit (another account, user and output folder): the job
    still runs as the ledger's user for the ledger's account, writing where the ledger says."""
    db, s = env
    chosen, theirs = mine(db, s.customer_id, 3), mine(db, s.other_customer_id, 3)
    src = write(tmp_path, OWNER_HEADER, rows(chosen, 0) + rows(theirs, 0), "a.csv")
    spool = tmp_path / "spool"
    job = import_file(src, actor="customer", account_id=s.customer_id, user=ADMIN, db=db,
                      spool=spool, out_dir=tmp_path / "out", wait=False).job_id  # fmt: skip
    folder = JobFolder(spool, job)
    forged = json.loads(folder.spec_file.read_text(encoding="utf-8"))
    forged |= {"account_id": s.other_customer_id, "user": OTHER_OWNER,
               "out_dir": str(tmp_path / "forged")}  # fmt: skip
    folder.spec_file.write_text(json.dumps(forged), encoding="utf-8")

    got = outcomes(resume_job(job, db=db, spool=spool))

    assert got["outcome"].to_list() == ["unclaimed"] * 3 + ["rejected"] * 3
    assert (tmp_path / "out" / "report.json").exists() and not (tmp_path / "forged").exists()
    assert mine(db, s.other_customer_id, 3).equals(theirs)  # the other account's, untouched


def test_a_spooled_input_changed_after_submit_is_refused(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    chosen = mine(db, s.customer_id, 3)
    src = write(tmp_path, HEADER, rows(chosen, s.configuration_ids[1]), "a.csv")
    spool = tmp_path / "spool"
    job = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                      spool=spool, wait=False).job_id  # fmt: skip
    forged = src.read_text(encoding="utf-8").replace(
        f",{s.configuration_ids[1]}\n", f",{s.configuration_ids[2]}\n"
    )
    (spool / job / "input.csv").write_text(forged, encoding="utf-8")
    before = table(db)
    with pytest.raises(InputError, match="not the file it was submitted with"):
        resume_job(job, db=db, spool=spool)
    assert table(db).equals(before)


def test_a_user_removed_since_submitting_cannot_resume(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    job, spool = planned_unclaim(tmp_path, db, s)
    with Registry.open(db) as reg:
        svc = RegistryService(reg)
        svc.remove_user(svc.principal(OWNER), ADMIN)
    before = table(db)
    with pytest.raises(UsageError, match=ADMIN):
        resume_job(job, db=db, spool=spool)
    assert table(db).equals(before)


def test_staged_paths_outside_the_job_folder_are_refused(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    job, spool = planned_unclaim(tmp_path, db, s)
    staged = JobFolder(spool, job).staged
    data = json.loads(staged.read_text(encoding="utf-8"))
    elsewhere = tmp_path / "elsewhere.parquet"
    shutil.copy(data["parts"][0][0], elsewhere)
    data["parts"][0][0] = str(elsewhere)
    staged.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(UsageError, match="outside its folder"):
        resume_job(job, db=db, spool=spool)


# -- a stop before the job exists ------------------------------------------------------------


def test_an_input_that_cannot_be_read_leaves_no_job_behind(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    """/proc/self/mem is a regular file that fails every read (even for root)."""
    db, s = env
    spool = tmp_path / "spool"
    with pytest.raises(InputError, match="cannot be read") as caught:
        import_file("/proc/self/mem", actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                    spool=spool)  # fmt: skip
    assert caught.value.exit_code == 2
    assert not list(spool.iterdir())
    with Registry.open(db) as reg:
        assert ledger.list_jobs(reg) == []


def test_a_submit_killed_before_the_ledger_knew_it_is_cleaned_by_resume(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    """The folder of a killed submit (it names this registry, holds half an input, and the
    ledger has no row for it) is recognised and removed; one whose submit is still running
    (it holds the submit lock) is left alone, and so is one naming another registry."""
    db, _ = env
    spool = tmp_path / "spool"
    folder = JobFolder(spool, "20261202-141500-0a1b2c3d")
    folder.dir.mkdir(parents=True)
    (folder.dir / "input.csv").write_text("half a file", encoding="utf-8")
    folder.registry_file.write_text(str(tmp_path / "other.duckdb"), encoding="utf-8")
    with pytest.raises(UsageError, match="No job"):
        resume_job(folder.id, db=db, spool=spool)
    assert folder.dir.exists()  # another registry's, maybe
    folder.registry_file.write_text(str(db.resolve()), encoding="utf-8")
    with exclusive(folder, "submit") as held:
        assert held
        with pytest.raises(UsageError, match="No job"):
            resume_job(folder.id, db=db, spool=spool)
        assert folder.dir.exists()
    with pytest.raises(UsageError, match="stopped while it was being submitted"):
        resume_job(folder.id, db=db, spool=spool)
    assert not folder.dir.exists()


# -- files a user would not share --------------------------------------------------------------


def test_what_ztbulk_writes_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The CLI creates the registry, the spool, job folders and reports 0600 / 0700."""
    env = os.environ | {"ZTBULK_SPOOL": str(tmp_path / "spool")}
    env.pop("ZTBULK_BROKER_URL", None)
    demo = [sys.executable, "-m", "ztbulk", "demo", "--dir", str(tmp_path / "d"),
            "--devices", "300", "--rows", "200"]  # fmt: skip
    subprocess.run(demo, env=env, check=True, capture_output=True, timeout=300)
    d = tmp_path / "d"
    assert oct((d / "demo.duckdb").stat().st_mode & 0o777) == oct(0o600)
    [job] = list((d / "jobs").iterdir())
    for folder in (d / "jobs", job, d / "import"):
        assert oct(folder.stat().st_mode & 0o777) == oct(0o700), folder
    for file in (job / "input.csv", d / "import" / "report.json", d / "import" / "errors.csv"):
        assert oct(file.stat().st_mode & 0o777) == oct(0o600), file


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_import_refuses_what_is_not_a_plain_file_and_leaves_no_job(
    tmp_path: Path, env: tuple[Path, Seeded], kind: str
) -> None:
    db, s = env
    path = {"fifo": tmp_path / "pipe", "device": Path("/dev/zero"), "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    spool = tmp_path / "spool"
    with pytest.raises(InputError, match="not a plain file") as caught:
        import_file(path, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                    spool=spool)  # fmt: skip
    assert caught.value.exit_code == 2 and not spool.exists()
    with Registry.open(db) as reg:
        assert ledger.list_jobs(reg) == []


# -- what a review of the change found -----------------------------------------------------


def test_a_plan_message_that_comes_again_does_not_plan_a_job_again(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    """Dramatiq delivers at least once: a plan message of a job already planned (here done)
    changes nothing, instead of re-deciding its rows against a registry that has moved."""
    db, s = env
    src = write(tmp_path, OWNER_HEADER, rows(mine(db, s.customer_id, 3), 0), "a.csv")
    done = import_file(src, actor="customer", account_id=s.customer_id, user=ADMIN, db=db)
    before = outcomes(done)
    spool = tmp_path / "ztbulk-jobs"
    with Registry.open(db) as reg:
        ctx = Context(Settings(spool=spool), lambda _db: nullcontext(reg))
        assert stages.plan(ctx, done.job_id) is None
        assert ledger.job_row(reg, done.job_id)["state"] == "done"
    assert outcomes(done).equals(before)


def test_a_plan_edited_to_create_a_device_with_a_taken_id_is_refused(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    new = f"IMEI,490154203237518,,SM-A155M,Samsung,ZERO_TOUCH,{s.customer_id}"
    src = write(tmp_path, OWNER_HEADER, [new], "claim.csv")
    spool = tmp_path / "spool"
    job = planned(src, "reseller", s.reseller_id, RESELLER_OWNER, db, spool)
    theirs = int(str(mine(db, s.other_customer_id, 1)["id"][0]))
    [part] = list((JobFolder(spool, job).plan).glob("*.parquet"))
    pl.read_parquet(part).with_columns(device_id=pl.lit(theirs, pl.Int64)).write_parquet(part)
    before = table(db)
    got = outcomes(resume_job(job, db=db, spool=spool))
    assert got["codes"].to_list() == [["DEVICE_CHANGED"]]
    assert table(db).equals(before)


def test_a_worker_never_writes_ztbulk_tables_into_a_file_a_folder_names(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(UsageError, match="not a ztbulk registry"):
        Registry.open(other, migrate=False)
    with duckdb.connect(str(other)) as con:
        assert con.sql("SELECT count(*) FROM information_schema.tables").fetchall() == [(0,)]


def test_a_registry_holding_twins_says_so_instead_of_failing_to_upgrade(tmp_path: Path) -> None:
    """Twins older ztbulk could create block the version that refuses them: the user is told
    what to do, in one sentence, not given a constraint traceback."""
    db = tmp_path / "v2.duckdb"
    with duckdb.connect(str(db)) as con:
        for version in (1, 2):
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
        con.execute(
            "INSERT INTO devices (id, imei, manufacturer) VALUES (1, '490154203237518', 'x'), "
            "(2, '490154203237518', 'x')"
        )
    with pytest.raises(UsageError, match="holds twin devices"):
        Registry.open(db)


def test_a_dry_run_leaves_unnumbered_devices_as_they_are(
    tmp_path: Path, env: tuple[Path, Seeded]
) -> None:
    db, s = env
    d = mine(db, s.customer_id, 1).row(0, named=True)
    with Registry.open(db) as reg:  # as a writer that does not number identifiers leaves it
        reg.con.execute("UPDATE devices SET imei_n = NULL WHERE id = ?", [d["id"]])
    src = write(tmp_path, OWNER_HEADER, rows(mine(db, s.customer_id, 1), 0), "a.csv")
    before = table(db)
    dry = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                      dry_run=True)  # fmt: skip
    assert outcomes(dry)["outcome"].to_list() == ["unclaimed"]  # resolved all the same
    assert table(db).equals(before)
