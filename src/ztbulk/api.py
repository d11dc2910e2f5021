"""The library API under every entry point: `check()` (and later `import_file()`)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ztbulk.codes import Code
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
from ztbulk.report.model import REPORT_JSON, CheckReport, FileFacts
from ztbulk.report.outputs import OutputWriter
from ztbulk.validate import Catalog, DuplicateFinder, Rules, validate_batch

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
        columns = header.columns if header and not report.file_errors else {}
        names = header.names if header and not report.file_errors else []
        with OutputWriter(out, names, columns) as writer:
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
    """Parse and validate every batch, stage it, then find duplicates and write the outputs."""
    finder = DuplicateFinder(work)
    staged: list[tuple[Path, int, int]] = []
    rows = 0
    total = max(source.stream.stat().st_size, 1)
    with timer("parse_validate"):
        for raw in RecordReader(source.stream, header, config):
            report.blank += raw.blank
            batch = validate_batch(raw.frame, rules)
            if batch.height:
                part = work / f"batch-{len(staged):06d}.parquet"
                batch.write_parquet(part, compression="lz4", statistics=False)
                staged.append((part, batch["line"][0], batch["line"][-1]))
                finder.add(batch)
            rows += batch.height
            if progress:
                progress(raw.bytes_read, total, rows)
    with timer("duplicates"):
        duplicates = finder.finish()
    with timer("write"):
        for part, first, last in staged:
            batch = pl.read_parquet(part)
            dup = duplicates.for_lines(first, last)
            if dup.height:
                batch = batch.join(dup, on="line", how="left", maintain_order="left")
                batch = batch.with_columns(mask=pl.col("mask") | pl.col("dup_mask").fill_null(0))
            writer.write(batch)
            part.unlink()


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
