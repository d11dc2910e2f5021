"""Ingest: the part of every job that reads and judges the file (SPEC sections 2 to 4).

`ingest()` opens the source, reads the header, then streams chunks through parse and
validate, staging each chunk's failing rows (already rendered) and valid rows in a
work folder, and finally runs the whole-file duplicate pass. `check` writes its outputs from
the staged parts; `import` resolves the valid rows against the registry first.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ztbulk.codes import Code
from ztbulk.domain import Actor
from ztbulk.errors import InputError
from ztbulk.frames import merge_by_line
from ztbulk.i18n import SOURCE
from ztbulk.parse import Header, ParseConfig, RecordReader, Sha256, Source, open_source
from ztbulk.parse.header import HEADER_PEEK, read_header
from ztbulk.parse.issues import FileIssue
from ztbulk.parse.prefetch import prefetch
from ztbulk.report.model import FileFacts, Report
from ztbulk.report.outputs import RENDERED, render, with_every_cell
from ztbulk.validate import Catalog, DuplicateFinder, Rules, validate_chunk
from ztbulk.validate.duplicates import empty_duplicates
from ztbulk.validate.native import ReadBack, native_chunks
from ztbulk.validate.rules import FIELDS

# Chunks the output writers take at a time (about 500k rows): Polars works a few
# large frames faster than many small ones (finalize at 10M rows: 9.8 -> 8.3 s). Three such
# groups are in memory at once (read ahead, worked on, being written): 6 chunks a group
# gained nothing more and cost 250 MB.
OUTPUT_PARTS = 3
# progress(bytes_done, bytes_total, rows_done)
Progress = Callable[[int, int, int], None]


@dataclass
class Staged:
    """What ingest leaves in the work folder, chunk by chunk, in line order; read back a group
    of chunks at a time (`groups`)."""

    header: Header | None
    parts: list[tuple[Path, Path]] = field(default_factory=list)  # (failing, valid) per chunk
    duplicates: pl.DataFrame = field(default_factory=empty_duplicates)
    lang: str = SOURCE  # of the row messages

    def groups(self) -> Iterator[Group]:
        """Per OUTPUT_PARTS chunks, in line order: their failing rows (rendered,
        duplicates included) and the lines of their valid rows (duplicates not)."""
        for i in range(0, len(self.parts), OUTPUT_PARTS):
            failing_parts, valid_parts = zip(*self.parts[i : i + OUTPUT_PARTS], strict=True)
            group = Group(
                pl.concat([_read_failing(p) for p in failing_parts]),
                pl.read_parquet(list(valid_parts), columns=["line"])["line"],
                list(valid_parts),
            )
            if self.duplicates.height and group.valid.len():
                group = _split_duplicates(group, self.duplicates, self.lang)
            yield group


def _read_failing(part: Path) -> pl.DataFrame:
    """A staged part of failing rows (Parquet in a job folder staged by an older version)."""
    if part.suffix == ".parquet":
        return pl.read_parquet(part)
    return pl.read_ipc(part)


@dataclass(frozen=True)
class Group:
    failing: pl.DataFrame  # line, outcome, codes, message, mask and f*
    valid: pl.Series  # the lines of valid rows
    valid_parts: list[Path]  # every column of the valid rows: line, f*, h, target, checked

    def values(self, lines: pl.Series) -> pl.DataFrame:
        """line and f* of some of the valid rows (read only when they need rendering)."""
        scan = pl.scan_parquet(self.valid_parts).filter(pl.col("line").is_in(lines.implode()))
        return scan.select("line", FIELDS).collect()


def _split_duplicates(group: Group, duplicates: pl.DataFrame, lang: str) -> Group:
    """Move this group's duplicate rows from its valid rows into its failing rows, rendered
    (the duplicate pass found them with their values)."""
    here = duplicates.filter(pl.col("line").is_between(group.valid[0], group.valid[-1]))
    if not here.height:
        return group
    dup_rows = render(here.rename({"dup_mask": "mask"}), lang).select(group.failing.columns)
    return Group(
        merge_by_line(group.failing, dup_rows),
        group.valid.filter(~group.valid.is_in(here["line"].implode())),
        group.valid_parts,
    )


@dataclass
class Ingest:
    """Reads and judges one file into a work folder."""

    path: Path
    actor: Actor
    catalog: Catalog
    work: Path
    config: ParseConfig
    timer: Timer
    progress: Progress | None = None
    sha256: str | None = None  # known already (an import's spooled input): not hashed again
    # Stage the valid rows' values (import resolves them); `check` needs only their lines.
    keep_values: bool = True
    lang: str = SOURCE  # of the row messages

    def run(self, report: Report) -> Staged:
        """Fill `report` (file facts, issues, rows, blank) and stage the chunks.

        A file that changes while it is read (its identity, size or times differ at the end,
        after the hash is done) is FILE_CHANGED with no rows: never a count of half a file.
        """
        before = plain_file_state(self.path)
        try:
            staged = self._read(report)
        except Exception:
            if file_state(self.path) == before:
                raise
            staged = Staged(None)  # a reader tripped on the change: the change is the news
        if file_state(self.path) != before:
            return _changed(report, before, file_state(self.path))
        return staged

    def _read(self, report: Report) -> Staged:
        with self.timer("source"):
            source = open_source(self.path, self.work, self.config)
            sha = None if self.sha256 else Sha256(self.path)
            header = None if source.issues else _header(source, self.actor, self.config)
        report.file = file_facts(self.path, source, header)
        report.mode = header.mode.value if header and header.mode else None
        report.record_issues(source.issues + (header.issues if header else []))
        usable = header if header and header.mode and not report.file_errors else None
        staged = Staged(usable, lang=self.lang)
        if usable is not None:
            self._stage(staged, source, report)
        report.file.sha256 = sha.hexdigest() if sha else str(self.sha256)
        return staged

    def _stage(self, staged: Staged, source: Source, report: Report) -> None:
        header = staged.header
        assert header is not None and header.mode is not None
        rules = Rules(self.actor, header.mode, self.catalog, header.columns)
        values = self.keep_values or self.config.engine != "native"
        reader = None if values else ReadBack(source.stream, header, rules, self.config)
        finder = DuplicateFinder(self.work, header.columns, reader, lang=self.lang)
        total = max(source.stream.stat().st_size, 1)
        with self.timer("parse_validate"):
            for failing, valid, blank, bytes_read in prefetch(
                _judged(source.stream, header, rules, self.config, values, lang=self.lang)
            ):
                report.blank += blank
                # Arrow IPC, uncompressed: a work file read once, on this machine, soon.
                failing_part = self.work / f"failing-{len(staged.parts):06d}.arrow"
                rows = with_every_cell(failing, header.width, header.delimiter)
                render(rows, self.lang).select(*RENDERED, "mask", FIELDS).write_ipc(
                    failing_part, compression="uncompressed"
                )
                staged.parts.append((failing_part, finder.add(valid)))
                report.rows += failing.height + valid.height
                if self.progress:
                    self.progress(bytes_read, total, report.rows)
        with self.timer("duplicates"):
            staged.duplicates = finder.finish()


@dataclass(frozen=True)
class FileState:
    """What tells that a file is still the one being read. ctime moves on every write, even
    one that puts mtime back, and (dev, ino) changes when another file is renamed over it."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileState:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a pipe (FIFO)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}  # fmt: skip


def plain_file_state(path: Path) -> FileState:
    """The state of `path`, a plain file this process can open; else InputError (exit 2).

    Opened without blocking (a FIFO with no writer would wait forever) and judged by fstat
    of that very file, so it cannot be swapped between the look and the open.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError(f"{path} does not exist (or links to nothing); check the path.") from None
    except OSError as exc:
        raise InputError(f"{path} cannot be read ({exc.strerror}); check the path.") from None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a file")
        raise InputError(f"{path} is {kind}, not a plain file; give the path of a CSV file.")
    return FileState.of(st)


def file_state(path: Path) -> FileState | None:
    """The state of `path` now (None: it is gone)."""
    try:
        return FileState.of(os.stat(path))
    except OSError:
        return None


def _changed(report: Report, before: FileState, after: FileState | None) -> Staged:
    now = "gone" if after is None else f"{after.size:,} bytes"
    report.record_issues(
        [
            FileIssue(
                Code.FILE_CHANGED,
                f"The file changed while it was read ({before.size:,} bytes at the start, "
                f"{now} at the end); check it again once nothing writes to it.",
            )
        ]
    )
    report.rows = report.blank = 0  # what was counted belongs to no one version of the file
    return Staged(None)


# One chunk judged: failing rows, valid rows, blank records, bytes of the stream read.
Judged = tuple[pl.DataFrame, pl.DataFrame, int, int]


def _judged(
    path: Path, header: Header, rules: Rules, config: ParseConfig, values: bool, *, lang: str
) -> Iterator[Judged]:
    """Every chunk's verdicts, from the engine `config` names (both give the same frames;
    the native one's valid rows have their stream places instead of values unless `values`,
    and its failing rows their messages in `lang` already)."""
    if config.engine == "native":
        for b in native_chunks(path, header, rules, config, values=values, lang=lang):
            yield b.failing, b.valid, b.blank, b.bytes_read
        return
    for raw in RecordReader(path, header, config):
        failing, valid = validate_chunk(raw.frame, rules)
        yield failing, valid, raw.blank, raw.bytes_read


def _header(source: Source, actor: Actor, config: ParseConfig) -> Header:
    with source.stream.open("rb") as f:
        head = f.read(source.start + HEADER_PEEK)
    return read_header(head, source.start, actor, config.max_header_bytes)


def file_facts(path: Path, source: Source | None, header: Header | None) -> FileFacts:
    return FileFacts(
        name=path.name,
        path=str(path.resolve()),
        size=source.size if source else 0,
        sha256="",  # filled in when the hashing thread is done
        encoding=source.encoding if source else None,
        delimiter=header.delimiter if header else None,
        columns=header.names if header else [],
    )


class Timer:
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
