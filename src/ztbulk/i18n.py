"""ztbulk's languages: English, and one gettext catalogue per other language
(`locales/LANG.po`, read with Babel), so that adding a language is adding a file.

One catalogue a language holds every message: the web page's and the status page's
(`http`), the summary e-mail's, and the row messages of the reports (`wording`). Codes and
outcomes stay English: they are interface.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files

from ztbulk.errors import UsageError

LOCALES = files("ztbulk") / "locales"
SOURCE = "en"  # the language the messages are written in
Translate = Callable[[str], str]


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The translations of `lang` (message: translation); empty for English."""
    if lang == SOURCE:
        return {}
    # Babel is read only by a run in another language: English runs never import it.
    from babel.messages.pofile import read_po

    with (LOCALES / f"{lang}.po").open("rb") as po:
        found = read_po(po, locale=lang)
    return {str(m.id): str(m.string) for m in found if m.id and m.string}


@cache
def languages() -> tuple[str, ...]:
    po = sorted(p.name.removesuffix(".po") for p in LOCALES.iterdir() if p.name.endswith(".po"))
    return (SOURCE, *po)


def known_language(lang: str, name: str = "lang") -> str:
    """`lang` if ztbulk speaks it; else a usage error naming the setting (`name`)."""
    if lang not in languages():
        raise UsageError(f"{name}={lang!r} is not a language ztbulk has: {', '.join(languages())}.")
    return lang


def translator(lang: str) -> Translate:
    table = catalogue(lang)
    return lambda message: table.get(message, message)
