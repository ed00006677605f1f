"""Handwriting: what the OCR engines are given, and what they make of it.

The figures that matter (CER per engine and hand) come from `make bench`; these tests pin the behaviour
those figures rest on: rules removed without cutting the letters that cross them, and RapidOCR running the
PP-OCRv5 models on a whole multi-line field.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_scan import BLACK, comments, issue_copy, opts, save_pdf, scanned

from bench.score import edit_distance, normalise
from pipeline.errors import MissingDependencyError
from pipeline.scan import ocr
from pipeline.scan.comments import remove_lines
from pipeline.scan.coordinator import scan
from pipeline.simulate import returns as sim

PX_PER_MM = 200 / 25.4


def test_rules_are_removed_but_strokes_crossing_them_stay_whole() -> None:
    ink = np.zeros((200, 600), np.uint8)
    cv2.line(ink, (20, 100), (580, 100), 255, 3)  # a printed writing rule
    cv2.line(ink, (300, 60), (300, 140), 255, 3)  # a descender drawn straight through it
    cv2.line(ink, (450, 60), (450, 99), 255, 3)  # a stroke that stops on the rule
    writing = remove_lines(ink, PX_PER_MM)
    count, _ = cv2.connectedComponents(writing)
    assert count - 1 == 2, "the crossing stroke must stay one piece, and nothing else may be left"
    assert writing[100, 300] == 255  # rejoined across the rule
    assert not writing[100, 20:280].any() and not writing[100, 320:430].any()  # the rule itself is gone
    assert not writing[105:140, 450].any()  # nothing invented below a stroke that ends on the rule


def test_rapidocr_without_its_models_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError) as err:
        ocr.ppocr_v5_models()
    assert "papervoice[rapidocr]" in (err.value.advice or "")


def _rapidocr_ready() -> bool:
    try:
        ocr.check_engine("rapidocr")
    except MissingDependencyError:
        return False
    return True


@pytest.mark.skipif(not _rapidocr_ready(), reason="RapidOCR with PP-OCRv5 is not installed (make setup installs it)")
def test_rapidocr_reads_a_middling_hand_over_several_lines(tmp_path: Path) -> None:
    """A hand the old models read at about one character in four wrong, written across three lines and
    sitting on the rules, scanned crooked as a JPEG-in-PDF at 200 dpi."""
    db = tmp_path / "survey.db"
    serial, pages, layout = issue_copy(db, "care-planning-person", "standard")
    text = ("The support workers are lovely but often late. I was allowed to try the day centre first "
            "before deciding. Please send letters in large print.")
    font = next(f for f in sim.available_tiers()["middle"] if f.name == "Breip.ttf")
    hand = sim.Hand(str(font), "middle", 0.26, 0.1, BLACK, 0)
    for n, page in enumerate(layout.pages):  # type: ignore[attr-defined]
        for field in page.text_fields:
            if field.item == "C1":
                written = sim.write_comment(pages[n], field, text, hand, np.random.default_rng(3))
    assert written == text
    images = [scanned(p, n, max_rotation_deg=2.0, rotation_sigma_deg=2.0, dpis=(200,), dpi_weights=(1.0,),
                      jpeg_quality=(75, 75)).image for n, p in enumerate(pages)]
    scan([save_pdf(images, 200, tmp_path / "batch.pdf")], opts(db, ocr="rapidocr"))
    was_written, read = comments(db)[(serial, "C1")]
    assert was_written == 1
    expected = normalise(text)
    cer = edit_distance(expected, normalise(read)) / len(expected)
    assert cer <= 0.12, f"CER {cer:.0%}: {read!r}"
    assert read.lower().index("support") < read.lower().index("large")  # lines come back in order


def test_tesseract_lone_bar_is_read_as_capital_i(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tesseract reads a handwritten 'I' as '|' or '\\'; only a bar standing alone is changed."""
    from pipeline.tools import tesseract

    monkeypatch.setattr(tesseract, "check_tesseract", lambda: (5, 3))
    monkeypatch.setattr(tesseract, "read_text", lambda image: tesseract.OcrText("when | rang \\ felt a|b x\\y", 80.0))
    read = ocr.TesseractEngine().read(np.zeros((10, 10), np.uint8))
    assert read == tesseract.OcrText("when I rang I felt a|b x\\y", 80.0)
