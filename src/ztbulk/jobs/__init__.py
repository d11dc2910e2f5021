"""Jobs: the import job's machinery, driving resolve and apply (the ledger, the job folders,
the stages, the Dramatiq actors, the runners and the API)."""

from ztbulk.jobs.api import ImportResult, cancel_job, import_file, resume_job

__all__ = ["ImportResult", "cancel_job", "import_file", "resume_job"]
