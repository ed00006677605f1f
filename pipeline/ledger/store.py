"""The ledger: one SQLite file that remembers everything.

Every issued serial, every input file, every page and what became of it, every
box measurement, answer, comment and review decision.  Only the coordinator
writes it, one transaction per input file, so a crash loses at most the file
in hand and re-running picks up where it stopped (files are keyed by sha256).
A person's review decisions live in their own table and are never touched by
re-scanning; the effective value is the latest decision that is not reverted.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import constants as C
from pipeline.errors import LedgerError
from pipeline.form.identity import serial_for
from pipeline.scan.images import mime_of
from pipeline.scan.results import FileInfo, Fingerprint, PageResult, fingerprint
from pipeline.vocab import DecisionAction, DecisionKind, FileOutcome, ItemState, PageStatus

SCHEMA_VERSION = 1

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS issue_batches (
    id INTEGER PRIMARY KEY, form_id TEXT NOT NULL, form_version INTEGER NOT NULL, style TEXT NOT NULL,
    paper TEXT NOT NULL, copies INTEGER NOT NULL, output TEXT, issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS serials (
    serial TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE, form_id TEXT NOT NULL, form_version INTEGER NOT NULL,
    style TEXT NOT NULL, paper TEXT NOT NULL, pages INTEGER NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES issue_batches(id), issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, path TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    pages INTEGER NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN {FileOutcome.sql_in()}), error TEXT,
    scanned_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, mime TEXT NOT NULL DEFAULT 'image/png', data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id), page_index INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN {PageStatus.sql_in()}),
    reason TEXT NOT NULL DEFAULT '', form_id TEXT, form_version INTEGER, style TEXT, paper TEXT, serial TEXT,
    form_page INTEGER, page_count INTEGER, serial_issued INTEGER, rotation_deg REAL, fit_residual_mm REAL,
    dpi REAL, duplicate_of INTEGER REFERENCES pages(id), image_id INTEGER REFERENCES images(id),
    scanned_at TEXT NOT NULL, UNIQUE (file_id, page_index));
CREATE INDEX IF NOT EXISTS pages_by_serial ON pages (serial, form_page);
CREATE TABLE IF NOT EXISTS box_measurements (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, value INTEGER NOT NULL,
    coverage REAL NOT NULL, darkness REAL NOT NULL, spill REAL NOT NULL, dx_mm REAL NOT NULL, dy_mm REAL NOT NULL,
    state TEXT NOT NULL, confidence REAL NOT NULL, faint REAL NOT NULL DEFAULT 0, solid REAL NOT NULL DEFAULT 0,
    match REAL NOT NULL DEFAULT 1, PRIMARY KEY (page_id, item, value));
CREATE TABLE IF NOT EXISTS answers (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, value INTEGER,
    state TEXT NOT NULL CHECK (state IN {ItemState.sql_in()}), reason TEXT, detail TEXT NOT NULL DEFAULT '',
    confidence REAL NOT NULL, crop_id INTEGER REFERENCES images(id), PRIMARY KEY (page_id, item));
CREATE TABLE IF NOT EXISTS comments (
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL, written INTEGER NOT NULL, text TEXT NOT NULL,
    confidence REAL NOT NULL, engine TEXT NOT NULL, crop_id INTEGER REFERENCES images(id),
    PRIMARY KEY (page_id, item));
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN {DecisionKind.sql_in()}),
    page_id INTEGER NOT NULL REFERENCES pages(id), item TEXT NOT NULL DEFAULT '', previous TEXT, value TEXT,
    decided_at TEXT NOT NULL, decided_by TEXT NOT NULL DEFAULT '', reverted_at TEXT);
CREATE INDEX IF NOT EXISTS decisions_by_target ON decisions (kind, page_id, item);
"""

#: Every question for a person, with its effective answer. Used by review, status and export.
EFFECTIVE_VIEWS = """
CREATE TEMP VIEW IF NOT EXISTS active_decisions AS
    SELECT d.* FROM decisions d
    WHERE d.reverted_at IS NULL AND d.id = (
        SELECT MAX(d2.id) FROM decisions d2
        WHERE d2.kind = d.kind AND d2.page_id = d.page_id AND d2.item = d.item AND d2.reverted_at IS NULL);
CREATE TEMP VIEW IF NOT EXISTS effective_answers AS
    SELECT p.serial, p.form_id, p.form_version, p.form_page, a.page_id, a.item, a.state AS machine_state,
           a.value AS machine_value, a.reason, a.detail, a.confidence, a.crop_id,
           CASE WHEN d.id IS NULL THEN a.value
                WHEN d.value IS NULL OR d.value = '' THEN NULL ELSE CAST(d.value AS INTEGER) END AS value,
           CASE WHEN d.id IS NOT NULL THEN 'reviewed' ELSE a.state END AS state,
           d.id AS decision_id
    FROM answers a JOIN pages p ON p.id = a.page_id
    LEFT JOIN active_decisions d ON d.kind = 'answer' AND d.page_id = a.page_id AND d.item = a.item
    WHERE p.status = 'form';
CREATE TEMP VIEW IF NOT EXISTS effective_comments AS
    SELECT p.serial, p.form_id, p.form_version, p.form_page, c.page_id, c.item, c.written, c.confidence, c.engine,
           c.crop_id, c.text AS machine_text,
           CASE WHEN d.id IS NULL THEN c.text ELSE COALESCE(d.value, '') END AS text,
           d.id AS decision_id
    FROM comments c JOIN pages p ON p.id = c.page_id
    LEFT JOIN active_decisions d ON d.kind = 'comment' AND d.page_id = c.page_id AND d.item = c.item
    WHERE p.status = 'form';
"""


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


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class IssuedSerial:
    serial: str
    number: int


class Ledger:
    """A connection to one ledger file.  Cheap to open; use as a context manager."""

    def __init__(self, path: Path | str, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly and not self.path.exists():
            raise LedgerError(f"no ledger at {self.path}", "scan or generate first, or pass the right --db")
        try:
            if readonly:
                self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                            timeout=C.SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(self.path, timeout=C.SQLITE_BUSY_TIMEOUT_MS / 1000,
                                            isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {C.SQLITE_BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                self._when_unlocked(lambda: self.conn.execute("PRAGMA journal_mode = WAL"))
                self.conn.execute("PRAGMA synchronous = NORMAL")
                self._when_unlocked(self._migrate)
            self.conn.executescript(EFFECTIVE_VIEWS)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from exc
        except OSError as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc.strerror}",
                              "check the folder exists and you may write to it, or pass another --db") from exc

    @staticmethod
    def _when_unlocked(step: Callable[[], object]) -> None:
        """Run a set-up step, waiting out another PaperVoice that holds the file.

        Switching a new file to WAL can fail with 'locked' at once, without SQLite's busy
        handler waiting, when two scans create the same ledger at the same moment.
        """
        deadline = time.monotonic() + C.SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                step()
                return
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def _migrate(self) -> None:
        with self.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise LedgerError(f"the ledger {self.path} was written by a newer PaperVoice",
                                  "upgrade PaperVoice before using this ledger")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front so two scans queue rather than deadlock."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
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

    def issue_serials(self, form_id: str, version: int, style: str, paper: str, pages: int, copies: int,
                      output: str | None) -> list[str]:
        """Reserve `copies` new serials; numbers only ever grow, so none is reused."""
        with self.transaction() as db:
            stamp = now()
            batch = db.execute(
                "INSERT INTO issue_batches (form_id, form_version, style, paper, copies, output, issued_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (form_id, version, style, paper, copies, output, stamp)).lastrowid
            start = db.execute("SELECT COALESCE(MAX(number), 0) FROM serials").fetchone()[0] + 1
            serials = [serial_for(n) for n in range(start, start + copies)]
            db.executemany(
                "INSERT INTO serials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(s, start + i, form_id, version, style, paper, pages, batch, stamp) for i, s in enumerate(serials)])
        return serials

    def serial_issued(self, serial: str) -> bool:
        return self.serial_issued_in(self.conn, serial)

    # --- scanning ---------------------------------------------------------------------------

    def file_status(self, sha256: str) -> str | None:
        row = self.execute("SELECT outcome FROM files WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else str(row[0])

    def record_file(self, info: FileInfo, pages: Sequence[PageResult], error: str | None = None) -> int:
        """Write one input file and all its pages in a single transaction."""
        with self.transaction() as db:
            old = db.execute("SELECT id, outcome FROM files WHERE sha256 = ?", (info.sha256,)).fetchone()
            if old is not None:
                if old["outcome"] == "read":
                    return int(old["id"])
                # a file that failed before is tried again: forget the failure
                db.execute("DELETE FROM files WHERE id = ?", (old["id"],))
            file_id = db.execute(
                "INSERT INTO files (sha256, path, size_bytes, pages, outcome, error, scanned_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (info.sha256, info.path, info.size_bytes, len(pages), "failed" if error and not pages else "read",
                 error,
                 now()),
            ).lastrowid
            assert file_id is not None
            for result in pages:
                self._record_page(db, file_id, result)
            return file_id

    def _image(self, db: sqlite3.Connection, kind: str, png: bytes) -> int | None:
        if not png:
            return None
        return db.execute("INSERT INTO images (kind, mime, data) VALUES (?, ?, ?)",
                          (kind, mime_of(png), png)).lastrowid

    def _record_page(self, db: sqlite3.Connection, file_id: int, r: PageResult) -> None:
        status, reason, duplicate_of, issued = self._place(db, r)
        ident = r.identity
        image_id = self._image(db, "page", r.image_png)
        page_id = db.execute(
            "INSERT INTO pages (file_id, page_index, status, reason, form_id, form_version, style, paper, serial,"
            " form_page, page_count, serial_issued, rotation_deg, fit_residual_mm, dpi, duplicate_of, image_id,"
            " scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, r.source.index, status, reason,
             ident.form if ident else None, ident.version if ident else None, ident.style if ident else None,
             ident.paper if ident else None, ident.serial if ident else None, ident.page if ident else None,
             ident.pages if ident else None, issued, r.rotation_deg, r.fit_residual_mm, r.dpi, duplicate_of,
             image_id, now())).lastrowid
        assert page_id is not None
        self._record_readings(db, page_id, r, status, duplicate_of)

    def _place(self, db: sqlite3.Connection, r: PageResult) -> tuple[str, str, int | None, int | None]:
        """Status, reason, the earlier scan it repeats (if any), and whether its serial was issued here."""
        ident = r.identity
        status, reason, duplicate_of = r.status, r.reason, None
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
            status, reason, duplicate_of, issued = self._place(db, r)
            ident = r.identity
            assert ident is not None
            reason = "; ".join(x for x in ("assigned by hand and read", reason) if x)
            db.execute(
                "UPDATE pages SET status = ?, reason = ?, form_id = ?, form_version = ?, style = ?, paper = ?,"
                " serial = ?, form_page = ?, page_count = ?, serial_issued = ?, rotation_deg = ?, fit_residual_mm = ?,"
                " duplicate_of = ? WHERE id = ?",
                (status, reason, ident.form, ident.version, ident.style, ident.paper, ident.serial, ident.page,
                 ident.pages, issued, r.rotation_deg, r.fit_residual_mm, duplicate_of, page_id))
            self._record_readings(db, page_id, r, status, duplicate_of)
            return status

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
            row = db.execute("SELECT value, state FROM answers WHERE page_id = ? AND item = ?",
                             (primary_id, item.item)).fetchone()
            if row is None or (row["value"], row["state"]) == (item.value, item.state):
                continue
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


def _ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return LedgerError(f"the ledger {path} is read-only", "copy it somewhere you may write, or pass another --db")
    if "disk is full" in text or "database or disk is full" in text:
        return LedgerError(f"the disk holding {path} is full; nothing from the file in hand was written",
                           "free some space and run the same command again: finished files are kept")
    if "not a database" in text or "malformed" in text:
        return LedgerError(f"{path} is not a PaperVoice ledger or is damaged",
                           "run 'papervoice check' on it, or pass the right --db")
    if "unable to open" in text:
        return LedgerError(f"cannot open the ledger {path}", "check the folder exists and you may write to it")
    if "locked" in text or "busy" in text:
        return LedgerError(f"the ledger {path} stayed locked by another PaperVoice for too long",
                           "wait for the other scan to finish, then run this again")
    return LedgerError(f"ledger {path}: {exc}", "run 'papervoice check' to look for damage")


#: Columns that record when something happened, not what: left out when comparing ledgers.
VOLATILE_COLUMNS = {"scanned_at", "issued_at", "decided_at", "reverted_at", "path", "output"}


def content_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows without timestamps and file paths, images by their bytes, in a stable order.

    Two scans of the same returns must give equal snapshots, however they ran:
    one process or many, interrupted or not.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        snapshot: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] not in VOLATILE_COLUMNS]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            snapshot[table] = sorted(rows, key=repr)
        return snapshot
    finally:
        con.close()
