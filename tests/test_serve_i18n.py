"""English and French (issue 12 item 5, for the web page and the status page): every message
of the pages has a French translation with the same placeholders, and the pages come in the
language of the request's Accept-Language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import World, csv_bytes, finished, served, upload
from ztbulk.http.i18n import catalogue, languages, negotiate
from ztbulk.http.web import all_messages
from ztbulk.registry.seed import OWNER
from ztbulk.report import html

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def status_page_messages() -> list[str]:
    """Every message of the status page: its `_("...")` calls and the constants it passes."""
    source = Path(html.__file__).read_text(encoding="utf-8")
    return [
        *re.findall(r'_\(["\']([^"\']+)["\']\)', source),
        html.SUMMARY,
        html.FAILURES_NOTE,
        html.REFUSED,
    ]


@pytest.mark.parametrize("lang", [lang for lang in languages() if lang != "en"])
def test_each_catalogue_translates_every_message(lang: str) -> None:
    messages = all_messages() + status_page_messages()
    assert len(messages) > 40
    table = catalogue(lang)
    missing = [m for m in messages if not table.get(m)]
    assert not missing, f"{lang}.po has no translation for {missing}"
    for message in messages:  # a placeholder lost or misspelt would show as {name}
        assert sorted(PLACEHOLDER.findall(table[message])) == sorted(PLACEHOLDER.findall(message))


def test_the_language_is_negotiated() -> None:
    assert negotiate("fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert negotiate("de-DE,de;q=0.9,fr;q=0.5") == "fr"  # the best one we have
    assert negotiate("en;q=0.5,fr;q=0.4") == "en"
    assert negotiate("de") == negotiate(None) == negotiate("fr;q=0") == negotiate("ü;;") == "en"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with served(tmp_path_factory.mktemp("i18n")) as w:
        yield w


def test_the_web_page_speaks_the_reader_s_language(world: World) -> None:
    with world.client(None) as anonymous:
        french = anonymous.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        english = anonymous.get("/", headers={"Accept-Language": "en-GB"})
    assert '<html lang="fr">' in french.text and "Se connecter" in french.text
    assert "Envoi de {name}" in french.text  # the script's messages, in the page's JSON
    assert french.headers["content-language"] == "fr"
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    assert "[[" not in french.text + english.text


def test_the_status_page_speaks_the_reader_s_language(world: World) -> None:
    header = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
    with world.client(OWNER) as client:
        job = finished(client, upload(client, csv_bytes(header, ["IMEI,1,,,Google,ZERO_TOUCH,1"]))
                       .json()["id"])  # fmt: skip
    link = job["links"]["status_page"]
    with world.client(None) as anonymous:
        french = anonymous.get(link, headers={"Accept-Language": "fr"})
        english = anonymous.get(link)
    assert french.status_code == english.status_code == 200
    assert '<html lang="fr">' in french.text and "<h2>Résultats</h2>" in french.text
    assert "lignes de données" in french.text and 'id="rows">1<' in french.text
    assert "IMEI_FORMAT" in french.text  # codes stay English: they are interface
    assert "<h2>Outcomes</h2>" in english.text and "Résultats" not in english.text


def test_an_upload_from_a_french_browser_gets_french_row_messages(world: World) -> None:
    header = "modemtype,modemid,serial,model,manufacturer,profiletype,profileid"
    body = csv_bytes(header, ["IMEI,1,,,Google,ZERO_TOUCH,1"])
    french_browser = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"}
    with world.client(OWNER) as client:
        french = finished(client, upload(client, body, headers=french_browser).json()["id"])
        english = finished(client, upload(client, body).json()["id"])
        errors = [client.get(j["links"]["errors.csv"]).text for j in (french, english)]
        fr_mail = client.get(french["links"]["summary.eml"]).text
        fr_page = client.get(french["links"]["report.html"]).text
    assert "IMEI_FORMAT,L'IMEI 1 n'a pas exactement 15 chiffres." in errors[0]  # codes: English
    assert "IMEI_FORMAT,IMEI 1 is not exactly 15 digits." in errors[1]
    assert "Subject: Import ztbulk de in.csv" in fr_mail
    assert '<html lang="fr">' in fr_page and "L&#x27;IMEI 1 n&#x27;a pas exactement" in fr_page
