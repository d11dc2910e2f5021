"""Validate stage: SPEC sections 3 and 4 as columnar checks over parsed chunks."""

from ztbulk.validate.catalog import Catalog
from ztbulk.validate.checks import CHECKS, luhn_valid, rule
from ztbulk.validate.duplicates import DuplicateFinder
from ztbulk.validate.rules import Rules, canonical_values, validate_chunk

__all__ = [
    "CHECKS",
    "Catalog",
    "DuplicateFinder",
    "Rules",
    "canonical_values",
    "luhn_valid",
    "rule",
    "validate_chunk",
]
