"""Apply stage: the import job (resolve against the registry, apply in batches, report)."""

from ztbulk.apply.run import ImportResult, cancel_job, import_file, resume_job

__all__ = ["ImportResult", "cancel_job", "import_file", "resume_job"]
