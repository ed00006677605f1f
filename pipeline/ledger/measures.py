"""The stored box measures, for deciding every box again (`scan.reclassify`) and the box gallery (`scan.gallery`).

The rows they need and the writes of a re-decision, in portable SQL for every backend; the deciding itself is the
scanner's (`scan.decide`), which the ledger does not import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from pipeline.errors import LedgerError
from pipeline.ledger.backend import Backend
from pipeline.ledger.schema import MEASURE_COLUMNS
from pipeline.ledger.store import Ledger

_BOXES_SQL = f"""
SELECT b.page_id, b.item, b.value, b.coverage AS shown_coverage, b.darkness, b.spill, b.dx_mm, b.dy_mm, b.state,
       b.confidence, b.faint AS shown_faint, b.solid AS shown_solid, b.match, m.position,
       {", ".join("m." + c for c in MEASURE_COLUMNS)}, m.beside_mm2, m.beside_at, m.left_mm2, pm.bitonal, pm.poor_fit
FROM box_measurements b
JOIN box_measures m ON m.page_id = b.page_id AND m.item = b.item AND m.value = b.value
JOIN page_measures pm ON pm.page_id = b.page_id
JOIN pages p ON p.id = b.page_id
WHERE p.status = 'form'
ORDER BY b.page_id, m.position
"""

_GALLERY_SQL = f"""
SELECT b.page_id, b.item, b.value, b.state, b.confidence, p.serial, p.form_id, p.form_version, p.style, p.paper,
       p.form_page, i.data, {", ".join("m." + c for c in MEASURE_COLUMNS)}
FROM box_measurements b
JOIN box_measures m ON m.page_id = b.page_id AND m.item = b.item AND m.value = b.value
JOIN pages p ON p.id = b.page_id
JOIN answers a ON a.page_id = b.page_id AND a.item = b.item
JOIN images i ON i.id = a.crop_id
WHERE p.status = 'form'
"""


def measured_pages(db: Backend) -> dict[int, list[Any]]:
    """Each measured form page's box rows (its stored decision and every measure), in layout order."""
    by_page: dict[int, list[Any]] = defaultdict(list)
    for row in db.execute(_BOXES_SQL).fetchall():
        by_page[int(row["page_id"])].append(row)
    return by_page


def machine_answers(db: Backend) -> dict[tuple[int, str], Any]:
    """(page id, item) -> the machine's stored answer on a form page, with its copy and page."""
    return {(int(r["page_id"]), r["item"]): r for r in db.execute(
        "SELECT a.page_id, a.item, a.value, a.state, a.reason, a.detail, a.confidence, p.serial, p.form_page "
        "FROM answers a JOIN pages p ON p.id = a.page_id WHERE p.status = 'form'")}


def reviewed_answers(db: Backend) -> set[tuple[int, str]]:
    return {(int(r["page_id"]), r["item"]) for r in db.execute(
        "SELECT DISTINCT page_id, item FROM decisions WHERE kind = 'answer' AND reverted_at IS NULL")}


def pages_flagged_with(db: Backend, reason: str, engine: str) -> set[int]:
    """Pages with an answer flagged for `reason` or a comment sent to a person by `engine`."""
    return {int(r[0]) for r in db.execute(
        "SELECT page_id FROM answers WHERE reason = ? UNION SELECT page_id FROM comments WHERE engine = ?",
        (reason, engine))}


def blank_fields(db: Backend, page_id: int) -> int:
    return int(db.execute("SELECT COUNT(*) FROM comments WHERE page_id = ? AND written = 0",
                          (page_id,)).fetchone()[0])


def pages_without_measures(db: Backend) -> int:
    return int(db.execute(
        "SELECT COUNT(*) FROM pages p WHERE p.status = 'form' AND EXISTS "
        "(SELECT 1 FROM box_measurements b WHERE b.page_id = p.id) AND NOT EXISTS "
        "(SELECT 1 FROM page_measures pm WHERE pm.page_id = p.id)").fetchone()[0])


def write_redecided(db: Backend, page_id: int, boxes: Sequence[Any], items: Sequence[Any],
                    lost_engine: str | None) -> None:
    """A page decided again: its boxes' and items' new decisions; with `lost_engine`, its blank comment fields go
    to a person (what the reader does on a page whose marks look lost)."""
    db.executemany("UPDATE box_measurements SET state = ?, confidence = ?, solid = ? "
                   "WHERE page_id = ? AND item = ? AND value = ?",
                   [(b.state, b.confidence, b.solid, page_id, b.item, b.value) for b in boxes])
    db.executemany("UPDATE answers SET value = ?, state = ?, reason = ?, detail = ?, confidence = ? "
                   "WHERE page_id = ? AND item = ?",
                   [(i.value, i.state, i.reason, i.detail, i.confidence, page_id, i.item) for i in items])
    if lost_engine is not None:
        db.execute("UPDATE comments SET written = 1, engine = ? WHERE page_id = ? AND written = 0",
                   (lost_engine, page_id))


def gallery_rows(location: str) -> list[Any]:
    """Every measured box with its copy, page, form and its row's evidence crop (read-only)."""
    with Ledger(location, readonly=True) as ledger:
        if "box_measures" not in ledger.db.tables():  # a ledger from before measures were kept
            raise LedgerError(f"{ledger.shown} keeps no box measures", "scan the returns again with this version")
        return list(ledger.execute(_GALLERY_SQL).fetchall())
