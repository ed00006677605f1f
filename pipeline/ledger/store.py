"""The ledger: the one writer interface to everything PaperVoice remembers, in SQLite or PostgreSQL.

Every issued serial, every input file, every page and what became of it, every
box measurement, answer, comment and review decision.  `open_ledger(url)` (or
`Ledger(url)`) picks the backend from the address: a file path or `sqlite:///...`
is the embedded SQLite default, `postgresql://...` a server shared by several
stations.  The shared code here and in `scanning` speaks portable SQL only; what
differs between the databases is in `sqlite_backend` and `postgres_backend`.
The schema and its upgrades are in `schema`; reading is the read model's
(`queries`, `listings`).  A person's review decisions live in their own table and
are never touched by re-scanning; the effective value is the latest decision that
is not reverted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import LedgerError
from pipeline.form.identity import serial_for
from pipeline.ledger.backend import Backend, Cursor
from pipeline.ledger.decisions import describe_page_decision, parse_page_decision  # noqa: F401 (API)
from pipeline.ledger.records import PageRecord
from pipeline.ledger.scanning import UNOPENED_KEY, ScanWriter, foreign_reason, now, stored_path  # noqa: F401 (API)
from pipeline.ledger.schema import (  # noqa: F401 (SCHEMA, content_snapshot: part of the ledger's API)
    EFFECTIVE_VIEWS,
    SCHEMA,
    SCHEMA_VERSION,
    VOLATILE_COLUMNS,
    check_is_ledger,
    content_snapshot,
    migrate,
)
from pipeline.ledger.url import LedgerURL, parse_url


class SerialsMoved(Exception):
    """Another PaperVoice issued serials between numbering a print run and recording it."""

    def __init__(self, first: int) -> None:
        super().__init__(f"the next free serial number is now {first}")
        self.first = first


class Overtaken(Exception):
    """Someone else decided the question between a person seeing it and choosing: their choice is not saved."""

    def __init__(self, standing: int | None, value: str | None) -> None:
        super().__init__(f"decision {standing} stands now")
        self.standing = standing  # the decision that stands now (None: someone undid the one the person saw)
        self.value = value


@dataclass(frozen=True)
class IssuedSerial:
    serial: str
    number: int


def connect(url: LedgerURL, readonly: bool) -> Backend:
    """The backend the address names."""
    if url.is_postgres:
        from pipeline.ledger.postgres_backend import PostgresBackend

        return PostgresBackend(url, readonly)
    from pipeline.ledger.sqlite_backend import SQLiteBackend

    return SQLiteBackend(url, readonly)


class Ledger(ScanWriter):
    """A connection to one ledger.  Cheap to open; use as a context manager.

    `location` is a path, `sqlite:///path` or `postgresql://...`.  Opened for writing, a new ledger is
    created and an older one brought up to date; opened read-only, nothing is written (safe beside a scan).
    """

    def __init__(self, location: str | os.PathLike[str] | LedgerURL, readonly: bool = False) -> None:
        self.url = parse_url(location)
        self.readonly = readonly
        self.db = connect(self.url, readonly)
        try:
            check_is_ledger(self.db, readonly)  # another program's database is never written to
            if readonly:
                self.db.store_views(EFFECTIVE_VIEWS)  # an old SQLite ledger gets them TEMP; nothing is written
            else:
                self._migrate()
        except BaseException:
            self.db.close()
            raise

    @property
    def shown(self) -> str:
        """Where the ledger is, safe to print: the file, or the server address without its password."""
        return self.url.shown

    @property
    def path(self) -> Path | str:
        """The SQLite file, or the shown address of a PostgreSQL ledger (for messages)."""
        return self.url.path if self.url.path is not None else self.url.shown

    @property
    def conn(self) -> Any:
        """The DB-API connection underneath (tests that damage a ledger on purpose)."""
        return self.db.raw

    @property
    def backend(self) -> str:
        return self.db.name

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        from pipeline.ledger.stations import remember_home

        def step() -> None:
            with self.transaction() as db:
                migrate(db)
                remember_home(db)  # a SQLite file knows from the start which file it is: a copy is told apart

        when_unlocked = getattr(self.db, "when_unlocked", None)
        when_unlocked(step) if when_unlocked else step()

    @property
    def survey_id(self) -> str | None:
        """This ledger's own random id, printed on every page it issues (None: an old ledger opened read-only)."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'survey_id'").fetchone()
        except LedgerError:
            return None
        return None if row is None else str(row[0])

    @contextmanager
    def transaction(self) -> Iterator[Backend]:
        """One write transaction; writers queue, one at a time per ledger, on either backend."""
        with self.db.write():
            yield self.db

    @contextmanager
    def consistent_read(self) -> Iterator[Ledger]:
        """Read as of one moment: a scan writing meanwhile cannot show half its file to the reader."""
        with self.db.snapshot():
            yield self

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.db.execute(sql, params)

    def has_column(self, table: str, column: str) -> bool:
        """Old ledgers opened read-only are not upgraded: queries on newer columns ask first."""
        return column in self.db.columns(table)

    def columns_of(self, table: str) -> list[str]:
        return self.db.columns(table)

    # --- issuing ----------------------------------------------------------------------------

    def next_serial_number(self) -> int:
        """The number the next issued serial will get (serials already issued are never reused)."""
        return int(self.execute("SELECT COALESCE(MAX(number), 0) FROM serials").fetchone()[0]) + 1

    def issue_serials(self, form_id: str, version: int, style: str, paper: str, pages: int, copies: int,
                      output: str | None, *, start: int | None = None,
                      then: Callable[[], None] | None = None, survey_printed: bool = False,
                      language: str | None = None, label: str | None = None) -> list[str]:
        """Record `copies` new serials; numbers only ever grow, so none is reused.

        Issued means printed: `then` (writing the PDF) runs inside the same transaction, so the serials are
        recorded if and only if it succeeds; Ctrl-C or any failure before it is done records nothing.
        `start` is the first number the caller already printed: if another PaperVoice issued serials in the
        meantime, `SerialsMoved` is raised and nothing is recorded (render again with new numbers).
        `survey_printed`: the pages carry this ledger's survey id (then a survey-less code of these serials is
        another ledger's print); False for pages printed with the older survey-less code.
        `label` (a team, site or batch; None for none) is kept on the batch and carried into every export.  A ledger
        that must not issue serials here (a file copied from another station, one moved to a shared server)
        refuses, saying why.
        """
        from pipeline.ledger.stations import issue_problem, remember_home

        with self.transaction() as db:
            problem = issue_problem(db)
            if problem is not None:
                raise problem
            stamp = now()
            first = int(db.execute("SELECT COALESCE(MAX(number), 0) FROM serials").fetchone()[0]) + 1
            if start is not None and start != first:
                raise SerialsMoved(first)
            batch = db.insert(
                "INSERT INTO issue_batches (form_id, form_version, style, paper, copies, output, issued_at,"
                " survey_printed, language, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (form_id, version, style, paper, copies, output, stamp, int(survey_printed), language,
                 label or None))
            serials = [serial_for(n) for n in range(first, first + copies)]
            db.executemany(
                "INSERT INTO serials (serial, number, form_id, form_version, style, paper, pages, batch_id,"
                " issued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(s, first + i, form_id, version, style, paper, pages, batch, stamp) for i, s in enumerate(serials)])
            remember_home(db)
            if then is not None:
                then()
        return serials

    def adopted_copy_serial(self, form_id: str, code: str, version: int, style: str, paper: str, pages: int,
                            output: str) -> str:
        """The ledger number of the adopted copy whose sheets carry `code`: the one given before (a re-scan,
        a re-read), else a new one, recorded with the code in the same transaction."""
        with self.transaction() as db:
            row = db.execute("SELECT serial FROM adopted_sheets WHERE form_id = ? AND code = ?",
                             (form_id, code)).fetchone()
            if row is not None:
                return str(row[0])
        serial = self.issue_serials(form_id, version, style, paper, pages, 1, output)[0]
        with self.transaction() as db:
            db.execute("INSERT INTO adopted_sheets (form_id, code, serial) VALUES (?, ?, ?) "
                       "ON CONFLICT (form_id, code) DO NOTHING", (form_id, code, serial))
            return str(db.execute("SELECT serial FROM adopted_sheets WHERE form_id = ? AND code = ?",
                                  (form_id, code)).fetchone()[0])

    def serial_issued(self, serial: str) -> bool:
        return self.serial_issued_in(self.db, serial)

    def forms_seen(self) -> list[tuple[str, int]]:
        """Every (form, version) the ledger issued or read (foreign pages aside)."""
        return [(str(r[0]), int(r[1])) for r in self.execute(
            "SELECT form_id, form_version FROM serials UNION SELECT form_id, form_version FROM pages"
            " WHERE form_id IS NOT NULL AND form_version IS NOT NULL AND status != 'foreign' ORDER BY 1, 2")]

    # --- review decisions -------------------------------------------------------------------

    def decide(self, kind: str, page_id: int, item: str, value: str | None, by: str = "",
               seen: int | bool | None = True) -> int:
        """Record a person's decision; the previous effective value is kept for the audit trail.

        `seen` is the decision the person saw standing when they chose (None: the question was open); when
        another decision stands by now, someone else settled it meanwhile and `Overtaken` is raised, in the
        same transaction as the write, so two people can never both settle one question.  True: no check.
        """
        with self.transaction() as db:
            return self._decide(db, kind, page_id, item, value, by, seen)

    def assign_page(self, page_id: int, value: str, r: PageRecord | None, by: str = "",
                    seen: int | bool | None = True) -> tuple[int, str | None]:
        """A person's assignment of a kept page and, when its picture could be read under that identity, the
        reading, in ONE transaction: a crash in between can never leave the page settled but unread.
        Returns the decision's id and the page's new status (None: not read, the assignment alone stands)."""
        with self.transaction() as db:
            decision = self._decide(db, "page", page_id, "", value, by, seen)
            return decision, (self._reread(db, page_id, r) if r is not None else None)

    def _decide(self, db: Backend, kind: str, page_id: int, item: str, value: str | None,
                by: str, seen: int | bool | None = True) -> int:
        from pipeline.ledger.stations import write_problem

        problem = write_problem(db)
        if problem is not None:
            raise problem
        if seen is not True:
            row = db.execute("SELECT id, value FROM active_decisions WHERE kind = ? AND page_id = ? AND item = ?",
                             (kind, page_id, item)).fetchone()
            standing = None if row is None else int(row[0])
            if standing != seen:
                raise Overtaken(standing, None if row is None else row[1])
        previous = self._effective(db, kind, page_id, item)
        return db.insert(
            "INSERT INTO decisions (kind, page_id, item, previous, value, decided_at, decided_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", (kind, page_id, item, previous, value, now(), by))

    def revert(self, decision_id: int) -> None:
        """Undo a decision.  Undoing a page's assignment also undoes the reading it led to: the page goes
        back to the unrecognised pages, unread, to be assigned again (and decisions on its answers go too)."""
        with self.transaction() as db:
            row = db.execute("SELECT kind, page_id, value FROM decisions WHERE id = ? AND reverted_at IS NULL",
                             (decision_id,)).fetchone()
            if row is None:
                return
            stamp = now()
            db.execute("UPDATE decisions SET reverted_at = ? WHERE id = ?", (stamp, decision_id))
            decided = parse_page_decision(row["value"]) if row["kind"] == "page" else None
            if decided is not None and decided.get("action") == "assign":
                self._unread_assigned(db, int(row["page_id"]), stamp)

    @staticmethod
    def _unread_assigned(db: Backend, page_id: int, stamp: str) -> None:
        page = db.execute("SELECT status, reason FROM pages WHERE id = ?", (page_id,)).fetchone()
        if page is None or page["status"] not in ("form", "duplicate", "conflict") or \
                not str(page["reason"] or "").startswith("assigned by hand"):
            return  # never read under the assignment: nothing to undo but the decision
        later = db.execute("SELECT id FROM pages WHERE duplicate_of = ?", (page_id,)).fetchone()
        if later is not None:
            raise LedgerError(f"page id {later[0]} was scanned later as a repeat of this page, so its reading "
                              "cannot be undone", "settle the later scan first, or leave this assignment")
        for table in ("box_measurements", "box_measures", "page_measures", "answers", "comments"):
            db.execute(f"DELETE FROM {table} WHERE page_id = ?", (page_id,))
        db.execute("UPDATE decisions SET reverted_at = ? WHERE page_id = ? AND kind IN ('answer', 'comment')"
                   " AND reverted_at IS NULL", (stamp, page_id))
        db.execute(
            "UPDATE pages SET status = 'not_form', reason = ?, form_id = NULL, form_version = NULL, style = NULL,"
            " paper = NULL, serial = NULL, form_page = NULL, page_count = NULL, serial_issued = NULL,"
            " duplicate_of = NULL WHERE id = ?",
            ("a person assigned this page by hand, then undid it: it waits to be assigned again", page_id))

    @staticmethod
    def _effective(db: Backend, kind: str, page_id: int, item: str) -> str | None:
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


def open_ledger(location: str | os.PathLike[str] | LedgerURL, readonly: bool = False) -> Ledger:
    """The one way into a ledger: a path or `sqlite:///...` (SQLite), or `postgresql://...` (PostgreSQL)."""
    return Ledger(location, readonly=readonly)
