"""Two stations must never issue the same serials under one survey id (W8).

A SQLite ledger is one file; copied by hand to a second station, both copies would number their prints from
the same next serial, and the returns of two people would meet as "duplicates" or "conflicts".  So the file
remembers which file it is (its inode, recorded the first time it issues serials); a copy finds a different
one and refuses to issue, telling the office to share one ledger (PostgreSQL, via `papervoice ledger copy`)
or, when the file was moved rather than copied, to say so with `papervoice ledger claim`.  A ledger that
`ledger copy` moved elsewhere is marked retired the same way, as is a copy made with `--backup`.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from pipeline.errors import LedgerError

if TYPE_CHECKING:
    from pipeline.ledger.backend import Backend

HOME_KEY = "home"  # SQLite only: {"inode": ..., "path": ...} of the file that issues serials
RETIRED_KEY = "retired"  # {"to": shown address, "at": when, "backup": bool}


def _meta(db: Backend, key: str) -> dict[str, Any] | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    try:
        value = json.loads(row[0])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def set_meta(db: Backend, key: str, value: dict[str, Any] | None) -> None:
    if value is None:
        db.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                   (key, json.dumps(value, sort_keys=True)))


def _file_identity(db: Backend) -> dict[str, Any] | None:
    """The SQLite file's own identity (None for a server ledger, or where the file system gives none)."""
    path = getattr(db, "path", None)
    if db.name != "sqlite" or path is None:
        return None
    try:
        inode = os.stat(path).st_ino
    except OSError:
        return None
    return {"inode": int(inode), "path": str(os.path.abspath(path))} if inode else None


def remember_home(db: Backend) -> None:
    """The first time a SQLite ledger issues serials, it records which file it is (inside that transaction)."""
    here = _file_identity(db)
    if here is not None and _meta(db, HOME_KEY) is None:
        set_meta(db, HOME_KEY, here)


def copied_file_problem(db: Backend) -> str | None:
    """Why this SQLite file is a copy of the one that issued its serials, or None."""
    home, here = _meta(db, HOME_KEY), _file_identity(db)
    if home is None or here is None or home.get("inode") == here["inode"]:
        return None
    return f"this ledger file is a copy of {home.get('path', 'another file')}, which issued its serials"


def issue_problem(db: Backend) -> LedgerError | None:
    """Why this ledger must not issue serials, as the error to raise; None when it may."""
    retired = _meta(db, RETIRED_KEY)
    if retired is not None:
        what = "is a backup copy" if retired.get("backup") else f"was copied to {retired.get('to')}"
        return LedgerError(
            f"the ledger {db.shown} {what} on {retired.get('at', '?')} and no longer issues serials: new copies "
            "printed here could repeat serials issued by the live ledger",
            f"print with --db {retired.get('to')} instead" if not retired.get("backup") else
            "print with the ledger this backup was made from; if that one is lost and this is now the only copy, "
            f"run 'papervoice ledger claim --db {db.shown}'")
    copied = db.issue_guard()
    if copied is not None:
        return LedgerError(
            f"{copied}: if both files print, two people's forms would carry the same serial and one return "
            "would be thrown away as a duplicate",
            "for several stations use one shared ledger: 'papervoice ledger copy ORIGINAL.db "
            "postgresql://user@server/survey', then --db that address on every station. If this file was moved "
            f"(not copied) and the old one is no longer used, run 'papervoice ledger claim --db {db.shown}'")
    return None


def write_problem(db: Backend) -> LedgerError | None:
    """Why scans and decisions must not go into this ledger (it was moved elsewhere, or is a backup), or None:
    they would be missing from the ledger everyone else uses."""
    retired = _meta(db, RETIRED_KEY)
    if retired is None:
        return None
    if retired.get("backup"):
        return LedgerError(f"the ledger {db.shown} is a backup copy made on {retired.get('at', '?')}: what is "
                           "scanned or decided here would be missing from the ledger in use",
                           "use the ledger this backup was made from; if that one is lost, run "
                           f"'papervoice ledger claim --db {db.shown}' first")
    return LedgerError(f"the ledger {db.shown} was copied to {retired.get('to')} on {retired.get('at', '?')}: what "
                       "is scanned or decided here would be missing there",
                       f"use --db {retired.get('to')} (or set PAPERVOICE_DB to it)")


def claim(db: Backend) -> None:
    """A person says this ledger is now the only one in use: it may issue serials again here."""
    set_meta(db, RETIRED_KEY, None)
    set_meta(db, HOME_KEY, None)
    remember_home(db)
