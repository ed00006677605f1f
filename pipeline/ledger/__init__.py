"""The ledger: everything PaperVoice remembers, behind one interface (`open_ledger`), in SQLite or PostgreSQL."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.ledger.store import Ledger
    from pipeline.ledger.url import LedgerURL


def open_ledger(location: str | os.PathLike[str] | LedgerURL, readonly: bool = False) -> Ledger:
    """A path or `sqlite:///...` (the embedded default), or `postgresql://user@host/db` (shared by stations)."""
    from pipeline.ledger.store import Ledger

    return Ledger(location, readonly=readonly)
