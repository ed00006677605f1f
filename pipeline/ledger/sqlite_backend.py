"""The embedded default: a ledger in one SQLite file (WAL, one writer at a time, readers never blocked)."""

from __future__ import annotations

import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipeline import constants as C
from pipeline.errors import LedgerError
from pipeline.ledger.backend import Backend, Cursor, storable
from pipeline.ledger.url import LedgerURL

#: Version 1 ledgers' page CHECK ends with 'conflict'; version 2 adds 'foreign' (PageStatus.FOREIGN).
_OLD_PAGE_CHECK = "'duplicate', 'conflict'))"
_NEW_PAGE_CHECK = "'duplicate', 'conflict', 'foreign'))"
_VIEW_NAMES = ("active_decisions", "effective_answers", "effective_comments")

# SQLite's primary result codes (https://sqlite.org/rescode.html)
_BUSY, _LOCKED, _READONLY, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 11, 13, 14, 26


class SQLiteBackend(Backend):
    name = "sqlite"

    def __init__(self, url: LedgerURL, readonly: bool = False) -> None:
        assert url.path is not None
        self.url, self.readonly, self.path = url, readonly, url.path
        self._told_waiting = False
        if readonly and not self.path.exists():
            raise LedgerError(f"no ledger at {self.path}", "scan or generate first, or pass the right --db")
        timeout = C.LEDGER_LOCK_WAIT_MS / 1000
        try:
            if readonly:
                self.conn = open_readonly(self.path)  # also in a folder nobody may write to
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute(f"PRAGMA busy_timeout = {C.LEDGER_LOCK_WAIT_MS}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                self.when_unlocked(lambda: self.conn.execute("PRAGMA journal_mode = WAL"))
                self.conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        except OSError as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {exc.strerror}",
                              "check the folder exists and you may write to it, or pass another --db") from exc

    def when_unlocked(self, step: Callable[[], object]) -> None:
        """Run a set-up step, waiting out another PaperVoice that holds the file.

        Switching a new file to WAL can fail with 'locked' at once, without SQLite's busy
        handler waiting, when two scans create the same ledger at the same moment.
        """
        started = time.monotonic()
        deadline = started + C.LEDGER_LOCK_WAIT_MS / 1000
        told = False
        while True:
            try:
                step()
                return
            except (sqlite3.OperationalError, LedgerError) as exc:
                cause = exc.__cause__ if isinstance(exc, LedgerError) else exc
                code = _code(cause) if isinstance(cause, Exception) else None
                busy = code is not None and code in (_BUSY, _LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
                if not told and time.monotonic() - started > C.LEDGER_WAIT_NOTICE_S:
                    told = True
                    tell_waiting(self.shown)
                time.sleep(0.05)

    @property
    def raw(self) -> sqlite3.Connection:
        return self.conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        try:
            return self.conn.execute(sql, storable(params))
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self.conn.executemany(sql, [storable(r) for r in rows])
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            new_id = self.conn.execute(sql, storable(params)).lastrowid
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        assert new_id is not None
        return int(new_id)

    @contextmanager
    def write(self) -> Iterator[None]:
        """BEGIN IMMEDIATE: take the write lock up front so two scans queue rather than deadlock.

        A wait longer than a moment (another program holds the ledger) is said once on stderr, so a person
        does not stare at a silent terminal for a minute."""
        try:
            self._begin_immediate()
        except sqlite3.Error as exc:
            raise self.error(exc) from exc
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self.rollback()
            if isinstance(exc, sqlite3.Error):  # e.g. the disk filled up part-way through the file's pages
                raise self.error(exc) from exc
            raise

    def _begin_immediate(self) -> None:
        notice_ms = int(C.LEDGER_WAIT_NOTICE_S * 1000)
        self.conn.execute(f"PRAGMA busy_timeout = {notice_ms}")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if _code(exc) not in (_BUSY, _LOCKED):
                raise
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {C.LEDGER_LOCK_WAIT_MS}")
        if not self._told_waiting:
            self._told_waiting = True
            tell_waiting(self.shown)
        self.conn.execute("BEGIN IMMEDIATE")

    def rollback(self) -> None:
        # after some errors (disk full, I/O error) SQLite has already rolled back by itself; a failed
        # ROLLBACK must not hide the error that caused it: SQLite undoes the transaction on the next open
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def columns(self, table: str) -> list[str]:
        return [str(r[1]) for r in self.execute(f"PRAGMA table_info({table})")]

    def create(self, ddl: str) -> None:
        for statement in ddl.split(";"):
            if statement.strip():
                self.execute(statement)

    def views_ready(self) -> bool:
        names = {r[0] for r in self.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
        return set(_VIEW_NAMES) <= names

    def store_views(self, views: str) -> None:
        """The views live in the ledger itself, so `sqlite3 papervoice.db` can query them; a view whose stored
        definition differs from this version's is replaced.  An old ledger opened read-only gets them TEMP."""
        if self.readonly:
            if not self.views_ready():
                self.conn.executescript(views)
            return
        stored = {r[0]: _plain(r[1] or "") for r in
                  self.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'")}
        for view in views.split(";"):
            if not view.strip():
                continue
            sql = view.replace("CREATE TEMP VIEW", "CREATE VIEW").strip()
            name = sql.split()[5]  # CREATE VIEW IF NOT EXISTS <name> AS
            if stored.get(name) != _plain(sql):
                self.execute(f"DROP VIEW IF EXISTS {name}")
                self.execute(sql)

    def upgrade_old_schema(self, from_version: int) -> None:
        """A version-1 ledger: new columns, and 'foreign' added to the page statuses the CHECK allows.

        Widening a CHECK changes no stored row, so the table's SQL text is edited in place, the procedure
        SQLite documents for such changes (https://sqlite.org/lang_altertable.html#otheralter).
        """
        if from_version >= 2:
            return
        self.add_column("pages", "survey", "TEXT")
        self.add_column("files", "complete", "INTEGER NOT NULL DEFAULT 1")
        sql = self.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'pages'").fetchone()[0]
        if _NEW_PAGE_CHECK not in sql and _OLD_PAGE_CHECK in sql:
            version = int(self.execute("PRAGMA schema_version").fetchone()[0])
            self.execute("PRAGMA writable_schema = ON")
            try:
                self.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'pages'",
                             (sql.replace(_OLD_PAGE_CHECK, _NEW_PAGE_CHECK),))
                self.execute(f"PRAGMA schema_version = {version + 1}")
            finally:
                self.execute("PRAGMA writable_schema = OFF")

    def after_copy(self, table: str) -> None:
        """SQLite's INTEGER PRIMARY KEY always continues after the largest id: nothing to do."""

    def damage(self) -> list[str]:
        integrity = [str(row[0]) for row in self.execute("PRAGMA integrity_check").fetchall()]
        if integrity != ["ok"]:
            return [f"the database file is damaged: {text}" for text in integrity]
        return [f"{row[0]} row {row[1]} points at a missing {row[2]} row"
                for row in self.execute("PRAGMA foreign_key_check").fetchall()]

    def issue_guard(self) -> str | None:
        from pipeline.ledger.stations import copied_file_problem

        return copied_file_problem(self)

    def compact(self) -> None:
        """VACUUM rewrites the file: deleted rows' bytes leave its free pages."""
        self.execute("VACUUM")

    def close(self) -> None:
        self.conn.close()

    def error(self, exc: Exception) -> LedgerError:
        """A SQLite error in words, chosen by SQLite's result code (its text only where it has no code)."""
        path, code, text = self.path, _code(exc), str(exc).lower()
        if code == _READONLY or "readonly" in text or "read-only" in text:
            return LedgerError(f"the ledger {path} is read-only",
                               "copy it somewhere you may write, or pass another --db")
        if code == _FULL:
            return LedgerError(f"the disk holding {path} is full; the page in hand was not written",
                               "free some space and run the same command again: it carries on where this one "
                               "stopped")
        if code in (_NOTADB, _CORRUPT):
            return LedgerError(f"{path} is not a PaperVoice ledger or is damaged",
                               "run 'papervoice check' on it, or pass the right --db")
        if code == _CANTOPEN:
            return LedgerError(f"cannot open the ledger {path}", "check the folder exists and you may write to it")
        if code in (_BUSY, _LOCKED):
            return LedgerError(f"the ledger {path} stayed locked by another PaperVoice for too long",
                               "wait for the other scan to finish, then run this again")
        return LedgerError(f"ledger {path}: {exc}", "run 'papervoice check' to look for damage")


def _code(exc: Exception) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _plain(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.replace("IF NOT EXISTS ", "")).strip()


def tell_waiting(where: str) -> None:
    """Said once when a ledger is held by another program for more than a moment (both backends)."""
    print(f"papervoice: the ledger {where} is in use by another program (another PaperVoice, or a tool that has "
          f"it open); waiting up to {C.LEDGER_LOCK_WAIT_MS // 1000} s for it...", file=sys.stderr, flush=True)


def open_readonly(path: Path | str, timeout_s: float = C.LEDGER_LOCK_WAIT_MS / 1000) -> sqlite3.Connection:
    """A connection that only reads.  A ledger in WAL mode needs its shared-memory file (-shm) beside it even to
    read; in a folder nobody may write to (an archive on a read-only share) that file cannot be made.  Then,
    if nothing waits in the -wal file (the ledger file holds everything), it is opened as immutable: nobody
    can be writing to a ledger whose folder cannot take its journal."""
    path = Path(path)
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect(extra: str = "") -> sqlite3.Connection:
        return sqlite3.connect(uri + extra, uri=True, timeout=timeout_s, isolation_level=None)

    conn = connect()
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        text = str(exc).lower()
        if "unable to open" not in text and "readonly" not in text and "read-only" not in text:
            raise
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise LedgerError(f"the ledger {path} is in a folder you may not write to, and its last changes are still "
                          f"in {wal.name} beside it, which cannot be read from there",
                          "copy the ledger together with its -wal file to a folder you may write to, and use the "
                          "copy (or run any PaperVoice command once where the folder is writable)")
    return connect("&immutable=1")
