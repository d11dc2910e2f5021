"""The manufacturer and model reference lists (SPEC section 3), compared case-insensitively.

Sources: the catalogue packaged with ztbulk (derived from the Android Enterprise Recommended
list; see data/NOTICE.md), or a CSV with columns `manufacturer,model`. Google Play's
"supported devices" file is read as well (its `Retail Branding` and `Model` columns).
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import polars as pl

from ztbulk.domain import normalize_column
from ztbulk.errors import CatalogError
from ztbulk.report.text import one_line

PACKAGED_SOURCE = "the packaged Android Enterprise Recommended list (2026-07-24)"
PAIR_SEP = "\x1f"  # joins lower-cased manufacturer and model into one lookup key
_ALIASES = {"manufacturer": "manufacturer", "retailbranding": "manufacturer", "model": "model"}


@dataclass(frozen=True)
class Catalog:
    """`pairs` has columns manufacturer, model (as the list spells them), m_key, pair_key."""

    pairs: pl.DataFrame
    source: str

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, source: str) -> Catalog:
        clean = (
            frame.select(
                pl.col("manufacturer").cast(pl.String).str.strip_chars(),
                pl.col("model").cast(pl.String).str.strip_chars(),
            )
            .filter(pl.col("manufacturer").is_not_null() & (pl.col("manufacturer") != ""))
            .with_columns(m_key=pl.col("manufacturer").str.to_lowercase())
            .with_columns(pair_key=pl.col("m_key") + PAIR_SEP + pl.col("model").str.to_lowercase())
            .unique(subset=["pair_key"], keep="first", maintain_order=True)
        )
        return cls(clean, source)

    @classmethod
    def packaged(cls) -> Catalog:
        data = resources.files("ztbulk").joinpath("data/catalog_aer.csv").read_bytes()
        frame = pl.read_csv(data, infer_schema=False)
        return cls.from_frame(frame, PACKAGED_SOURCE)

    @classmethod
    def from_csv(cls, path: Path) -> Catalog:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CatalogError(f"Catalogue {path} cannot be read ({exc.strerror}).") from None
        return cls.from_bytes(raw, str(path))

    @classmethod
    def from_bytes(cls, raw: bytes, source: str) -> Catalog:
        """A catalogue CSV's bytes (UTF-8, or UTF-16 with a BOM as Google Play writes it);
        `source` names it in messages and reports."""
        text = _decode(raw, source)
        try:
            frame = pl.read_csv(io.StringIO(text), infer_schema=False)
        except pl.exceptions.PolarsError as exc:
            raise CatalogError(f"Catalogue {source} is not a readable CSV ({exc}).") from None
        renamed = {
            c: _ALIASES[normalize_column(c)]
            for c in frame.columns
            if normalize_column(c) in _ALIASES
        }
        if sorted(set(renamed.values())) != ["manufacturer", "model"]:
            raise CatalogError(
                f"Catalogue {source} needs the columns manufacturer and model "
                f"(it has: {one_line(', '.join(frame.columns)[:200])})."
            )
        frame = frame.select(list(renamed)).rename(renamed)
        return cls.from_frame(frame, source)

    def merged(self, other: Catalog, source: str) -> Catalog:
        """Both lists in one; where both spell a pair, this one's spelling is kept."""
        both = pl.concat([c.pairs.select("manufacturer", "model") for c in (self, other)])
        return Catalog.from_frame(both, source)

    def same_models(self, other: Catalog) -> bool:
        """The two lists know the same (manufacturer, model) pairs, whatever the spelling."""
        mine, theirs = self.pair_keys, other.pair_keys
        return mine.len() == theirs.len() and mine.sort().equals(theirs.sort())

    @cached_property
    def manufacturer_keys(self) -> pl.Series:
        return self.pairs["m_key"].unique()

    @cached_property
    def pair_keys(self) -> pl.Series:
        return self.pairs.filter(pl.col("model").is_not_null())["pair_key"]

    @cached_property
    def spellings(self) -> tuple[pl.Series, pl.Series]:
        """Manufacturers, and (manufacturer, model) structs, as the list spells them and
        lower-cased: a value equal to one of them is known (for `validate.fast`)."""
        with_model = self.pairs.filter(pl.col("model").is_not_null())
        lower = pl.col("manufacturer", "model").str.to_lowercase()
        both = pl.concat([with_model.select("manufacturer", "model"), with_model.select(lower)])
        makers = pl.concat(
            [self.pairs["manufacturer"], self.manufacturer_keys.rename("manufacturer")]
        )
        return makers.unique(), both.unique().select(pl.struct("manufacturer", "model")).to_series()

    def __len__(self) -> int:
        return self.pairs.height


def _decode(raw: bytes, source: str) -> str:
    encoding = "utf-8"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise CatalogError(f"Catalogue {source} is not UTF-8 or UTF-16 text.") from None
