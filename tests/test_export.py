"""Export: the workbook and CSV files an evaluator gets, checked against the ledger they came from."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import NewLedger, ledger_rows
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from pipeline.errors import ExitCode, LedgerError, OutputError, UnknownFormError
from pipeline.export import cells
from pipeline.export import workbook as E
from pipeline.form.definition import FormRegistry
from pipeline.form.identity import PageIdentity
from pipeline.ledger.store import Ledger
from pipeline.options import ExportOptions
from pipeline.scan.results import CommentReading, FileInfo, ItemReading, PageResult, PageSource
from pipeline.text import EXCEL_MAX_CELL_CHARS, clean_text

ROOT = Path(__file__).resolve().parent.parent
PERSON, PRACTITIONER, MYSTERY = "care-planning-person", "care-planning-practitioner", "mystery-form"
ITEMS = [f"S{n:02d}" for n in range(1, 11)]
PAGE1, PAGE2 = ITEMS[:6], ITEMS[6:]

INJECTIONS = ['=HYPERLINK("http://example.invalid","click")', "+1", "-2", "@SUM(A1:A3)"]
CONTROL_TEXT = "bad\x00\x07 bytes\x1b[31m\tkept tab\r\nnew line\x1f end"
CONTROL_CLEAN = "bad bytes[31m\tkept tab\nnew line end"


def png(width: int, height: int, shade: int = 200) -> bytes:
    img = np.full((height, width), 255, np.uint8)
    cv2.line(img, (5, height // 2), (width - 5, height // 3), shade, 3)
    ok, data = cv2.imencode(".png", img)
    assert ok
    return data.tobytes()


ITEM_CROP = png(300, 50)
COMMENT_CROP = png(1200, 400, 40)


def answered(item: str, value: int | None) -> ItemReading:
    state = "answered" if value is not None else "blank"
    return ItemReading(item, value, state, None, "", 0.95, ITEM_CROP)


def flagged(item: str, value: int | None, reason: str, detail: str) -> ItemReading:
    return ItemReading(item, value, "flagged", reason, detail, 0.4, ITEM_CROP)


def comment(text: str, written: bool = True) -> CommentReading:
    return CommentReading("C1", written, text, 61.5 if written else 0.0, "tesseract", 0.02 if written else 0.0,
                          COMMENT_CROP if written else b"")


def page(path: str, index: int, form: str, serial: str, number: int, items: list[ItemReading],
         comments: list[CommentReading] = (), status: str = "form", pages: int = 2) -> PageResult:  # type: ignore[assignment]
    ident = PageIdentity(form, 1, "standard", "a4", number, pages, serial)
    return PageResult(PageSource(path, index), status, identity=ident, items=list(items), comments=list(comments))


def record(ledger: Ledger, name: str, results: list[PageResult]) -> None:
    ledger.record_file(FileInfo(name, hashlib.sha256(name.encode()).hexdigest(), 1000), results)


def full_copy(path: str, form: str, serial: str, values: list[int | None], note: str | None,
              start: int = 0) -> list[PageResult]:
    first = [answered(i, v) for i, v in zip(PAGE1, values[:6], strict=True)]
    second = [answered(i, v) for i, v in zip(PAGE2, values[6:], strict=True)]
    return [page(path, start, form, serial, 1, first),
            page(path, start + 1, form, serial, 2, second, [comment(note) if note is not None else comment("", False)])]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A (SQLite) ledger with every case the export must handle."""
    tmp = tmp_path_factory.mktemp("export")
    db = tmp / "survey.db"
    with Ledger(db) as ledger:
        person = ledger.issue_serials(PERSON, 1, "standard", "a4", 2, 6, None)
        pract = ledger.issue_serials(PRACTITIONER, 1, "standard", "a4", 2, 3, None)
        # person 0..3: complete, each with a hostile transcription
        record(ledger, "scans/batch1.pdf",
               full_copy("scans/batch1.pdf", PERSON, person[0], [5, 4, 3, 2, 1, 5, 4, 3, 2, 1], INJECTIONS[0])
               + full_copy("scans/batch1.pdf", PERSON, person[1], [4] * 10, INJECTIONS[1], 2))
        second = full_copy("scans/batch2.pdf", PERSON, person[2], [3] * 10, INJECTIONS[2])
        second[0].items[2] = flagged("S03", None, "multiple", "boxes 2 and 4 are both ticked")
        second[0].items[4] = flagged("S05", 2, "uncertain", "a faint mark in box 2")
        record(ledger, "scans/batch2.pdf", second)
        third = full_copy("scans/batch3.pdf", PERSON, person[3], [1, 2, None, 4, 5, 1, 2, 3, 4, 5], CONTROL_TEXT)
        third += [PageResult(PageSource("scans/batch3.pdf", 2), "blank", "no ink"),
                  PageResult(PageSource("scans/batch3.pdf", 3), "not_form", "no PaperVoice code found")]
        record(ledger, "scans/batch3.pdf", third)
        # person 4: only page 1 came back (incomplete); person 5 never returned
        record(ledger, "scans/batch4.pdf", [page("scans/batch4.pdf", 0, PERSON, person[4], 1,
                                                 [answered(i, 2) for i in PAGE1])])
        # the first page of person 0 scanned again, identical: a duplicate
        record(ledger, "scans/again.pdf", full_copy("scans/again.pdf", PERSON, person[0],
                                                    [5, 4, 3, 2, 1, 5, 4, 3, 2, 1], INJECTIONS[0])[:1])
        # practitioners
        record(ledger, "scans/staff.pdf",
               full_copy("scans/staff.pdf", PRACTITIONER, pract[0], [5] * 10, "Good training")
               + full_copy("scans/staff.pdf", PRACTITIONER, pract[1], [4, 4, 4, 4, 4, 5, 5, 5, 5, 5], INJECTIONS[3], 2))
        # a form this installation has no definition for
        damaged = CommentReading("C1", True, "hello", 50.0, "tesseract", 0.02, b"\x89PNG\r\n\x1a\n-damaged-")
        record(ledger, "scans/mystery.pdf", [page("scans/mystery.pdf", 0, MYSTERY, "000777R", 1,
                                                  [answered("Q1", 2), answered("Q2", 3)], [damaged], pages=1)])
        # a person settles S05 of person 2 (to 4) and checks the transcription of person 1
        page_id = ledger.execute("SELECT page_id FROM effective_answers WHERE serial = ? AND item = 'S05'",
                                 (person[2],)).fetchone()[0]
        ledger.decide("answer", page_id, "S05", "4", by="tester")
        c_page = ledger.execute("SELECT page_id FROM effective_comments WHERE serial = ?", (person[1],)).fetchone()[0]
        ledger.decide("comment", c_page, "C1", INJECTIONS[1], by="tester")
    return {"db": db, "person": person, "pract": pract}


def snapshot_of(db: Path | str) -> str:
    """What the ledger holds, as one hash: the file's bytes for SQLite, every row for a server ledger."""
    if "://" not in str(db):
        return hashlib.sha256(Path(db).read_bytes()).hexdigest()
    from pipeline.ledger.store import content_snapshot

    return hashlib.sha256(repr(content_snapshot(db)).encode()).hexdigest()


@pytest.fixture(scope="module")
def built(recorded: dict, module_ledger: NewLedger, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """That ledger in each backend, and its export."""
    tmp = tmp_path_factory.mktemp("export")
    db = module_ledger.like(recorded["db"], "survey")
    before = snapshot_of(db)
    out = tmp / "out" / "results.xlsx"
    csv_dir = tmp / "csv"
    result = E.export_workbook(ExportOptions(output=out, db=db, csv_dir=csv_dir))
    return {**recorded, "db": db, "out": result, "csv": csv_dir, "sha_before": before, "wb": load_workbook(result),
            "tmp": tmp}


def rows(ws) -> list[list]:  # type: ignore[no-untyped-def]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def header(ws, row: int = 1) -> list:  # type: ignore[no-untyped-def]
    return [c.value for c in ws[row] if c.value is not None]


def test_sheets_present(built: dict) -> None:
    names = built["wb"].sheetnames
    assert names[0] == "Summary" and "Comparison" in names
    for name in ("Comments", "Review", "Codebook", "Pages"):
        assert name in names
    responses = [n for n in names if n.startswith("Resp")]
    assert len(responses) == 3 and all(len(n) <= 31 for n in responses)
    assert built["out"].name == "results.xlsx"
    assert not [p for p in built["out"].parent.iterdir() if p.name != "results.xlsx"], "temporary files left over"


def _responses(built: dict, form: str):  # type: ignore[no-untyped-def]
    names = cells.sheet_title("Responses", [MYSTERY, PERSON, PRACTITIONER])
    return built["wb"][names[form]]


COPY_HEAD = ["Serial", "Form", "Version", "Style", "Label", "Language", "Date returned", "Date settled",
             "Pages returned", "Pages in copy", "Scanned file"]
STATUS_HEAD = [f"{i} status" for i in ITEMS]
FIRST_ITEM = len(COPY_HEAD)  # 0-based index of S01 in a row
COMMENT_COLUMN = get_column_letter(FIRST_ITEM + len(ITEMS) + 1)  # the sheet's column of C1


def test_responses_header_and_values_equal_ledger(built: dict) -> None:
    ws = _responses(built, PERSON)
    assert header(ws) == [*COPY_HEAD, *ITEMS, "C1", "Needs review", *STATUS_HEAD]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == f"A1:AG{ws.max_row}"
    data = rows(ws)[1:]
    serials = [r[0] for r in data]
    assert serials == sorted(built["person"][:5]) and len(set(serials)) == len(serials)
    for r in data:
        expected = dict(ledger_rows(built["db"], "SELECT item, value FROM effective_answers WHERE serial = ? AND "
                                                 "state != 'flagged'", (r[0],)))
        got = dict(zip(ITEMS, r[FIRST_ITEM:FIRST_ITEM + 10], strict=True))
        assert got == {i: expected.get(i) for i in ITEMS}
    by_serial = {r[0]: r for r in data}
    p = built["person"]
    first = by_serial[p[0]]
    assert first[1:5] == [PERSON, 1, "standard", None] and first[8:11] == [2, 2, "scans/batch1.pdf"]
    assert first[5] == "en"  # printed in the form file's own language
    assert first[6] is not None and first[7] is None  # returned today; nothing decided in review
    assert by_serial[p[2]][7] is not None  # S05 settled: the copy has a date settled
    assert by_serial[p[4]][8:10] == [1, 2] and by_serial[p[4]][FIRST_ITEM + 6] is None
    status = {s: dict(zip(ITEMS, by_serial[s][-10:], strict=True)) for s in p[:5]}
    assert by_serial[p[2]][FIRST_ITEM + 4] == 4  # S05 settled by a person
    assert by_serial[p[2]][FIRST_ITEM + 2] is None  # S03: machine could not choose
    assert status[p[2]]["S03"] == "more than one box (not yet settled)"
    assert by_serial[p[3]][FIRST_ITEM + 2] is None and status[p[3]]["S03"] == "left blank"
    assert status[p[4]]["S07"] == "page not returned" and status[p[4]]["S01"] is None
    assert [by_serial[s][FIRST_ITEM + 11] for s in p[:5]] == ["yes", "no", "yes", "yes", "no"]
    assert p[5] not in by_serial  # never returned


def test_open_items_highlighted_with_reason(built: dict) -> None:
    ws = _responses(built, PERSON)
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == built["person"][2])
    s03, s05 = ws.cell(row, FIRST_ITEM + 3), ws.cell(row, FIRST_ITEM + 5)
    assert s03.fill.fgColor.rgb.endswith(cells.REVIEW_FILL.fgColor.rgb[-6:])
    assert s03.comment is not None and "more than one box" in s03.comment.text
    assert "boxes 2 and 4" in s03.comment.text
    assert s05.comment is None and s05.fill.fgColor.rgb != s03.fill.fgColor.rgb  # settled: no longer highlighted


def test_transcriptions_stay_inert_text(built: dict) -> None:
    wb = built["wb"]
    texts = {r[0]: r[3] for r in rows(wb["Comments"])[1:]}
    p = built["person"]
    for serial, expected in zip(p[:3], INJECTIONS[:3], strict=True):
        assert texts[serial] == expected
    assert texts[p[3]] == CONTROL_CLEAN
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    assert not any(ch in cell.value for ch in "\x00\x07\x1b\x1f\r")
    # and in the file itself: no formula anywhere
    with zipfile.ZipFile(built["out"]) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)
    person = _responses(built, PERSON)
    cell = next(c for c in person[COMMENT_COLUMN] if c.value == INJECTIONS[0])
    assert cell.data_type == "s" and cell.quotePrefix
    at = next(c for c in _responses(built, PRACTITIONER)[COMMENT_COLUMN] if c.value == INJECTIONS[3])
    assert at.data_type == "s" and at.quotePrefix
    assert texts[built["pract"][1]] == INJECTIONS[3]


def test_parallel_crops_match_inline(built: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Enough crops start worker processes; the result must be the same as preparing them in-process."""
    monkeypatch.setattr(E.C, "EXPORT_IMAGES_PER_WORKER", 2)
    out = E.export_workbook(ExportOptions(output=tmp_path / "pool.xlsx", db=built["db"]))
    pooled, inline = load_workbook(out)["Comments"], built["wb"]["Comments"]
    assert [(i.width, i.height) for i in pooled._images] == [(i.width, i.height) for i in inline._images]
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(built["out"]) as b:
        media = sorted(n for n in a.namelist() if n.startswith("xl/media/"))
        assert media == sorted(n for n in b.namelist() if n.startswith("xl/media/"))
        assert all(a.read(n) == b.read(n) for n in media)


def test_large_crops_are_scaled_and_whitened(built: dict) -> None:
    img = built["wb"]["Comments"]._images[0]
    shown = (img.anchor.ext.width / 9525, img.anchor.ext.height / 9525)  # EMU per pixel
    # a 1200 x 400 field with one stroke across it: cut to the stroke, shown at the configured width
    assert shown[0] == 600 and 20 < shown[1] < 100
    assert img.width == 900  # and stored at 1.5 times that, sharp when zoomed or printed
    with zipfile.ZipFile(built["out"]) as z:
        name = next(n for n in z.namelist() if n.startswith("xl/media/") and len(z.read(n)) > 1000)
        stored = cv2.imdecode(np.frombuffer(z.read(name), np.uint8), cv2.IMREAD_UNCHANGED)
    assert stored.shape[1] <= 600 * 1.5 + 1
    assert stored.max() == 255  # the paper is white


def test_clean_text_rules() -> None:
    assert clean_text("a\x00b\x0bc\x0cd\x7fe\x85f") == "abcdef"
    assert clean_text("x\r\ny\rz\tw") == "x\ny\nz\tw"
    assert len(clean_text("y" * 40_000)) <= EXCEL_MAX_CELL_CHARS


def test_comments_sheet_has_crops_beside_text(built: dict) -> None:
    ws = built["wb"]["Comments"]
    assert header(ws) == ["Serial", "Form", "Field", "Transcription", "OCR confidence", "Handwriting",
                          "Checked by a person"]
    data = rows(ws)[1:]
    assert len(data) == 7  # 4 person + 2 practitioner + 1 mystery; fields left blank are not listed
    assert len(ws._images) == len(data) - 1  # the mystery form's crop is damaged
    anchors = sorted(img.anchor._from.row + 1 for img in ws._images)
    damaged_row = next(i for i, r in enumerate(data, 2) if r[1] == MYSTERY)
    assert anchors == [r for r in range(2, len(data) + 2) if r != damaged_row]
    assert ws.cell(damaged_row, 6).value == "(image could not be read)"
    assert {img.anchor._from.col for img in ws._images} == {5}  # column F, beside the transcription
    img = ws._images[0]
    assert img.anchor.ext.width / 9525 >= 500  # large enough to read
    checked = {r[0]: r[6] for r in data}
    assert checked[built["person"][1]] == "yes" and checked[built["person"][0]] == "no"
    assert {r[4] for r in data if r[0] == built["person"][0]} == {61.5}


def test_review_sheet_lists_open_questions_only(built: dict) -> None:
    ws = built["wb"]["Review"]
    assert header(ws) == ["Serial", "Form", "Item", "Reason", "What was read", "Crop"]
    data = rows(ws)[1:]
    p = built["person"]
    items = [(r[0], r[2]) for r in data]
    assert (p[2], "S03") in items
    assert (p[2], "S05") not in items  # settled
    assert (p[1], "C1") not in items  # transcription checked
    assert (p[0], "C1") in items
    s03 = next(r for r in data if r[:3] == [p[2], PERSON, "S03"])
    assert "more than one box" in s03[3] and s03[4].startswith("no single answer")
    item_rows = [i for i, r in enumerate(data, 2) if r[2].startswith("S")]
    assert sorted(img.anchor._from.row + 1 for img in ws._images) == item_rows
    link = next(ws.cell(i, 6) for i, r in enumerate(data, 2) if r[2] == "C1")
    assert link.hyperlink is not None and link.hyperlink.location.startswith("'Comments'!F")


def test_review_lists_missing_pages_and_unrecognised_pages(built: dict) -> None:
    data = rows(built["wb"]["Review"])[1:]
    assert [r[:3] for r in data if r[2] == "(pages)"] == [[built["person"][4], PERSON, "(pages)"]]
    assert "page 2 of 2 not returned" in next(r[3] for r in data if r[2] == "(pages)")
    unrecognised = [r for r in data if r[2] == "(page)"]
    assert len(unrecognised) == 1 and unrecognised[0][4] == "scans/batch3.pdf, page 4"  # blank pages ask nothing


def test_settled_questions_leave_review(built: dict, tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger.like(built["db"], "settled")
    with Ledger(db) as ledger:
        for r in ledger.execute("SELECT page_id, item FROM effective_answers WHERE state = 'flagged'").fetchall():
            ledger.decide("answer", r[0], r[1], "3")
        for r in ledger.execute("SELECT page_id, item, text FROM effective_comments WHERE written = 1 "
                                "AND decision_id IS NULL").fetchall():
            ledger.decide("comment", r[0], r[1], r[2])
        anchor = ledger.execute("SELECT MIN(id) FROM pages WHERE serial = ? AND status = 'form'",
                                (built["person"][4],)).fetchone()[0]
        ledger.decide("page", anchor, "", '{"action": "acknowledge_missing", "serial": "x", "missing": [2]}')
        odd = ledger.execute("SELECT id FROM pages WHERE status = 'not_form'").fetchone()[0]
        ledger.decide("page", odd, "", '{"action": "not_form"}')
    wb = load_workbook(E.export_workbook(ExportOptions(output=tmp_path / "s.xlsx", db=db)))
    assert rows(wb["Review"])[1:] == []
    assert not wb["Review"]._images
    responses = _responses({"wb": wb}, PERSON)
    assert {r[FIRST_ITEM + 11] for r in rows(responses)[1:]} == {"no"}
    assert not any(c.comment for row in responses.iter_rows() for c in row)
    pages = {r[2]: r[9] for r in rows(wb["Pages"])[1:] if r[2] == "not_form"}
    assert pages == {"not_form": "confirmed: not a form"}


def test_summary_counts_and_chart(built: dict) -> None:
    ws = built["wb"]["Summary"]
    data = rows(ws)
    start = next(i for i, r in enumerate(data) if r[0] and str(r[0]).startswith(PERSON))
    facts = {r[0]: r[2] for r in data[start + 1:start + 7] if r[0]}
    assert facts["Copies issued"] == 6 and facts["Copies returned"] == 5
    assert facts["Returned complete (all pages)"] == 4
    assert facts["Response rate (returned ÷ issued)"] == pytest.approx(5 / 6)
    head_i = next(i for i in range(start, len(data)) if data[i][0] == "Item")
    head = data[head_i]
    assert head[:4] == ["Item", "Statement", "n answered", "1 Not at all"] and head[-6:] == [
        "Left blank", "Cannot be told", "Page not returned", "Needs review", "Mean", "Median"]
    by_item = {r[0]: dict(zip(head, r, strict=False)) for r in data[head_i + 1:head_i + 11]}
    # S03: 3, 4, (open), blank, 2 (incomplete copy has page 1) -> settled 3, 4, 2
    s03 = by_item["S03"]
    assert (s03["n answered"], s03["Left blank"], s03["Needs review"]) == (3, 1, 1)
    assert s03["Mean"] == pytest.approx(3.0) and s03["Median"] == 3
    assert s03["% 3"] == pytest.approx(1 / 3)
    s05 = by_item["S05"]  # 1, 4, 4 (reviewed), 5, 2
    assert s05["n answered"] == 5 and s05["Mean"] == pytest.approx(16 / 5)
    s10 = by_item["S10"]  # page 2 missing for the incomplete copy: blank
    assert (s10["n answered"], s10["Left blank"], s10["Page not returned"]) == (4, 0, 1)
    for row in by_item.values():  # every returned copy is counted once, in one column
        assert row["n answered"] + row["Left blank"] + row["Cannot be told"] + row["Page not returned"] + row[
            "Needs review"] == facts["Copies returned"]
    assert by_item["S01"]["Statement"].startswith("I was trusted to write my own plan")
    assert len(ws._charts) == 3  # one per form with returns
    assert all(c.grouping == "percentStacked" for c in ws._charts)


def test_comparison(built: dict) -> None:
    ws = built["wb"]["Comparison"]
    assert len(ws._charts) == 1
    data = rows(ws)
    head_i = next(i for i, r in enumerate(data) if r[0] == "Item")
    s01 = dict(zip(data[head_i], data[head_i + 1], strict=True))
    assert s01["Item"] == "S01"
    assert s01["Mean: people receiving support"] == pytest.approx((5 + 4 + 3 + 1 + 2) / 5)
    assert s01["Mean: practitioners"] == pytest.approx(4.5)
    assert s01["Gap"] == pytest.approx(3.0 - 4.5)


def test_codebook_and_pages(built: dict) -> None:
    code = rows(built["wb"]["Codebook"])
    flat = [" ".join(str(v) for v in r if v is not None) for r in code]
    assert any("S07" in line and "I had all the information I needed" in line for line in flat)
    assert any(MYSTERY in line and "No form definition found" in line for line in flat)
    assert any("Q1" in line and "rating" in line for line in flat)
    assert any("Not at all" in line for line in flat)
    assert any(line.startswith("Missing answers:") for line in flat) and any(line.startswith("Flags:") for line in flat)
    pages = built["wb"]["Pages"]
    assert header(pages)[:4] == ["File", "Page", "Status", "Reason"]
    statuses = [r[2] for r in rows(pages)[1:]]
    for status in ("form", "blank", "not_form", "duplicate"):
        assert status in statuses
    assert [(len(statuses),)] == ledger_rows(built["db"], "SELECT COUNT(*) FROM pages")


def test_csv(built: dict) -> None:
    with open(built["csv"] / f"{PERSON}.csv", encoding="utf-8", newline="") as fh:
        data = list(csv.reader(fh))
    assert data[0] == [*COPY_HEAD, *ITEMS, "C1", "Needs review", *STATUS_HEAD, "Items to review"]
    by_serial = {r[0]: r for r in data[1:]}
    p = built["person"]
    row = by_serial[p[2]]
    assert row[FIRST_ITEM + 2] == "" and row[FIRST_ITEM + 4] == "4" and row[-1] == "S03 C1"
    assert row[3] == "standard" and len(row[6]) == 10 and row[6][4] == "-"  # an ISO date
    assert by_serial[p[0]][FIRST_ITEM + 10] == INJECTIONS[0] and by_serial[p[3]][FIRST_ITEM + 10] == CONTROL_CLEAN
    assert (built["csv"] / f"{MYSTERY}.csv").exists()
    # the incomplete copy (only page 1 came back) is a row too: page 1's answers, page 2's empty
    assert by_serial[p[4]][FIRST_ITEM:FIRST_ITEM + 10] == ["2"] * 6 + [""] * 4
    # every form: one row per returned copy, the same rows as its Responses sheet, none dropped or added
    expected = {PERSON: sorted(p[:5]), PRACTITIONER: sorted(built["pract"][:2]), MYSTERY: ["000777R"]}
    for form, serials in expected.items():
        with open(built["csv"] / f"{form}.csv", encoding="utf-8", newline="") as fh:
            got = list(csv.reader(fh))
        assert [r[0] for r in got[1:]] == serials, form
        assert [r[0] for r in rows(_responses(built, form))[1:]] == serials, form


def test_ledger_unchanged(built: dict) -> None:
    assert snapshot_of(built["db"]) == built["sha_before"]


def test_one_form_only(built: dict, tmp_path: Path) -> None:
    out = E.export_workbook(ExportOptions(output=tmp_path / "p.xlsx", db=built["db"], form=PRACTITIONER))
    wb = load_workbook(out)
    assert "Comparison" not in wb.sheetnames
    expected = cells.sheet_title("Responses", [PRACTITIONER])[PRACTITIONER]
    assert [n for n in wb.sheetnames if n.startswith("Resp")] == [expected]
    assert {r[1] for r in rows(wb["Comments"])[1:]} == {PRACTITIONER}


def test_errors(built: dict, tmp_path: Path) -> None:  # (a missing ledger: a file that is not there)
    with pytest.raises(LedgerError):
        E.export_workbook(ExportOptions(output=tmp_path / "x.xlsx", db=tmp_path / "missing.db"))
    with pytest.raises(UnknownFormError):
        E.export_workbook(ExportOptions(output=tmp_path / "x.xlsx", db=built["db"], form="no-such-form"))
    assert not (tmp_path / "x.xlsx").exists()
    assert [p.name for p in tmp_path.iterdir()] == [], "scratch files left behind"


def test_failed_write_keeps_old_file(built: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"previous workbook")

    def boom(self: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(E._Writer, "write_data", boom)
    with pytest.raises(OutputError):
        E.export_workbook(ExportOptions(output=out, db=built["db"]))
    assert out.read_bytes() == b"previous workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]
    # a full disk is not a usage error: the command says so with its own exit code (README, Exit codes)
    from pipeline.cli import main

    assert main(["export", "-o", str(out), "--db", str(built["db"])]) == ExitCode.OUTPUT == 5
    assert out.read_bytes() == b"previous workbook"


def test_empty_ledger_and_undefined_registry(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("empty")
    Ledger(db).close()
    out = E.export_workbook(ExportOptions(output=tmp_path / "e.xlsx", db=db), registry=FormRegistry([]))
    wb = load_workbook(out)
    assert wb.sheetnames == ["Summary", "Comments", "Review", "Codebook", "Pages"]


def test_cli(built: dict, tmp_path: Path) -> None:
    out = tmp_path / "cli.xlsx"
    done = subprocess.run([sys.executable, "-m", "pipeline", "export", "-o", str(out), "--db", built["db"],
                           "--csv", str(tmp_path / "c")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(out)  # the workbook first, then every CSV file, one per line
    assert len(done.stdout.splitlines()) == 4
    assert "Summary" in load_workbook(out).sheetnames and (tmp_path / "c" / f"{PERSON}.csv").exists()
    bad = subprocess.run([sys.executable, "-m", "pipeline", "export", "-o", str(out), "--db",
                          str(tmp_path / "nope.db")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 4 and "no ledger" in bad.stderr


@pytest.mark.postgres
def test_the_same_workbook_from_postgresql(built: dict, pg_server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger copied into PostgreSQL exports the same workbook, crop by crop; the crop workers (forced
    here) open the server by its address themselves."""
    from fixtures_returns import workbook_cells

    from pipeline.ledger.copy import copy_ledger

    pg = pg_server.new_database("export")
    copy_ledger(built["db"], pg, backup=True)  # from either backend
    monkeypatch.setattr(E.C, "EXPORT_IMAGES_PER_WORKER", 2)
    out = E.export_workbook(ExportOptions(output=tmp_path / "pg.xlsx", db=pg, csv_dir=tmp_path / "csv"))
    assert workbook_cells(out) == workbook_cells(built["out"])
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(built["out"]) as b:
        media = sorted(n for n in a.namelist() if n.startswith("xl/media/"))
        assert media and media == sorted(n for n in b.namelist() if n.startswith("xl/media/"))
        assert all(a.read(n) == b.read(n) for n in media)
    for name in (f"{PERSON}.csv", f"{PRACTITIONER}.csv"):
        assert (tmp_path / "csv" / name).read_bytes() == (built["csv"] / name).read_bytes()


def test_csv_and_r_files_may_not_share_a_folder(tmp_path: Path) -> None:
    """Both write <form>.csv: in one folder the R-ready file would silently replace the Responses CSV."""
    from pipeline.errors import UsageError

    with pytest.raises(UsageError, match="different folders"):
        ExportOptions(db=str(tmp_path / "s.db"), csv_dir=tmp_path / "out", r_dir=tmp_path / "out" / ".." / "out")
    ExportOptions(db=str(tmp_path / "s.db"), csv_dir=tmp_path / "csv", r_dir=tmp_path / "R")  # apart: fine
