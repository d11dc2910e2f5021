"""ztbulk: check and apply Android zero-touch enrollment device CSV files at fleet scale."""

from ztbulk.api import check
from ztbulk.codes import CATALOGUE, Code, Outcome
from ztbulk.domain import Actor, Mode
from ztbulk.errors import ZtbulkError
from ztbulk.report.model import CheckReport
from ztbulk.validate.catalog import Catalog

__all__ = [
    "CATALOGUE",
    "Actor",
    "Catalog",
    "CheckReport",
    "Code",
    "Mode",
    "Outcome",
    "ZtbulkError",
    "check",
]
__version__ = "0.1.0"
