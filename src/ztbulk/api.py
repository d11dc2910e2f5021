"""The library API under every entry point: `check()` (and later the import job)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ztbulk.codes import Outcome
from ztbulk.domain import Actor
from ztbulk.parse import Header, ParseConfig, RecordReader, Sha256, Source, open_source
from ztbulk.parse.header import HEADER_PEEK, read_header
from ztbulk.parse.prefetch import prefetch
from ztbulk.report.model import REPORT_JSON, CheckReport, FileFacts
from ztbulk.report.outputs import RENDERED, OutputWriter, render
from ztbulk.validate import DUPLICATE_CODES, Catalog, DuplicateFinder, Rules, validate_batch

# progress(bytes_done, bytes_total, rows_done)
Progress = Callable[[int, int, int], None]
DEFAULT_OUT_ROOT = Path("ztbulk-out")
FIELDS = pl.col(r"^f\d+$")  # the raw value columns of a batch


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
    out = Path(out_dir) if out_dir is not None else new_out_dir("check", path)
    run = _CheckRun(
        path=path,
        actor=Actor(actor),
        catalog=_catalog(catalog),
        out=out,
        work=out / ".work",
        config=config or ParseConfig(),
        progress=progress,
    )
    out.mkdir(parents=True, exist_ok=True)
    try:
        return run.run()
    finally:
        shutil.rmtree(run.work, ignore_errors=True)


@dataclass
class _CheckRun:
    path: Path
    actor: Actor
    catalog: Catalog
    out: Path
    work: Path  # staging folder, removed when the run ends
    config: ParseConfig
    progress: Progress | None

    def run(self) -> CheckReport:
        timer = _Timer()
        with timer("source"):
            source = open_source(self.path, self.work, self.config)
            sha = Sha256(self.path)
            header = None if source.issues else _header(source, self.actor)
        report = CheckReport(
            command="check",
            file=_facts(self.path, source, header),
            actor=self.actor.value,
            mode=header.mode.value if header and header.mode else None,
            catalog=self.catalog.source,
            out_dir=str(self.out),
        )
        report.record_issues(source.issues + (header.issues if header else []))
        usable = header if header and header.mode and not report.file_errors else None
        with OutputWriter(self.out, usable.names if usable else []) as writer:
            if usable is not None:
                self._rows(source, usable, writer, report, timer)
        report.outcomes, report.codes = dict(writer.outcomes), dict(writer.codes)
        report.rows, report.first_failures = writer.rows, writer.first_failures
        report.file.sha256 = sha.hexdigest()
        report.timings = timer.seconds
        (self.out / REPORT_JSON).write_text(report.to_json() + "\n", encoding="utf-8")
        return report

    def _rows(
        self,
        source: Source,
        header: Header,
        writer: OutputWriter,
        report: CheckReport,
        timer: _Timer,
    ) -> None:
        """Three passes: parse+validate+stage each batch; find duplicates; write the outputs."""
        assert header.mode is not None
        rules = Rules(self.actor, header.mode, self.catalog, header.columns)
        finder = DuplicateFinder(self.work, header.columns)
        staged: list[tuple[Path, Path]] = []  # (failing rows, valid rows) of each batch
        total = max(source.stream.stat().st_size, 1)
        with timer("parse_validate"):
            for raw in prefetch(RecordReader(source.stream, header, self.config)):
                report.blank += raw.blank
                failing, valid = validate_batch(raw.frame, rules)
                failing_part = self.work / f"failing-{len(staged):06d}.parquet"
                render(failing, Outcome.VALID).select(*RENDERED, "mask", FIELDS).write_parquet(
                    failing_part, compression="lz4", statistics=False
                )
                staged.append((failing_part, finder.add(valid)))
                report.rows += failing.height + valid.height
                if self.progress:
                    self.progress(raw.bytes_read, total, report.rows)
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
    lines = here["line"].implode()
    dup_rows = (
        pl.scan_parquet(valid_part)
        .filter(pl.col("line").is_in(lines))
        .select("line", FIELDS)
        .collect()
        .join(here.rename({"dup_mask": "mask"}), on="line", maintain_order="left")
    )
    dup_rows = render(dup_rows, Outcome.VALID, DUPLICATE_CODES).select(failing.columns)
    return passing.filter(~passing.is_in(lines)), failing.merge_sorted(dup_rows, key="line")


def _header(source: Source, actor: Actor) -> Header:
    with source.stream.open("rb") as f:
        head = f.read(source.start + HEADER_PEEK)
    return read_header(head, source.start, actor)


def _catalog(catalog: Catalog | str | Path | None) -> Catalog:
    if isinstance(catalog, Catalog):
        return catalog
    return Catalog.packaged() if catalog is None else Catalog.from_csv(Path(catalog))


def _facts(path: Path, source: Source, header: Header | None) -> FileFacts:
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
    """Seconds per stage (summed over repeats), plus the running total."""

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
