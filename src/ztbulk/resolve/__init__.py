"""Resolve: a job's valid rows against the registry, into a plan of actions (SPEC section 5)."""

from ztbulk.resolve.plan import Importer, ResolveInput, batch_lines, make_plan, plan_files

__all__ = ["Importer", "ResolveInput", "batch_lines", "make_plan", "plan_files"]
