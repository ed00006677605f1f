"""Adopted forms grouped as printed, and a form whose pages are each a return of their own.

The SDAPS-like questionnaire (`bench.sdaps_like`: headings, numbered questions, lists in two or three
columns, a rating grid under scale words, ranges, two questions side by side) is drawn fresh on a seed the
bench does not measure on, adopted with no edit, and its grouping checked against what was printed.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from test_scan import opts

from bench.adopted import edit_like_a_person, grouping_right
from bench.sdaps_like import HELD_OUT_SEEDS, TUNING_SEEDS, questionnaire
from pipeline.adopt.blank import adopt_blank
from pipeline.adopt.detect import Found
from pipeline.adopt.group import group_page
from pipeline.adopt.read import _decide_any
from pipeline.form.adopted import AdoptedBox, Question
from pipeline.form.definition import load_form_file
from pipeline.ledger import queries as Q
from pipeline.ledger.check import check_ledger
from pipeline.ledger.store import Ledger
from pipeline.scan.coordinator import scan
from pipeline.scan.results import BoxReading
from pipeline.simulate.foreign import ForeignSpec, draw_blank, fill_return

TESSERACT = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")


def _save(pages: list[Image.Image], path: Path) -> Path:
    pages[0].save(path, save_all=True, append_images=pages[1:], dpi=(300, 300), compression="tiff_lzw")
    return path


@TESSERACT
def test_an_sdaps_like_questionnaire_is_grouped_as_printed(tmp_path: Path) -> None:
    seed = 7
    assert seed not in HELD_OUT_SEEDS and seed not in TUNING_SEEDS  # a form nothing was tuned or measured on
    q = questionnaire(seed)
    report = adopt_blank(_save(q.pages, tmp_path / "blank.tif"), "sdaps-like", tmp_path / "forms")
    form = load_form_file(report.form_path)
    right, total = grouping_right(form, q.truth)
    assert total == 18 and right >= 17, (right, total)
    assert form.adopted is not None
    texts = [x.text for x in form.adopted.questions]
    assert sum(1 for t in texts if "(write question" not in t) >= 17  # the wording came from the print
    anys = {x.id for x in form.adopted.questions if x.kind == "any"}
    want = {tq.id for tq in q.truth if tq.kind == "any"}
    assert len(anys) == len(want)  # "(tick all that apply)" printed: choose any, with no edit


def test_without_the_print_s_words_grouping_says_it_is_a_guess() -> None:
    boxes = [Found("box", 100 + 20 * c, 100 + 60 * r, 12, 12) for r in range(2) for c in range(2)]
    proposed = group_page(1, boxes, [])
    assert proposed and all("grouped by where the boxes lie" in p.doubt for p in proposed)


def test_a_filled_box_in_choose_any_goes_to_a_person() -> None:
    """Filled in to cancel, or a heavy cross in a small box: nothing else on the item tells them apart."""
    box = AdoptedBox(1, 10, 10, 12, 12)
    q = Question("Q01", "any", "", 1, (box,))
    reading = BoxReading("Q01_1", 1, 0.8, 0.5, 0.0, 0.0, 0.0, "filled", 0.7)
    got = _decide_any(q, box, reading, True, b"")
    assert got.state == "flagged" and got.value == 0 and "cancelled" in got.detail


def test_each_page_on_its_own_needs_no_copy(tmp_path: Path) -> None:
    spec = ForeignSpec(41, "square", 5.0, 0.25, True, 2)
    blank, truth = draw_blank(spec)
    forms = tmp_path / "forms"
    report = adopt_blank(_save(blank, tmp_path / "blank.tif"), "sheets", forms)
    edit_like_a_person(report.form_path, truth, False)
    doc = yaml.safe_load(report.form_path.read_text())
    doc["adopted"]["copies"] = "each-page"  # the one edit: each page is handed out and returned on its own
    report.form_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    pages = [Image.fromarray(fill_return(blank, truth, spec, seed=s, one_sheet=True)[0][p])
             for s, p in ((200, 1), (201, 0), (202, 0), (203, 1))]  # second, first, first, second: no order
    stack = tmp_path / "stack.pdf"
    pages[0].save(stack, save_all=True, append_images=pages[1:], resolution=200)
    db = tmp_path / "s.db"
    scan([stack], opts(db, forms_dirs=(forms,), ocr="none"))
    con = sqlite3.connect(db)
    serials = [s for (s,) in con.execute("SELECT serial FROM pages WHERE status = 'form' ORDER BY page_index")]
    assert len(serials) == 4 and len(set(serials)) == 4  # four returns, none joined to another
    details = [d or "" for (d,) in con.execute("SELECT detail FROM answers WHERE state = 'flagged'")]
    assert not any("copy" in d for d in details), details  # no page's answers doubted for its copy
    answered = con.execute("SELECT COUNT(*) FROM answers WHERE state != 'flagged'").fetchone()[0]
    assert answered > 0
    assert check_ledger(db) == []
    assert np.unique(serials).size == 4
    with Ledger(str(db)) as led:  # the read model (status, review, export): each page a whole return
        assert not Q.incomplete_copies(led)
        returned = Q.returned_copies(led)
        assert len(returned) == 4 and all(c.complete and c.missing == () for c in returned)


def test_a_grid_of_digits_is_one_code_per_column_and_a_rating_grid_one_question_per_row() -> None:
    from pipeline.adopt.wording import Word

    code = [Found("box", 100 + 14 * c, 100 + 14 * r, 10, 10) for r in range(10) for c in range(3)]
    grid = [Found("box", 300 + 40 * c, 400 + 25 * r, 10, 10) for r in range(3) for c in range(5)]
    words = [Word("text", 100, 70, 80, 9, text="Student number"), Word("text", 60, 380, 80, 9, text="Rate these"),
             *(Word("text", 300 + 40 * c - 5, 386, 20, 8, text=s) for c, s in enumerate(("poor", "fair", "ok",
                                                                                             "good", "best")))]
    proposed = group_page(1, code + grid, words)
    shapes = sorted((len(p.boxes), round(p.boxes[0].x), round(p.boxes[-1].y)) for p in proposed)
    assert shapes == [(5, 300, 400), (5, 300, 425), (5, 300, 450), (10, 100, 226), (10, 114, 226), (10, 128, 226)]
    assert not any(p.doubt for p in proposed)


def _small_box_page(ink: str) -> tuple[np.ndarray, AdoptedBox]:
    """A 3.5 mm printed box at the reading resolution, with a heavy x, a heavy + or filled in."""
    import cv2

    from pipeline import constants as C

    px_per_pt = C.WORK_DPI / C.PT_PER_INCH
    side = C.mm(3.5)
    box = AdoptedBox(1, 100.0, 100.0, side, side, line=C.mm(0.3))
    dark = np.zeros((400, 400), np.float32)
    x0, y0, w = round(100 * px_per_pt), round(100 * px_per_pt), round(side * px_per_pt)
    cv2.rectangle(dark, (x0, y0), (x0 + w - 1, y0 + w - 1), 1.0, 2)
    pen = 4  # a felt pen about 0.7 mm wide, heavy for a 3.5 mm box
    if ink == "x":
        cv2.line(dark, (x0 + 1, y0 + 1), (x0 + w - 2, y0 + w - 2), 1.0, pen)
        cv2.line(dark, (x0 + w - 2, y0 + 1), (x0 + 1, y0 + w - 2), 1.0, pen)
    elif ink == "+":
        cv2.line(dark, (x0 + w // 2, y0 + 1), (x0 + w // 2, y0 + w - 2), 1.0, pen)
        cv2.line(dark, (x0 + 1, y0 + w // 2), (x0 + w - 2, y0 + w // 2), 1.0, pen)
    else:
        cv2.rectangle(dark, (x0 + 2, y0 + 2), (x0 + w - 3, y0 + w - 3), 1.0, -1)
    return dark, box


@pytest.mark.parametrize("ink", ["x", "+"])
def test_a_heavy_cross_in_a_small_box_is_a_mark_on_a_cancel_form(ink: str) -> None:
    """Judged by how the ink is spread: the paper between a cross's arms stays white, so a cancel form reads
    it as ticked, not as a box filled in to cancel."""
    from pipeline import constants as C
    from pipeline.adopt.read import _dense_state, measure

    dark, box = _small_box_page(ink)
    m = measure(dark, box, C.WORK_DPI / C.PT_PER_INCH)
    assert m.coverage >= C.ADOPT_DENSE_COVERAGE  # as dense as a fill: only the spread tells them apart
    assert _dense_state(m, True)[0] == "marked"


def test_a_small_box_filled_in_on_a_cancel_form_stays_a_question() -> None:
    """The silent-wrong guard: a box that really looks filled in a choose-any question of a cancel form."""
    from pipeline import constants as C
    from pipeline.adopt.read import _dense_state, measure

    dark, box = _small_box_page("fill")
    m = measure(dark, box, C.WORK_DPI / C.PT_PER_INCH)
    state = _dense_state(m, True)[0]
    assert state == "filled"
    q = Question("Q01", "any", "", 1, (box,))
    reading = BoxReading("Q01_1", 1, m.coverage, 0.9, 0.0, 0.0, 0.0, state, 0.7)
    assert _decide_any(q, box, reading, True, b"").state == "flagged"


def test_a_box_whose_outline_search_lands_on_a_digit_is_measured_where_its_row_was_found() -> None:
    """Seed 102's wrong answer: box 3's search locked on the printed number beside it (4 px off); its four
    neighbours, printed in the same row, were all found 1 px right.  It is measured where they say."""
    from pipeline.adopt.read import agreed_offsets

    found = [(1, 0, 0.8), (1, 0, 0.8), (5, -1, 0.6), (1, 1, 0.8), (1, 0, 0.7), (0, 0, 0.9), (-3, 4, 0.5)]
    groups = ["Q1"] * 5 + ["Q2"] * 2
    got = agreed_offsets(found, groups, 2.0)
    assert got[2] == (1, 0)  # moved to the row's shift
    assert got[:2] + got[3:5] == [(1, 0), (1, 0), (1, 1), (1, 0)]  # the agreeing ones stay where found
    assert got[5:] == [(0, 0), (-3, 4)]  # two boxes alone: nothing to compare with, kept as found
