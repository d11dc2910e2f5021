"""Row messages in every language (issue 12 item 5): each catalogue translates every code's
template and the words around the values with exactly their placeholders; the native core and
the reference engine write the same French messages, and English codes; English stays the
default."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from tests.conftest import HEADER, IMEI_OK, IMEI_OK2, TEST_CATALOG
from tests.differential import compare
from ztbulk import Catalog, check
from ztbulk._core import Engine
from ztbulk.codes import CATALOGUE, ROW_CODES, Code, mask_of
from ztbulk.errors import UsageError
from ztbulk.i18n import catalogue, languages
from ztbulk.parse import ParseConfig
from ztbulk.parse.reader import field_names
from ztbulk.report.messages import messages
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
    with pytest.raises(UsageError, match="lang='de'"):
        check(Path("in.csv"), lang="de")


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_code_s_template_is_translated_with_its_placeholders(lang: str) -> None:
    for code in Code:
        english, translated = CATALOGUE[code].template, template(code, lang)
        assert translated != english, f"{lang}.po has no translation for {code}"
        assert placeholders(translated) == placeholders(english), code


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_row_message_is_translated_with_its_placeholders(lang: str) -> None:
    table = catalogue(lang)
    for message in row_messages():
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
