"""A page whose codes are all lost, assigned by hand in review, is read by its corner marks alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import NewLedger, ledger_rows
from test_scan import answers, issue_copy, mark, opts, save_pdf

from pipeline.form.definition import FormRegistry
from pipeline.ledger.store import Ledger
from pipeline.review.reassign import read_assigned_page
from pipeline.scan.coordinator import scan
from pipeline.simulate import returns as sim

PX_PER_PT = 300 / 72


def wipe_codes(page: np.ndarray, layout_page: object) -> None:
    """Scribble out every QR code, as a child with a felt-tip or a torn corner would."""
    for code in layout_page.codes:  # type: ignore[attr-defined]
        x0, y0 = int(code.x * PX_PER_PT), int(code.y * PX_PER_PT)
        x1, y1 = int(code.right * PX_PER_PT), int(code.bottom * PX_PER_PT)
        page[y0:y1, x0:x1] = 255
        page[y0 + 20:y1 - 20:7, x0:x1] = 0  # scribble lines over where the code was


@pytest.mark.parametrize("upside_down", [False, True])
def test_assigned_page_is_read_by_its_corner_marks(tmp_path: Path, upside_down: bool, new_ledger: NewLedger) -> None:
    db = new_ledger("s")
    serial, pages, layout = issue_copy(db, "care-planning-person", "standard")
    truth = {}
    for n, item in enumerate(layout.pages[0].items):  # type: ignore[attr-defined]
        truth[item] = n % 5 + 1
        mark(pages, layout, item, truth[item], "cross", seed=n)
    page = pages[0]
    wipe_codes(page, layout.pages[0])  # type: ignore[attr-defined]
    if upside_down:
        page = np.ascontiguousarray(page[::-1, ::-1])
    scan([save_pdf([page], 300, tmp_path / "torn.pdf")], opts(db, ocr="none"))
    ((page_id, status),) = ledger_rows(db, "SELECT id, status FROM pages")
    assert status == "not_form"

    registry = FormRegistry.from_dirs()
    form = registry.get("care-planning-person")
    with Ledger(db) as ledger:
        value = {"action": "assign", "form": form.id, "version": form.version, "serial": serial, "page": 1}
        ledger.decide("page", int(page_id), "", json.dumps(value))  # type: ignore[call-overload]
        result = read_assigned_page(ledger, int(page_id), form.id, form.version, serial, 1, registry, ocr="none")
    assert result is not None
    got = answers(db)
    for item, value_ in truth.items():
        assert got[(serial, item)][:2] == (value_, "answered"), item
    (row,) = ledger_rows(db, "SELECT status, serial, form_page, reason FROM pages WHERE id = ?", (page_id,))
    assert row[:3] == ("form", serial, 1) and "assigned by hand" in str(row[3])
    # the person's decision stays in the audit trail
    assert ledger_rows(db, "SELECT COUNT(*) FROM decisions WHERE page_id = ?", (page_id,)) == [(1,)]


def test_a_page_that_is_not_a_form_is_not_forced_into_one(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("s")
    serial, pages, _ = issue_copy(db, "care-planning-person", "standard")
    letter = sim.letter_page(pages[0].shape[::-1], np.random.default_rng(2))  # a covering letter
    scan([save_pdf([letter], 300, tmp_path / "letter.pdf")], opts(db, ocr="none"))
    page_id = int(ledger_rows(db, "SELECT id FROM pages")[0][0])  # type: ignore[call-overload]
    registry = FormRegistry.from_dirs()
    with Ledger(db) as ledger:
        assert read_assigned_page(ledger, page_id, "care-planning-person", 1, serial, 1, registry, "none") is None
    assert ledger_rows(db, "SELECT status FROM pages WHERE id = ?", (page_id,)) == [("not_form",)]
