"""Look-ups by key for the read model (`queries`): what the ledger issued under a serial, and where a page came
from with the picture kept of it.  Kept apart so the read model stays one readable module."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class IssuedCopy:
    """What the ledger printed under a serial."""

    serial: str
    form_id: str
    form_version: int
    style: str
    paper: str
    pages: int


def issued_copy(ledger: Ledger, serial: str) -> IssuedCopy | None:
    """The copy this ledger issued under `serial`, or None when it issued no such serial."""
    r = ledger.execute("SELECT serial, form_id, form_version, style, paper, pages FROM serials WHERE serial = ?",
                       (serial,)).fetchone()
    return None if r is None else IssuedCopy(str(r["serial"]), str(r["form_id"]), int(r["form_version"]),
                                             str(r["style"]), str(r["paper"]), int(r["pages"]))


@dataclass(frozen=True)
class KeptPage:
    """Where a page came from and the picture of it the ledger kept (for pages a person must look at)."""

    page_id: int
    file_path: str
    page_index: int
    image_id: int | None


def kept_page(ledger: Ledger, page_id: int) -> KeptPage | None:
    r = ledger.execute("SELECT p.id, f.path, p.page_index, p.image_id FROM pages p JOIN files f ON f.id = p.file_id "
                       "WHERE p.id = ?", (page_id,)).fetchone()
    return None if r is None else KeptPage(int(r[0]), str(r[1]), int(r[2]), r[3])
