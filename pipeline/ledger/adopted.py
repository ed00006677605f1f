"""What the ledger knows of adopted forms' copies: the marks a re-scan of the same paper is recognised by."""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.ledger.store import Ledger


def adopted_copy_marks(ledger: Ledger, form_id: str) -> Iterator[tuple[str, int, str, int, str, float]]:
    """(serial, form page, item, box value, state, coverage) of every box on the first scans of this adopted
    form's copies: what a re-scan of the same paper is recognised by."""
    for r in ledger.execute(
            "SELECT p.serial, p.form_page, b.item, b.value, b.state, b.coverage FROM pages p"
            " JOIN box_measurements b ON b.page_id = p.id WHERE p.form_id = ? AND p.status = 'form'"
            " AND p.serial IS NOT NULL", (form_id,)):
        yield str(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), float(r[5])


def copy_seen(ledger: Ledger, serial: str, form_id: str) -> bool:
    """Some page of copy `serial` of this form was read into the ledger (printed elsewhere, but returned)."""
    return ledger.execute("SELECT 1 FROM pages WHERE serial = ? AND form_id = ? AND status IN ('form', 'duplicate',"
                          " 'conflict') LIMIT 1", (serial, form_id)).fetchone() is not None
