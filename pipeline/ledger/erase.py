"""Data protection: erase one person's copy, or page images past a retention period, keeping an audit.

Erasing a copy removes everything it said - answers, box measures, comments, review decisions (they hold
the values and transcriptions), "fine to share" marks and every picture of its pages - and unlinks its
page rows from the serial.  The page rows themselves stay, as blank pages whose reason names the erasure,
so every scanned page is still accounted for ("nothing lost") and `check` still passes; the issued serial
stays too (it was printed), but no export lists it again.  The audit row (`erasures`) records which serial,
when, and how many of each thing were removed: never what they said.

A database keeps deleted rows' bytes in free pages until its storage is rebuilt, so an erasure ends with the
backend's compaction (SQLite: VACUUM; PostgreSQL: VACUUM FULL of the tables concerned): afterwards the words
and pictures are gone from the files, not only from the tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.errors import UsageError
from pipeline.ledger.store import Ledger, now
from pipeline.vocab import ErasureKind, PageStatus

CHUNK = 500  # ids per IN (...) list: well inside every database's limit on bound parameters


@dataclass(frozen=True)
class Erasure:
    """One audit entry: what kind of erasure, of which copy (None for a retention sweep), and the counts."""

    id: int
    kind: ErasureKind
    serial: str | None
    erased_at: str
    pages: int
    answers: int
    comments: int
    images: int
    decisions: int
    note: str

    def describe(self) -> str:
        what = f"copy {self.serial}" if self.kind == ErasureKind.COPY else "page images"
        return (f"erasure {self.id} at {self.erased_at}: {what}: {self.pages} pages unlinked, {self.answers} answers, "
                f"{self.comments} comments, {self.images} images, {self.decisions} review decisions removed"
                + (f" ({self.note})" if self.note else ""))


def _marks(ids: Sequence[Any]) -> str:
    return ", ".join("?" for _ in ids)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    batch: list[int] = []
    for i in ids:
        batch.append(i)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_pages(ledger: Ledger, serial: str) -> list[int]:
    """Every page the ledger holds of a copy, whatever became of it (form page, repeat scan, conflict)."""
    return [int(r[0]) for r in ledger.execute("SELECT id FROM pages WHERE serial = ? ORDER BY id", (serial,))]


def erase_copy(ledger: Ledger, serial: str, by: str = "") -> Erasure:
    """Remove one copy's answers, comments, decisions and pictures everywhere; returns the audit entry."""
    serial = serial.strip().upper()
    pages = copy_pages(ledger, serial)
    if not pages and not ledger.serial_issued(serial):
        raise UsageError(f"this ledger holds no copy {serial}", "check the serial printed at the foot of the form "
                         "(e.g. 000123X), and that --db names the right ledger")
    counts = {"answers": 0, "comments": 0, "images": 0, "decisions": 0}
    with ledger.transaction() as db:
        images: set[int] = set()
        for ids in _chunks(pages):
            marks = _marks(ids)
            images |= {int(r[0]) for r in db.execute(
                f"SELECT image_id FROM pages WHERE id IN ({marks}) AND image_id IS NOT NULL"
                f" UNION SELECT crop_id FROM answers WHERE page_id IN ({marks}) AND crop_id IS NOT NULL"
                f" UNION SELECT crop_id FROM comments WHERE page_id IN ({marks}) AND crop_id IS NOT NULL",
                (*ids, *ids, *ids))}
            counts["answers"] += db.execute(f"DELETE FROM answers WHERE page_id IN ({marks})", ids).rowcount
            counts["comments"] += db.execute(f"DELETE FROM comments WHERE page_id IN ({marks})", ids).rowcount
            counts["decisions"] += db.execute(f"DELETE FROM decisions WHERE page_id IN ({marks})", ids).rowcount
            db.execute(f"DELETE FROM box_measurements WHERE page_id IN ({marks})", ids)
            db.execute(f"DELETE FROM shared_comments WHERE page_id IN ({marks})", ids)
        number = db.insert(
            "INSERT INTO erasures (kind, serial, erased_at, pages, answers, comments, images, decisions, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ErasureKind.COPY.value, serial, now(), len(pages), counts["answers"], counts["comments"], len(images),
             counts["decisions"], f"by {by}" if by else ""))
        reason = f"erased at the person's request (erasure {number}); what the page said is no longer kept"
        for ids in _chunks(pages):
            db.execute(
                "UPDATE pages SET status = ?, reason = ?, form_id = NULL, form_version = NULL, style = NULL,"
                " paper = NULL, serial = NULL, form_page = NULL, page_count = NULL, serial_issued = NULL,"
                f" duplicate_of = NULL, image_id = NULL, survey = NULL WHERE id IN ({_marks(ids)})",
                (PageStatus.BLANK.value, reason, *ids))
        _delete_images(db, images)
    _compact(ledger)
    found = erasures(ledger, number)
    return found[0]


def erase_images_older_than(ledger: Ledger, days: int) -> Erasure:
    """Retention: delete the pictures of pages scanned more than `days` days ago; answers and text stay.

    Pictures a person still needs - of an answer or comment waiting for review, or of a page not yet
    placed on a form - are kept until it is settled; run the rule again later to remove them too.
    """
    if days < 0:
        raise UsageError(f"--images-older-than must be a number of days, not {days}", "use e.g. 365")
    cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    with ledger.transaction() as db:
        old = "SELECT id FROM pages WHERE scanned_at < ?"
        undecided = ("NOT EXISTS (SELECT 1 FROM active_decisions d WHERE d.kind = '{kind}' AND d.page_id = t.page_id"
                     " AND d.item = t.item)")
        answers = [(int(r[0]), int(r[1])) for r in db.execute(
            f"SELECT t.page_id, t.crop_id FROM answers t WHERE t.page_id IN ({old}) AND t.crop_id IS NOT NULL"
            f" AND NOT (t.state = 'flagged' AND {undecided.format(kind='answer')})", (cutoff,))]
        comments = [(int(r[0]), int(r[1])) for r in db.execute(
            f"SELECT t.page_id, t.crop_id FROM comments t WHERE t.page_id IN ({old}) AND t.crop_id IS NOT NULL"
            f" AND NOT (t.written = 1 AND {undecided.format(kind='comment')})", (cutoff,))]
        pages = [(int(r[0]), int(r[1])) for r in db.execute(
            "SELECT p.id, p.image_id FROM pages p WHERE p.scanned_at < ? AND p.image_id IS NOT NULL AND NOT"
            " (p.status IN ('not_form', 'unreadable', 'foreign') AND NOT EXISTS (SELECT 1 FROM active_decisions d"
            " WHERE d.kind = 'page' AND d.page_id = p.id))", (cutoff,))]
        images = {i for _, i in answers} | {i for _, i in comments} | {i for _, i in pages}
        for ids in _chunks(i for _, i in answers):
            db.execute(f"UPDATE answers SET crop_id = NULL WHERE crop_id IN ({_marks(ids)})", ids)
        for ids in _chunks(i for _, i in comments):
            db.execute(f"UPDATE comments SET crop_id = NULL WHERE crop_id IN ({_marks(ids)})", ids)
        for ids in _chunks(i for _, i in pages):
            db.execute(f"UPDATE pages SET image_id = NULL WHERE image_id IN ({_marks(ids)})", ids)
        _delete_images(db, images)
        touched = len({p for p, _ in answers} | {p for p, _ in comments} | {p for p, _ in pages})
        number = db.insert(
            "INSERT INTO erasures (kind, serial, erased_at, pages, answers, comments, images, decisions, note)"
            " VALUES (?, NULL, ?, ?, 0, 0, ?, 0, ?)",
            (ErasureKind.IMAGES.value, now(), touched, len(images),
             f"pictures of pages scanned more than {days} days ago"))
    if images:
        _compact(ledger)
    return erasures(ledger, number)[0]


def _delete_images(db: Any, images: set[int]) -> None:
    for ids in _chunks(sorted(images)):
        db.execute(f"DELETE FROM images WHERE id IN ({_marks(ids)})", ids)


def _compact(ledger: Ledger) -> None:
    """Rebuild the storage so deleted bytes do not linger in free pages (each backend its own way)."""
    ledger.db.compact()


def erasures(ledger: Ledger, erasure_id: int | None = None) -> list[Erasure]:
    """The audit of erasures, oldest first (or the one asked for)."""
    if not ledger.has_column("erasures", "id"):
        return []
    sql = ("SELECT id, kind, serial, erased_at, pages, answers, comments, images, decisions, note FROM erasures"
           + (" WHERE id = ?" if erasure_id is not None else "") + " ORDER BY id")
    rows = ledger.execute(sql, () if erasure_id is None else (erasure_id,))
    return [Erasure(int(r[0]), ErasureKind[str(r[1]).upper()], r[2], str(r[3]), int(r[4]), int(r[5]), int(r[6]),
                    int(r[7]), int(r[8]), str(r[9] or "")) for r in rows]
