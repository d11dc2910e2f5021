"""The web page's and the status page's languages: English, and one gettext catalogue per
other language (`locales/LANG.po`, read with Babel), so that adding a language is adding a
file. The language comes from the request's Accept-Language; codes stay English (they are
interface), and so do the row messages of the reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib.resources import files

from babel.messages.pofile import read_po

LOCALES = files("ztbulk.http") / "locales"
SOURCE = "en"  # the language the messages are written in
Translate = Callable[[str], str]
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The translations of `lang` (message: translation); empty for English."""
    if lang == SOURCE:
        return {}
    with (LOCALES / f"{lang}.po").open("rb") as po:
        found = read_po(po, locale=lang)
    return {str(m.id): str(m.string) for m in found if m.id and m.string}


@cache
def languages() -> tuple[str, ...]:
    po = sorted(p.name.removesuffix(".po") for p in LOCALES.iterdir() if p.name.endswith(".po"))
    return (SOURCE, *po)


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (RFC 9110): by weight, then
    order; a region (`fr-CH`) matches its language; none we have: English."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")[:32]):
        match = _RANGE.match(part)
        if match is None:
            continue
        try:
            weight = float(match.group(2) or 1)
        except ValueError:
            continue
        ranked.append((-weight, n, match.group(1).lower()))
    for weight, _n, lang in sorted(ranked):
        if weight < 0 and lang in languages():
            return lang
    return SOURCE


def translator(lang: str) -> Translate:
    table = catalogue(lang)
    return lambda message: table.get(message, message)
