"""The library API under every entry point: `check()`; the import job lives in `jobs/`."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ztbulk.codes import Outcome
from ztbulk.domain import Actor
from ztbulk.i18n import SOURCE, known_language
from ztbulk.ingest import Group, Ingest, Progress, Timer, file_facts, plain_file_state
from ztbulk.parse import ParseConfig
from ztbulk.parse.prefetch import prefetch
from ztbulk.report.model import Report
from ztbulk.report.outputs import save_report, write_outputs
from ztbulk.validate import Catalog

DEFAULT_OUT_ROOT = Path("ztbulk-out")


def check(
    path: str | Path,
    *,
    actor: Actor | str = Actor.CUSTOMER,
    catalog: Catalog | str | Path | None = None,
    out_dir: str | Path | None = None,
    config: ParseConfig | None = None,
    progress: Progress | None = None,
    lang: str = SOURCE,
) -> Report:
    """Check a zero-touch CSV without a registry; write report.json, outcomes.parquet, errors.csv.
    The row messages are in `lang` (`i18n.languages()`; codes stay English).

    Raises `ZtbulkError` only for what stops the run itself (a missing file, a bad catalogue);
    problems of the file are in the returned report (`file_errors`, outcomes, codes).
    """
    path = Path(path)
    actor, lang = Actor(actor), known_language(lang)
    plain_file_state(path)  # a FIFO, a device or an unreadable path: refused before any output
    cat = load_catalog(catalog)
    out = Path(out_dir) if out_dir is not None else new_out_dir("check", path)
    out.mkdir(parents=True, exist_ok=True)
    work, timer = out / ".work", Timer()
    report = Report("check", file_facts(path, None, None), actor.value, None, cat.source, str(out))
    try:
        # keep_values: nothing after check needs a valid row's values.
        ingest = Ingest(path, actor, cat, work, config or ParseConfig(), timer, progress,
                        keep_values=False, lang=lang)  # fmt: skip
        staged = ingest.run(report)
        names = staged.header.names if staged.header else []
        with timer("write"):
            write_outputs(report, out, names, map(_valid_rows, prefetch(staged.groups())))
        report.timings = timer.seconds
        save_report(report, out)  # with the write's time
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _valid_rows(group: Group) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A group of `check`: its valid rows (`valid`, no device) and its failing ones."""
    plain = group.valid.to_frame().select(
        "line", outcome=pl.lit(Outcome.VALID.value), device_id=pl.lit(None, pl.Int64)
    )
    return plain, group.failing


def load_catalog(catalog: Catalog | str | Path | None) -> Catalog:
    if isinstance(catalog, Catalog):
        return catalog
    return Catalog.packaged() if catalog is None else Catalog.from_csv(Path(catalog))


def new_out_dir(command: str, path: Path, root: Path = DEFAULT_OUT_ROOT) -> Path:
    """A fresh folder such as ztbulk-out/check-devices-20261125-101500 (suffixed if taken)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = root / f"{command}-{path.stem}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate
