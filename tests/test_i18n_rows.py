"""Row messages in every language (issue 12 item 5): each catalogue translates every code's
template and the words around the values with exactly their placeholders; the native core and
the reference engine write the same French messages; `check --lang fr` and ZTBULK_LANG=fr give
French messages and English codes; English stays the default."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from tests.conftest import HEADER, IMEI_OK, IMEI_OK2, TEST_CATALOG
from tests.differential import compare
from ztbulk import Catalog, check
from ztbulk._core import Engine
from ztbulk.cli import main
from ztbulk.codes import CATALOGUE, ROW_CODES, Code, mask_of
from ztbulk.errors import UsageError
from ztbulk.i18n import catalogue, languages
from ztbulk.parse import ParseConfig
from ztbulk.parse.reader import field_names
from ztbulk.report.mail import MAIL_MESSAGES
from ztbulk.report.messages import messages
from ztbulk.settings import Settings
from ztbulk.validate.native import _failing
from ztbulk.wording import BLANK, PLACEHOLDER, row_messages, template, template_pieces, word

OTHERS = [f"IMEI,{IMEI_OK2},,,Google,ZERO_TOUCH,{n}" for n in range(1, 9)]  # 8 targets
ROWS = [
    f"IMEI,{IMEI_OK},,,Google,ZERO_TOUCH,1",  # 2-4: DUPLICATE_CONFLICT, "lines 3, 4"
    f"IMEI,{IMEI_OK},,,Google,ZERO_TOUCH,2",
    f"IMEI,{IMEI_OK},,,Google,ZERO_TOUCH,1",
    "imei,12345,,,Acme,zero_touch,x",  # 5: five codes, three quoting values
    "MEID,zz,,,,ZT,",  # 6
    "IMEI,3.56938E+14,,,Google,ZERO_TOUCH,1",  # 7: IMEI_SCIENTIFIC
    "IMEI,123456789012345,SER 1,,Google,ZERO_TOUCH,1",  # 8: checksum, model, serial
    '"broken,quote',  # 9: ROW_MALFORMED quoting {raw}
    "IMEI,490154203237518,,,Google,ZERO_TOUCH,5",  # 10
    "IMEI,490154203237518,,,Google,ZERO_TOUCH,5",  # 11: DUPLICATE_ROW of line 10
    *OTHERS,  # 12-19: DUPLICATE_CONFLICT, "lines 13, ... and 2 more"
]
FRENCH = {
    2: "Le même appareil figure aussi (lignes 3, 4) avec une autre cible.",
    5: "modemtype imei doit être en majuscules. L'IMEI 12345 n'a pas exactement 15 chiffres. "
    "manufacturer Acme n'est pas dans la liste des fabricants. profiletype zero_touch doit "
    "être ZERO_TOUCH. profileid x n'est pas un entier positif d'au plus 18 chiffres.",
    9: "Le nombre de champs ou les guillemets de l'enregistrement sont incorrects (corrigez "
    'ses virgules et ses guillemets) : "broken,quote',
    11: "Le même appareil avec la même cible figure déjà (ligne 10) ; cette ligne est ignorée.",
    12: "Le même appareil figure aussi (lignes 13, 14, 15, 16, 17 et 2 autres) avec une autre "
    "cible.",
}
OTHER_LANGUAGES = [lang for lang in languages() if lang != "en"]


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def write(tmp_path: Path) -> Path:
    src = tmp_path / "in.csv"
    src.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return src


def test_french_is_a_language_and_others_are_refused() -> None:
    assert "fr" in OTHER_LANGUAGES and languages()[0] == "en"
    with pytest.raises(UsageError, match="ZTBULK_LANG='de'"):
        Settings.from_env({"ZTBULK_LANG": "de"})
    assert Settings.from_env({"ZTBULK_LANG": "fr"}).lang == "fr"
    assert Settings().lang == "en"


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_code_s_template_is_translated_with_its_placeholders(lang: str) -> None:
    for code in Code:
        english, translated = CATALOGUE[code].template, template(code, lang)
        assert translated != english, f"{lang}.po has no translation for {code}"
        assert placeholders(translated) == placeholders(english), code


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_row_and_mail_message_is_translated_with_its_placeholders(lang: str) -> None:
    table = catalogue(lang)
    for message in [*row_messages(), *MAIL_MESSAGES]:
        assert table.get(message), f"{lang}.po has no translation for {message!r}"
        assert placeholders(table[message]) == placeholders(message), message


@pytest.mark.parametrize("chunk_bytes", [ParseConfig().chunk_bytes, 64])
def test_both_engines_write_the_same_french_messages(tmp_path: Path, chunk_bytes: int) -> None:
    """In one chunk, and in chunks of a line or two (the duplicate pass across them)."""
    catalog = Catalog.from_csv(TEST_CATALOG)
    src = write(tmp_path)
    diffs, rows = compare(src, tmp_path / "fr", catalog, lang="fr", chunk_bytes=chunk_bytes)
    assert not diffs, "\n".join(diffs)
    assert rows == len(ROWS)
    for engine in ("native", "reference"):
        got = pl.read_parquet(tmp_path / "fr" / engine / "outcomes.parquet")
        said = dict(zip(got["line"], got["message"], strict=True))
        assert {line: said[line] for line in FRENCH} == FRENCH, engine
        assert got["codes"][3].to_list()[0] == "MODEMTYPE_CASE"  # codes stay English


def test_the_blank_word_is_the_language_s_in_both_renderers() -> None:
    frame = pl.DataFrame({"mask": [mask_of(Code.IMEI_FORMAT)], "modemid": [None]},
                         schema={"mask": pl.UInt64, "modemid": pl.String})  # fmt: skip
    said = messages(frame, frame["mask"].to_list(), "fr").to_list()
    assert said == ["L'IMEI (vide) n'a pas exactement 15 chiffres."]
    # The core says it of a quoted column the header does not have.
    code = Code.MODEMTYPE_CASE
    engine = Engine(delimiter=",", width=1, crlf=False, max_lines=64, max_bytes=1 << 20,
                    columns={"modemtype": 0}, profileid_mode=True, customer=True,
                    manufacturers=[], pairs=[], bits={c.value: c.bit for c in ROW_CODES},
                    messages=[(code.bit, template_pieces(Code.IMEI_FORMAT, "fr"))],
                    blank=word(BLANK, "fr"))  # fmt: skip
    chunk = b"imei\n"
    out = engine.process(chunk, 2, True)
    buffers = [pa.py_buffer(chunk), *(pa.py_buffer(s) for s in out["sides"])]
    failing = _failing(out["failing"], field_names(1), buffers)
    assert failing["message"].to_list() == ["L'IMEI (vide) n'a pas exactement 15 chiffres."]


def test_check_lang_fr_and_ztbulk_lang_give_french_messages_and_english_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src, cat = write(tmp_path), str(TEST_CATALOG)
    assert main(["check", str(src), "--catalog", cat, "--out", str(tmp_path / "o"),
                 "--lang", "fr"]) == 1  # fmt: skip
    assert FRENCH[11] in capsys.readouterr().out
    errors = (tmp_path / "o" / "errors.csv").read_text(encoding="utf-8")
    assert "DUPLICATE_ROW," + FRENCH[11] in errors and "ROW_MALFORMED" in errors
    monkeypatch.setenv("ZTBULK_LANG", "fr")
    assert main(["check", str(src), "--catalog", cat, "--out", str(tmp_path / "e"),
                 "--format", "json"]) == 1  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    first = {f["line"]: f for f in report["first_failures"]}
    assert first[5]["message"] == FRENCH[5] and first[5]["codes"][0] == "MODEMTYPE_CASE"
    # --lang wins over the environment, and a language ztbulk has not is a usage error.
    assert main(["check", str(src), "--catalog", cat, "--out", str(tmp_path / "n"),
                 "--lang", "en"]) == 1  # fmt: skip
    assert "is on line 10; this row is skipped." in capsys.readouterr().out
    monkeypatch.setenv("ZTBULK_LANG", "xx")
    assert main(["check", str(src), "--catalog", cat]) == 2
    assert "ZTBULK_LANG='xx'" in capsys.readouterr().err


def test_english_stays_the_default_and_unchanged(tmp_path: Path) -> None:
    src, catalog = write(tmp_path), Catalog.from_csv(TEST_CATALOG)
    default = check(src, catalog=catalog, out_dir=tmp_path / "default")
    english = check(src, catalog=catalog, out_dir=tmp_path / "en", lang="en")
    assert [f.message for f in default.first_failures] == [
        f.message for f in english.first_failures
    ]
    said = {f.line: f.message for f in default.first_failures}
    assert said[11] == ("The same device with the same target is on line 10; this row is skipped.")
    assert said[12] == (
        "The same device is on lines 13, 14, 15, 16, 17 and 2 more with another target."
    )
    for name in ("errors.csv", "outcomes.parquet"):
        assert (tmp_path / "default" / name).read_bytes() == (tmp_path / "en" / name).read_bytes()
    with pytest.raises(UsageError, match="lang='de'"):
        check(src, catalog=catalog, out_dir=tmp_path / "de", lang="de")
