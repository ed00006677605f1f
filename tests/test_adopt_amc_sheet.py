"""An AMC-like answer sheet drawn with reportlab: a student-number code grid (four columns of boxes with the
digits 0-9 printed inside) and AMC's page-identification strip (a row of touching cells, some printed solid).

Adopted, each grid column is one choose-one question whose boxes are valued by their printed digits 0-9 and
whose wording names the digit's place; the id strip (different on every copy) gives no question and no field.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from pipeline.adopt.detect import Found, find_all
from pipeline.adopt.group import group_page
from pipeline.adopt.write import form_document

MM = 72 / 25.4
CELL = 3.8 * MM
STRIP_TOP = 16 * MM
GRID_LEFT, GRID_TOP = 30 * MM, 42 * MM


def _sheet(path: Path, strip_bits: str) -> None:
    c = canvas.Canvas(str(path), pagesize=A4)
    w, h = A4
    for x, y in ((10 * MM, 10 * MM), (w - 10 * MM, 10 * MM), (10 * MM, h - 10 * MM), (w - 10 * MM, h - 10 * MM)):
        c.circle(x, y, 1.5 * MM, fill=1)
    c.setLineWidth(0.5)
    for n, bit in enumerate(strip_bits):  # the page id: touching cells, a 1 printed solid
        c.rect(60 * MM + n * 3.2 * MM, h - STRIP_TOP - 3.2 * MM, 3.2 * MM, 3.2 * MM, fill=int(bit == "1"))
    c.setFont("Helvetica-Bold", 14)
    c.drawString(20 * MM, h - 30 * MM, "Mid-term test")
    c.setFont("Helvetica", 10)
    c.drawString(20 * MM, h - 37 * MM, "Student number:")
    for row in range(10):
        for col in range(4):
            x, top = GRID_LEFT + col * 6 * MM, GRID_TOP + row * 6 * MM
            c.rect(x, h - top - CELL, CELL, CELL)
            c.setFont("Helvetica", 8)
            c.drawCentredString(x + CELL / 2, h - top - CELL + 1 * MM, str(row))
    for q in range(6):
        top = 110 * MM + q * 12 * MM
        c.setFont("Helvetica", 10)
        c.drawString(20 * MM, h - top, f"Question {q + 1} Which word comes first in the list?")
        for v, word in enumerate(("river", "planet", "engine", "garden")):
            x = 30 * MM + v * 35 * MM
            c.rect(x, h - top - 6 * MM, CELL, CELL)
            c.setFont("Helvetica", 7)
            c.drawCentredString(x + CELL / 2, h - top - 6 * MM + 1 * MM, "ABCD"[v])
            c.setFont("Helvetica", 10)
            c.drawString(x + CELL + 2 * MM, h - top - 6 * MM + 0.8 * MM, word)
    c.save()


def _things(tmp: Path, bits: str) -> tuple[list[Found], list[Found]]:
    import pypdfium2

    _sheet(tmp / f"blank-{bits}.pdf", bits)
    doc = pypdfium2.PdfDocument(str(tmp / f"blank-{bits}.pdf"))
    image = np.asarray(doc[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")).copy()
    doc.close()
    return find_all(image, 300.0)


@pytest.mark.parametrize("bits", ["000000000001" + "000001111100", "011000000000" + "100110000000"])
def test_the_page_id_strip_is_no_question_and_no_field(tmp_path: Path, bits: str) -> None:
    things, _ = _things(tmp_path, bits)
    near_strip = [t for t in things if t.kind != "mark" and t.y < STRIP_TOP + 5 * MM]
    assert near_strip == []


def test_the_code_grid_is_found_as_boxes_not_as_combs(tmp_path: Path) -> None:
    things, _ = _things(tmp_path, "010101010101")
    grid = [t for t in things if t.kind == "box" and t.x < GRID_LEFT + 30 * MM and t.y < 100 * MM]
    assert len(grid) == 40
    assert not [t for t in things if t.kind == "comb"]


def test_a_code_grid_column_is_a_digit_valued_by_its_printed_digits() -> None:
    from pipeline.adopt.wording import Word

    code = [Found("box", 100 + 17 * c, 100 + 17 * r, 11, 11) for r in range(10) for c in range(4)]
    words = [Word("text", 90, 85, 80, 9, text="Student number:"),
             *(Word("text", 102 + 17 * c, 102 + 17 * r, 6, 7, text=str(r)) for r in range(10) for c in range(4))]
    proposed = group_page(1, code, words)
    doc, _, _ = form_document("amc-like", "blank.pdf", (595.0, 842.0), proposed, [], {1: []})
    assert [q["text"] for q in doc["questions"]] == [f"code grid: digit {n} of 4 (from the left)" for n in (1, 2, 3, 4)]
    for n, q in enumerate(doc["questions"]):
        assert q["kind"] == "one"
        assert [b["value"] for b in q["boxes"]] == list(range(10))
        assert [b["label"] for b in q["boxes"]] == [str(d) for d in range(10)]
        assert [b["x"] for b in q["boxes"]] == [100.0 + 17 * n] * 10
        assert [b["y"] for b in q["boxes"]] == [100.0 + 17 * r for r in range(10)]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_an_adopted_amc_like_sheet_loads_with_its_digits(tmp_path: Path) -> None:
    from pipeline.adopt.blank import adopt_blank
    from pipeline.form.definition import load_form_file

    _sheet(tmp_path / "blank.pdf", "000000000001" + "000001111100")
    report = adopt_blank(tmp_path / "blank.pdf", "amc-like", tmp_path / "forms")
    form = load_form_file(report.form_path)
    assert form.adopted is not None
    digits = [q for q in form.adopted.questions if q.text.startswith("code grid")]
    assert len(digits) == 4
    assert all([b.value for b in q.boxes] == list(range(10)) for q in digits)
    assert len(form.adopted.questions) == 10  # four digits, six questions: nothing from the id strip
    assert not form.adopted.fields


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_a_filled_code_grid_reads_as_its_digits_and_a_blank_or_doubled_digit_is_flagged(tmp_path: Path) -> None:
    import sqlite3

    import pypdfium2
    import yaml
    from PIL import Image

    from pipeline.adopt.blank import adopt_blank
    from pipeline.ledger.check import check_ledger
    from pipeline.options import ScanOptions
    from pipeline.scan.coordinator import scan
    from pipeline.simulate.marks import draw_mark
    from pipeline.simulate.world import PENS

    _sheet(tmp_path / "blank.pdf", "000000000001" + "000001111100")
    report = adopt_blank(tmp_path / "blank.pdf", "amc-like", tmp_path / "forms")
    doc = yaml.safe_load(report.form_path.read_text(encoding="utf-8"))
    doc["adopted"]["filled_box"] = "answer"  # the README's one edit for an exam sheet
    report.form_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    pdf = pypdfium2.PdfDocument(str(tmp_path / "blank.pdf"))
    art = np.asarray(pdf[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")).copy()
    pdf.close()
    rng = np.random.default_rng(3)
    k = 300 / 72
    digits = {0: [7], 1: [0], 2: [], 3: [4, 9]}  # 7, 0, left blank, two marks
    for col, marked in digits.items():
        for d in marked:
            x, top = GRID_LEFT + col * 6 * MM, GRID_TOP + d * 6 * MM
            draw_mark(art, (x * k, top * k, CELL * k, CELL * k), "cross", rng, PENS[0][1], dpi=300)
    Image.fromarray(art).save(tmp_path / "return.png", dpi=(300, 300))
    db = tmp_path / "s.db"
    scan([tmp_path / "return.png"], ScanOptions(db=db, jobs=1, quiet=True, forms_dirs=(tmp_path / "forms",),
                                                 ocr="none"))
    code = {q["id"]: q["text"] for q in doc["questions"] if q.get("code")}
    assert len(code) == 4
    got = {code[item]: (value, state, detail) for item, value, state, detail in sqlite3.connect(db).execute(
        "SELECT item, value, state, detail FROM answers") if item in code}
    first, second, third, fourth = (got[f"code grid: digit {n} of 4 (from the left)"] for n in (1, 2, 3, 4))
    assert first[:2] == (7, "answered") and second[:2] == (0, "answered")
    assert third[1] == "flagged" and "incomplete" in third[2]
    assert fourth[1] == "flagged"
    assert check_ledger(db) == []


def test_a_code_grids_columns_are_found_by_where_they_are_printed() -> None:
    """Two grids on one page (a student number, a room number below it): each its digits left to right,
    however the person reordered or renamed the questions in the form file."""
    from pipeline.form.adopted import AdoptedBox, AdoptedGeometry, Question

    def digit(qid: str, x: float, top: float) -> Question:
        return Question(qid, "one", qid, 1, tuple(AdoptedBox(v, x, top + 17 * v, 11, 11) for v in range(10)),
                        code=True)

    questions = (digit("B", 117, 100), digit("A", 100, 100), digit("R1", 100, 400), digit("C", 134, 100),
                 digit("R2", 117, 401), Question("Q9", "one", "other", 1, (AdoptedBox(1, 100, 110, 11, 11),)))
    grids = AdoptedGeometry((595, 842), (), questions, (), False).code_grids()
    assert [[q.id for q in g] for g in grids] == [["A", "B", "C"], ["R1", "R2"]]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_a_code_grid_is_exported_as_one_number_and_a_missing_digit_leaves_it_empty(tmp_path: Path) -> None:
    """adopt -> scan two filled returns -> export: the number joined as text (0427, leading zero kept) in the
    workbook, the CSV and the statistics files, beside the digit columns; a digit left blank gives an empty
    number with a note naming the digit, never a shorter number."""
    import csv
    import json
    import subprocess
    import sys

    import openpyxl
    import pypdfium2
    import pyreadstat
    import yaml
    from PIL import Image

    from pipeline.adopt.blank import adopt_blank
    from pipeline.form.definition import load_form_file
    from pipeline.simulate.marks import draw_mark
    from pipeline.simulate.world import PENS

    _sheet(tmp_path / "blank.pdf", "000000000001" + "000001111100")
    forms = tmp_path / "forms"
    report = adopt_blank(tmp_path / "blank.pdf", "amc-like", forms)
    doc = yaml.safe_load(report.form_path.read_text(encoding="utf-8"))
    doc["adopted"]["filled_box"] = "answer"  # the README's one edit for an exam sheet
    report.form_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    form = load_form_file(report.form_path)
    assert form.adopted is not None
    (grid,) = form.adopted.code_grids()
    assert len(grid) == 4
    column = f"{grid[0].id}_to_{grid[-1].id}"
    pdf = pypdfium2.PdfDocument(str(tmp_path / "blank.pdf"))
    blank = np.asarray(pdf[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")).copy()
    pdf.close()
    rng = np.random.default_rng(4)
    k = 300 / 72
    scans = tmp_path / "scans"
    scans.mkdir()
    for name, digits in (("a-whole.png", (0, 4, 2, 7)), ("b-gap.png", (3, None, 1, 8))):
        art = blank.copy()
        for col, d in enumerate(digits):
            if d is not None:
                x, top = GRID_LEFT + col * 6 * MM, GRID_TOP + d * 6 * MM
                draw_mark(art, (x * k, top * k, CELL * k, CELL * k), "cross", rng, PENS[0][1], dpi=300)
        Image.fromarray(art).save(scans / name, dpi=(300, 300))

    def papervoice(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                              timeout=300)

    db = tmp_path / "exam.db"
    read = papervoice("scan", scans, "--db", db, "--forms-dir", forms, "--jobs", "1", "--ocr", "none", "-q", "--json")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["copies_read"] == 2
    out, stats, sheets = tmp_path / "results.xlsx", tmp_path / "stats", tmp_path / "csv"
    exported = papervoice("export", "-o", out, "--db", db, "--forms-dir", forms, "--csv", sheets, "--r", stats,
                          "--sav", stats / "exam.sav")
    assert exported.returncode == 0, exported.stderr

    wb = openpyxl.load_workbook(out)
    sheet = next(wb[n] for n in wb.sheetnames if n.startswith("Responses"))
    head = [c.value for c in sheet[1]]
    assert column in head and all(q.id in head for q in grid)  # the number beside its digit columns
    by_file = {str(row[head.index("Scanned file")].value): row for row in sheet.iter_rows(min_row=2)}
    whole = next(r for f, r in by_file.items() if "a-whole" in f)
    gap = next(r for f, r in by_file.items() if "b-gap" in f)
    assert whole[head.index(column)].value == "0427"
    assert [whole[head.index(q.id)].value for q in grid] == [0, 4, 2, 7]
    assert gap[head.index(column)].value is None
    note = gap[head.index(column)].comment
    assert note is not None and f"digit 2 ({grid[1].id})" in note.text
    assert whole[head.index(column)].comment is None
    codebook = "\n".join(str(c) for row in wb["Codebook"].iter_rows(values_only=True) for c in row if c)
    assert column in codebook and "leading zeros" in codebook

    for folder in (sheets, stats):  # the Responses CSV, and the R-ready one
        with (folder / "amc-like.csv").open(encoding="utf-8") as f:
            assert sorted(r[column] for r in csv.DictReader(f)) == ["", "0427"]
    frame, meta = pyreadstat.read_sav(str(stats / "exam.sav"))
    assert sorted(frame[column].tolist()) == ["", "0427"]
    assert "leading zeros" in meta.column_names_to_labels[column]
    script = (stats / "amc-like.R").read_text(encoding="utf-8")
    assert f'colClasses = c({column} = "character")' in script

    # a person reads the paper and settles the missing digit: the number is whole, from the read model
    import sqlite3

    from pipeline.ledger.store import open_ledger

    (page_id,) = sqlite3.connect(db).execute("SELECT p.id FROM pages p JOIN files f ON f.id = p.file_id "
                                             "WHERE f.path LIKE '%b-gap%'").fetchone()
    with open_ledger(db) as ledger:
        ledger.decide("answer", page_id, grid[1].id, "5", by="office")
    again = papervoice("export", "-o", out, "--db", db, "--forms-dir", forms)
    assert again.returncode == 0, again.stderr
    sheet = next(s for s in openpyxl.load_workbook(out).worksheets if s.title.startswith("Responses"))
    numbers = {str(r[head.index("Scanned file")].value): r[head.index(column)] for r in sheet.iter_rows(min_row=2)}
    settled = next(c for f, c in numbers.items() if "b-gap" in f)
    assert settled.value == "3518" and settled.comment is None
