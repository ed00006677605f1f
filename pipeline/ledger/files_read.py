"""What the ledger holds about one input file and one page's source: for the office app's Scan and Review pages.

The Scan page tells each file's outcome in plain words from these (the ledger is the record that a file
was read), and Review's "whole page" finds a page's file here.  SQL stays under pipeline/ledger/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.ledger.queries import IssuedCopy
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
    rotation_deg: float | None = None  # how far the reader found the page turned (clockwise), None if not read


def page_source(ledger: Ledger, page_id: int) -> PageSourceRow | None:
    row = ledger.execute("SELECT p.id, f.path, p.page_index, p.image_id, p.rotation_deg FROM pages p"
                         " JOIN files f ON f.id = p.file_id WHERE p.id = ?", (page_id,)).fetchone()
    if row is None:
        return None
    return PageSourceRow(int(row[0]), str(row[1]), int(row[2]), row[3],
                         None if row[4] is None else float(row[4]))


def pages_read(ledger: Ledger) -> int:
    """Every page the ledger holds: the Scan page's running total."""
    return int(ledger.execute("SELECT COUNT(*) FROM pages").fetchone()[0])


@dataclass(frozen=True)
class LabelCount:
    """Copies printed under one label (the team or site they went to) and how many came back."""

    label: str | None
    form_id: str
    issued: int
    returned: int
    complete: int


def by_label(ledger: Ledger) -> list[LabelCount]:
    """Returns per form and per print label, by the read model's own rule for returned and complete copies."""
    from pipeline.ledger.queries import returned_copies

    if not ledger.has_column("issue_batches", "label"):
        return []
    label_of: dict[str, str | None] = {}
    issued: dict[tuple[str | None, str], int] = {}
    for r in ledger.execute("SELECT s.serial, s.form_id, b.label FROM serials s JOIN issue_batches b"
                            " ON b.id = s.batch_id"):
        label_of[str(r[0])] = r[2]
        key = (r[2], str(r[1]))
        issued[key] = issued.get(key, 0) + 1
    back: dict[tuple[str | None, str], list[int]] = {}
    for copy in returned_copies(ledger):
        if copy.serial in label_of:
            entry = back.setdefault((label_of[copy.serial], copy.form_id), [0, 0])
            entry[0] += 1
            entry[1] += int(copy.complete)
    return [LabelCount(label, form, n, *back.get((label, form), [0, 0]))
            for (label, form), n in sorted(issued.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))]


def unreturned_copies(ledger: Ledger, form_ids: tuple[str, ...]) -> list[IssuedCopy]:
    """Copies this ledger printed of these forms of which no page has been scanned yet, in print order: the
    ones a practice run (`simulate --printed`) fills in, as the people they were handed to would."""
    marks = ", ".join("?" for _ in form_ids)
    rows = ledger.execute(
        "SELECT s.serial, s.form_id, s.form_version, s.style, s.paper, s.pages FROM serials s"
        f" WHERE s.form_id IN ({marks}) AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.serial = s.serial)"
        " ORDER BY s.number", form_ids).fetchall()
    return [IssuedCopy(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), int(r[5])) for r in rows]
