"""Retuning without scanning again (issue 24): the ledger keeps every input of every box's decision, and
`reclassify` after a change of thresholds gives the answers a new scan would give, writing only when told.

The returns are drawn in code (generator -> poppler -> simulator's pens -> degrade) with marks near the
thresholds that are moved: small ticks, pencil, specks, so a change of thresholds really changes answers.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import NewLedger, ledger_rows

from pipeline import constants as C
from pipeline.cli import main
from pipeline.form.definition import FormRegistry
from pipeline.form.generate import render_pdf
from pipeline.form.identity import serial_for
from pipeline.form.layout import compute_layout
from pipeline.ledger.store import Ledger
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.scan.reclassify import reclassify
from pipeline.simulate import DegradeParams, Pen, degrade, draw_mark, rect_px, render_pdf_pages

FORM = "care-planning-person"
PENS = (Pen("black ballpoint", 40, 0.5), Pen("pencil", 130, 0.4, pencil=True), Pen("fine blue", 90, 0.3))
SCANNED = replace(DegradeParams.none(), noise_sigma=(2.0, 2.0), paper_tone=(236, 236), dpis=(150,),
                  dpi_weights=(1.0,), max_rotation_deg=0.8, rotation_sigma_deg=0.5)


def _speck(img: np.ndarray, box: tuple[float, float, float, float], rng: np.random.Generator) -> None:
    x, y, w, h = box
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = int(x + w * rng.uniform(0.3, 0.7)), int(y + h * rng.uniform(0.3, 0.7))
        cv2.circle(img, (cx, cy), int(rng.integers(1, 4)), int(rng.integers(60, 160)), -1)


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three copies of the form, every row marked differently (some only specked or left blank)."""
    out = tmp_path_factory.mktemp("reclassify")
    form = FormRegistry.from_dirs().get(FORM)
    layout = compute_layout(form, "a4", "standard")
    paths = []
    kinds = ("tick", "cross", "faint", "wdot", "speck", "blank", "wtick")
    for copy in range(3):
        pdf = render_pdf(form, layout, [serial_for(900 + copy)])
        rng = np.random.default_rng(40 + copy)
        for page, printed in zip(layout.pages, render_pdf_pages(pdf, 1, layout.page_count), strict=True):
            img = printed.copy()
            for n, row in enumerate(page.item_rows):
                boxes = page.boxes_of(row.item)
                box = rect_px(boxes[int(rng.integers(0, len(boxes)))])
                kind = kinds[(n + copy + page.page) % len(kinds)]
                if kind == "speck":
                    _speck(img, box, rng)
                elif kind != "blank":
                    draw_mark(img, box, kind, rng, PENS[(n + copy) % len(PENS)])
            scanned = degrade(img, np.random.default_rng(copy * 10 + page.page), SCANNED)
            path = out / f"copy{copy}-page{page.page}.png"
            cv2.imwrite(str(path), scanned.image)
            paths.append(path)
    return paths


def _answers(db: Path | str) -> list[tuple[object, ...]]:
    return ledger_rows(db, "SELECT p.serial, a.item, a.value, a.state, a.reason, a.detail, a.confidence FROM answers a "
                           "JOIN pages p ON p.id = a.page_id ORDER BY p.serial, a.item")


def _boxes(db: Path | str) -> list[tuple[object, ...]]:
    return ledger_rows(db, "SELECT p.serial, b.item, b.value, b.state, b.confidence FROM box_measurements b "
                           "JOIN pages p ON p.id = b.page_id ORDER BY p.serial, b.item, b.value")


def _scan(inputs: list[Path], db: Path | str) -> None:
    scan(inputs, ScanOptions(db=db, jobs=1, quiet=True))  # in this process: it sees the patched thresholds


#: thresholds moved the way a person tuning by the gallery might: marks must be bigger, traces count sooner
RETUNED = {"MARK_MIN_AREA_MM2": 4.0, "MARK_MIN_COVERAGE": 0.11, "FAINT_MARK_MIN_AREA_MM2": 6.0,
           "TRACE_MIN_AREA_MM2": 0.08, "DOT_MIN_CORE_MM2": 1.2, "LIGHT_STROKE_MIN_FAINT_MM2": 6.0}


def test_reclassify_after_a_threshold_change_gives_the_answers_of_a_new_scan(
        returns: list[Path], new_ledger: NewLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    db = new_ledger("first")
    _scan(returns, db)
    before = _answers(db)
    with Ledger(db) as ledger:
        assert reclassify(ledger).changes == []  # unchanged thresholds: nothing to change
    for name, value in RETUNED.items():
        monkeypatch.setattr(C, name, value)
    with Ledger(db) as ledger:
        dry = reclassify(ledger)
    assert dry.changes, "the retuned thresholds change no answer: the test would prove nothing"
    assert _answers(db) == before  # nothing written until told
    with Ledger(db) as ledger:
        applied = reclassify(ledger, apply=True)
    assert len(applied.changes) == len(dry.changes)
    again = new_ledger("again")
    _scan(returns, again)
    assert _answers(db) == _answers(again)
    assert _boxes(db) == _boxes(again)
    with Ledger(db) as ledger:
        assert reclassify(ledger).changes == []  # applied: a second run finds nothing left to change


def test_the_command_reports_and_writes_only_with_apply(returns: list[Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, new_ledger: NewLedger,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    db = new_ledger("ledger")
    _scan(returns, db)
    before = _answers(db)
    for name, value in RETUNED.items():
        monkeypatch.setattr(C, name, value)
    assert main(["reclassify", "--db", db]) == 0
    report = capsys.readouterr().out
    assert "Would change" in report and "Run again with --apply" in report and " -> " in report
    assert _answers(db) == before
    assert main(["reclassify", "--db", db, "--apply"]) == 0
    assert "Changed" in capsys.readouterr().out
    assert _answers(db) != before
    gallery = tmp_path / "gallery"
    assert main(["gallery", "--db", db, "-o", str(gallery)]) == 0
    index = (gallery / "index.html").read_text()
    assert "marked" in index and (gallery / "marked.png").exists() and (gallery / "empty.png").exists()
    sheet = cv2.imread(str(gallery / "empty.png"), cv2.IMREAD_GRAYSCALE)
    assert sheet is not None and sheet.shape[1] >= 12 * 96


def test_reclassify_says_so_when_the_ledger_does_not_exist(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reclassify", "--db", str(tmp_path / "none.db")]) != 0
    assert "no ledger" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_the_ledger_keeps_every_measure_classify_takes(tmp_path: Path) -> None:
    """Every field of BoxMeasures (every input of a box's decision) has its column in box_measures."""
    from pipeline.scan.results import measure_columns

    with Ledger(tmp_path / "ledger.db") as ledger:
        columns = {r[1] for r in ledger.execute("PRAGMA table_info(box_measures)")}
    assert set(measure_columns()) <= columns


def test_deciding_again_loads_no_image_library() -> None:
    """`reclassify` decides from stored measures (`scan.decide`): the command line and the re-decision import
    neither OpenCV nor the layout's fonts, so the command starts in a fraction of a scan's time."""
    import subprocess
    import sys

    code = ("import sys, pipeline.cli, pipeline.scan.reclassify\n"
            "print(sorted(m for m in ('cv2', 'pipeline.form.layout', 'reportlab.pdfbase.pdfmetrics') "
            "if m in sys.modules))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "[]"
