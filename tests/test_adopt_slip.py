"""Registration that cannot slip a row: an exam-like sheet (a regular grid of lettered boxes) drawn with reportlab.

A fit moved by one row of a regular grid lines up almost every box and row number again, with a residual of a
tenth of a millimetre.  The slip check must either find the true fit or say the page may be a row off; the
reported fit quality must then say so too (the step, not 0.1 mm).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from pipeline.adopt import match as M
from pipeline.adopt.blank import adopt_blank
from pipeline.form.definition import Form, load_form_file

MM = 72 / 25.4
ROW_MM = 6.0


def _grid_sheet(path: Path) -> None:
    """Two columns of 20 numbered rows of 3.5 mm boxes with A-E inside, a heading, corner dots, a footer."""
    c = canvas.Canvas(str(path), pagesize=A4)
    w, h = A4
    for x, y in ((10 * MM, 10 * MM), (w - 10 * MM, 10 * MM), (10 * MM, h - 10 * MM), (w - 10 * MM, h - 10 * MM)):
        c.circle(x, y, 1.5 * MM, fill=1)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(20 * MM, h - 25 * MM, "Answer sheet")
    c.setFont("Helvetica", 10)
    c.drawString(20 * MM, h - 32 * MM, "Name and first name: ................................")
    c.drawString(20 * MM, h - 38 * MM, "Fill in the boxes of your answers with a dark pen.")
    side = 3.5 * MM
    for col in range(2):
        for r in range(20):
            top = 55 * MM + r * ROW_MM * MM
            x0 = 30 * MM + col * 85 * MM
            c.setFont("Helvetica", 9)
            c.drawRightString(x0 - 3 * MM, h - top - side + 1, str(r + 1 + col * 20))
            for v, letter in enumerate("ABCDE"):
                x = x0 + v * 6 * MM
                c.setLineWidth(0.5)
                c.rect(x, h - top - side, side, side)
                c.setFont("Helvetica", 6)
                c.drawCentredString(x + side / 2, h - top - side + 0.9 * MM, letter)
    c.setFont("Helvetica", 8)
    c.drawString(20 * MM, 20 * MM, "Do not write outside the boxes. Sheet 1 of 1.")
    c.save()


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Form, np.ndarray]:
    import pypdfium2

    tmp = tmp_path_factory.mktemp("slip")
    _grid_sheet(tmp / "blank.pdf")
    report = adopt_blank(tmp / "blank.pdf", "grid-sheet", tmp / "forms")
    doc = pypdfium2.PdfDocument(str(tmp / "blank.pdf"))
    image = np.asarray(doc[0].render(scale=200 / 72, grayscale=True).to_pil().convert("L")).copy()
    doc.close()
    return load_form_file(report.form_path), image


def _first_box_error_mm(match: M.Match, truth: np.ndarray, dpi: float) -> float:
    """How far the fit puts the first box from where it is on the scan (truth: layout pt -> image px)."""
    assert match.form.adopted is not None
    b = match.form.adopted.questions[0].boxes[0]
    centre = np.array([[[b.x + b.w / 2, b.y + b.h / 2]]], np.float64)
    got = cv2.perspectiveTransform(centre, match.homography).reshape(2)
    want = cv2.perspectiveTransform(centre, truth).reshape(2)
    return float(np.linalg.norm(got - want)) / dpi * 25.4


def test_the_grid_steps_are_the_rows_and_columns(sheet: tuple[Form, np.ndarray]) -> None:
    form, _ = sheet
    assert form.adopted is not None
    steps = M.grid_steps(*M.anchor_arrays(form.adopted.pages[0].anchors))
    lengths = sorted({round(float(np.linalg.norm(s)) / MM, 1) for s in steps})
    assert lengths[0] == pytest.approx(ROW_MM, abs=0.2)  # one row (and one box along a row: 6 mm too)


def test_a_fit_moved_one_row_is_found_out(sheet: tuple[Form, np.ndarray]) -> None:
    """The true fit, moved one row down by hand: the check takes the true one back, or says it cannot tell."""
    form, image = sheet
    assert form.adopted is not None
    dpi = 200.0
    anchors, sizes = M.anchor_arrays(form.adopted.pages[0].anchors)
    blobs = M.scan_blobs(image, dpi)
    truth = np.diag([dpi / 72, dpi / 72, 1.0])
    slipped = truth @ np.array([[1, 0, 0], [0, 1, ROW_MM * MM], [0, 0, 1]], np.float64)
    unchecked = M.settle(anchors, sizes, blobs, 0, slipped, slip=False)
    assert unchecked[3] < 0.3  # the residual alone says the slipped fit is perfect: that is the trap
    _, h, _, _, _, margin, _, _ = M.settle(anchors, sizes, blobs, 0, slipped)
    back = cv2.perspectiveTransform(np.array([[[100.0, 200.0]]]), h).reshape(2)
    fixed = np.allclose(back, np.array([100.0, 200.0]) * dpi / 72, atol=dpi / 25.4)
    assert fixed or margin < M.slip_margin_needed(len(anchors))  # put right, or never trusted


@pytest.mark.parametrize(("cut_mm", "scale", "angle"), [(0, 1.0, 0.0), (4, 0.969, 1.5), (16, 1.039, -0.1),
                                                       (46, 1.058, 0.7), (64, 0.942, 1.3)])
def test_a_page_is_read_in_place_or_flagged_never_a_row_off(sheet: tuple[Form, np.ndarray], cut_mm: float,
                                                             scale: float, angle: float) -> None:
    """Scans a little larger or smaller than the file says, skewed, with the top cut off: cases where the fit
    came out one row (6 mm) off with a 0.05-0.5 mm residual before the slip check and the scale from the print."""
    form, image = sheet
    dpi = 200.0
    page = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = page.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1)
    page = cv2.warpAffine(page, rot, (w, h), borderValue=255)
    cut = int(cut_mm / 25.4 * dpi)
    page = page[cut:]
    truth = np.vstack([rot, [0, 0, 1]]) @ np.diag([dpi / 72 * scale, dpi / 72 * scale, 1.0])
    truth = np.array([[1, 0, 0], [0, 1, -cut], [0, 0, 1]], np.float64) @ truth
    match, why = M.match_page(M.scan_blobs(page, dpi), [form])
    assert match is not None, why
    error = _first_box_error_mm(match, truth, dpi)
    if match.fit_quality_mm <= 1.0:  # trusted: then it must be right
        assert error < 1.0, (error, match.residual_mm, match.slip_margin)
    else:  # not trusted: the reported quality says how far off it may be (a row), not the 0.1 mm residual
        assert not match.slip_safe and match.fit_quality_mm >= ROW_MM - 0.5
    if cut_mm < 30:  # the heading is on the scan: the print tells the rows apart, and the page is read
        assert match.slip_safe and error < 1.0


def test_a_degenerate_fit_is_no_fit_not_a_crash() -> None:
    """A homography that squashes the page onto a line (seen on a 1-bit SDAPS-like page: every vote fell
    on one row) has no scale along one axis; it is refused as a fit rather than divided by."""
    points = np.array([[100.0, 100.0], [300.0, 400.0], [500.0, 700.0]])
    squashed = np.array([[300 / 72, 0.0, 0.0], [0.0, 0.0, 50.0], [0.0, 0.0, 1.0]])
    assert M._scales_of(squashed, points) == []
    fine = np.array([[300 / 72, 0.0, 5.0], [0.0, 300 / 72, 7.0], [0.0, 0.0, 1.0]])
    assert M._scales_of(fine, points) == pytest.approx([300 / 72])


def test_a_page_whose_best_fit_is_degenerate_is_not_that_layout(sheet: tuple[Form, np.ndarray],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole fit refuses: no homography that squashes the page is ever rescaled, settled or read by."""
    form, image = sheet
    assert form.adopted is not None
    anchors, sizes = M.anchor_arrays(form.adopted.pages[0].anchors)
    blobs = M.scan_blobs(image, 200.0)
    assert M.fit_page(anchors, sizes, blobs) is not None  # the true page fits
    squashed = np.array([[200 / 72, 0.0, 0.0], [0.0, 0.0, 50.0], [0.0, 0.0, 1.0]])

    def degenerate(a: np.ndarray, s: np.ndarray, b: M.Blobs, turns: tuple[int, ...] = (0,)) -> object:
        return 0, squashed, len(a), 0.1, np.ones(len(a), bool)

    monkeypatch.setattr(M, "_fit_once", degenerate)
    assert M.fit_page(anchors, sizes, blobs) is None


def test_a_degenerate_fit_has_no_scale_and_does_not_crash() -> None:
    """A homography that folds the page onto a line (seen on a 1-bit SDAPS-like scan) gives no scale to refit
    at: the page is then judged on the fit it has (not recognised, with a reason), never a ZeroDivisionError."""
    folded = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert M._scales_of(folded, np.array([[100.0, 100.0], [200.0, 250.0]])) == []
    assert M._scales_of(np.zeros((3, 3)), np.array([[100.0, 100.0]])) == []
    fine = np.array([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    assert M._scales_of(fine, np.array([[100.0, 100.0]])) == pytest.approx([4.0])



def test_of_several_turns_the_fit_finding_most_print_is_kept(sheet: tuple[Form, np.ndarray],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """SDAPS-like seed 103: a page's rating grid voted as strongly upside down as upright, a fit over all turns
    kept the turn of its first vote (48 of 84 anchors, half the words), upright found 80.  Each turn is fitted
    on its own and the one finding most is kept."""
    form, image = sheet
    blobs = M.scan_blobs(image, 200.0)
    h = np.diag([200 / 72, 200 / 72, 1.0])
    found_at = {0: 80, 1: 10, 2: 48, 3: 12}

    def fit(anchors: np.ndarray, sizes: np.ndarray, b: M.Blobs, slip: bool = True,
            turns: tuple[int, ...] = (0, 1, 2, 3)) -> M.Fit:
        k = 2 if len(turns) > 1 else turns[0]  # over several turns: the vote's favourite, as it was
        ok = np.arange(len(anchors)) < found_at[k]
        return k, h, found_at[k], 0.05, ok, 999, 0.0, 200.0

    monkeypatch.setattr(M, "fit_page", fit)
    candidates = M._candidates(blobs, [form], False)
    assert candidates and candidates[0].quarter_turns == 0 and candidates[0].anchors_found == 80


@pytest.mark.parametrize("turn", [0, 2])
def test_a_grid_that_fits_upside_down_too_is_read_the_way_its_words_say(sheet: tuple[Form, np.ndarray],
                                                                        turn: int) -> None:
    """A grid of boxes lines up almost as well turned half round (SDAPS-like seed 103: 48 of 84 anchors, the
    boxes nearly all); the turn is the one whose fit finds most of the page's print, words and all."""
    form, image = sheet
    page = np.ascontiguousarray(np.rot90(image, turn))
    cut = page.shape[0] // 3  # the top third gone: a fold or a short scan, so the first vote is less sure
    page = page[cut:] if turn == 0 else page[:-cut]
    match, _ = M.match_page(M.scan_blobs(page, 200.0), [form])
    if match is not None and match.fit_quality_mm <= 1.0 and match.words_found >= 0.5:
        assert match.quarter_turns % 4 == turn % 4, (match.quarter_turns, match.score)
