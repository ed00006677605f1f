"""Opening a ledger only to read it, wherever it lies: also in a folder nobody may write to."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from pipeline import constants as C
from pipeline.errors import LedgerError


def open_readonly(path: Path | str, timeout_s: float = C.SQLITE_BUSY_TIMEOUT_MS / 1000) -> sqlite3.Connection:
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
