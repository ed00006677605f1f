"""What the ledger holds about one input file and one page's source: for the office app's Scan and Review pages.

The Scan page tells each file's outcome in plain words from these (the ledger is the record that a file
was read), and Review's "whole page" finds a page's file here.  SQL stays under pipeline/ledger/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class FileReport:
    """One file as the ledger has it: whether it opened, and what became of its pages."""

    path: str
    outcome: str  # FileOutcome value
    error: str | None
    pages: int
    complete: bool
    by_status: dict[str, int] = field(default_factory=dict)


def file_report(ledger: Ledger, sha256: str) -> FileReport | None:
    row = ledger.execute("SELECT id, path, outcome, error, pages, complete FROM files WHERE sha256 = ?",
                         (sha256,)).fetchone()
    if row is None:
        return None
    counts = {str(r[0]): int(r[1]) for r in ledger.execute(
        "SELECT status, COUNT(*) FROM pages WHERE file_id = ? GROUP BY status", (row["id"],))}
    return FileReport(str(row["path"]), str(row["outcome"]), row["error"], int(row["pages"]), bool(row["complete"]),
                      counts)


@dataclass(frozen=True)
class PageSourceRow:
    """Where a ledger page came from: its file as recorded at scan time, and its index in that file."""

    page_id: int
    path: str
    page_index: int
    image_id: int | None


def page_source(ledger: Ledger, page_id: int) -> PageSourceRow | None:
    row = ledger.execute("SELECT p.id, f.path, p.page_index, p.image_id FROM pages p JOIN files f ON f.id = p.file_id"
                         " WHERE p.id = ?", (page_id,)).fetchone()
    if row is None:
        return None
    return PageSourceRow(int(row[0]), str(row[1]), int(row[2]), row[3])


def pages_read(ledger: Ledger) -> int:
    """Every page the ledger holds: the Scan page's running total."""
    return int(ledger.execute("SELECT COUNT(*) FROM pages").fetchone()[0])
