"""The ledger: one SQLite file that remembers everything.

Every issued serial, every input file, every page and what became of it, every
box measurement, answer, comment and review decision.  Only the coordinator
writes scans into it, one transaction per page, so a crash loses at most the
pages in flight and re-running picks up where it stopped (files are keyed by
sha256, pages by their index in the file).  The schema and its upgrades are
in `schema`.
A person's review decisions live in their own table and are never touched by
re-scanning; the effective value is the latest decision that is not reverted.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import constants as C
from pipeline.errors import LedgerError
from pipeline.form.identity import PageIdentity, serial_for
from pipeline.ledger.readonly import open_readonly
from pipeline.ledger.schema import (  # noqa: F401 (SCHEMA, content_snapshot: part of the ledger's API)
    EFFECTIVE_VIEWS,
    SCHEMA,
    SCHEMA_VERSION,
    VOLATILE_COLUMNS,
    check_is_ledger,
    content_snapshot,
    migrate,
    views_stored,
)
from pipeline.scan.images import mime_of
from pipeline.scan.results import FileInfo, Fingerprint, PageResult, fingerprint
from pipeline.vocab import DecisionAction

#: A file that could not even be opened has no content hash: it is recorded under this key and its path.
UNOPENED_KEY = "unopened:"


def parse_page_decision(value: str | None) -> dict[str, Any] | None:
    """A 'page' decision's JSON value: {"action": "assign" | "not_form" | "acknowledge_missing", ...}."""
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return {"action": "unknown", "raw": value}
    return parsed if isinstance(parsed, dict) else {"action": "unknown", "raw": value}


def describe_page_decision(value: str | None) -> str:
    """A 'page' decision in words, for the review page and the workbook alike; '' when there is none."""
    decided = parse_page_decision(value)
    if not decided:
        return ""
    action = decided.get("action")
    if action == DecisionAction.ASSIGN:
        return (f"{DecisionAction.ASSIGN.description} to {decided.get('form')} v{decided.get('version')}, "
                f"copy {decided.get('serial')}, page {decided.get('page')}")
    if action == DecisionAction.NOT_FORM:
        return DecisionAction.NOT_FORM.description
    if action == DecisionAction.ACKNOWLEDGE_MISSING:
        missing = ", ".join(str(p) for p in decided.get("missing", []))
        return f"acknowledged: page {missing} missing" if missing else DecisionAction.ACKNOWLEDGE_MISSING.description
    return str(decided.get("raw", value))


def stored_path(path: str) -> str:
    """A file name as the ledger keeps it: names that are not valid UTF-8 (possible on Linux) keep their odd
    bytes as \\x escapes instead of failing to be written at all."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def foreign_reason(ident: PageIdentity, local: str | None) -> str:
    """Why a page from another survey is set aside, naming both surveys."""
    if ident.survey is None:
        return (f"printed without a survey id, but this ledger printed copy {ident.serial} of {ident.form} with its "
                f"own survey id ({local or 'none'}): this page comes from another ledger's print (an old print or "
                "a simulation), not from this survey's copy; scan it into the ledger that printed it. "
                "It is not counted here")
    return (f"printed for another survey ({ident.survey}), not this ledger's ({local or 'none'}): "
            f"copy {ident.serial} of {ident.form} belongs to that survey; scan it into that survey's ledger. "
            "It is not counted here")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SerialsMoved(Exception):
    """Another PaperVoice issued serials between numbering a print run and recording it."""

    def __init__(self, first: int) -> None:
        super().__init__(f"the next free serial number is now {first}")
        self.first = first


@dataclass(frozen=True)
class IssuedSerial:
    serial: str
    number: int


class Ledger:
    """A connection to one ledger file.  Cheap to open; use as a context manager."""

    def __init__(self, path: Path | str, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._told_waiting = False
        if readonly and not self.path.exists():
            raise LedgerError(f"no ledger at {self.path}", "scan or generate first, or pass the right --db")
        try:
            if readonly:
                self.conn = open_readonly(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(self.path, timeout=C.SQLITE_BUSY_TIMEOUT_MS / 1000,
                                            isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {C.SQLITE_BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            check_is_ledger(self.conn, self.path, readonly)
            if not readonly:
                self._when_unlocked(lambda: self.conn.execute("PRAGMA journal_mode = WAL"))
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self._when_unlocked(self._migrate)
            if not views_stored(self.conn):
                self.conn.executescript(EFFECTIVE_VIEWS)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from exc
        except OSError as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc.strerror}",
                              "check the folder exists and you may write to it, or pass another --db") from exc

    def _when_unlocked(self, step: Callable[[], object]) -> None:
        """Run a set-up step, waiting out another PaperVoice that holds the file.

        Switching a new file to WAL can fail with 'locked' at once, without SQLite's busy
        handler waiting, when two scans create the same ledger at the same moment.
        """
        started = time.monotonic()
        deadline = started + C.SQLITE_BUSY_TIMEOUT_MS / 1000
        told = False
        while True:
            try:
                step()
                return
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
                if not told and time.monotonic() - started > C.LEDGER_WAIT_NOTICE_S:
                    told = True
                    _tell_waiting(self.path)
                time.sleep(0.05)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def _migrate(self) -> None:
        with self.transaction():
            migrate(self.conn, self.path)

    @property
    def survey_id(self) -> str | None:
        """This ledger's own random id, printed on every page it issues (None: an old ledger opened read-only)."""
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'survey_id'").fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front so two scans queue rather than deadlock.

        A wait longer than a moment (another program holds the ledger) is said once on stderr, so a person
        does not stare at a silent terminal for a minute."""
        try:
            self._begin_immediate()
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from exc
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):  # e.g. the disk filled up part-way through the file's pages
                raise _ledger_error(self.path, exc) from exc
            raise

    def _begin_immediate(self) -> None:
        notice_ms = int(C.LEDGER_WAIT_NOTICE_S * 1000)
        self.conn.execute(f"PRAGMA busy_timeout = {notice_ms}")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" not in text and "busy" not in text:
                raise
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {C.SQLITE_BUSY_TIMEOUT_MS}")
        if not self._told_waiting:
            self._told_waiting = True
            _tell_waiting(self.path)
        self.conn.execute("BEGIN IMMEDIATE")

    def _rollback(self) -> None:
        # after some errors (disk full, I/O error) SQLite has already rolled back by itself; a failed
        # ROLLBACK must not hide the error that caused it: SQLite undoes the transaction on the next open
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    @contextmanager
    def consistent_read(self) -> Iterator[Ledger]:
        """Read as of one moment: a scan writing meanwhile cannot show half its file to the reader."""
        self.execute("BEGIN")
        try:
            yield self
        finally:
            self.execute("ROLLBACK")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from exc

    # --- issuing ----------------------------------------------------------------------------

    def next_serial_number(self) -> int:
        """The number the next issued serial will get (serials already issued are never reused)."""
        return int(self.execute("SELECT COALESCE(MAX(number), 0) FROM serials").fetchone()[0]) + 1

    def issue_serials(self, form_id: str, version: int, style: str, paper: str, pages: int, copies: int,
                      output: str | None, *, start: int | None = None,
                      then: Callable[[], None] | None = None, survey_printed: bool = False,
                      language: str | None = None) -> list[str]:
        """Record `copies` new serials; numbers only ever grow, so none is reused.

        Issued means printed: `then` (writing the PDF) runs inside the same transaction, so the serials are
        recorded if and only if it succeeds; Ctrl-C or any failure before it is done records nothing.
        `start` is the first number the caller already printed: if another PaperVoice issued serials in the
        meantime, `SerialsMoved` is raised and nothing is recorded (render again with new numbers).
        `survey_printed`: the pages carry this ledger's survey id (then a survey-less code of these serials is
        another ledger's print); False for pages printed with the older survey-less code.
        """
        with self.transaction() as db:
            stamp = now()
            first = db.execute("SELECT COALESCE(MAX(number), 0) FROM serials").fetchone()[0] + 1
            if start is not None and start != first:
                raise SerialsMoved(first)
            batch = db.execute(
                "INSERT INTO issue_batches (form_id, form_version, style, paper, copies, output, issued_at,"
                " survey_printed, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (form_id, version, style, paper, copies, output, stamp, int(survey_printed), language)).lastrowid
            serials = [serial_for(n) for n in range(first, first + copies)]
            db.executemany(
                "INSERT INTO serials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(s, first + i, form_id, version, style, paper, pages, batch, stamp) for i, s in enumerate(serials)])
            if then is not None:
                then()
        return serials

    def serial_issued(self, serial: str) -> bool:
        return self.serial_issued_in(self.conn, serial)

    # --- scanning ---------------------------------------------------------------------------

    def file_status(self, sha256: str) -> str | None:
        """'read', 'failed', 'partial' (some pages committed, then the scan stopped) or None (never seen)."""
        row = self.execute("SELECT outcome, complete FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            return None
        return "partial" if not row["complete"] else str(row["outcome"])

    def committed_pages(self, sha256: str) -> set[int]:
        """Page indices of a file already in the ledger: a resumed scan reads only the others."""
        return {int(r[0]) for r in self.execute(
            "SELECT p.page_index FROM pages p JOIN files f ON f.id = p.file_id WHERE f.sha256 = ?", (sha256,))}

    def record_file(self, info: FileInfo, pages: Sequence[PageResult], error: str | None = None) -> int:
        """Write one input file and all its pages in a single transaction (tests and tools; scans go page by
        page through `start_file`, `record_page` and `finish_file`)."""
        file_id = self.start_file(info)
        for result in pages:
            self.record_page(file_id, result)
        self.finish_file(file_id, error)
        return file_id

    def start_file(self, info: FileInfo) -> int:
        """The file's row, created (incomplete) before its first page is committed; an incomplete row left by
        an interrupted scan is carried on.  A file that failed before is tried again from scratch, and a
        failure recorded under its name alone (it could not be opened then) is forgotten.  A scan interrupted
        part-way through an earlier version of the same file (the scanner saved it again, pages were taken
        out) can never be finished: it is closed, its pages kept, so status stops asking to run it again."""
        with self.transaction() as db:
            db.execute("DELETE FROM files WHERE sha256 = ?", (UNOPENED_KEY + stored_path(info.path),))
            db.execute("UPDATE files SET complete = 1, error = ? WHERE path = ? AND complete = 0 AND sha256 <> ?",
                       ("the file changed before its scan finished; the pages read from the earlier version are "
                        "kept", stored_path(info.path), info.sha256))
            old = db.execute("SELECT id, outcome, complete FROM files WHERE sha256 = ?", (info.sha256,)).fetchone()
            if old is not None:
                if old["outcome"] == "read":
                    return int(old["id"])
                db.execute("DELETE FROM pages WHERE file_id = ?", (old["id"],))
                db.execute("DELETE FROM files WHERE id = ?", (old["id"],))
            file_id = db.execute(
                "INSERT INTO files (sha256, path, size_bytes, pages, outcome, error, scanned_at, complete)"
                " VALUES (?, ?, ?, 0, 'read', NULL, ?, 0)",
                (info.sha256, stored_path(info.path), info.size_bytes, now())).lastrowid
            assert file_id is not None
            return file_id

    def record_page(self, file_id: int, result: PageResult) -> str:
        """Commit one page of a file in its own transaction; returns the status it was recorded with (a form
        page may become a duplicate, a conflict or foreign here).  A page already committed is left alone."""
        with self.transaction() as db:
            row = db.execute("SELECT status FROM pages WHERE file_id = ? AND page_index = ?",
                             (file_id, result.source.index)).fetchone()
            if row is not None:
                return str(row["status"])
            return self._record_page(db, file_id, result)

    def finish_file(self, file_id: int, error: str | None = None) -> None:
        """Mark a file complete: its page count, and 'failed' when it gave no page at all."""
        with self.transaction() as db:
            count = int(db.execute("SELECT COUNT(*) FROM pages WHERE file_id = ?", (file_id,)).fetchone()[0])
            db.execute("UPDATE files SET pages = ?, outcome = ?, error = ?, complete = 1 WHERE id = ? AND complete = 0",
                       (count, "failed" if error and not count else "read", error, file_id))

    _KEPT_SQL = ("FROM pages p JOIN files f ON f.id = p.file_id WHERE p.status = 'not_form' AND p.form_id IS NOT NULL"
                 " AND (p.survey IS NULL OR p.survey = (SELECT value FROM meta WHERE key = 'survey_id'))"
                 " AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.kind = 'page' AND d.page_id = p.id"
                 " AND d.reverted_at IS NULL)")

    def kept_for_definition(self, sha256: str) -> list[tuple[int, int, PageIdentity]]:
        """Pages of a file kept because their form was not defined (or did not match) when they were scanned,
        and no person has dealt with yet: (page index, page id, what its code said)."""
        return [(int(r["page_index"]), int(r["id"]),
                 PageIdentity(str(r["form_id"]), int(r["form_version"] or 0), str(r["style"]), str(r["paper"]),
                              int(r["form_page"] or 0), int(r["page_count"] or 0), str(r["serial"]), r["survey"],
                              r["language"] if "language" in r.keys() else None))  # noqa: SIM118 (Row: "in" looks at values)
                for r in self.execute("SELECT p.* " + self._KEPT_SQL + " AND f.sha256 = ? ORDER BY p.page_index",
                                      (sha256,))]

    _UNCODED_SQL = ("FROM pages p JOIN files f ON f.id = p.file_id WHERE p.status = 'not_form' AND p.form_id IS NULL"
                    " AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.kind = 'page' AND d.page_id = p.id"
                    " AND d.reverted_at IS NULL)")

    def kept_without_code(self, sha256: str) -> list[tuple[int, int]]:
        """Pages of a file kept as carrying no PaperVoice code, no person has dealt with yet: (page index, page
        id).  Once an adopted form is defined they may turn out to be its returns."""
        return [(int(r["page_index"]), int(r["id"]))
                for r in self.execute("SELECT p.page_index, p.id " + self._UNCODED_SQL
                                      + " AND f.sha256 = ? ORDER BY p.page_index", (sha256,))]

    def files_with_kept_pages(self, uncoded: bool = False) -> list[str]:
        """Where the files holding such pages were scanned from (`scan --retry`); with `uncoded`, also those
        holding pages kept for carrying no code (when adopted forms are defined)."""
        sql = "SELECT DISTINCT f.path, f.id " + self._KEPT_SQL
        if uncoded:
            sql += " UNION SELECT DISTINCT f.path, f.id " + self._UNCODED_SQL
        return [str(r[0]) for r in self.execute(sql + " ORDER BY 2")]

    def replace_kept_page(self, page_id: int, r: PageResult) -> str | None:
        """A kept page read again now that its form is defined: it takes the new reading (form, duplicate,
        conflict...) in place, keeping its row and file.  None when it is still not readable as a form."""
        if r.status in ("not_form", "unreadable", "blank"):
            return None
        with self.transaction() as db:
            row = db.execute("SELECT status FROM pages WHERE id = ?", (page_id,)).fetchone()
            if row is None or row["status"] != "not_form":
                return None
            status, reason, duplicate_of, issued = self._place(db, r)
            ident = r.identity
            db.execute(
                "UPDATE pages SET status = ?, reason = ?, form_id = ?, form_version = ?, style = ?, paper = ?,"
                " serial = ?, form_page = ?, page_count = ?, serial_issued = ?, rotation_deg = ?,"
                " fit_residual_mm = ?, dpi = ?, duplicate_of = ?, survey = ? WHERE id = ?",
                (status, reason, ident.form if ident else None, ident.version if ident else None,
                 ident.style if ident else None, ident.paper if ident else None, ident.serial if ident else None,
                 ident.page if ident else None, ident.pages if ident else None, issued, r.rotation_deg,
                 r.fit_residual_mm, r.dpi, duplicate_of, ident.survey if ident else None, page_id))
            self._set_language(db, page_id, ident)
            if status != "foreign":
                self._record_readings(db, page_id, r, status, duplicate_of)
            return status

    def has_column(self, table: str, column: str) -> bool:
        """Old ledgers opened read-only are not upgraded: queries on newer columns ask first."""
        return column in {r[1] for r in self.execute(f"PRAGMA table_info({table})")}

    def forms_seen(self) -> list[tuple[str, int]]:
        """Every (form, version) the ledger issued or read (foreign pages aside)."""
        return [(str(r[0]), int(r[1])) for r in self.execute(
            "SELECT form_id, form_version FROM serials UNION SELECT form_id, form_version FROM pages"
            " WHERE form_id IS NOT NULL AND form_version IS NOT NULL AND status != 'foreign' ORDER BY 1, 2")]

    def record_unopened(self, path: str, error: str) -> None:
        """A file that could not even be opened (permission denied, a dangling link): kept under its name, so
        `status` counts it; forgotten once the file at that path is read."""
        key = UNOPENED_KEY + stored_path(path)
        with self.transaction() as db:
            db.execute("DELETE FROM files WHERE sha256 = ?", (key,))
            db.execute("INSERT INTO files (sha256, path, size_bytes, pages, outcome, error, scanned_at, complete)"
                       " VALUES (?, ?, 0, 0, 'failed', ?, ?, 1)", (key, stored_path(path), error, now()))

    def _image(self, db: sqlite3.Connection, kind: str, png: bytes) -> int | None:
        if not png:
            return None
        return db.execute("INSERT INTO images (kind, mime, data) VALUES (?, ?, ?)",
                          (kind, mime_of(png), png)).lastrowid

    def _record_page(self, db: sqlite3.Connection, file_id: int, r: PageResult) -> str:
        status, reason, duplicate_of, issued = self._place(db, r)
        ident = r.identity
        image_id = self._image(db, "page", r.image_png)
        page_id = db.execute(
            "INSERT INTO pages (file_id, page_index, status, reason, form_id, form_version, style, paper, serial,"
            " form_page, page_count, serial_issued, rotation_deg, fit_residual_mm, dpi, duplicate_of, image_id,"
            " scanned_at, survey) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, r.source.index, status, reason,
             ident.form if ident else None, ident.version if ident else None, ident.style if ident else None,
             ident.paper if ident else None, ident.serial if ident else None, ident.page if ident else None,
             ident.pages if ident else None, issued, r.rotation_deg, r.fit_residual_mm, r.dpi, duplicate_of,
             image_id, now(), ident.survey if ident else None)).lastrowid
        self._set_language(db, page_id, ident)
        assert page_id is not None
        if status != "foreign":  # what a foreign page says belongs to its own survey's ledger, not this one
            self._record_readings(db, page_id, r, status, duplicate_of)
        return status

    def _place(self, db: sqlite3.Connection, r: PageResult,
               by_hand: bool = False) -> tuple[str, str, int | None, int | None]:
        """Status, reason, the earlier scan it repeats (if any), and whether its serial was issued here.
        `by_hand`: a person named the copy (review), so what the page's code says does not matter."""
        ident = r.identity
        status, reason, duplicate_of = r.status, r.reason, None
        if (ident is not None and status in ("form", "foreign", "not_form") and not by_hand
                and self._is_foreign(db, ident)):
            return "foreign", foreign_reason(ident, self._survey(db)), None, None
        if ident is not None and status == "form":
            primary = db.execute(
                "SELECT id FROM pages WHERE serial = ? AND form_id = ? AND form_page = ? AND status = 'form'"
                " ORDER BY id LIMIT 1", (ident.serial, ident.form, ident.page)).fetchone()
            if primary is not None:
                duplicate_of = int(primary["id"])
                if self._fingerprint(db, duplicate_of) == r.fingerprint():
                    status, reason = "duplicate", "the same page was scanned before with the same answers"
                else:
                    status, reason = "conflict", "scanned before with different answers: a person must choose"
        issued = None if ident is None else int(self.serial_issued_in(db, ident.serial))
        if ident is not None and not issued and not reason:
            reason = "serial not issued by this ledger (printed elsewhere?)"
        return status, reason, duplicate_of, issued

    def _record_readings(self, db: sqlite3.Connection, page_id: int, r: PageResult, status: str,
                         duplicate_of: int | None) -> None:
        db.executemany(
            "INSERT INTO box_measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(page_id, b.item, b.value, b.coverage, b.darkness, b.spill, b.dx_mm, b.dy_mm, b.state, b.confidence,
              b.faint, b.solid, b.match) for b in r.boxes])
        for item in r.items:
            crop = self._image(db, "item", item.crop_png)
            db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (page_id, item.item, item.value, item.state, item.reason, item.detail, item.confidence, crop))
        for c in r.comments:
            crop = self._image(db, "comment", c.crop_png)
            db.execute("INSERT INTO comments VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (page_id, c.item, int(c.written), c.text, c.confidence, c.engine, crop))
        if status == "conflict" and duplicate_of is not None:
            self._flag_conflicts(db, duplicate_of, r, page_id)

    def record_reread(self, page_id: int, r: PageResult) -> str:
        """A kept page read again under the identity a person gave it: it becomes a form page (or a duplicate
        or conflict of one), keeping its row, its file and the decision that assigned it.  Returns its status."""
        with self.transaction() as db:
            row = db.execute("SELECT status FROM pages WHERE id = ?", (page_id,)).fetchone()
            if row is None or row["status"] not in ("not_form", "unreadable"):
                raise LedgerError(f"page {page_id} is not waiting to be assigned", "reload the review page")
            status, reason, duplicate_of, issued = self._place(db, r, by_hand=True)
            ident = r.identity
            assert ident is not None
            if status == "foreign":
                raise LedgerError(reason, "scan this page into its own survey's ledger")
            reason = "; ".join(x for x in ("assigned by hand and read", reason) if x)
            db.execute(
                "UPDATE pages SET status = ?, reason = ?, form_id = ?, form_version = ?, style = ?, paper = ?,"
                " serial = ?, form_page = ?, page_count = ?, serial_issued = ?, rotation_deg = ?, fit_residual_mm = ?,"
                " duplicate_of = ? WHERE id = ?",
                (status, reason, ident.form, ident.version, ident.style, ident.paper, ident.serial, ident.page,
                 ident.pages, issued, r.rotation_deg, r.fit_residual_mm, duplicate_of, page_id))
            self._set_language(db, page_id, ident)
            self._record_readings(db, page_id, r, status, duplicate_of)
            return status

    @staticmethod
    def _set_language(db: sqlite3.Connection, page_id: int | None, ident: PageIdentity | None) -> None:
        """A page printed in another language than its form file's (a translation, a bilingual print)."""
        if page_id is not None and ident is not None and ident.language:
            db.execute("UPDATE pages SET language = ? WHERE id = ?", (ident.language, page_id))

    def batch_language(self, serial: str) -> str | None:
        """The language the copy with this serial was printed in (None: its form file's own, or unknown)."""
        if not self.has_column("issue_batches", "language"):
            return None
        row = self.execute("SELECT b.language FROM serials s JOIN issue_batches b ON b.id = s.batch_id"
                           " WHERE s.serial = ?", (serial,)).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def _survey(db: sqlite3.Connection) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key = 'survey_id'").fetchone()
        return None if row is None else str(row[0])

    def _is_foreign(self, db: sqlite3.Connection, ident: PageIdentity) -> bool:
        """Printed for another survey: its serial means nothing here.  A page without a survey id (an old print,
        an old simulation) is ours only where this ledger issued its serial to a survey-less print: once a
        serial was printed with our survey id, a survey-less code of it is another ledger's copy."""
        if ident.survey is not None:
            return ident.survey != self._survey(db)
        row = db.execute("SELECT b.survey_printed FROM serials s JOIN issue_batches b ON b.id = s.batch_id"
                         " WHERE s.serial = ?", (ident.serial,)).fetchone()
        return row is not None and row[0] == 1

    @staticmethod
    def serial_issued_in(db: sqlite3.Connection, serial: str) -> bool:
        return db.execute("SELECT 1 FROM serials WHERE serial = ?", (serial,)).fetchone() is not None

    @staticmethod
    def _fingerprint(db: sqlite3.Connection, page_id: int) -> Fingerprint:
        """The stored scan's fingerprint, by the same rule as `PageResult.fingerprint`."""
        answers = [(r["item"], r["value"], r["state"]) for r in db.execute(
            "SELECT item, value, state FROM answers WHERE page_id = ? ORDER BY rowid", (page_id,))]
        comments = [(r["item"], bool(r["written"])) for r in db.execute(
            "SELECT item, written FROM comments WHERE page_id = ? ORDER BY rowid", (page_id,))]
        return fingerprint(answers, comments)

    @staticmethod
    def _flag_conflicts(db: sqlite3.Connection, primary_id: int, second: PageResult, second_id: int) -> None:
        """Each item the two scans disagree on becomes a question on the first scan's answer."""
        def show(value: int | None, state: str) -> str:
            return str(value) if value is not None else ("unclear" if state == "flagged" else "blank")

        for item in second.items:
            row = db.execute("SELECT value, state, reason, detail FROM answers WHERE page_id = ? AND item = ?",
                             (primary_id, item.item)).fetchone()
            if row is None:
                continue
            if row["reason"] == "conflict" and str(row["detail"] or "").startswith("first scan read"):
                # already in question: every further reading is added, never written over the first two
                detail = f"{row['detail']}; another scan read {show(item.value, item.state)}"
            elif (row["value"], row["state"]) == (item.value, item.state):
                continue
            else:
                detail = (f"first scan read {show(row['value'], row['state'])}; "
                          f"a later scan read {show(item.value, item.state)}")
            db.execute("UPDATE answers SET state = 'flagged', reason = 'conflict', detail = ? "
                       "WHERE page_id = ? AND item = ?", (detail, primary_id, item.item))
        for c in second.comments:
            row = db.execute("SELECT written, text FROM comments WHERE page_id = ? AND item = ?",
                             (primary_id, c.item)).fetchone()
            if row is not None and not row["written"] and c.written:
                # the first scan saw nothing, the second did: keep the writing so nothing is lost
                db.execute("UPDATE comments SET written = 1, text = ?, confidence = ?, engine = ?, crop_id = "
                           "(SELECT crop_id FROM comments WHERE page_id = ? AND item = ?)"
                           " WHERE page_id = ? AND item = ?", (c.text, c.confidence, c.engine, second_id, c.item,
                                                               primary_id, c.item))

    # --- review decisions -------------------------------------------------------------------

    def decide(self, kind: str, page_id: int, item: str, value: str | None, by: str = "") -> int:
        """Record a person's decision; the previous effective value is kept for the audit trail."""
        with self.transaction() as db:
            previous = self._effective(db, kind, page_id, item)
            decision = db.execute(
                "INSERT INTO decisions (kind, page_id, item, previous, value, decided_at, decided_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (kind, page_id, item, previous, value, now(), by)).lastrowid
            assert decision is not None
            return decision

    def revert(self, decision_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE decisions SET reverted_at = ? WHERE id = ? AND reverted_at IS NULL",
                       (now(), decision_id))

    @staticmethod
    def _effective(db: sqlite3.Connection, kind: str, page_id: int, item: str) -> str | None:
        if kind == "answer":
            row = db.execute("SELECT value FROM effective_answers WHERE page_id = ? AND item = ?",
                             (page_id, item)).fetchone()
        elif kind == "comment":
            row = db.execute("SELECT text FROM effective_comments WHERE page_id = ? AND item = ?",
                             (page_id, item)).fetchone()
        else:
            row = db.execute("SELECT value FROM active_decisions WHERE kind = 'page' AND page_id = ? AND item = ?",
                             (page_id, item)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def image(self, image_id: int) -> tuple[str, bytes] | None:
        row = self.execute("SELECT mime, data FROM images WHERE id = ?", (image_id,)).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))


def _tell_waiting(path: Path) -> None:
    print(f"papervoice: the ledger {path} is in use by another program (another PaperVoice, or a tool that has "
          f"it open); waiting up to {C.SQLITE_BUSY_TIMEOUT_MS // 1000} s for it...", file=sys.stderr, flush=True)


def _ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return LedgerError(f"the ledger {path} is read-only", "copy it somewhere you may write, or pass another --db")
    if "disk is full" in text or "database or disk is full" in text:
        return LedgerError(f"the disk holding {path} is full; the page in hand was not written",
                           "free some space and run the same command again: it carries on where this one stopped")
    if "not a database" in text or "malformed" in text:
        return LedgerError(f"{path} is not a PaperVoice ledger or is damaged",
                           "run 'papervoice check' on it, or pass the right --db")
    if "unable to open" in text:
        return LedgerError(f"cannot open the ledger {path}", "check the folder exists and you may write to it")
    if "locked" in text or "busy" in text:
        return LedgerError(f"the ledger {path} stayed locked by another PaperVoice for too long",
                           "wait for the other scan to finish, then run this again")
    return LedgerError(f"ledger {path}: {exc}", "run 'papervoice check' to look for damage")
