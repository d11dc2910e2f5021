"""The language of a request: the best of ztbulk's languages (`ztbulk.i18n`) for its
Accept-Language. The web page and the status page are shown in it, and an upload's job writes
its row messages and e-mail in it; codes stay English (they are interface).
"""

from __future__ import annotations

import re

from ztbulk.i18n import SOURCE, Translate, catalogue, languages, translator

__all__ = ["SOURCE", "Translate", "catalogue", "languages", "negotiate", "translator"]
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


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
