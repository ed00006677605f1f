"""The office app's scanning in the background: uploaded files and a watched scanner folder, read by `scan`.

One thread per app.  It looks at the watched folder every APP_WATCH_INTERVAL_S (every
APP_WATCH_BUSY_INTERVAL_S while files are arriving: a network share sends no change events, so polling is
the mechanism); a file is read once it is complete, told by its content and a short still size (`complete`:
a network scanner writes a PDF over several seconds; reading it half-written would report a damaged file).
Everything ready is read as one batch through the same coordinator as `papervoice scan`, so the ledger's
rules hold as they do there: a file already in the ledger is skipped, a crash or restart loses nothing
(the next batch carries on from the first page the ledger does not hold).

Each file's outcome is recorded beside the ledger (`<ledger>.watched.json`: name, size, time, what
happened, in plain words), so a file is read once and the Scan page can say what became of it.  Files
are never moved or deleted: the scanner folder stays the user's.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import constants as C
from pipeline.app.complete import ready as file_ready
from pipeline.atomic import atomic_write
from pipeline.errors import InputFileError, PaperVoiceError
from pipeline.ledger import open_ledger
from pipeline.ledger.files_read import FileReport, file_report, pages_read
from pipeline.ledger.store import Ledger
from pipeline.ledger.url import local_path
from pipeline.names import shown
from pipeline.options import AppOptions
from pipeline.scan.coordinator import NOT_SCANS, ScanSummary, scan
from pipeline.scan.loading import expand_inputs, file_info
from pipeline.text import plural
from pipeline.vocab import PageStatus

#: A file's outcome, for the Scan page: done (read), needs a look (read, but some page needs a person: it must
#: not look like success), failed (not read, named with what to do), or left alone.
DONE, ATTENTION, FAILED, LEFT, WAITING, READING = ("done", "needs a look", "failed", "left alone", "waiting",
                                                   "reading")
#: each state as the Scan page's "What happened" column begins: in words, so the icon and colour beside it are
#: never the only sign (an outcome that needs attention must not look like success)
OUTCOME_WORDS = {DONE: "Read", ATTENTION: "Needs a look", FAILED: "Not read", LEFT: "Left alone",
                 WAITING: "Waiting", READING: "Being read"}
#: pages that make a file need a look, with what to do about them
_NEEDS_A_LOOK = {
    PageStatus.NOT_FORM.value: "Open Review: a page without a readable PaperVoice code (a covering letter, or a "
                               "form whose corners were cut off) waits there for a person.",
    PageStatus.UNREADABLE.value: "Open Review to see the page that could not be read; scan it again at 300 dpi "
                                 "if it is a form.",
    PageStatus.CONFLICT.value: "Open Review: a page scanned twice with different answers waits there for a person.",
    PageStatus.FOREIGN.value: "A page was printed for another survey: scan it into that survey's own PaperVoice.",
}


@dataclass
class FileEvent:
    """One file as the Scan page shows it."""

    name: str  # as shown to people: the file's name in the folder, or the name the browser sent (escaped on show)
    path: str  # where it is read from (a generated name for uploads)
    source: str  # "folder" or "upload"
    state: str
    words: str = ""  # the outcome in plain words
    advice: str = ""  # what to do, when it failed
    pages: int = 0
    at: str = ""
    size: int = 0
    mtime_ns: int = 0


@dataclass
class Batch:
    files: int = 0
    pages_done: int = 0
    started: float = 0.0


@dataclass
class _Candidate:
    size: int
    mtime_ns: int
    since: float


@dataclass
class Inbox:
    """Files waiting, being read and read; the thread that reads them; the record beside the ledger."""

    options: AppOptions
    watch: Path | None = None
    events: deque[FileEvent] = field(default_factory=lambda: deque(maxlen=C.APP_EVENTS_KEPT))
    batch: Batch | None = None
    problem: str = ""  # a batch-wide problem (the OCR engine missing...): shown at the top of the Scan page
    _queue: list[FileEvent] = field(default_factory=list)
    _seen: dict[str, _Candidate] = field(default_factory=dict)
    _record: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> the file's last FileEvent
    _watch_saved: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    scanner: Callable[..., ScanSummary] = scan  # the coordinator; a test may wrap it, never replace its rules

    def __post_init__(self) -> None:
        self._load_record()
        if self.watch is None:
            self.watch = self.options.watch or (Path(self._watch_saved) if self._watch_saved else None)

    # --- the record beside the ledger ------------------------------------------------------------------------

    @property
    def record_path(self) -> Path:
        return local_path(self.options.db).with_name(local_path(self.options.db).name + ".watched.json")

    def _load_record(self) -> None:
        try:
            saved = json.loads(self.record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        files = saved.get("files") if isinstance(saved, dict) else None
        self._record = {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}
        self._watch_saved = saved.get("watch") if isinstance(saved, dict) else None
        for entry in self._record.values():
            fields = {k: entry[k] for k in FileEvent.__dataclass_fields__ if k in entry}
            self.events.append(FileEvent(**fields))
        ordered = sorted(self.events, key=lambda e: e.at, reverse=True)
        self.events.clear()
        self.events.extend(ordered[: C.APP_EVENTS_KEPT])

    def _save_record(self) -> None:
        saved = {"watch": self._watch_saved, "files": self._record}
        atomic_write(self.record_path, json.dumps(saved, indent=1, sort_keys=True).encode("utf-8"))

    # --- what the page asks ------------------------------------------------------------------------------------

    def set_watch(self, folder: Path) -> None:
        with self._lock:
            self.watch = folder
            self._seen.clear()
            self._watch_saved = str(folder)
            self._save_record()
        self._wake.set()

    def add_upload(self, path: Path, shown_name: str) -> None:
        """A file the browser sent, already complete on disk under a generated name."""
        with self._lock:
            self._queue.append(FileEvent(shown_name, str(path), "upload", WAITING, "waiting to be read",
                                         at=_now(), size=path.stat().st_size))
        self._wake.set()

    def snapshot(self) -> dict[str, Any]:
        """The Scan page's live progress (and /scan/progress.json)."""
        with self._lock:
            waiting = [asdict(e) for e in self._queue]
            done = [asdict(e) for e in self.events]
            batch = asdict(self.batch) if self.batch else None
            watch = str(self.watch) if self.watch else None
        try:
            with open_ledger(self.options.db, readonly=True) as led:
                total = pages_read(led)
        except PaperVoiceError:
            total = None
        if batch:
            batch["seconds"] = round(time.monotonic() - batch.pop("started"), 1)
        return {"state": READING if batch else ("waiting" if waiting else "idle"), "watch": watch, "batch": batch,
                "waiting": waiting, "files": done, "pages_in_ledger": total, "problem": self.problem}

    # --- the thread ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="papervoice-inbox", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._look_at_folder()
                ready = self._take_ready()
                if ready:
                    self._read(ready)
                    continue
            except Exception as exc:  # never let one bad moment stop the office's scanning: say so and go on
                self.problem = (f"Scanning stopped for a moment ({type(exc).__name__}: {exc}); it tries again by "
                                "itself. If this stays, restart PaperVoice and report it.")
            self._wake.wait(C.APP_WATCH_BUSY_INTERVAL_S if self._arriving() else C.APP_WATCH_INTERVAL_S)
            self._wake.clear()

    def _arriving(self) -> bool:
        """A file in the folder is new or changed lately: look often (an empty or stuck file does not keep the
        share busy for ever)."""
        now = time.monotonic()
        return any(now - c.since < C.APP_WATCH_INCOMPLETE_S for c in self._seen.values())

    def _look_at_folder(self) -> None:
        folder = self.watch
        if folder is None:
            return
        if not folder.is_dir():
            self.problem = (f"The scanner folder {folder} cannot be found. Check that the network drive is "
                            "connected, or choose the folder again on the Scan page.")
            return
        if self.problem.startswith("The scanner folder"):
            self.problem = ""
        now = time.monotonic()
        own = (self.record_path.resolve(), self.options.uploads.resolve(),
               local_path(self.options.db).with_name(local_path(self.options.db).stem + "-prints").resolve())
        present: set[str] = set()
        for path in expand_inputs([folder]):
            key = str(path)
            present.add(key)
            resolved = path.resolve()
            if resolved == own[0] or any(parent in own[1:] for parent in resolved.parents):
                continue  # the app's own files, should the ledger sit in the scanner folder
            try:
                st = path.stat()
            except OSError:
                continue
            known = self._record.get(key)
            if known and known.get("size") == st.st_size and known.get("mtime_ns") == st.st_mtime_ns:
                continue  # read before, unchanged
            seen = self._seen.get(key)
            if seen is None or (seen.size, seen.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self._seen[key] = _Candidate(st.st_size, st.st_mtime_ns, now)  # new, or still being written
                continue
            if st.st_size > 0 and file_ready(path, now - seen.since, C.APP_WATCH_SETTLE_S, C.APP_WATCH_STABLE_S,
                                             C.APP_WATCH_INCOMPLETE_S) and _can_open(path):
                with self._lock:
                    if not any(e.path == key for e in self._queue):
                        self._queue.append(FileEvent(path.name, key, "folder", WAITING, "waiting to be read",
                                                     at=_now(), size=st.st_size, mtime_ns=st.st_mtime_ns))
                del self._seen[key]
        for gone in set(self._seen) - present:  # renamed or deleted before it was complete (a scanner's temp file)
            del self._seen[gone]

    def _take_ready(self) -> list[FileEvent]:
        with self._lock:
            ready, self._queue = self._queue, []
            if ready:
                self.batch = Batch(files=len(ready), started=time.monotonic())
                for e in ready:
                    e.state, e.words = READING, "being read"
            return ready

    def _read(self, ready: list[FileEvent]) -> None:
        def progress(summary: ScanSummary) -> None:
            if self.batch is not None:
                self.batch.pages_done = summary.pages

        problem = ""
        try:
            self.scanner([Path(e.path) for e in ready if Path(e.path).exists()], self.options.scan_options(),
                         on_page=progress)
        except PaperVoiceError as exc:  # the whole batch could not start (a missing program, the ledger)
            problem = str(exc)
        except Exception as exc:
            problem = f"the scan stopped on an unexpected error ({type(exc).__name__}: {exc}); please report this"
        self.problem = problem
        with open_ledger(self.options.db, readonly=True) as led:
            for e in ready:
                self._settle(led, e, problem)
        with self._lock:
            for e in ready:
                self.events.appendleft(e)
                self._record[e.path] = asdict(e)
            self._save_record()
            self.batch = None

    @staticmethod
    def _settle(led: Ledger, e: FileEvent, problem: str) -> None:
        """The file's outcome from the ledger, the record that it was read, in plain words."""
        e.at = _now()
        path = Path(e.path)
        if path.suffix.lower() in NOT_SCANS:
            e.state, e.words = LEFT, f"left alone: a {path.suffix.lower()} file is not a scan"
            return
        try:
            report = file_report(led, file_info(path).sha256)
        except InputFileError as exc:
            report = None
            problem = problem or exc.message
        if report is None:
            e.state, e.words = FAILED, "not read: " + _plain(problem or "the file could not be opened", path, e.name)[0]
            e.advice = "Fix what the message says, then copy the file into the folder again (or upload it again)."
            return
        if report.outcome == "failed":
            words, advice = _plain(report.error or "the file could not be opened", path, e.name)
            e.state, e.words = FAILED, f"could not be read: {words}"
            e.advice = _sentence(advice) if advice else ("Scan the paper again as PDF or TIFF at 300 dpi, or copy the "
                                                         "file again from the scanner.")
            return
        e.pages = report.pages
        e.state, e.words = DONE, describe(report)
        todo = [advice for status, advice in _NEEDS_A_LOOK.items() if report.by_status.get(status)]
        if not report.complete:
            todo.append("Reading stopped part-way: it carries on by itself; if it stays like this, send the file "
                        "again.")
        if todo:
            e.state, e.advice = ATTENTION, " ".join(todo)


def _plain(message: str, path: Path, name: str) -> tuple[str, str]:
    """A scan message for the Scan page: the user's own file name instead of the stored one (an upload's is made
    up), and its 'What to do' apart, as its own column rather than run into the words."""
    words, _, advice = message.partition("\n  What to do: ")
    for stored in sorted({str(path), shown(path), path.name}, key=len, reverse=True):
        words = words.replace(stored, name)
    if words.startswith(name + ": "):
        words = words[len(name) + 2:]
    elif words.startswith(name + " "):
        words = words[len(name) + 1:]
    return words.strip(), advice.strip()


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")) if text else ""


def describe(report: FileReport) -> str:
    """'3 pages: 2 read as form pages, 1 blank' in the vocabulary's own words."""
    labels = {m.value: m.label for m in PageStatus}
    parts = [f"{n} {labels[status]}" for status, n in sorted(report.by_status.items(), key=lambda x: -x[1])
             if status in labels]
    text = plural(report.pages, "page")
    text += (": " + ", ".join(parts)) if parts else " (none read)"
    if not report.complete:
        text += " (not finished: it will carry on)"
    return text


def _can_open(path: Path) -> bool:
    """A last check the writer has let go: the file opens for reading (on Windows shares a file still being
    written refuses this)."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
