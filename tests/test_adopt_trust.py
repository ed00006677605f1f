"""Adopted forms and hand assignment: never silently wrong outside the scanner either.

Choose-any questions through check, review and export; a person's page assignment that can be undone,
that is refused for a page or copy that does not exist, and that is never half recorded; adopt refusing
to hide a form PaperVoice prints, refusing a blank where it plainly found too little, and saying when a
blank looks turned.  Fixtures are drawn in code (`simulate.foreign`, the generator's own prints).
What a person does in review (choose-any, assignments) runs on both ledger backends; the reading tests on
SQLite (they are about pictures, and costly).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml
from conftest import NewLedger, ledger_rows
from flask.testing import FlaskClient
from PIL import Image
from test_reassign import wipe_codes
from test_scan import issue_copy, mark, opts, save_pdf

from bench.adopted import edit_like_a_person
from pipeline.adopt.blank import adopt_blank
from pipeline.adopt.copies import flag_doubt
from pipeline.errors import FormDefinitionError, UsageError
from pipeline.export.workbook import export_workbook
from pipeline.form.definition import FormRegistry, parse_form
from pipeline.ledger import queries as Q
from pipeline.ledger.check import check_ledger
from pipeline.ledger.store import Ledger
from pipeline.options import ExportOptions, ReviewOptions
from pipeline.review import reassign
from pipeline.review.app import create_app
from pipeline.scan.coordinator import scan
from pipeline.scan.decide import decide_item
from pipeline.scan.results import BoxReading, ItemReading, PageResult, PageSource
from pipeline.simulate.foreign import ForeignSpec, draw_blank, fill_return


def _csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def _save(pages: list[Image.Image], path: Path) -> Path:
    pages[0].save(path, save_all=True, append_images=pages[1:], dpi=(300, 300), compression="tiff_lzw")
    return path


@pytest.fixture(scope="module")
def any_ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A two-page adopted form with a choose-any question; one return's first page alone (so every answer
    of it goes to a person: its second page was not found with it)."""
    tmp = tmp_path_factory.mktemp("any")
    spec = ForeignSpec(41, "square", 5.0, 0.25, True, 2)
    blank, truth = draw_blank(spec)
    forms = tmp / "forms"
    report = adopt_blank(_save(blank, tmp / "blank.tif"), "club-survey", forms)
    edit_like_a_person(report.form_path, truth, False)
    images, _, _ = fill_return(blank, truth, spec, seed=5)
    page1 = next(i for i, q in enumerate(images) if any(t.page == 1 for t in truth))
    db = tmp / "survey.db"
    Image.fromarray(images[page1]).save(tmp / "p1.png", dpi=(200, 200))
    scan([tmp / "p1.png"], opts(db, forms_dirs=(forms,), ocr="none"))
    return db, forms


def test_choose_any_in_check_review_and_export(any_ledger: tuple[Path, Path], tmp_path: Path,
                                               new_ledger: NewLedger) -> None:
    db, forms = new_ledger.like(any_ledger[0], "survey"), any_ledger[1]
    assert check_ledger(db) == []  # every 0 ("not ticked") of a choose-any box is a printed answer
    registry = FormRegistry.from_dirs([forms])
    form = registry.get("club-survey")
    assert form.adopted is not None
    any_q = next(q for q in form.adopted.questions if q.kind == "any")
    yes_no = next(q for q in form.adopted.questions if q.kind == "one" and len(q.boxes) == 2)
    any_item = any_q.item_of(any_q.boxes[0])
    assert form.answer_choices(any_item) == ((1, "ticked"), (0, "not ticked"))
    assert [v for v, _ in form.answer_choices(yes_no.id)] == [b.value for b in yes_no.boxes]
    with Ledger(db, readonly=True) as led:
        open_items = {q.item: q for q in Q.answer_questions(led)}
    assert any_item in open_items and yes_no.id in open_items, sorted(open_items)
    client = create_app(ReviewOptions(db=db, open_browser=False, forms_dirs=(forms,), ocr="none")).test_client()
    page_id = open_items[any_item].page_id
    html = client.get(f"/answer/{page_id}/{any_item}").get_data(as_text=True)
    assert "not ticked" in html and "ticked" in html and 'value="5"' not in html
    token = _csrf(client, f"/answer/{page_id}/{any_item}")
    assert client.post(f"/answer/{page_id}/{any_item}", data={"csrf_token": token, "value": "0"}).status_code == 302
    assert client.post(f"/answer/{page_id}/{any_item}", data={"csrf_token": token, "value": "7"}).status_code == 400
    yn_page = open_items[yes_no.id].page_id
    refused = client.post(f"/answer/{yn_page}/{yes_no.id}", data={"csrf_token": token, "value": "5"})
    assert refused.status_code == 400 and "not one of the boxes" in refused.get_data(as_text=True)
    ok = client.post(f"/answer/{yn_page}/{yes_no.id}", data={"csrf_token": token, "value": "2"})
    assert ok.status_code == 302
    assert check_ledger(db) == []  # the person's 0 on a lone box is no broken promise either
    out = tmp_path / "results.xlsx"
    export_workbook(ExportOptions(db=db, output=out), FormRegistry.from_dirs([forms]))
    sheet = next(ws for ws in openpyxl.load_workbook(out).worksheets if ws.title.startswith("Responses"))
    rows = list(sheet.iter_rows(values_only=True))
    head = list(rows[0])
    assert rows[1][head.index(any_item)] == 0 and rows[1][head.index(yes_no.id)] == 2


def test_a_decision_a_lone_box_never_had_is_caught(any_ledger: tuple[Path, Path], new_ledger: NewLedger) -> None:
    db = new_ledger.like(any_ledger[0], "copy")
    with Ledger(db) as led:
        q = next(q for q in Q.answer_questions(led) if "_" in q.item)
        led.decide("answer", q.page_id, q.item, "5")
    assert any("not one of the boxes" in p for p in check_ledger(db))


def test_copy_doubt_keeps_a_flags_own_reason() -> None:
    boxes = [BoxReading("Q1", v, 0.3, 0.6, 0.0, 0, 0, "marked", 0.9) for v in (1, 5, 9)]
    item = decide_item("Q1", boxes)
    assert item.detail == "boxes 1, 5 and 9 are all marked"
    page = PageResult(PageSource("f", 0), "form", items=[item, ItemReading("Q2", 2, "answered", None, "", 0.9)])
    doubted = flag_doubt(page, "only 1 of the form's 2 pages were found together")
    assert doubted.items[0].reason == "multiple" and doubted.items[0].detail.startswith("boxes 1, 5 and 9")
    assert "only 1 of the form's 2 pages" in doubted.items[0].detail
    assert doubted.items[1].reason == "uncertain" and "only 1 of" in doubted.items[1].detail


@pytest.fixture()
def torn(tmp_path: Path, new_ledger: NewLedger) -> tuple[str, str, str, int]:
    """Two copies issued; copy A's first page scanned with every code wiped (kept, unrecognised); on both
    backends."""
    db = new_ledger("s")
    serial_a, pages, layout = issue_copy(db, "care-planning-person", "standard")
    serial_b, _, _ = issue_copy(db, "care-planning-person", "standard")
    for n, item in enumerate(layout.pages[0].items):  # type: ignore[attr-defined]
        mark(pages, layout, item, n % 5 + 1, "cross", seed=n)
    wipe_codes(pages[0], layout.pages[0])  # type: ignore[attr-defined]
    scan([save_pdf([pages[0]], 300, tmp_path / "torn.pdf")], opts(db, ocr="none"))
    page_id = int(ledger_rows(db, "SELECT id FROM pages")[0][0])  # type: ignore[call-overload]
    return db, serial_a, serial_b, page_id


def one(db: str, sql: str, *params: object) -> tuple[object, ...]:
    """The one row a query finds, on either backend."""
    (row,) = ledger_rows(db, sql, params)
    return row


def _assign(client: FlaskClient, page_id: int, serial: str, page: str) -> tuple[int, str]:
    token = _csrf(client, f"/page/{page_id}")
    resp = client.post(f"/page/{page_id}", data={"csrf_token": token, "action": "assign",
                                                 "form": "care-planning-person@1", "serial": serial, "page": page})
    return resp.status_code, resp.get_data(as_text=True)


def test_undoing_an_assignment_undoes_its_reading(torn: tuple[str, str, str, int]) -> None:
    db, serial_a, serial_b, page_id = torn
    client = create_app(ReviewOptions(db=db, open_browser=False, ocr="none")).test_client()
    assert _assign(client, page_id, serial_b, "1")[0] == 302  # the wrong copy, by mistake: read under it
    assert one(db, "SELECT status, serial FROM pages WHERE id = ?", page_id) == ("form", serial_b)
    decision = one(db, "SELECT id FROM decisions WHERE kind = 'page'")[0]
    token = _csrf(client, f"/page/{page_id}")
    assert client.post(f"/decision/{decision}/undo", data={"csrf_token": token}).status_code == 302
    assert one(db, "SELECT status, serial, form_page FROM pages WHERE id = ?", page_id) == ("not_form", None, None)
    assert one(db, "SELECT COUNT(*) FROM answers WHERE page_id = ?", page_id) == (0,)
    with Ledger(db, readonly=True) as led:
        assert [q.page_id for q in Q.page_questions(led) if not q.settled] == [page_id]
    assert _assign(client, page_id, serial_a, "1")[0] == 302  # and the right assignment now goes in
    assert one(db, "SELECT status, serial FROM pages WHERE id = ?", page_id) == ("form", serial_a)
    assert check_ledger(db) == []


def test_an_assignment_to_what_does_not_exist_is_refused(torn: tuple[str, str, str, int]) -> None:
    db, serial_a, _, page_id = torn
    client = create_app(ReviewOptions(db=db, open_browser=False, ocr="none")).test_client()
    status, html = _assign(client, page_id, serial_a, "9")
    assert status == 400 and "Page 9 does not exist" in html
    status, html = _assign(client, page_id, "000050B", "1")  # a valid copy number this ledger never issued
    assert status == 400 and "no copy 000050B" in html
    assert one(db, "SELECT COUNT(*) FROM decisions") == (0,)


def test_a_crash_while_reading_an_assignment_records_nothing(torn: tuple[str, str, str, int],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db, serial_a, _, page_id = torn
    real = reassign.read_assigned

    def dies(*args: object, **kw: object) -> PageResult | None:
        raise SystemExit("the server was killed while it read the page")

    monkeypatch.setattr(reassign, "read_assigned", dies)
    client = create_app(ReviewOptions(db=db, open_browser=False, ocr="none")).test_client()
    with pytest.raises(SystemExit):
        _assign(client, page_id, serial_a, "1")
    assert one(db, "SELECT COUNT(*) FROM decisions") == (0,)  # not settled: still in the queue
    assert one(db, "SELECT status FROM pages WHERE id = ?", page_id) == ("not_form",)
    monkeypatch.setattr(reassign, "read_assigned", real)
    assert _assign(client, page_id, serial_a, "1")[0] == 302
    assert one(db, "SELECT status FROM pages WHERE id = ?", page_id) == ("form",)


def test_adopt_never_hides_a_form_papervoice_prints(tmp_path: Path) -> None:
    blank, _ = draw_blank(ForeignSpec(11, pages=1))
    path = _save(blank, tmp_path / "b.tif")
    with pytest.raises(UsageError, match="PaperVoice prints itself"):
        adopt_blank(path, "care-planning-person", tmp_path / "mine")
    from pipeline.form.definition import BUNDLED_FORMS_DIR
    with pytest.raises(UsageError, match="forms PaperVoice itself prints"):
        adopt_blank(path, "brand-new", BUNDLED_FORMS_DIR)
    # a file edited by hand to take a bundled id is refused when the forms are loaded, naming the file
    report = adopt_blank(path, "my-form", tmp_path / "mine")
    doc = yaml.safe_load(report.form_path.read_text())
    doc["id"] = "care-planning-person"
    (tmp_path / "mine" / "care-planning-person.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(FormDefinitionError, match="would take over its returns"):
        FormRegistry.from_dirs([tmp_path / "mine"])


def test_adopt_refuses_too_little_and_says_when_a_blank_is_turned(tmp_path: Path) -> None:
    blank, _ = draw_blank(ForeignSpec(11, pages=1))
    art = np.asarray(blank[0])
    # the blank's printed words and one box only: the rest of the boxes painted out
    one = art.copy()
    one[int(art.shape[0] * 0.15):, int(art.shape[1] * 0.1):] = 255  # keep the words down the left edge
    one[int(art.shape[0] * 0.05):int(art.shape[0] * 0.15), int(art.shape[1] * 0.65):] = 255
    page = Image.fromarray(one)
    page.save(tmp_path / "little.png", dpi=(300, 300))
    with pytest.raises(UsageError, match="too few to be the form"):
        adopt_blank(tmp_path / "little.png", "little", tmp_path / "f")
    turned = blank[0].rotate(180)
    report = adopt_blank(_save([turned], tmp_path / "turned.tif"), "turned", tmp_path / "f")
    assert any("upside down" in w for w in report.warnings), report.warnings
    upright = adopt_blank(_save(blank, tmp_path / "upright.tif"), "upright", tmp_path / "f")
    assert upright.warnings == []


def test_an_empty_question_list_says_so(tmp_path: Path) -> None:
    blank, _ = draw_blank(ForeignSpec(21, pages=1))
    report = adopt_blank(_save(blank, tmp_path / "b.tif"), "emptied", tmp_path)
    doc = yaml.safe_load(report.form_path.read_text())
    doc["questions"] = []
    with pytest.raises(FormDefinitionError, match="needs at least one question"):
        parse_form(doc, "emptied.yaml")


def test_each_page_records_its_own_resolution(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _, pages, _ = issue_copy(db, "care-planning-person", "standard")
    small = np.asarray(Image.fromarray(pages[0]).resize((pages[0].shape[1] * 2 // 3, pages[0].shape[0] * 2 // 3)))
    Image.fromarray(small).save(tmp_path / "p200.png", dpi=(200, 200))
    Image.fromarray(pages[1]).save(tmp_path / "p300.png", dpi=(300, 300))
    scan([tmp_path / "p200.png", tmp_path / "p300.png"], opts(db, ocr="none"))
    dpis = sorted(r[0] for r in sqlite3.connect(db).execute("SELECT dpi FROM pages"))
    assert dpis == [200.0, 300.0]
    assert json.dumps(dpis)


# --- copies of adopted returns, by evidence ---------------------------------------------------------------

TWO = ForeignSpec(41, "square", 5.0, 0.25, True, 2)


@pytest.fixture(scope="module")
def two_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Image.Image], list[object]]:
    tmp = tmp_path_factory.mktemp("two")
    blank, truth = draw_blank(TWO)
    forms = tmp / "forms"
    report = adopt_blank(_save(blank, tmp / "blank.tif"), "club-survey", forms)
    edit_like_a_person(report.form_path, truth, False)
    return forms, blank, truth  # type: ignore[return-value]


def _returns(two_page: tuple[Path, list[Image.Image], list[object]], seeds: range, **kw: object
             ) -> list[list[Image.Image]]:
    _, blank, truth = two_page
    return [[Image.fromarray(p) for p in fill_return(blank, truth, TWO, seed=s, one_sheet=True,  # type: ignore[arg-type]
                                                     **kw)[0]] for s in seeds]  # type: ignore[arg-type]


def _pdf(pages: list[Image.Image], path: Path, dpi: int = 200) -> Path:
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=dpi)
    return path


def _copies(db: Path) -> dict[str, list[tuple[int, str]]]:
    """serial -> [(form page, file path)] of pages read as forms, in file order."""
    out: dict[str, list[tuple[int, str]]] = {}
    for serial, page, path in sqlite3.connect(db).execute(
            "SELECT p.serial, p.form_page, f.path FROM pages p JOIN files f ON f.id = p.file_id "
            "WHERE p.status = 'form' ORDER BY f.path, p.page_index"):
        out.setdefault(serial, []).append((page, path))
    return out


def _flagged_pages(db: Path) -> set[tuple[str, int]]:
    return {(s, p) for s, p in sqlite3.connect(db).execute(
        "SELECT DISTINCT p.serial, p.form_page FROM answers a JOIN pages p ON p.id = a.page_id "
        "WHERE a.state = 'flagged' AND p.status = 'form'")}


def test_reading_again_keeps_copies_and_a_rescan_joins_its_copy(two_page: tuple[Path, list[Image.Image],
                                                                                 list[object]],
                                                                 tmp_path: Path) -> None:
    forms = two_page[0]
    copies = _returns(two_page, range(70, 74))
    returns = _pdf([p for c in copies for p in c], tmp_path / "returns.pdf")
    direct, late = tmp_path / "direct.db", tmp_path / "late.db"
    scan([returns], opts(direct, forms_dirs=(forms,), ocr="none"))
    assert len(_copies(direct)) == 4
    scan([returns], opts(late, ocr="none"))  # --forms-dir forgotten: 8 pages kept, unrecognised
    scan([], opts(late, forms_dirs=(forms,), ocr="none", retry=True))
    assert sorted(len(v) for v in _copies(late).values()) == [2, 2, 2, 2]  # the same 4 copies, not 8 halves
    assert len(_flagged_pages(late)) == len(_flagged_pages(direct))
    # the same paper scanned again into a new file, at another resolution: re-scans, not 4 more copies
    again = _pdf([p.resize((p.width * 3 // 4, p.height * 3 // 4)) for c in copies for p in c],
                 tmp_path / "again.pdf", 150)
    scan([again], opts(direct, forms_dirs=(forms,), ocr="none"))
    assert len(_copies(direct)) == 4
    statuses = dict(sqlite3.connect(direct).execute("SELECT status, COUNT(*) FROM pages GROUP BY status"))
    assert statuses.get("form") == 8 and statuses.get("duplicate", 0) + statuses.get("conflict", 0) == 8
    assert check_ledger(direct) == [] and check_ledger(late) == []


def test_the_blank_itself_scanned_is_not_a_silent_return(two_page: tuple[Path, list[Image.Image], list[object]],
                                                         tmp_path: Path) -> None:
    forms, blank, _ = two_page
    db = tmp_path / "s.db"
    scan([_pdf([p.convert("L") for p in blank], tmp_path / "blank.pdf", 300)], opts(db, forms_dirs=(forms,),
                                                                                   ocr="none"))
    reasons = {r for (r,) in sqlite3.connect(db).execute("SELECT reason FROM answers WHERE state = 'flagged'")}
    states = {s for (s,) in sqlite3.connect(db).execute("SELECT state FROM answers")}
    assert states == {"flagged"} and reasons == {"lost_marks"}


def test_sheets_fed_back_side_first_are_never_joined_silently(two_page: tuple[Path, list[Image.Image],
                                                                                list[object]],
                                                              tmp_path: Path) -> None:
    forms = two_page[0]
    a, b, c = _returns(two_page, range(80, 83))
    db = tmp_path / "s.db"
    scan([_pdf([a[0], a[1], b[1], b[0], c[1], c[0]], tmp_path / "stack.pdf")], opts(db, forms_dirs=(forms,),
                                                                                     ocr="none"))
    truth_sheet = [0, 0, 1, 1, 2, 2]  # which sheet each page of the file is
    index_of = {}
    for page_id, index in sqlite3.connect(db).execute("SELECT id, page_index FROM pages"):
        index_of[page_id] = index
    flagged = _flagged_pages(db)
    rows = sqlite3.connect(db).execute("SELECT serial, form_page, page_index FROM pages WHERE status = 'form'")
    members: dict[str, list[tuple[int, int]]] = {}
    for serial, page, index in rows:
        members.setdefault(serial, []).append((page, index))
    for serial, pages in members.items():
        sheets = {truth_sheet[i] for _, i in pages}
        if len(sheets) > 1:  # two people's pages in one copy: every page of it flagged
            assert all((serial, p) in flagged for p, _ in pages), (serial, pages)
    assert [truth_sheet[i] for _, i in members[min(members)]] == [0, 0]  # the first sheet, in order, is one copy


def test_one_file_per_page_in_order_makes_whole_copies(two_page: tuple[Path, list[Image.Image], list[object]],
                                                       tmp_path: Path) -> None:
    forms = two_page[0]
    pages = [p for c in _returns(two_page, range(90, 93)) for p in c]
    scans = tmp_path / "scans"
    scans.mkdir()
    for n, page in enumerate(pages, start=1):
        page.save(scans / f"scan{n:04d}.png", dpi=(200, 200))
    db = tmp_path / "s.db"
    scan([scans], opts(db, forms_dirs=(forms,), ocr="none"))
    got = _copies(db)
    assert sorted(len(v) for v in got.values()) == [2, 2, 2]
    with Ledger(db, readonly=True) as led:
        assert not Q.incomplete_copies(led)
    assert check_ledger(db) == []


def test_a_code_on_each_returned_sheet_is_the_copy(two_page: tuple[Path, list[Image.Image], list[object]],
                                                   tmp_path: Path) -> None:
    forms = two_page[0]
    copies = [_returns(two_page, range(s, s + 1), sheet_code=f"Q-{s:05d}")[0] for s in range(100, 103)]
    shuffled = [copies[0][1], copies[1][0], copies[2][1], copies[0][0], copies[2][0], copies[1][1]]
    db = tmp_path / "s.db"
    scan([_pdf(shuffled, tmp_path / "shuffled.pdf")], opts(db, forms_dirs=(forms,), ocr="none"))
    got = _copies(db)
    assert sorted(sorted(p for p, _ in v) for v in got.values()) == [[1, 2]] * 3
    assert not _flagged_pages(db) or all("copy" not in (d or "") for (d,) in sqlite3.connect(db).execute(
        "SELECT detail FROM answers WHERE state = 'flagged'"))
    # the same sheets scanned again in another order: the same copies (re-scans)
    scan([_pdf(list(reversed(shuffled)), tmp_path / "again.pdf", 150)], opts(db, forms_dirs=(forms,), ocr="none"))
    assert len(_copies(db)) == 3


# --- boxes with letters printed inside (exam answer sheets) -----------------------------------------------

def _letter_sheet() -> tuple[Image.Image, list[list[tuple[int, int, int]]]]:
    """An exam-style answer sheet at 300 dpi: numbered rows of 4 mm boxes with A B C D printed inside."""
    from PIL import ImageDraw

    from pipeline.simulate.foreign import _font

    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    draw.text((250, 200), "Answer sheet - mark one box per question", fill=0, font=_font(16))
    draw.text((250, 300), "Use a dark pen. Fill in the box of your answer.", fill=0, font=_font(11))
    rows = []
    side = 47  # 4 mm
    for q in range(8):
        y = 500 + q * 130
        draw.text((250, y + 5), f"Question {q + 1}:", fill=0, font=_font(11))
        row = []
        for v, letter in enumerate("ABCD"):
            x = 700 + v * 110
            draw.rectangle([x, y, x + side, y + side], outline=0, width=3)
            draw.text((x + 13, y + 7), letter, fill=0, font=_font(7))
            row.append((x, y, side))
        rows.append(row)
    for n in range(12):  # printed text further down: what a return is aligned by
        draw.text((250, 1700 + n * 90), f"Instructions line {n + 1}: keep this sheet flat and clean.", fill=0,
                  font=_font(10))
    return page, rows


def test_boxes_with_letters_inside_are_found_and_read(tmp_path: Path) -> None:
    from pipeline.scan.reader import ReaderConfig, read_page
    from pipeline.simulate.marks import draw_mark
    from pipeline.simulate.world import PENS

    page, rows = _letter_sheet()
    report = adopt_blank(_save([page], tmp_path / "sheet.tif"), "exam-sheet", tmp_path / "forms")
    doc = yaml.safe_load(report.form_path.read_text())
    boxes = [b for q in doc["questions"] for b in q["boxes"]]
    assert len(boxes) == 32 and all(b.get("glyph") for b in boxes)  # every box, each with its letter kept
    assert [len(q["boxes"]) for q in doc["questions"]] == [4] * 8
    doc["adopted"]["filled_box"] = "answer"
    report.form_path.write_text(yaml.safe_dump(doc))
    rng = np.random.default_rng(3)
    right = 0
    for copy in range(3):
        art = np.asarray(page).copy()
        chosen = [int(rng.integers(4)) for _ in rows]
        for row, c in zip(rows, chosen, strict=True):
            x, y, side = row[c]
            draw_mark(art, (x, y, side, side), ["cross", "tick", "fill"][copy], rng, PENS[copy][1], dpi=300)
        scanned = np.asarray(Image.fromarray(art).resize((1654, 2339), Image.Resampling.LANCZOS))
        result = read_page(scanned, 200.0, PageSource("r", 0), ReaderConfig((str(tmp_path / "forms"),), "none"))
        assert result.status == "form"
        for item, c in zip(result.items, chosen, strict=True):
            assert item.state == "flagged" or item.value == c + 1, (copy, item)  # never wrong without a flag
            right += int(item.state != "flagged")
    assert right >= 20  # of 24


def test_a_page_whose_file_declares_the_wrong_dpi_is_read_by_its_size(tmp_path: Path) -> None:
    from pipeline.scan.reader import ReaderConfig, read_page
    from pipeline.simulate.marks import draw_mark
    from pipeline.simulate.world import PENS

    page, rows = _letter_sheet()
    adopt_blank(_save([page], tmp_path / "sheet.tif"), "exam-sheet", tmp_path / "forms")
    art = np.asarray(page).copy()
    rng = np.random.default_rng(1)
    for row in rows:
        x, y, side = row[2]
        draw_mark(art, (x, y, side, side), "cross", rng, PENS[0][1], dpi=300)
    small = np.asarray(Image.fromarray(art).resize((2480 * 280 // 300, 3508 * 280 // 300), Image.Resampling.LANCZOS))
    result = read_page(small, 400.0, PageSource("says-400", 0), ReaderConfig((str(tmp_path / "forms"),), "none"))
    assert result.status == "form", result.reason
    assert result.dpi is not None and abs(result.dpi - 280) < 10  # what the page is, not what the file said
    assert all(i.state == "flagged" or i.value == 3 for i in result.items)
    assert sum(i.value == 3 for i in result.items) >= 7


def test_near_identical_blanks_are_told_apart_by_what_differs(tmp_path: Path) -> None:
    """Two versions of one form: the same page but for its last question, replaced by a notice in version B."""
    from PIL import ImageDraw

    from pipeline.scan.reader import ReaderConfig, read_page
    from pipeline.simulate.foreign import _font

    spec = ForeignSpec(41, "square", 5.0, 0.25, True, 1)
    blank, truth = draw_blank(spec)
    a = blank[0]
    b = a.copy()
    draw = ImageDraw.Draw(b)
    draw.rectangle([150, 2020, 2300, 2700], fill=255)  # the last question gone
    for n, line in enumerate(["Version B: please answer every question above.", "Return it in the envelope.",
                              "Questions about this form: call the office.", "Thank you for your help."]):
        draw.text((250, 2080 + n * 110), line, fill=0, font=_font(12))
    forms = tmp_path / "forms"
    adopt_blank(_save([a], tmp_path / "a.tif"), "survey-a", forms)
    adopt_blank(_save([b], tmp_path / "b.tif"), "survey-b", forms)
    config = ReaderConfig((str(forms),), "none")
    returns_a = fill_return([a], truth, spec, seed=3)[0]
    returns_b = fill_return([b], [q for q in truth if q.boxes[0][1] < 2020 * 72 / 300], spec, seed=4)[0]
    ra = read_page(returns_a[0], 200.0, PageSource("a", 0), config)
    rb = read_page(returns_b[0], 200.0, PageSource("b", 0), config)
    for result, want in ((ra, "survey-a"), (rb, "survey-b")):  # the right version, or left for a person
        assert result.status != "form" or (result.identity is not None and result.identity.form == want)
    assert (ra.identity and ra.identity.form) == "survey-a" and (rb.identity and rb.identity.form) == "survey-b", \
        (ra.reason, rb.reason)


@pytest.mark.skipif(__import__("shutil").which("tesseract") is None, reason="tesseract not installed")
def test_adopt_takes_the_wording_from_the_print(tmp_path: Path) -> None:
    blank, _ = draw_blank(ForeignSpec(41, "square", 5.0, 0.25, True, 1))
    report = adopt_blank(_save(blank, tmp_path / "b.tif"), "worded", tmp_path)
    doc = yaml.safe_load(report.form_path.read_text())
    first = doc["questions"][0]
    assert first["text"].startswith("1. How did you hear")  # the line printed above its boxes
    assert [b.get("label") for b in first["boxes"]] == ["Yes", "No"]  # each box's word just right of it
