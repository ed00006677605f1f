"""Where a ledger lives, as the user names it: a file path, `sqlite:///path`, or `postgresql://...`.

Every command takes `--db URL` (or the PAPERVOICE_DB environment variable); this module turns the text into
a `LedgerURL` and is the one place that knows how to show it without its password.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.errors import UsageError

#: The ledger used when neither --db nor PAPERVOICE_DB names one.
DEFAULT_LEDGER = "papervoice.db"
ENV_VAR = "PAPERVOICE_DB"

_POSTGRES_SCHEMES = ("postgresql", "postgres")
_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@:\s]*):(?P<password>[^@/\s]*)@", re.IGNORECASE)
_PASSWORD_PARAM = re.compile(r"(?P<head>\bpassword=)(?P<password>[^&\s]*)", re.IGNORECASE)


def default_ledger() -> str:
    """The ledger a command uses when it is not told: $PAPERVOICE_DB, else ./papervoice.db."""
    return os.environ.get(ENV_VAR, "").strip() or DEFAULT_LEDGER


def mask(text: object) -> str:
    """Any text with the passwords of the database URLs in it replaced by ***: for every message and log."""
    masked = _PASSWORD.sub(lambda m: f"{m['head']}:***@", str(text))
    return _PASSWORD_PARAM.sub(lambda m: f"{m['head']}***", masked)


@dataclass(frozen=True)
class LedgerURL:
    """A parsed ledger location.  `text` is what the user gave; `shown` is safe to print."""

    text: str
    backend: str  # "sqlite" | "postgresql"
    path: Path | None = None  # SQLite: the file

    @property
    def shown(self) -> str:
        return mask(self.text if self.backend != "sqlite" else str(self.path))

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    def __str__(self) -> str:
        return self.shown


def parse_url(location: str | os.PathLike[str] | LedgerURL) -> LedgerURL:
    """`papervoice.db`, `C:\\surveys\\a.db`, `sqlite:///rel.db`, `sqlite:////abs.db`, `postgresql://u@h/db`."""
    if isinstance(location, LedgerURL):
        return location
    if isinstance(location, os.PathLike):
        return LedgerURL(str(location), "sqlite", Path(location))
    text = str(location).strip()
    if not text:
        raise UsageError("--db is empty", "give a ledger file (e.g. papervoice.db) or a postgresql:// address")
    scheme = text.split(":", 1)[0].lower() if "://" in text else ""
    if scheme in _POSTGRES_SCHEMES:
        parts = urlsplit(text)
        if not (parts.path or "/").strip("/"):
            raise UsageError(f"the ledger address {mask(text)} names no database",
                             "add the database name, e.g. postgresql://user@host/papervoice")
        return LedgerURL(text, "postgresql")
    if scheme == "sqlite":
        rest = text.split("://", 1)[1]
        if not rest.startswith("/"):
            raise UsageError(f"the ledger address {text} is not a sqlite:/// address",
                             "use sqlite:///relative/path.db or sqlite:////absolute/path.db, or just the file name")
        path = unquote(rest[1:].split("?", 1)[0])
        if not path:
            raise UsageError(f"the ledger address {text} names no file", "use e.g. sqlite:///papervoice.db")
        return LedgerURL(text, "sqlite", Path(path))
    if scheme:
        raise UsageError(f"the ledger address {mask(text)} uses '{scheme}', which PaperVoice does not know",
                         "give a file name (SQLite) or a postgresql:// address")
    return LedgerURL(text, "sqlite", Path(text))


def local_path(location: str | os.PathLike[str] | LedgerURL) -> Path:
    """Where files that belong beside the ledger go (prints, uploads, the watched-folder state): the SQLite file
    itself, or for a server ledger a name in the current folder after its database (`survey` ->
    ./survey-prints/), so every command and page finds them in the same place."""
    url = parse_url(location)
    if url.path is not None:
        return url.path
    database = urlsplit(url.text).path.strip("/") or "papervoice"
    return Path.cwd() / f"{database}.db"
