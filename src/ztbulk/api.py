"""The library API under every entry point: `check()` (and later `import_file()`)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ztbulk.codes import Code, Outcome
from ztbulk.domain import Actor, Mode
from ztbulk.parse import (
    FileIssue,
    Header,
    ParseConfig,
    RecordReader,
    Sha256,
    Source,
    open_source,
    read_header,
)
from ztbulk.parse.header import HEADER_PEEK
from ztbulk.parse.prefetch import prefetch
from ztbulk.report.model import REPORT_JSON, CheckReport, FileFacts
from ztbulk.report.outputs import RENDERED, OutputWriter, render
from ztbulk.validate import DUPLICATE_CODES, Catalog, DuplicateFinder, Rules, validate_batch

# progress(bytes_done, bytes_total, rows_done)
Progress = Callable[[int, int, int], None]
DEFAULT_OUT_ROOT = Path("ztbulk-out")


def check(
    path: str | Path,
    *,
    actor: Actor | str = Actor.CUSTOMER,
    catalog: Catalog | str | Path | None = None,
    out_dir: str | Path | None = None,
    config: ParseConfig | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    """Check a zero-touch CSV without a registry; write report.json, outcomes.parquet, errors.csv.

    Raises `ZtbulkError` only for what stops the run itself (a missing file, a bad catalogue);
    problems of the file are in the returned report (`file_errors`, outcomes, codes).
    """
    path = Path(path)
    actor = Actor(actor)
    config = config or ParseConfig()
    cat = _catalog(catalog)
    out = Path(out_dir) if out_dir is not None else new_out_dir("check", path)
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    timer = _Timer()
    try:
        with timer("source"):
            source = open_source(path, work, config)
            sha = Sha256(path)
            header = _header(source, actor)
        report = CheckReport(
            command="check",
            file=_facts(path, source, header, sha),
            actor=actor.value,
            mode=header.mode.value if header and header.mode else None,
            catalog=cat.source,
            out_dir=str(out),
        )
        report.record_issues(source.issues + (header.issues if header else []))
        names = header.names if header and not report.file_errors else []
        with OutputWriter(out, names) as writer:
            if header is not None and not report.file_errors and header.mode is not None:
                rules = Rules(actor, header.mode, cat, header.columns)
                _run_rows(source, header, rules, config, work, writer, report, timer, progress)
        report.outcomes, report.codes = dict(writer.outcomes), dict(writer.codes)
        report.rows, report.first_failures = writer.rows, writer.first_failures
        report.file.sha256 = sha.hexdigest()
        report.timings = timer.seconds
        (out / REPORT_JSON).write_text(report.to_json() + "\n", encoding="utf-8")
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_rows(
    source: Source,
    header: Header,
    rules: Rules,
    config: ParseConfig,
    work: Path,
    writer: OutputWriter,
    report: CheckReport,
    timer: _Timer,
    progress: Progress | None,
) -> None:
    """Three passes: parse+validate+stage each batch; find duplicates; write the outputs."""
    finder = DuplicateFinder(work)
    staged: list[tuple[Path, Path]] = []  # (failing rows, valid rows) of each batch
    fields = pl.col(r"^f\d+$")
    rows = 0
    total = max(source.stream.stat().st_size, 1)
    with timer("parse_validate"):
        for raw in prefetch(RecordReader(source.stream, header, config)):
            report.blank += raw.blank
            failing, valid = validate_batch(raw.frame, rules)
            failing_part = work / f"failing-{len(staged):06d}.parquet"
            render(failing, Outcome.VALID).select(*RENDERED, "mask", fields).write_parquet(
                failing_part, compression="lz4", statistics=False
            )
            staged.append((failing_part, finder.add(valid)))
            rows += failing.height + valid.height
            if progress:
                progress(raw.bytes_read, total, rows)
    with timer("duplicates"):
        duplicates = finder.finish()
    with timer("write"):
        for failing_part, valid_part in staged:
            failing = pl.read_parquet(failing_part)
            passing = pl.read_parquet(valid_part, columns=["line"])["line"]
            if duplicates.height and passing.len():
                passing, failing = _flag_duplicates(passing, failing, valid_part, duplicates)
            writer.write(passing, failing)
            failing_part.unlink()
            valid_part.unlink()


def _flag_duplicates(
    passing: pl.Series, failing: pl.DataFrame, valid_part: Path, duplicates: pl.DataFrame
) -> tuple[pl.Series, pl.DataFrame]:
    """Move this batch's duplicate rows from `passing` into `failing`, rendered."""
    here = duplicates.filter(pl.col("line").is_between(passing[0], passing[-1]))
    if not here.height:
        return passing, failing
    dup_rows = (
        pl.scan_parquet(valid_part)
        .filter(pl.col("line").is_in(here["line"].implode()))
        .select("line", pl.col(r"^f\d+$"))
        .collect()
        .join(here.rename({"dup_mask": "mask"}), on="line", maintain_order="left")
    )
    dup_rows = render(dup_rows, Outcome.VALID, DUPLICATE_CODES).select(failing.columns)
    passing = passing.filter(~passing.is_in(here["line"].implode()))
    return passing, failing.merge_sorted(dup_rows, key="line")


def _header(source: Source, actor: Actor) -> Header | None:
    if source.issues:
        return None
    with source.stream.open("rb") as f:
        head = f.read(source.start + HEADER_PEEK)
    return read_header(head, source.start, actor)


def _catalog(catalog: Catalog | str | Path | None) -> Catalog:
    if isinstance(catalog, Catalog):
        return catalog
    return Catalog.packaged() if catalog is None else Catalog.from_csv(Path(catalog))


def _facts(path: Path, source: Source, header: Header | None, sha: Sha256) -> FileFacts:
    return FileFacts(
        name=path.name,
        path=str(path.resolve()),
        size=source.size,
        sha256="",  # filled in when the hashing thread is done
        encoding=source.encoding,
        delimiter=header.delimiter if header else None,
        columns=header.names if header else [],
    )


def new_out_dir(command: str, path: Path, root: Path = DEFAULT_OUT_ROOT) -> Path:
    """A fresh folder such as ztbulk-out/check-devices-20261125-101500 (suffixed if taken)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = root / f"{command}-{path.stem}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + time.perf_counter() - t0, 4)
            self.seconds["total"] = round(time.perf_counter() - self._start, 4)


__all__ = ["Actor", "Code", "FileIssue", "Mode", "check", "new_out_dir"]
