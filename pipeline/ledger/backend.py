"""The one interface every ledger backend offers; the shared code (writer, read model, checks) uses only this.

Shared SQL is standard SQL with `?` placeholders; a backend turns it into its own dialect where it must
(placeholders, column types, how a new row's id comes back, how writers queue, how damage is found).  What
cannot be said portably -- the database's own integrity check, its catalogue, its error codes -- is a method
here, written once per backend in `sqlite_backend` and `postgres_backend`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from pipeline.errors import LedgerError
from pipeline.ledger.url import LedgerURL


class Row(Protocol):
    """A result row: by position and by column name (sqlite3.Row, and the PostgreSQL backend's rows)."""

    def __getitem__(self, key: int | str) -> Any: ...
    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


def storable(params: Sequence[Any]) -> tuple[Any, ...]:
    """Parameters as every backend can keep them: text loses NUL characters (PostgreSQL cannot store them, and
    in OCR text or a file name they mean nothing), so a ledger holds the same text whichever database it is in."""
    return tuple(p.replace("\x00", "") if isinstance(p, str) and "\x00" in p else p for p in params)


class Backend(ABC):
    """A connection to one ledger, in one database product."""

    name: str
    url: LedgerURL
    readonly: bool

    @property
    def shown(self) -> str:
        """Where the ledger is, safe to print (no password)."""
        return self.url.shown

    # --- statements ------------------------------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; database errors come back as `LedgerError` in plain words."""

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """An INSERT into a table with an `id` key: the new row's id."""

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
        """Insert rows into a table with an `id` key; their new ids, in order (one round trip where it can)."""
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        return [self.insert(sql, row) for row in rows]

    # --- transactions ----------------------------------------------------------------------------

    @abstractmethod
    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction; writers queue (one at a time per ledger), so a check-then-write inside it
        (is this page a repeat? which serial is next?) cannot race another station."""

    #: how this database starts a transaction that reads as of one moment
    BEGIN_SNAPSHOT = "BEGIN"

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read as of one moment: a scan writing meanwhile cannot show half its file to the reader."""
        self.execute(self.BEGIN_SNAPSHOT)
        try:
            yield
        finally:
            self.rollback()

    @abstractmethod
    def rollback(self) -> None:
        """End the transaction in hand, if any, writing nothing; never hides the error that led here."""

    @property
    @abstractmethod
    def in_transaction(self) -> bool: ...

    # --- the catalogue and the schema ------------------------------------------------------------

    @abstractmethod
    def tables(self) -> set[str]: ...

    @abstractmethod
    def columns(self, table: str) -> list[str]: ...

    @abstractmethod
    def create(self, ddl: str) -> None:
        """Run shared DDL (CREATE TABLE/INDEX ... IF NOT EXISTS, portable column types) in this dialect."""

    def add_column(self, table: str, column: str, definition: str) -> None:
        """Add a column when it is missing (idempotent): `definition` in the shared DDL's types."""
        if column not in self.columns(table):
            self.create(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    @abstractmethod
    def store_views(self, views: str) -> None:
        """Create or bring up to date the shared views (CREATE TEMP VIEW IF NOT EXISTS ... statements)."""

    @abstractmethod
    def views_ready(self) -> bool: ...

    @abstractmethod
    def upgrade_old_schema(self, from_version: int) -> None:
        """Bring a ledger written by an older PaperVoice up to version 2 (only SQLite ledgers are that old)."""

    @abstractmethod
    def after_copy(self, table: str) -> None:
        """Rows were inserted with their ids given: the next generated id must come after them."""

    # --- soundness -------------------------------------------------------------------------------

    @abstractmethod
    def damage(self) -> list[str]:
        """The database's own word on whether it is intact: damaged pages, broken references."""

    @abstractmethod
    def error(self, exc: Exception) -> LedgerError: ...

    @abstractmethod
    def compact(self) -> None:
        """Rebuild the storage so the bytes of deleted rows do not linger (after an erasure)."""

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def raw(self) -> Any:
        """The DB-API connection underneath, for tests that damage a ledger on purpose."""

    def issue_guard(self) -> str | None:
        """Why this ledger must not issue serials here (a hand-copied file), or None; see `stations`."""
        return None
