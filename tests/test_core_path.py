"""The edges of the core path (red team 2026-12-02): a stray code, an old print, a shaded comment, odd files.

Each test follows one recipe of the findings and checks the outcome a user would see: the page's status and
reason in the ledger, the message and the exit code.  Fixtures are printed, marked and scanned in code.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from pipeline.form.definition import FormRegistry
from pipeline.form.generate import generate
from pipeline.form.identity import parse_payload
from pipeline.form.layout import Layout, compute_layout
from pipeline.ledger.status import format_status, reconcile
from pipeline.ledger.store import Ledger
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.simulate import returns as sim

FORM = "care-planning-person"
DPI = 200


def _opts(db: Path) -> ScanOptions:
    return ScanOptions(db=db, jobs=1, quiet=True)


def _save_png(image: np.ndarray, path: Path) -> Path:
    Image.fromarray(image).save(path, dpi=(DPI, DPI))
    return path


def _code_box(layout: Layout, page: int, index: int) -> tuple[int, int, int, int]:
    c = layout.pages[page - 1].codes[index]
    k = DPI / 72
    return int(c.x * k), int(c.y * k), int(c.w * k), int(c.h * k)


def _paint_code(image: np.ndarray, layout: Layout, page: int, index: int, payload: str) -> None:
    """Paint a QR symbol carrying `payload` over one of the page's printed codes (the red team's forge.py)."""
    extra = {} if payload.isascii() else {"eci": "UTF8"}
    symbol = np.array(zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, **extra)
                      .to_image(scale=1, add_quiet_zones=True)).astype(np.uint8)
    x, y, w, h = _code_box(layout, page, index)
    image[y:y + h, x:x + w] = np.array(Image.fromarray(symbol).resize((w, h), Image.NEAREST))


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two copies printed by `generate` (with the ledger's survey id), page 1 of each rendered at 200 dpi."""
    tmp = tmp_path_factory.mktemp("printed")
    db = tmp / "s.db"
    form = FormRegistry.from_dirs().get(FORM)
    with Ledger(db) as ledger:
        result = generate(form, 2, tmp / "print.pdf", ledger=ledger)
        survey = ledger.survey_id
    layout = compute_layout(form, "a4", "standard")
    n = layout.page_count
    pages = sim.render_pdf_pages(tmp / "print.pdf", 1, 2 * n, dpi=DPI)
    return {"db": db, "tmp": tmp, "serials": result.serials, "survey": survey, "layout": layout,
            "first": pages[0], "second": pages[n], "copy1": pages[:n]}


def _pages(db: Path) -> list[tuple[str, str, str | None]]:
    con = sqlite3.connect(db)
    try:
        return [tuple(r) for r in con.execute("SELECT status, reason, serial FROM pages ORDER BY id")]
    finally:
        con.close()


def _fresh_ledger(printed: dict[str, object], tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    db.write_bytes(Path(printed["db"]).read_bytes())  # type: ignore[arg-type]
    return db


# --- W5: every code has a say -----------------------------------------------------------------------------------


@pytest.mark.parametrize("strays", [1, 3])
def test_a_stray_code_of_another_copy_never_moves_the_page(printed: dict[str, object], tmp_path: Path,
                                                           strays: int) -> None:
    """W5: one (or three) of copy 1's four codes replaced by copy 2's, as a piece of another page caught in the
    feeder: the page is not silently given to either copy; it waits for a person, with both copies named."""
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page = np.array(printed["first"]).copy()
    other = np.array(printed["second"])
    for index in range(strays):
        x, y, w, h = _code_box(layout, 1, index)
        page[y:y + h, x:x + w] = other[y:y + h, x:x + w]
    db = _fresh_ledger(printed, tmp_path)
    scan([_save_png(page, tmp_path / "stray.png")], _opts(db))
    [(status, reason, serial)] = _pages(db)
    first, second = printed["serials"]  # type: ignore[misc]
    assert status == "not_form" and serial is None
    assert "disagree" in reason and first in reason and second in reason and "review" in reason


def test_agreeing_codes_are_read_as_before(printed: dict[str, object], tmp_path: Path) -> None:
    db = _fresh_ledger(printed, tmp_path)
    scan([_save_png(np.array(printed["first"]), tmp_path / "good.png")], _opts(db))
    [(status, reason, serial)] = _pages(db)
    assert (status, reason, serial) == ("form", "", printed["serials"][0])  # type: ignore[index]


# --- C1 / M11: numbers in a code are bounded where they are parsed -------------------------------------------


@pytest.mark.parametrize("payload", [
    "P/CARE-PLANNING-PERSON/99999999999999999999A/1/3/000001GABCD",
    "P/CARE-PLANNING-PERSON/1A/1/99999999999999999999/000001GABCD",
    "P/CARE-PLANNING-PERSON/9223372036854775808A/1/3/000001GABCD",
    "P/CARE-PLANNING-PERSON/1A/\u00b2/3/000001GABCD",
    "P/CARE-PLANNING-PERSON/1A/1/3/99999999999999999999999999999EABCD",
    "PV/CARE-PLANNING-PERSON/1/S/A/\u0661/3/000001G",
])
def test_absurd_numbers_in_a_code_are_not_ours(payload: str) -> None:
    assert parse_payload(payload) is None


def test_a_huge_number_in_a_code_does_not_stop_the_batch(printed: dict[str, object], tmp_path: Path) -> None:
    """C1: the forged page is 'not a form' and the next file of the batch is read."""
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    survey = printed["survey"]
    page = np.array(printed["first"]).copy()
    for index in range(4):
        _paint_code(page, layout, 1, index, f"P/CARE-PLANNING-PERSON/99999999999999999999A/1/3/000001G{survey}")
    batch = tmp_path / "batch"
    batch.mkdir()
    _save_png(page, batch / "a.png")
    _save_png(np.array(printed["first"]), batch / "b.png")
    db = _fresh_ledger(printed, tmp_path)
    summary = scan([batch], _opts(db))
    assert [s for s, _, _ in _pages(db)] == ["not_form", "form"]
    assert summary.pages == 2


# --- W7: survey-less prints are ours only where we printed them survey-less -----------------------------------


def test_simulated_returns_of_another_ledger_are_not_counted(tmp_path: Path) -> None:
    """W7: `simulate` into a.db, `generate` 4 copies into y.db, scan the simulated returns into y.db."""
    from pipeline.cli import main

    assert main(["simulate", FORM, "--copies", "2", "--seed", "3", "--db", str(tmp_path / "a.db"),
                 "--output-dir", str(tmp_path / "ret")]) == 0
    assert main(["generate", FORM, "--copies", "4", "-o", str(tmp_path / "y.pdf"),
                 "--db", str(tmp_path / "y.db")]) == 0
    scan([tmp_path / "ret" / "scans"], _opts(tmp_path / "y.db"))
    report = reconcile(tmp_path / "y.db")
    assert report["totals"]["returned"] == 0
    assert report["foreign_pages"]


def test_a_survey_less_code_of_a_serial_printed_with_our_survey_is_foreign(printed: dict[str, object],
                                                                           tmp_path: Path) -> None:
    """W7: an old-style (survey-less) code for a serial this ledger printed with its survey id."""
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page = np.array(printed["first"]).copy()
    for index in range(4):
        _paint_code(page, layout, 1, index, f"PV/CARE-PLANNING-PERSON/1/S/A/1/{layout.page_count}/"
                    f"{printed['serials'][0]}")  # type: ignore[index]
    db = _fresh_ledger(printed, tmp_path)
    scan([_save_png(page, tmp_path / "old.png")], _opts(db))
    [(status, reason, _)] = _pages(db)
    assert status == "foreign" and "without a survey id" in reason
    text = format_status(reconcile(db))
    assert "without a survey id" in text and "Copies returned:                0" in text


def test_survey_less_prints_this_ledger_issued_are_still_ours(tmp_path: Path) -> None:
    """Pages this ledger printed with the older survey-less code (old prints) are still counted."""
    form = FormRegistry.from_dirs().get(FORM)
    layout = compute_layout(form, "a4", "standard")
    db = tmp_path / "old.db"
    with Ledger(db) as ledger:
        serial = ledger.issue_serials(form.id, form.version, "standard", "a4", layout.page_count, 1, None,
                                      survey_printed=False)[0]
    from pipeline.form.generate import render_pdf

    page = sim.render_pdf_pages(render_pdf(form, layout, [serial]), 1, 1, dpi=DPI)[0]
    scan([_save_png(page, tmp_path / "p.png")], _opts(db))
    assert _pages(db) == [("form", "", serial)]


# --- new-user trial P11: status names this ledger's own survey id -------------------------------------------


def test_status_names_the_ledgers_own_survey_id(printed: dict[str, object], tmp_path: Path) -> None:
    db = _fresh_ledger(printed, tmp_path)
    report = reconcile(db)
    assert report["survey_id"] == printed["survey"]
    assert f"Survey id: {printed['survey']}" in format_status(report)


# --- W9: comment ink is judged against the field's own background -------------------------------------------


@pytest.mark.parametrize("grey", [220, 180, 165, 120])
def test_black_writing_on_a_grey_shaded_comment_field_is_read(printed: dict[str, object], tmp_path: Path,
                                                              grey: int) -> None:
    """W9: the comment field filled with grey, black writing on it (DejaVu Sans, 56 px at 200 dpi)."""
    from PIL import ImageDraw, ImageFont

    from pipeline.form.fonts import _find

    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page_no = next(p.page for p in layout.pages if p.text_fields)
    field = layout.pages[page_no - 1].text_fields[0]
    k = DPI / 72
    image = Image.fromarray(np.array(printed["copy1"][page_no - 1]).copy())  # type: ignore[index]
    draw = ImageDraw.Draw(image)
    x, y, w, h = (int(v * k) for v in (field.x, field.y, field.w, field.h))
    draw.rectangle([x, y, x + w, y + h], fill=grey)
    font = ImageFont.truetype(str(_find("DejaVuSans.ttf")), 56)
    draw.text((x + 60, y + 60), "The carers never turned up on time", fill=0, font=font)
    db = _fresh_ledger(printed, tmp_path)
    scan([_save_png(np.array(image), tmp_path / "shaded.png")], _opts(db))
    con = sqlite3.connect(db)
    [(written, text)] = con.execute("SELECT written, text FROM comments").fetchall()
    con.close()
    assert written == 1
    assert "carers" in text.lower() and "time" in text.lower(), text


def test_a_grey_field_with_nothing_written_stays_blank(printed: dict[str, object], tmp_path: Path) -> None:
    """The other side of W9: shading alone is not writing (no comment invented from a tinted box)."""
    from PIL import ImageDraw

    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page_no = next(p.page for p in layout.pages if p.text_fields)
    field = layout.pages[page_no - 1].text_fields[0]
    k = DPI / 72
    image = Image.fromarray(np.array(printed["copy1"][page_no - 1]).copy())  # type: ignore[index]
    x, y, w, h = (int(v * k) for v in (field.x, field.y, field.w, field.h))
    ImageDraw.Draw(image).rectangle([x, y, x + w, y + h], fill=180)
    db = _fresh_ledger(printed, tmp_path)
    scan([_save_png(np.array(image), tmp_path / "shaded-blank.png")], _opts(db))
    con = sqlite3.connect(db)
    [(written,)] = con.execute("SELECT written FROM comments").fetchall()
    con.close()
    assert written == 0
