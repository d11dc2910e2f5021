"""What the row messages say, in each language: each code's template (`codes.CATALOGUE`,
translated by the language's catalogue, `i18n`) and the few words said around the rows'
values (a value the row lacks, the other lines a duplicate names).

Every renderer takes its text from here, so the native core and `report.messages` write the
same message in every language: the core is handed the templates' pieces and the blank word
when its Engine is made. A translation keeps its message's `{name}` placeholders, in any
order (tests check each catalogue).
"""

from __future__ import annotations

import re

import polars as pl

from ztbulk.codes import CATALOGUE, Code
from ztbulk.i18n import SOURCE, translator

PLACEHOLDER = re.compile(r"\{(\w+)\}")
BLANK = "(blank)"  # what a template says for a value the row does not have
# A duplicate found at resolution (one device reached by two identifiers) has no line list.
ANOTHER_LINE = "another line of the file"
# The other lines a duplicate's message names (`validate.duplicates`).
LINE = "line {line}"
LINES = "lines {lines}"
LINES_AND_MORE = "lines {lines} and {more} more"
# Said after a repeat's message when the line it repeats was rejected (`jobs.finalize`).
REPEAT_OF_REJECTED = (
    "Line {line}, which this row repeats, was rejected ({codes}): the device was not updated "
    "by this file; fix line {line} and import again."
)
WORDS = (BLANK, ANOTHER_LINE, LINE, LINES, LINES_AND_MORE, REPEAT_OF_REJECTED)


def template(code: Code, lang: str = SOURCE) -> str:
    """The code's message template in `lang`: `{column}` stands for the row's value."""
    return translator(lang)(CATALOGUE[code].template)


def template_pieces(code: Code, lang: str = SOURCE) -> list[tuple[str, str | None]]:
    """The code's template as (text, column quoted after it or None) pieces, for the native
    core, which fills them as `report.messages` does."""
    parts = PLACEHOLDER.split(template(code, lang))  # text, name, text, ..., text
    pieces: list[tuple[str, str | None]] = list(zip(parts[0:-1:2], parts[1::2], strict=True))
    return [*pieces, (parts[-1], None)]


def word(text: str, lang: str = SOURCE) -> str:
    """One of `WORDS` in `lang`."""
    return translator(lang)(text)


def phrase(text: str, lang: str, **values: pl.Expr) -> pl.Expr:
    """One of `WORDS` in `lang`, filled per row: each `{name}` by the expression `name`."""
    translated = word(text, lang)
    names = PLACEHOLDER.findall(translated)
    return pl.format(PLACEHOLDER.sub("{}", translated), *(values[n] for n in names))


def row_messages() -> list[str]:
    """Every message a row can carry, as written in English: what a catalogue translates."""
    return [*(info.template for info in CATALOGUE.values()), *WORDS]
