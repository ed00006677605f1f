"""The `scan` stage: read a batch of scanned returns into the ledger.

Recipe (see `scan`): find the input files; skip those the ledger already has
(re-reading only pages kept for a form that is now defined); open each file
lazily and hand its pages to the executor; read pages in parallel (pure
function, `reader.read_job`); commit each page to the ledger as soon as it and
every page before it are back, in input order.  A crash or Ctrl-C loses at
most the pages in flight: running again carries on from the first page the
ledger does not hold, and ends with the same ledger as an uninterrupted run.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.adopt.copies import flag_doubt, group_copies, is_adopted_unnumbered
from pipeline.adopt.rescan import KnownCopies, page_marks
from pipeline.atomic import atomic_write
from pipeline.errors import ExitCode, InputFileError, PaperVoiceError
from pipeline.form.definition import FormRegistry
from pipeline.form.identity import PageIdentity
from pipeline.ledger import open_ledger
from pipeline.ledger.queries import adopted_copy_marks, effective_answers, effective_comments
from pipeline.ledger.store import Ledger, foreign_reason
from pipeline.names import shown
from pipeline.options import ScanOptions
from pipeline.scan.executors import open_executor
from pipeline.scan.loading import PageError, PageJob, expand_inputs, file_info, open_pages
from pipeline.scan.reader import PathJob, ReaderConfig, read_job, share_registry, warm_up
from pipeline.scan.results import FileInfo, PageResult, PageSource
from pipeline.text import plural

#: Data and text files that share folders with scans; anything else that is not a scan (a Word file, a HEIC
#: photo) is reported as a file that could not be read, since it may hold a return in the wrong format.
NOT_SCANS = frozenset({".json", ".csv", ".tsv", ".txt", ".log", ".xml", ".md", ".html", ".htm", ".ini", ".cfg",
                       ".yaml", ".yml", ".xlsx", ".xls", ".ods", ".sqlite", ".py", ".sh"})


@dataclass
class ScanSummary:
    files_seen: int = 0
    files_read: int = 0
    files_already_in_ledger: int = 0
    files_repeated: int = 0  # the same contents as another file of this batch: read once, under the first name
    files_failed: int = 0
    files_not_scans: int = 0  # data and text files lying among the scans: named, not read, not a failure
    files_resumed: int = 0  # a file an interrupted scan had started: only its remaining pages are read
    pages: int = 0
    pages_reread: int = 0  # kept pages read again now that their form is defined
    page_status: Counter[str] = field(default_factory=Counter)
    copies: set[str] = field(default_factory=set)
    answers_flagged: int = 0
    answers_open: int = 0  # in the whole ledger after this run, not only this run's pages: what review holds
    comments_open: int = 0
    comments_written: int = 0
    seconds: float = 0.0
    reading_seconds: float = 0.0  # from the workers being ready to the last file written: start-up left out
    stage_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # summed over pages
    # the same stages in CPU time (the reading thread's; files and ledger: the coordinator's)
    stage_cpu_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        failed = self.files_failed or self.page_status.get("unreadable", 0) or self.page_status.get("foreign", 0)
        return ExitCode.INPUT_FAILED if failed else ExitCode.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files_seen, "files_read": self.files_read,
            "files_already_in_ledger": self.files_already_in_ledger, "files_repeated": self.files_repeated,
            "files_failed": self.files_failed,
            "files_not_scans": self.files_not_scans, "files_resumed": self.files_resumed,
            "pages": self.pages, "pages_reread": self.pages_reread, "pages_by_status": dict(self.page_status),
            "copies_read": len(self.copies),
            "answers_flagged": self.answers_flagged, "comments_written": self.comments_written,
            "answers_open": self.answers_open, "comments_open": self.comments_open,
            "seconds": round(self.seconds, 2),
            "pages_per_second": round(self.pages / self.seconds, 2) if self.seconds else None,
            "reading_seconds": round(self.reading_seconds, 2),
            "pages_per_second_reading": round(self.pages / self.reading_seconds, 2) if self.reading_seconds else None,
            "stage_seconds": {k: round(v, 3) for k, v in sorted(self.stage_seconds.items())},
            "stage_cpu_seconds": {k: round(v, 3) for k, v in sorted(self.stage_cpu_seconds.items())},
            "problems": self.problems, "exit_code": int(self.exit_code),
        }

    def text(self) -> str:
        s = self.page_status
        lines = [
            f"Files: {self.files_seen} ({self.files_read} read, {self.files_already_in_ledger} already in the ledger, "
            + (f"{self.files_repeated} repeated in this batch (read once), " if self.files_repeated else "")
            + f"{self.files_failed} could not be read"
            + (f", {self.files_not_scans} not scans, left alone)" if self.files_not_scans else ")"),
            f"Pages: {self.pages} - {plural(s.get('form', 0), 'form page')} from "
            f"{plural(len(self.copies), 'copy', 'copies')}, "
            f"{s.get('blank', 0)} blank, {s.get('not_form', 0)} not recognised, {s.get('unreadable', 0)} unreadable, "
            f"{s.get('duplicate', 0)} scanned twice, {s.get('conflict', 0)} conflicting re-scans"
            + (f", {s['foreign']} printed for another survey (not counted here)" if s.get("foreign") else ""),
            f"Answers flagged for review: {self.answers_flagged}; comments written: {self.comments_written}",
        ]
        if self.files_resumed:
            lines.insert(1, f"Carried on with {plural(self.files_resumed, 'file')} an earlier scan had not finished.")
        if self.answers_open or self.comments_open:
            lines.append(f"Waiting for a person in this ledger (this run and earlier ones): "
                         f"{plural(self.answers_open, 'answer')}, {plural(self.comments_open, 'written comment')}")
        if self.pages_reread:
            lines.append(f"Pages read again now that their form is defined: {self.pages_reread}")
        if s.get("foreign"):
            lines.append("Pages printed for another survey are named above and in 'papervoice status'; scan them "
                         "into the ledger that printed them.")
        if self.pages and self.seconds:
            lines.append(f"Time: {self.seconds:.1f} s ({self.pages / self.seconds:.1f} pages/s)")
        if s.get("not_form", 0) or self.answers_open or self.comments_open or s.get("conflict", 0):
            lines.append("Next: run 'papervoice review' to settle the flagged answers and unrecognised pages.")
        return "\n".join(lines)


@dataclass
class _FileWork:
    """One input file while its pages are being read."""

    info: FileInfo
    expected_pages: int
    error: str | None = None
    unopened: bool = False  # could not even be opened: recorded under its name
    rereads: dict[int, int] = field(default_factory=dict)  # page index -> page id, for kept pages read again
    file_id: int | None = None


#: What `plan_pages` hands on: a page to read, a page result known without reading, or a file's end.
_Planned = tuple[_FileWork, PageJob | PathJob | PageResult | None]


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


def scan(inputs: Sequence[Path], options: ScanOptions,
         on_page: Callable[[ScanSummary], None] | None = None) -> ScanSummary:
    """Read every page of every input into the ledger; returns what happened.

    `on_page` is told after each page and each file is committed (the office app's live progress).

    Raises `UsageError` for inputs that do not exist, `MissingDependencyError` when
    the OCR engine or the PDF renderer is missing, and `LedgerError` when the ledger cannot be
    written.  Unreadable input files never raise: they are recorded and reported.
    """
    started = time.perf_counter()
    summary = ScanSummary()
    files = find_inputs(inputs)
    check_dependencies(options)
    progress = _Progress(len(files), options.quiet)
    forms_dirs = tuple(str(d) for d in options.forms_dirs)
    try:
        # the forms parsed once for the scan: this process's pages and the workers forked after it use them
        registry = FormRegistry.from_dirs(list(options.forms_dirs))
        share_registry(forms_dirs, registry)
        if options.jobs > 1 and not options.dask_scheduler:
            warm_up(forms_dirs)  # before the pool forks its workers: start-up kept off their first pages
        with (open_ledger(options.db) as ledger,
              open_executor(options.jobs, options.dask_scheduler) as (pool, in_flight)):
            config = ReaderConfig(forms_dirs, options.ocr, options.debug_dir is not None, ledger.survey_id)
            if options.retry:
                files = _with_kept_files(files, ledger, registry.has_adopted)
                progress.total = len(files)
            reading_started = time.perf_counter()
            work = plan_pages(files, ledger, registry, summary, by_path=workers_see_files(options))
            held = _Held({f.id: f.adopted.copies for f in registry.all() if f.adopted is not None})
            for owner, result in read_in_order(pool, work, config, in_flight, progress):
                if result is None:
                    finish_file(ledger, owner, summary, options, held)
                    progress.file()
                else:
                    commit_page(ledger, owner, result, summary, options, held)
                if on_page is not None:
                    on_page(summary)
                if options.stop_after_pages is not None and summary.pages >= options.stop_after_pages:
                    raise KeyboardInterrupt  # tests: an interruption at a chosen point
            if held.pages or held.ended:
                release_held(ledger, held, summary, options)
            summary.reading_seconds = time.perf_counter() - reading_started
            summary.answers_open = sum(1 for a in effective_answers(ledger) if a.open)
            summary.comments_open = sum(1 for c in effective_comments(ledger, written_only=True) if c.open)
    finally:
        progress.close()
    summary.seconds = time.perf_counter() - started
    say(summary.text(), options.quiet)
    return summary


def find_inputs(inputs: Sequence[Path]) -> list[Path]:
    from pipeline.errors import UsageError

    missing = [p for p in inputs if not Path(p).exists() and not Path(p).is_symlink()]
    if missing:
        raise UsageError(f"{shown(missing[0])}: no such file or folder", "check the path, or put it in quotes if "
                         "it has spaces")
    return expand_inputs(list(inputs))


def _with_kept_files(files: list[Path], ledger: Ledger, uncoded: bool) -> list[Path]:
    """`scan --retry`: the files holding pages kept for a form that was not defined, from the ledger (and, when
    adopted forms are defined, pages kept for carrying no code: they may be those forms' returns).

    The ledger keeps each file's path as it was given to the scan that read it (often relative to the folder
    it ran in): a file not found from here is named, never silently left out."""
    known = {str(p) for p in files}
    kept = [p for p in ledger.files_with_kept_pages(uncoded) if p not in known]
    extra = [Path(p) for p in kept if Path(p).is_file()]
    missing = [p for p in kept if not Path(p).is_file()]
    if missing:
        say(f"papervoice: --retry: {plural(len(missing), 'file')} holding kept pages "
            f"{'was' if len(missing) == 1 else 'were'} not found from {shown(Path.cwd())} "
            f"({', '.join(shown(p) for p in missing[:3])}{' ...' if len(missing) > 3 else ''}).\n"
            "  What to do: run the scan --retry from the folder the first scan ran in, or give those files "
            "(or their folder) to scan again with --forms-dir")
    elif not kept and not files:
        say("papervoice: --retry: no kept pages are waiting to be read again in this ledger "
            "(pages are kept when their form was not defined; give --forms-dir with the form's folder)")
    return files + extra


def workers_see_files(options: ScanOptions) -> bool:
    """Workers on this machine (a process pool, a local Dask cluster) open the files themselves: decoding then
    runs in parallel too, and the coordinator is left with little but the ledger.  Remote workers are sent
    the page's bytes, unless `--shared-storage` says they see the same files."""
    if options.dask_scheduler:
        return options.shared_storage or options.dask_scheduler == "local"
    return options.jobs > 1


def check_dependencies(options: ScanOptions) -> None:
    """Fail before reading anything if an external program is missing."""
    from pipeline.errors import MissingDependencyError
    from pipeline.scan.ocr import check_engine
    from pipeline.tools import pdfium

    if not pdfium.available():
        raise MissingDependencyError("pypdfium2 (needed to read PDF files) is not installed", pdfium.INSTALL_ADVICE)
    check_engine(options.ocr)


def plan_pages(files: Sequence[Path], ledger: Ledger, registry: FormRegistry, summary: ScanSummary,
               by_path: bool = False) -> Iterator[_Planned]:
    """Open files one at a time, lazily: yields a file's pages (to read, or already known), then its end."""
    first_of: dict[str, Path] = {}  # contents already met in this batch -> the file that had them
    for path in files:
        summary.files_seen += 1
        if path.suffix.lower() in NOT_SCANS:
            # a spreadsheet or a note kept beside the scans is not a lost return: say so, and go on
            summary.files_not_scans += 1
            say(f"papervoice: {shown(path)}: left alone - a {path.suffix.lower()} file is not a scan")
            continue
        try:
            hashed, hashed_cpu = time.perf_counter(), time.thread_time()
            info = file_info(path)
            summary.stage_seconds["files"] += time.perf_counter() - hashed
            summary.stage_cpu_seconds["files"] += time.thread_time() - hashed_cpu
        except InputFileError as exc:  # cannot even be opened: recorded under its name, so status counts it
            yield _FileWork(FileInfo(str(path), "", 0), 0, error=str(exc), unopened=True), None
            continue
        if info.sha256 in first_of:  # a copy of a file met earlier in this batch: its pages are read once
            summary.files_repeated += 1
            say(f"papervoice: {shown(path)}: the same file as {shown(first_of[info.sha256])}, read once")
            continue
        first_of[info.sha256] = path
        state = ledger.file_status(info.sha256)
        if state == "read":
            kept = {i: page_id for i, page_id, ident in ledger.kept_for_definition(info.sha256)
                    if _defined_now(registry, ident)}
            if registry.has_adopted:
                kept.update(ledger.kept_without_code(info.sha256))
            if not kept:
                summary.files_already_in_ledger += 1
                continue
            yield from _reread(path, info, kept, by_path)
            continue
        done = ledger.committed_pages(info.sha256) if state == "partial" else set()
        if done:
            summary.files_resumed += 1
        yield from _file_pages(path, info, done, by_path)


def _defined_now(registry: FormRegistry, ident: PageIdentity) -> bool:
    """The form a kept page names is defined now, with the page count its code says (else reading it again
    would only keep it again)."""
    from pipeline.form.layout import compute_layout

    form = registry.find(ident.form, ident.version, ident.language)
    return form is not None and compute_layout(form, ident.paper, ident.style).page_count == ident.pages


def _reread(path: Path, info: FileInfo, kept: dict[int, int], by_path: bool) -> Iterator[_Planned]:
    """Pages kept as 'form not defined here' whose definition is now available: read them again."""
    work = _FileWork(info, len(kept), rereads=kept)
    for index in sorted(kept):
        job: PageJob | PathJob | PageResult
        if by_path:
            job = PathJob(PageSource(str(path), index))
        else:
            try:
                _, jobs = open_pages(path, first=index)
                try:
                    job = next(jobs)
                finally:
                    getattr(jobs, "close", lambda: None)()
            except (InputFileError, StopIteration):
                continue  # the page cannot be taken out again: it stays kept as it was
        yield work, job
    yield work, None


def _file_pages(path: Path, info: FileInfo, done: set[int], by_path: bool) -> Iterator[_Planned]:
    """Every page of one file not yet in the ledger (`done`), in order, then the file's end."""
    first = next(i for i in range(len(done) + 1) if i not in done)
    try:
        count, jobs = open_pages(path, first=first)
    except InputFileError as exc:
        yield _FileWork(info, 0, error=str(exc)), None
        return
    work = _FileWork(info, count)
    if by_path:
        # every worker sees the same files: send only the page's name (and a TIFF page's place), not its bytes
        offsets = getattr(jobs, "frame_offsets", None)
        getattr(jobs, "close", lambda: None)()
        for index in range(count):
            if index not in done:
                offset = offsets[index] if offsets is not None and index < len(offsets) else None
                yield work, PathJob(PageSource(str(path), index), offset)
        yield work, None
        return
    index = first
    while True:
        try:
            job = next(jobs)
        except StopIteration:
            break
        except PageError as exc:  # one bad page: account for it, read the rest
            if exc.page_index not in done:
                yield work, PageResult(PageSource(str(path), exc.page_index), "unreadable", exc.reason)
            index = exc.page_index + 1
            continue
        except InputFileError as exc:
            # a file that breaks part-way: keep the pages read so far, account for the rest
            yield work, PageResult(PageSource(str(path), index), "unreadable",
                                   f"{exc.reason}; pages from here on could not be read")
            work.error = str(exc)
            break
        index = job.source.index + 1
        if job.source.index not in done:
            yield work, job
    yield work, None


def read_in_order(pool: Executor, work: Iterator[_Planned], config: ReaderConfig, in_flight: int,
                  progress: _Progress) -> Iterator[tuple[_FileWork, PageResult | None]]:
    """Keep at most `in_flight` pages submitted; hand back each page's result (and each file's end, as None)
    in input order, as soon as it and everything before it are done."""
    queue: deque[tuple[_FileWork, Future[PageResult] | PageResult | None, PageSource | None]] = deque()
    pending = 0
    read = partial(read_job, config=config)
    exhausted = False
    while True:
        while not exhausted and pending < in_flight:
            try:
                owner, item = next(work)
            except StopIteration:
                exhausted = True
                break
            if item is None or isinstance(item, PageResult):
                queue.append((owner, item, None))
            else:
                queue.append((owner, pool.submit(read, item), item.source))
                pending += 1
        if not queue:
            return
        owner, entry, source = queue.popleft()
        if not isinstance(entry, Future):
            yield owner, entry
            continue
        pending -= 1
        try:
            result = entry.result()
        except PaperVoiceError:
            raise
        except Exception as exc:  # a bug or a worker crash on one page: account for the page, go on
            result = PageResult(source or PageSource(owner.info.path, 0), "unreadable",
                                f"the reader failed on this page ({type(exc).__name__}: {exc}); please report this")
        progress.page()
        yield owner, result


@dataclass
class _Held:
    """Pages of adopted copies not yet whole, with the file each came from.

    Returns of adopted forms carry no serial of ours, so the pages that make one copy are told by a code of
    their own, the form's word on how copies arrive, or their order (`adopt.copies`).  From a copy's first
    page on, pages are held until that copy is whole or the next one starts; then the copy gets its ledger
    number (or the number of the copy it is a re-scan of) and the held pages go in, each under its own file.
    When every file is a single page (a scanner that writes one image per page), the order runs on from file
    to file: a file's end is then recorded once its page is in."""

    arrival: dict[str, str]
    pages: list[tuple[_FileWork, PageResult]] = field(default_factory=list)
    ended: list[_FileWork] = field(default_factory=list)  # files whose end came while their pages were held
    doubt_before: bool = False  # the last copy released was a guess: the next one's start is one too
    known: KnownCopies = field(default_factory=KnownCopies)
    loaded: set[str] = field(default_factory=set)

    def results(self) -> list[PageResult]:
        return [r for _, r in self.pages]


def commit_page(ledger: Ledger, owner: _FileWork, r: PageResult, summary: ScanSummary, options: ScanOptions,
                held: _Held) -> None:
    """One page into the ledger, in its own transaction, in input order (adopted copies' pages held first:
    see `_Held`; native pages held behind them too, so the ledger's pages stay a prefix of each file for
    resuming).  An interruption loses only the held pages, which the next run reads again."""
    if held.pages and held.pages[-1][0] is not owner and not _runs_on(held.pages[-1][0], owner):
        release_held(ledger, held, summary, options)
    adopted = is_adopted_unnumbered(r)
    if held.pages or adopted:
        # a page with a sheet code joins its copy wherever it is; an uncoded one starting a new copy ends the last
        if held.pages and adopted and not r.sheet_code and len(group_copies([*held.results(), r], held.arrival,
                                                                            held.doubt_before)) > 1:
            release_held(ledger, held, summary, options)  # r starts the next copy
        held.pages.append((owner, r))
        results = held.results()
        copies = group_copies(results, held.arrival, held.doubt_before)
        if copies and all(len({results[m].identity.page for m in c.members}) >= c.pages  # type: ignore[union-attr]
                          for c in copies):
            release_held(ledger, held, summary, options)
        return
    record_page(ledger, owner, r, summary, options)


def _runs_on(before: _FileWork, after: _FileWork) -> bool:
    """A copy's pages may run on from one file into the next only when each file is one page."""
    return before.expected_pages == 1 and after.expected_pages == 1 and bool(before.rereads) == bool(after.rereads)


def release_held(ledger: Ledger, held: _Held, summary: ScanSummary, options: ScanOptions) -> None:
    """The held pages numbered as copies and committed, in order; then the ends of the files they came from."""
    pages = held.pages
    held.pages = []
    results = number_copies(ledger, held, [r for _, r in pages])
    for (owner, _), r in zip(pages, results, strict=True):
        record_page(ledger, owner, r, summary, options)
    ended, held.ended = held.ended, []
    for done in ended:
        finish_file(ledger, done, summary, options, held)


def number_copies(ledger: Ledger, held: _Held, results: list[PageResult]) -> list[PageResult]:
    """Each adopted copy among `results` gets its ledger number: the copy its sheet code or its ink says it
    is a re-scan of, else a new one; a copy whose grouping is a guess is flagged."""
    results = list(results)
    copies = group_copies(results, held.arrival, held.doubt_before)
    for copy in copies:
        first = results[copy.members[0]].identity
        assert first is not None
        output = f"adopted return: {results[copy.members[0]].source.path}"
        doubt = copy.doubt
        marks = {results[n].identity.page: page_marks(results[n]) for n in copy.members}  # type: ignore[union-attr]
        if copy.code:
            serial = ledger.adopted_copy_serial(copy.form, copy.code, copy.version, first.style, first.paper,
                                                copy.pages, output)
        else:
            _load_known(ledger, held, copy.form)
            again, weak = held.known.same_paper(copy.form, marks)
            doubt = "; ".join(x for x in (doubt, weak) if x)
            serial = again or ledger.issue_serials(copy.form, copy.version, first.style, first.paper, copy.pages, 1,
                                                   output=output)[0]
        for page, page_mark in marks.items():
            held.known.add(copy.form, serial, page, page_mark)
        for n in copy.members:
            r = results[n]
            assert r.identity is not None
            r = replace(r, identity=replace(r.identity, serial=serial))
            results[n] = flag_doubt(r, doubt) if doubt else r
    if copies:
        held.doubt_before = bool(copies[-1].doubt) and not copies[-1].code
    return results


def _load_known(ledger: Ledger, held: _Held, form: str) -> None:
    if form in held.loaded:
        return
    held.loaded.add(form)
    pages: dict[tuple[str, int], dict[tuple[str, int], tuple[str, float]]] = {}
    for serial, page, item, value, state, coverage in adopted_copy_marks(ledger, form):
        pages.setdefault((serial, page), {})[(item, value)] = (state, coverage)
    for (serial, page), marks in pages.items():
        held.known.add(form, serial, page, marks)


def record_page(ledger: Ledger, owner: _FileWork, r: PageResult, summary: ScanSummary, options: ScanOptions) -> None:
    """One page into the ledger, in its own transaction, and into the summary under the status it was given."""
    if owner.rereads:
        status = ledger.replace_kept_page(owner.rereads[r.source.index], r)
        if status is None:
            return
        summary.pages_reread += 1
    else:
        written, written_cpu = time.perf_counter(), time.thread_time()
        if owner.file_id is None:
            owner.file_id = ledger.start_file(owner.info)
        status = ledger.record_page(owner.file_id, r)
        summary.stage_seconds["ledger"] += time.perf_counter() - written
        summary.stage_cpu_seconds["ledger"] += time.thread_time() - written_cpu
    for stage, seconds in r.stage_seconds.items():
        summary.stage_seconds[stage] += seconds
    for stage, seconds in r.stage_cpu_seconds.items():
        summary.stage_cpu_seconds[stage] += seconds
    summary.pages += 1
    summary.page_status[status] += 1
    if r.identity is not None and status == "form":
        summary.copies.add(r.identity.serial)
    if status in ("form", "duplicate", "conflict"):
        summary.answers_flagged += sum(1 for i in r.items if i.state == "flagged")
        summary.comments_written += sum(1 for c in r.comments if c.written)
    if status in ("unreadable", "foreign"):
        reason = r.reason if status == "unreadable" or r.identity is None else foreign_reason(r.identity,
                                                                                              ledger.survey_id)
        summary.problems.append(f"{shown(r.source.path)} page {r.source.index + 1}: {reason}")
        say(f"papervoice: {shown(r.source.path)} page {r.source.index + 1}: {reason}")
    if options.debug_dir is not None and r.debug_png:
        stem = Path(r.source.path).stem
        atomic_write(options.debug_dir / f"{stem}-p{r.source.index + 1:03d}.png", r.debug_png)


def finish_file(ledger: Ledger, done: _FileWork, summary: ScanSummary, options: ScanOptions, held: _Held) -> None:
    """A file's end: it is complete in the ledger (or recorded as failed, under its name if it never opened).
    A one-page file whose page is held (its copy may run on into the next file) ends once that page is in."""
    if any(owner is done for owner, _ in held.pages):
        if done.expected_pages == 1 and not done.error:
            held.ended.append(done)
            return
        release_held(ledger, held, summary, options)
    if done.rereads:
        return
    if done.unopened:
        ledger.record_unopened(done.info.path, done.error or "")
    else:
        if done.file_id is None:
            done.file_id = ledger.start_file(done.info)
        ledger.finish_file(done.file_id, done.error)
    if done.error:
        summary.files_failed += 1
        summary.problems.append(done.error)
        say(f"papervoice: {done.error}")
    else:
        summary.files_read += 1
