"""Apply: one batch of a plan, re-checked and written in one transaction."""

from ztbulk.apply.batch import apply_batch

__all__ = ["apply_batch"]
