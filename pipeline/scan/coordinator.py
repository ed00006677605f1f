"""The `scan` stage: read a batch of scanned returns into the ledger.

Recipe (see `scan`): find the input files; skip those the ledger already has;
open each file lazily and hand its pages to the executor; read pages in
parallel (pure function, `reader.read_job`); write each file's pages to the
ledger in one transaction, in input order, as soon as its last page is back.
A crash or Ctrl-C loses at most the files in flight; running again carries on.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.atomic import atomic_write
from pipeline.errors import ExitCode, InputFileError, PaperVoiceError
from pipeline.ledger.store import Ledger
from pipeline.options import ScanOptions
from pipeline.scan.executors import open_executor
from pipeline.scan.loading import PageError, PageJob, expand_inputs, file_info, open_pages
from pipeline.scan.reader import PathJob, ReaderConfig, read_job
from pipeline.scan.results import FileInfo, PageResult, PageSource

#: Data and text files that share folders with scans; anything else that is not a scan (a Word file, a HEIC
#: photo) is reported as a file that could not be read, since it may hold a return in the wrong format.
NOT_SCANS = frozenset({".json", ".csv", ".tsv", ".txt", ".log", ".xml", ".md", ".html", ".htm", ".ini", ".cfg",
                       ".yaml", ".yml", ".xlsx", ".xls", ".ods", ".sqlite", ".py", ".sh"})


@dataclass
class ScanSummary:
    files_seen: int = 0
    files_read: int = 0
    files_already_in_ledger: int = 0
    files_failed: int = 0
    files_not_scans: int = 0  # data and text files lying among the scans: named, not read, not a failure
    pages: int = 0
    page_status: Counter[str] = field(default_factory=Counter)
    copies: set[str] = field(default_factory=set)
    answers_flagged: int = 0
    comments_written: int = 0
    seconds: float = 0.0
    reading_seconds: float = 0.0  # from the workers being ready to the last file written: start-up left out
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        failed = self.files_failed or self.page_status.get("unreadable", 0)
        return ExitCode.INPUT_FAILED if failed else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files_seen, "files_read": self.files_read,
            "files_already_in_ledger": self.files_already_in_ledger, "files_failed": self.files_failed,
            "files_not_scans": self.files_not_scans,
            "pages": self.pages, "pages_by_status": dict(self.page_status), "copies_read": len(self.copies),
            "answers_flagged": self.answers_flagged, "comments_written": self.comments_written,
            "seconds": round(self.seconds, 2),
            "pages_per_second": round(self.pages / self.seconds, 2) if self.seconds else None,
            "reading_seconds": round(self.reading_seconds, 2),
            "pages_per_second_reading": round(self.pages / self.reading_seconds, 2) if self.reading_seconds else None,
            "problems": self.problems, "exit_code": int(self.exit_code),
        }

    def text(self) -> str:
        s = self.page_status
        lines = [
            f"Files: {self.files_seen} ({self.files_read} read, {self.files_already_in_ledger} already in the ledger, "
            f"{self.files_failed} could not be read"
            + (f", {self.files_not_scans} not scans, left alone)" if self.files_not_scans else ")"),
            f"Pages: {self.pages} - {s.get('form', 0)} form pages from {len(self.copies)} copies, "
            f"{s.get('blank', 0)} blank, {s.get('not_form', 0)} not recognised, {s.get('unreadable', 0)} unreadable, "
            f"{s.get('duplicate', 0)} scanned twice, {s.get('conflict', 0)} conflicting re-scans",
            f"Answers flagged for review: {self.answers_flagged}; comments written: {self.comments_written}",
        ]
        if self.pages and self.seconds:
            lines.append(f"Time: {self.seconds:.1f} s ({self.pages / self.seconds:.1f} pages/s)")
        if s.get("not_form", 0) or self.answers_flagged or s.get("conflict", 0):
            lines.append("Next: run 'papervoice review' to settle the flagged answers and unrecognised pages.")
        return "\n".join(lines)


@dataclass
class _FileWork:
    """One input file while its pages are being read."""

    info: FileInfo
    expected_pages: int
    results: list[PageResult] = field(default_factory=list)
    error: str | None = None


class _Progress:
    """A one-line progress bar on stderr, only when a person is watching."""

    def __init__(self, total_files: int, quiet: bool) -> None:
        self.total = total_files
        self.enabled = not quiet and sys.stderr.isatty()
        self.files = 0
        self.pages = 0
        self.started = time.perf_counter()

    def page(self) -> None:
        self.pages += 1
        self._draw()

    def file(self) -> None:
        self.files += 1
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        width = 30
        done = int(width * self.files / max(1, self.total))
        rate = self.pages / max(1e-6, time.perf_counter() - self.started)
        sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {self.files}/{self.total} files, "
                         f"{self.pages} pages, {rate:.1f} pages/s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, file=sys.stderr)


def scan(inputs: Sequence[Path], options: ScanOptions) -> ScanSummary:
    """Read every page of every input into the ledger; returns what happened.

    Raises `UsageError` for inputs that do not exist, `MissingDependencyError` when
    tesseract or poppler are missing, and `LedgerError` when the ledger cannot be
    written.  Unreadable input files never raise: they are recorded and reported.
    """
    started = time.perf_counter()
    summary = ScanSummary()
    files = find_inputs(inputs)
    check_dependencies(options)
    config = ReaderConfig(tuple(str(d) for d in options.forms_dirs), options.ocr, options.debug_dir is not None)
    progress = _Progress(len(files), options.quiet)
    try:
        with Ledger(options.db) as ledger, open_executor(options.jobs, options.dask_scheduler) as (pool, in_flight):
            reading_started = time.perf_counter()
            work = plan_pages(files, ledger, summary, options.quiet, by_path=workers_see_files(options))
            for done in read_in_order(pool, work, config, in_flight, progress):
                commit_file(ledger, done, summary, options)
                progress.file()
            summary.reading_seconds = time.perf_counter() - reading_started
    finally:
        progress.close()
    summary.seconds = time.perf_counter() - started
    say(summary.text(), options.quiet)
    return summary


def find_inputs(inputs: Sequence[Path]) -> list[Path]:
    from pipeline.errors import UsageError

    missing = [p for p in inputs if not Path(p).exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder", "check the path, or put it in quotes if it has "
                         "spaces")
    return expand_inputs(list(inputs))


def workers_see_files(options: ScanOptions) -> bool:
    """Workers on this machine (a process pool, a local Dask cluster) open the files themselves: decoding then
    runs in parallel too, and the coordinator is left with little but the ledger.  Remote workers are sent
    the page's bytes, unless `--shared-storage` says they see the same files."""
    if options.dask_scheduler:
        return options.shared_storage or options.dask_scheduler == "local"
    return options.jobs > 1


def check_dependencies(options: ScanOptions) -> None:
    """Fail before reading anything if an external program is missing."""
    from pipeline.scan.ocr import check_engine
    from pipeline.tools import poppler

    poppler.check_poppler()
    check_engine(options.ocr)


def plan_pages(files: Sequence[Path], ledger: Ledger, summary: ScanSummary, quiet: bool,
               by_path: bool = False) -> Iterator[_FileWork | tuple[_FileWork, PageJob | PathJob]]:
    """Open files one at a time, lazily: yields a file's page jobs, then the file itself as its end marker."""
    for path in files:
        summary.files_seen += 1
        if path.suffix.lower() in NOT_SCANS:
            # a spreadsheet or a note kept beside the scans is not a lost return: say so, and go on
            summary.files_not_scans += 1
            say(f"papervoice: {path}: left alone - a {path.suffix.lower()} file is not a scan")
            continue
        try:
            info = file_info(path)
        except InputFileError as exc:  # cannot even be opened: nothing to record it under but its name
            summary.files_failed += 1
            summary.problems.append(str(exc))
            say(f"papervoice: {exc}")
            continue
        if ledger.file_status(info.sha256) == "read":
            summary.files_already_in_ledger += 1
            continue
        try:
            count, jobs = open_pages(path)
        except InputFileError as exc:
            yield _FileWork(info, 0, error=str(exc))
            continue
        work = _FileWork(info, count)
        if by_path:
            # every worker sees the same files: send only the page's name, not its bytes
            for index in range(count):
                yield work, PathJob(PageSource(str(path), index))
            yield work
            continue
        index = 0
        while True:
            try:
                job = next(jobs)
            except StopIteration:
                break
            except PageError as exc:  # one bad page: account for it, read the rest
                work.results.append(PageResult(PageSource(str(path), exc.page_index), "unreadable", exc.reason))
                index = exc.page_index + 1
                continue
            except InputFileError as exc:
                # a file that breaks part-way: keep the pages read so far, account for the rest
                work.results.append(PageResult(PageSource(str(path), index), "unreadable",
                                               f"{exc.reason}; pages from here on could not be read"))
                work.error = str(exc)
                break
            index = job.source.index + 1
            yield work, job
        yield work


def read_in_order(pool: Executor, work: Iterator[_FileWork | tuple[_FileWork, PageJob | PathJob]], config: ReaderConfig,
                  in_flight: int, progress: _Progress) -> Iterator[_FileWork]:
    """Keep at most `in_flight` pages submitted; hand back each file once all its pages are read, in order."""
    queue: deque[tuple[_FileWork, Future[PageResult] | None]] = deque()
    pending = 0
    read = partial(read_job, config=config)
    exhausted = False
    while True:
        while not exhausted and pending < in_flight:
            try:
                item = next(work)
            except StopIteration:
                exhausted = True
                break
            if isinstance(item, _FileWork):
                queue.append((item, None))
            else:
                queue.append((item[0], pool.submit(read, item[1])))
                pending += 1
        if not queue:
            return
        owner, future = queue.popleft()
        if future is None:
            yield owner
            continue
        pending -= 1
        try:
            owner.results.append(future.result())
        except PaperVoiceError:
            raise
        except Exception as exc:  # a bug or a worker crash on one page: account for the page, go on
            owner.results.append(PageResult(PageSource(owner.info.path, len(owner.results)), "unreadable",
                                            f"the reader failed on this page ({type(exc).__name__}: {exc}); "
                                            "please report this"))
        progress.page()


def number_adopted_copies(ledger: Ledger, done: _FileWork) -> None:
    """Returns of adopted forms carry no serial: each copy found in the file gets a new ledger number."""
    from dataclasses import replace

    from pipeline.adopt.copies import flag_doubt, group_copies

    for copy in group_copies(done.results):
        first = done.results[copy.members[0]].identity
        assert first is not None
        serial = ledger.issue_serials(copy.form, copy.version, first.style, first.paper, copy.pages, 1,
                                      output=f"adopted return: {done.info.path}")[0]
        for n in copy.members:
            r = done.results[n]
            assert r.identity is not None
            r = replace(r, identity=replace(r.identity, serial=serial))
            done.results[n] = flag_doubt(r, copy.doubt) if copy.doubt else r


def commit_file(ledger: Ledger, done: _FileWork, summary: ScanSummary, options: ScanOptions) -> None:
    done.results.sort(key=lambda r: r.source.index)
    number_adopted_copies(ledger, done)
    ledger.record_file(done.info, done.results, error=done.error)
    if done.error:
        summary.files_failed += 1
        summary.problems.append(done.error)
        say(f"papervoice: {done.error}")
    else:
        summary.files_read += 1
    for r in done.results:
        summary.pages += 1
        summary.page_status[r.status] += 1
        if r.identity is not None and r.status == "form":
            summary.copies.add(r.identity.serial)
        summary.answers_flagged += sum(1 for i in r.items if i.state == "flagged")
        summary.comments_written += sum(1 for c in r.comments if c.written)
        if r.status == "unreadable":
            summary.problems.append(f"{r.source.path} page {r.source.index + 1}: {r.reason}")
            say(f"papervoice: {r.source.path} page {r.source.index + 1}: {r.reason}")
        if options.debug_dir is not None and r.debug_png:
            stem = Path(r.source.path).stem
            atomic_write(options.debug_dir / f"{stem}-p{r.source.index + 1:03d}.png", r.debug_png)
