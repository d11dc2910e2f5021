"""ztbulk: check and apply Android zero-touch enrollment device CSV files at fleet scale."""

from ztbulk.api import check
from ztbulk.codes import CATALOGUE, Code, Outcome
from ztbulk.domain import Actor, Mode
from ztbulk.errors import ZtbulkError
from ztbulk.jobs import ImportResult, cancel_job, import_file, resume_job
from ztbulk.report.model import Report
from ztbulk.settings import Settings
from ztbulk.validate.catalog import Catalog

__all__ = [
    "CATALOGUE",
    "Actor",
    "Catalog",
    "Code",
    "ImportResult",
    "Mode",
    "Outcome",
    "Report",
    "Settings",
    "ZtbulkError",
    "cancel_job",
    "check",
    "import_file",
    "resume_job",
]
__version__ = "0.1.0"
