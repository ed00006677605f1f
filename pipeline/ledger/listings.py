"""Whole-ledger listings for reports: which forms it holds, every page and file, counts by outcome.

The workbook's Pages sheet and Codebook, and `status`, read these; the questions for a person and the
returned copies are in `queries` (the read model).  SQL stays inside `pipeline/ledger/`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import LedgerError
from pipeline.ledger.queries import page_questions
from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class ListedPage:
    """One scanned page as the ledger recorded it, with a person's decision about it (JSON, or None)."""

    page_id: int
    file_path: str
    page_index: int  # 0-based within its file
    status: str
    reason: str
    serial: str | None
    form_id: str | None
    form_version: int | None
    form_page: int | None
    scanned_at: str
    decision: str | None
    image_id: int | None


@dataclass(frozen=True)
class FailedFile:
    """A file that could not be opened at all, so no page of it is in the ledger."""

    path: str
    error: str
    scanned_at: str


def require_ledger(ledger: Ledger) -> None:
    """Refuse a SQLite file that is not a PaperVoice ledger, before reading anything from it."""
    if ledger.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() is None:
        raise LedgerError(f"{ledger.shown} is not a PaperVoice ledger", "pass the right --db")


def form_ids(ledger: Ledger) -> list[str]:
    """Every form the ledger printed or read a page of."""
    return sorted({str(r[0]) for r in ledger.execute(
        "SELECT form_id FROM serials UNION SELECT form_id FROM pages WHERE form_id IS NOT NULL")})


def form_versions(ledger: Ledger, form_id: str) -> list[int]:
    """Every version of a form the ledger printed or read a page of."""
    return sorted({int(r[0]) for r in ledger.execute(
        "SELECT form_version FROM serials WHERE form_id = ? UNION "
        "SELECT form_version FROM pages WHERE form_id = ? AND form_version IS NOT NULL", (form_id, form_id))})


def copy_languages(ledger: Ledger, form_id: str) -> dict[str, str]:
    """serial → the language its pages were printed in, when not the form file's own (a translation 'cy', a
    bilingual print 'cy+en'): what its codes said, else what its print batch recorded."""
    found: dict[str, str] = {}
    if ledger.has_column("issue_batches", "language"):
        for serial, language in ledger.execute(
                "SELECT s.serial, b.language FROM serials s JOIN issue_batches b ON b.id = s.batch_id"
                " WHERE s.form_id = ? AND b.language IS NOT NULL", (form_id,)):
            found[str(serial)] = str(language)
    if ledger.has_column("pages", "language"):
        for serial, language in ledger.execute(
                "SELECT serial, MIN(language) FROM pages WHERE form_id = ? AND serial IS NOT NULL"
                " AND language IS NOT NULL GROUP BY serial", (form_id,)):
            found[str(serial)] = str(language)
    return found


def issued_count(ledger: Ledger, form_id: str) -> int:
    return int(ledger.execute("SELECT COUNT(*) FROM serials WHERE form_id = ?", (form_id,)).fetchone()[0])


def pages(ledger: Ledger, form_id: str | None = None) -> list[ListedPage]:
    """Every page of every file in file order; with `form_id`, that form's pages and the unrecognised ones."""
    where = "" if form_id is None else "WHERE p.form_id IS NULL OR p.form_id = ?"
    params: Sequence[Any] = () if form_id is None else (form_id,)
    return [ListedPage(int(r[10]), r[0], int(r[1]), r[2], r[3] or "", r[4], r[5], r[6], r[7], r[8], r[9], r[11])
            for r in ledger.execute(
                "SELECT f.path, p.page_index, p.status, p.reason, p.serial, p.form_id, p.form_version, p.form_page, "
                "p.scanned_at, (SELECT d.value FROM active_decisions d WHERE d.kind = 'page' AND d.page_id = p.id "
                "AND d.item = '') AS decision, p.id, p.image_id "
                f"FROM pages p JOIN files f ON f.id = p.file_id {where} ORDER BY f.path, f.id, p.page_index",
                params)]


def failed_files(ledger: Ledger) -> list[FailedFile]:
    """Files that could not be opened at all, by path."""
    return [FailedFile(r[0], r[1] or "", r[2]) for r in ledger.execute(
        "SELECT path, error, scanned_at FROM files WHERE outcome = 'failed' AND "
        "NOT EXISTS (SELECT 1 FROM pages p WHERE p.file_id = files.id) ORDER BY path")]


def issued_by_form(ledger: Ledger) -> dict[tuple[str, int], int]:
    """Copies printed, by (form, version)."""
    return {(str(r[0]), int(r[1])): int(r[2]) for r in ledger.execute(
        "SELECT form_id, form_version, COUNT(*) FROM serials GROUP BY form_id, form_version")}


def file_outcomes(ledger: Ledger) -> dict[str, int]:
    """Files by what became of them ('read', 'failed')."""
    return {str(r[0]): int(r[1]) for r in ledger.execute("SELECT outcome, COUNT(*) FROM files GROUP BY outcome")}


def unfinished_files(ledger: Ledger) -> list[str]:
    """Files a scan had started and not finished (the next scan carries on with them)."""
    if not ledger.has_column("files", "complete"):
        return []
    return [str(r[0]) for r in ledger.execute("SELECT path FROM files WHERE complete = 0 ORDER BY path")]


def page_counts(ledger: Ledger) -> dict[str, int]:
    """Pages by status."""
    return {str(r[0]): int(r[1]) for r in ledger.execute("SELECT status, COUNT(*) FROM pages GROUP BY status")}


@dataclass(frozen=True)
class ForeignPage:
    """A page printed for another survey: kept, never counted, named until a person sets it aside."""

    page_id: int
    path: str
    page: int  # 1-based within its file
    survey: str | None
    serial: str | None
    form_id: str | None
    open: bool


def foreign_pages(ledger: Ledger) -> list[ForeignPage]:
    if not ledger.has_column("pages", "survey"):
        return []
    settled = {q.page_id for q in page_questions(ledger) if q.settled}
    return [ForeignPage(int(r["id"]), str(r["path"]), int(r["page_index"]) + 1, r["survey"], r["serial"],
                        r["form_id"], int(r["id"]) not in settled) for r in ledger.execute(
        "SELECT p.id, p.page_index, p.survey, p.serial, p.form_id, f.path FROM pages p"
        " JOIN files f ON f.id = p.file_id WHERE p.status = 'foreign' ORDER BY f.path, p.page_index")]
