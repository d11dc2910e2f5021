"""An import in French (issue 12 item 5): its row messages (section 3, duplicates, the
registry's codes and the note on a repeat of a rejected line), report.html and summary.eml
are French and its codes English; the job keeps its language in its folder, so whichever
process runs it later (a worker, `job resume`) writes them in that language."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import polars as pl
import pytest

from ztbulk.cli import main
from ztbulk.jobs import import_file, resume_job
from ztbulk.jobs.folder import JobFolder
from ztbulk.registry.db import Registry
from ztbulk.registry.seed import ADMIN, OWNER, Seeded, seed
from ztbulk.settings import Settings

HEADER = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Seeded, Path, str]:
    """The registry, its accounts, a file with codes of every kind, and the wrong maker."""
    db = tmp_path / "reg.duckdb"
    with Registry.open(db, create=True) as reg:
        s = seed(reg, 20, other_devices=5)
        mine = reg.all(f"SELECT imei, manufacturer FROM devices WHERE customer_id = "
                       f"{s.customer_id} AND imei IS NOT NULL ORDER BY id LIMIT 2")  # fmt: skip
        theirs = reg.all(f"SELECT imei, manufacturer FROM devices WHERE customer_id = "
                         f"{s.other_customer_id} AND imei IS NOT NULL LIMIT 1")  # fmt: skip
    wrong = "Zebra" if mine[1][1] != "Zebra" else "Google"
    rows = [
        f"IMEI,{mine[0][0]},,,{mine[0][1]},ZERO_TOUCH,{s.configuration_ids[0]}",  # 2: applied
        f"IMEI,{theirs[0][0]},,,{theirs[0][1]},ZERO_TOUCH,{s.configuration_ids[0]}",  # 3
        f"IMEI,{theirs[0][0]},,,{theirs[0][1]},ZERO_TOUCH,{s.configuration_ids[0]}",  # 4
        f"IMEI,{mine[1][0]},,,{wrong},ZERO_TOUCH,{s.configuration_ids[0]}",  # 5: mismatch
        "IMEI,12345,,,Google,ZERO_TOUCH,1",  # 6: IMEI_FORMAT
    ]
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return db, s, src, wrong


def messages(out: Path) -> dict[int, tuple[list[str], str]]:
    got = pl.read_parquet(out / "outcomes.parquet")
    rows = got.select("line", "codes", "message").iter_rows()
    return {line: (list(codes), message) for line, codes, message in rows}


def assert_french(out: Path, wrong_maker: str) -> None:
    said = messages(out)
    assert said[2] == ([], "")
    assert said[3] == (["DEVICE_NOT_FOUND"], "Aucun appareil correspondant dans ce compte.")
    assert said[4] == (["DUPLICATE_ROW"], "Le même appareil avec la même cible figure déjà "
                       "(ligne 3) ; cette ligne est ignorée. La ligne 3, que cette ligne répète, "
                       "a été rejetée (DEVICE_NOT_FOUND) : l'appareil n'a pas été mis à jour par "
                       "ce fichier ; corrigez la ligne 3 et importez de nouveau.")  # fmt: skip
    assert said[5] == (["MANUFACTURER_MISMATCH"], "L'appareil est enregistré avec un autre "
                       f"fabricant que {wrong_maker}.")  # fmt: skip
    assert said[6] == (["IMEI_FORMAT"], "L'IMEI 12345 n'a pas exactement 15 chiffres.")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "<h2>Résultats</h2>" in page
    assert "Aucun appareil correspondant" in page and "DEVICE_NOT_FOUND" in page
    mail = email.message_from_bytes((out / "summary.eml").read_bytes(), policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    subject = mail["Subject"]
    assert subject.startswith("Import ztbulk de in.csv : ") and "3 rejected" in subject
    plain, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and html is not None
    assert "(tâche " in plain.get_content() and "5 lignes de données." in plain.get_content()
    assert "la page d'état est jointe" in plain.get_content()
    assert "<h2>Résultats</h2>" in html.get_content()
    [attached] = list(mail.iter_attachments())
    assert '<html lang="fr">' in attached.get_content()


def test_an_import_in_french_writes_french_messages_page_and_mail(
    tmp_path: Path, env: tuple[Path, Seeded, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, s, src, wrong = env
    code = main(["import", str(src), "--as", f"customer:{s.customer_id}", "--user", OWNER,
                 "--db", str(db), "--spool", str(tmp_path / "spool"), "--out",
                 str(tmp_path / "fr"), "--lang", "fr"])  # fmt: skip
    assert code == 1 and "Aucun appareil correspondant" in capsys.readouterr().out
    assert_french(tmp_path / "fr", wrong)
    english = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, db=db,
                          spool=tmp_path / "spool", out_dir=tmp_path / "en")  # fmt: skip
    assert english.report is not None
    said = messages(tmp_path / "en")
    assert said[3] == (["DEVICE_NOT_FOUND"], "No matching device in this account.")
    assert '<html lang="en">' in (tmp_path / "en" / "report.html").read_text(encoding="utf-8")


def test_the_job_keeps_its_language_for_whoever_runs_it(
    tmp_path: Path, env: tuple[Path, Seeded, Path, str]
) -> None:
    db, s, src, wrong = env
    spool = tmp_path / "spool"
    french = Settings(db=db, spool=spool, lang="fr")
    submitted = import_file(src, actor="customer", account_id=s.customer_id, user=OWNER,
                            settings=french, out_dir=tmp_path / "out", wait=False)  # fmt: skip
    assert submitted.report is None  # only submitted: nothing ran yet
    folder = JobFolder(spool, submitted.job_id)
    assert folder.lang_file.read_text(encoding="utf-8") == "fr"
    assert json.loads(folder.spec_file.read_text(encoding="utf-8"))["lang"] == "fr"
    # Run later by a process whose own setting is English: the job's language wins.
    resumed = resume_job(submitted.job_id, settings=Settings(db=db, spool=spool, lang="en"))
    assert resumed.report is not None
    assert_french(tmp_path / "out", wrong)


def test_a_folder_without_a_language_or_with_an_unknown_one_is_english(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path, "20261202-141500-0a1b2c3d")
    folder.dir.mkdir()
    assert folder.lang() == "en"
    folder.lang_file.write_text("xx", encoding="utf-8")
    assert folder.lang() == "en"
    folder.lang_file.write_text("fr", encoding="utf-8")
    assert folder.lang() == "fr"


def test_the_users_language_is_their_jobs_unless_the_command_names_one(
    tmp_path: Path, env: tuple[Path, Seeded, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Precedence: --lang, else the user's language (`user lang`), else ZTBULK_LANG."""
    db, s, src, wrong = env
    spool, base = tmp_path / "spool", ["--db", str(db), "--json"]
    assert main(["user", "lang", OWNER, "fr", "--as", OWNER, *base]) == 0
    listed = (capsys.readouterr(), main(["user", "list", "--as", OWNER, *base]))[1]
    assert listed == 0 and {"email": OWNER, "role": "owner", "lang": "fr"} in json.loads(
        capsys.readouterr().out
    )
    english = Settings(db=db, spool=spool, lang="en")
    import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, settings=english,
                out_dir=tmp_path / "theirs")  # fmt: skip
    assert_french(tmp_path / "theirs", wrong)
    import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, settings=english,
                out_dir=tmp_path / "named", lang="en")  # fmt: skip
    assert messages(tmp_path / "named")[3][1] == "No matching device in this account."
    assert main(["user", "lang", OWNER, "default", "--as", OWNER, *base]) == 0
    french = Settings(db=db, spool=spool, lang="fr")
    import_file(src, actor="customer", account_id=s.customer_id, user=OWNER, settings=french,
                out_dir=tmp_path / "env")  # fmt: skip
    assert_french(tmp_path / "env", wrong)


def test_only_the_owner_sets_another_users_language(
    tmp_path: Path, env: tuple[Path, Seeded, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _s, _src, _wrong = env
    base = ["--db", str(db)]
    assert main(["user", "lang", OWNER, "fr", "--as", ADMIN, *base]) != 0
    assert "owner" in capsys.readouterr().err
    assert main(["user", "lang", ADMIN, "fr", "--as",
                 ADMIN, *base]) == 0  # fmt: skip
    assert main(["user", "lang", "nobody@customer.example", "fr", "--as", OWNER, *base]) != 0
