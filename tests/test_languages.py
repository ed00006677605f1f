"""Forms in the respondent's language and format: catalogues, Welsh, bilingual, Urdu shaping, refusals, Easy
Read, long words.  Every case prints through the real CLI, renders the PDF, marks it like a respondent, scans
it, and checks what comes out (pdftotext for the printed words, the ledger and the workbook for the answers).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import unicodedata
from itertools import pairwise
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml
from conftest import NewLedger

from pipeline import constants as C
from pipeline.form.definition import BUNDLED_FORMS_DIR, FormRegistry
from pipeline.form.fonts import text_width_pt
from pipeline.form.i18n import LOCALE_DIR, translator
from pipeline.form.layout import STYLES, compute_layout, text_fits
from pipeline.ledger.queries import effective_answers
from pipeline.ledger.store import Ledger
from pipeline.options import ExportOptions, ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.simulate import returns as sim

ROOT = Path(__file__).resolve().parents[1]
BLACK = sim.Pen("black ballpoint", 40, 0.5)
ENGLISH_FIXED = ("How to fill in this form", "This is my answer", "Filled in: I changed my mind", "Page 1 of",
                 "continues on the next page", "Other formats and languages", "Not at all", "Completely")

URDU = {
    "title": "آپ کی دیکھ بھال اور مدد کی منصوبہ بندی کیسی رہی؟",
    "introduction": "ہم جاننا چاہتے ہیں کہ آپ کی منصوبہ بندی آپ کے لیے کیسی رہی۔ کوئی جواب صحیح یا غلط نہیں ہے۔",
    "instructions": ["ہر جملہ پڑھیں۔", "ہر جملے کے لیے ایک خانے میں نشان لگائیں۔"],
    "scale": [{"value": 1, "label": "بالکل نہیں"}, {"value": 2, "label": "تھوڑا سا"},
              {"value": 3, "label": "کچھ حد تک"}, {"value": 4, "label": "زیادہ تر"},
              {"value": 5, "label": "مکمل طور پر"}],
    "items": [{"id": "S01", "text": "مجھ پر بھروسہ کیا گیا کہ میں اپنا منصوبہ خود لکھوں۔"},
              {"id": "S02", "text": "میرا منصوبہ میری پوری زندگی کے بارے میں ہے۔"},
              {"id": "S03", "text": "لوگوں نے وہی کیا جو انہوں نے کہا تھا۔"}],
    "free_text": [{"id": "C1", "prompt": "کیا آپ ہمیں کچھ اور بتانا چاہیں گے؟", "lines": 4}],
    "closing": "شکریہ۔",
}


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def pdf_text(pdf: Path) -> str:
    """The words as pdftotext gets them back, in Unicode normal form (shaped Arabic comes out as presentation
    forms, which NFKC folds to the letters typed)."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True)
    return unicodedata.normalize("NFKC", out.stdout)


def urdu_form(folder: Path, **changes: object) -> Path:
    data = {"id": "urdu-survey", "version": 1, "language": "ur", "audience": "person", **URDU, **changes}
    folder.mkdir(exist_ok=True)
    path = folder / "urdu-survey.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def return_copy(pdf: Path, form: object, style: str, answers: dict[str, int], seed: int = 0) -> list[np.ndarray]:
    """The printed copy as a respondent sends it back: rendered, a tick in each answer's box, scanned at 200 dpi."""
    layout = compute_layout(form, "a4", style)  # type: ignore[arg-type]
    pages = sim.render_pdf_pages(pdf, 1, layout.page_count)
    rng = np.random.default_rng(seed)
    for item, value in answers.items():
        box = next(b for p in layout.pages for b in p.boxes_of(item) if b.value == value)
        page = next(n for n, p in enumerate(layout.pages) if box in p.boxes)
        sim.draw_mark(pages[page], sim.rect_px(box), "tick", rng, BLACK)
    params = sim.DegradeParams.none()
    return [sim.degrade(p, np.random.default_rng(seed + n), params).image for n, p in enumerate(pages)]


def save_pdf(images: list[np.ndarray], path: Path) -> Path:
    from PIL import Image

    pil = [Image.fromarray(i) for i in images]
    pil[0].save(path, "PDF", save_all=True, append_images=pil[1:], resolution=300)
    return path


def read_answers(db: Path | str, form_id: str) -> dict[tuple[str, str], int | None]:
    with Ledger(db) as ledger:
        return {(a.serial, a.item): a.value for a in effective_answers(ledger, form_id)}


# --- catalogues --------------------------------------------------------------------------------------------


def test_the_welsh_catalogue_translates_every_message_and_the_template_is_current(tmp_path: Path) -> None:
    """pybabel extract over the code gives exactly the template shipped; Welsh has every message translated."""
    from babel.messages.pofile import read_po

    pot = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "tr",
                    "-k", "N_", "--no-location", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fresh, (LOCALE_DIR / "papervoice.pot").open("rb") as shipped:
        fresh_ids = {m.id for m in read_po(fresh) if m.id}
        assert fresh_ids == {m.id for m in read_po(shipped) if m.id}, "run 'make catalogues'"
    with (LOCALE_DIR / "cy" / "LC_MESSAGES" / "papervoice.po").open("rb") as fh:
        welsh = read_po(fh, locale="cy")
    untranslated = [m.id for m in welsh if m.id and (not m.string or m.fuzzy)]
    assert not untranslated and {m.id for m in welsh if m.id} == fresh_ids
    assert "NOT YET CHECKED BY A WELSH SPEAKER" in (welsh.header_comment or "")
    tr = translator("cy")
    assert tr("Page {page} of {pages}", page=2, pages=3) == "Tudalen 2 o 3"
    assert translator("cy+en")("This is my answer") == "Dyma fy ateb\nThis is my answer"


def test_a_translation_must_ask_the_same_questions(tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    folder.mkdir()
    shutil.copy(BUNDLED_FORMS_DIR / "care-planning-person.yaml", folder / "care-planning-person.yaml")
    data = yaml.safe_load((BUNDLED_FORMS_DIR / "care-planning-person.cy.yaml").read_text(encoding="utf-8"))
    data["items"][3]["id"] = "S99"
    (folder / "care-planning-person.cy.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = cli("forms", "--forms-dir", str(folder), check=False)
    assert result.returncode == 2
    assert "care-planning-person.cy.yaml" in result.stderr and "item ids differ" in result.stderr


# --- Welsh, bilingual, one survey -------------------------------------------------------------------------


def test_welsh_prints_no_english_fixed_text_and_both_languages_share_one_responses_sheet(
        tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("survey")
    cy_pdf, en_pdf = tmp_path / "cy.pdf", tmp_path / "en.pdf"
    result = cli("generate", "care-planning-person", "--language", "cy", "-o", str(cy_pdf), "--db", db)
    assert "checked by a Welsh speaker" in result.stderr  # the draft status is said at every print
    cli("generate", "care-planning-person", "-o", str(en_pdf), "--db", db)
    text = pdf_text(cy_pdf)
    assert "Tudalen 1 o 3 - yn parhau ar y dudalen nesaf" in text and "Tudalen 3 o 3" in text
    assert "Sut i lenwi'r ffurflen hon" in text and "Fformatau ac ieithoedd eraill" in text
    for english in ENGLISH_FIXED:
        assert english not in text, english

    registry = FormRegistry.from_dirs()
    base = registry.get("care-planning-person")
    welsh = registry.in_language(base, "cy")
    with Ledger(db) as ledger:
        serials = [r[0] for r in ledger.execute("SELECT serial FROM serials ORDER BY number")]
    cy_answers = {"S01": 5, "S02": 4, "S09": 1}
    en_answers = {"S01": 2, "S05": 3, "S10": 4}
    scans = [save_pdf(return_copy(cy_pdf, welsh, "standard", cy_answers, 1), tmp_path / "cy-scan.pdf"),
             save_pdf(return_copy(en_pdf, base, "standard", en_answers, 2), tmp_path / "en-scan.pdf")]
    summary = scan(scans, ScanOptions(db=db, jobs=1, quiet=True))
    assert summary.page_status["form"] == 6
    got = read_answers(db, "care-planning-person")
    assert {i: got[(serials[0], i)] for i in cy_answers} == cy_answers
    assert {i: got[(serials[1], i)] for i in en_answers} == en_answers

    from pipeline.export.workbook import export_workbook

    out = tmp_path / "results.xlsx"
    export_workbook(ExportOptions(output=out, db=db), FormRegistry.from_dirs())
    wb = openpyxl.load_workbook(out)
    responses = [n for n in wb.sheetnames if n.startswith("Resp")]
    assert len(responses) == 1, responses
    rows = list(wb[responses[0]].iter_rows(values_only=True))
    head = list(rows[0])
    by_serial = {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:]}
    assert by_serial[serials[0]]["Language"] == "cy" and by_serial[serials[1]]["Language"] == "en"
    assert by_serial[serials[0]]["S01"] == 5 and by_serial[serials[1]]["S01"] == 2
    codebook = [r for r in wb["Codebook"].iter_rows(values_only=True)]
    s01 = [r for r in codebook if r[0] == "care-planning-person" and r[2] == "S01"]
    assert {r[5] for r in s01} == {"en", "cy", "ur"} and any("Cefais fy nhrystio" in str(r[4]) for r in s01)


def test_review_shows_a_welsh_copy_s_statement_as_printed_beside_the_form_s_own(
        tmp_path: Path, new_ledger: NewLedger) -> None:
    """A person settling a flagged answer on a Welsh copy compares the picture (Welsh words) with the page: the
    page gives the statement in the form's language and, marked up as Welsh (a screen reader speaks it so),
    the words the respondent read; an English copy's page shows no such line."""
    from pipeline.options import ReviewOptions
    from pipeline.review.app import create_app

    db = new_ledger("survey")
    cy_pdf, en_pdf = tmp_path / "cy.pdf", tmp_path / "en.pdf"
    cli("generate", "care-planning-person", "--language", "cy", "-o", str(cy_pdf), "--db", db)
    cli("generate", "care-planning-person", "-o", str(en_pdf), "--db", db)
    registry = FormRegistry.from_dirs()
    base = registry.get("care-planning-person")
    welsh = registry.in_language(base, "cy")
    scans = []
    for pdf, form, name in ((cy_pdf, welsh, "cy"), (en_pdf, base, "en")):
        pages = return_copy(pdf, form, "standard", {"S01": 2}, 5)
        layout = compute_layout(form, "a4", "standard")
        second = sim.render_pdf_pages(pdf, 1, 1)[0]  # the same first page with a second box ticked too
        box = next(b for b in layout.pages[0].boxes_of("S01") if b.value == 4)
        sim.draw_mark(second, sim.rect_px(box), "tick", np.random.default_rng(9), BLACK)
        pages[0] = np.minimum(pages[0], sim.degrade(second, np.random.default_rng(5), sim.DegradeParams.none()).image)
        scans.append(save_pdf(pages, tmp_path / f"{name}-scan.pdf"))
    scan(scans, ScanOptions(db=db, jobs=1, quiet=True))
    with Ledger(db) as ledger:
        flagged = {q.serial: q for q in effective_answers(ledger, "care-planning-person")
                   if q.item == "S01" and q.open}
        languages = {serial: ledger.batch_language(serial) or "en" for serial in flagged}  # None: the form's own
    assert sorted(languages.values()) == ["cy", "en"], languages
    client = create_app(ReviewOptions(db=db, open_browser=False, ocr="none")).test_client()
    pages_by_language = {}
    for serial, q in flagged.items():
        response = client.get(f"/answer/{q.page_id}/S01")
        assert response.status_code == 200
        pages_by_language[languages[serial]] = response.get_data(as_text=True)
    welsh_words, english_words = welsh.statement("S01"), base.statement("S01")
    assert welsh_words != english_words
    from markupsafe import escape

    page = pages_by_language["cy"]
    assert str(escape(english_words)) in page

    assert f'As printed, in Welsh: <span lang="cy" dir="ltr">{escape(welsh_words)}</span>' in page
    assert "As printed" not in pages_by_language["en"] and str(escape(english_words)) in pages_by_language["en"]


WELSH_COMMENT = "Roedd y staff yn garedig iawn ond roedd yr amser yn fyr"


def test_a_welsh_comment_is_left_as_read_not_put_right_as_english(tmp_path: Path, new_ledger: NewLedger) -> None:
    """The word-list correction is English: on an English copy "iawn", "ond" and "amser" would become "lawn",
    "and" and "amber".  The same Welsh words written on a Welsh copy come back as the engine read them."""
    from pipeline.scan.words import correct_text, corrects

    assert correct_text(WELSH_COMMENT)[0] != WELSH_COMMENT  # what English correction would do to them
    assert corrects("en") and not corrects("cy") and not corrects("cy+en")
    db = new_ledger("survey")
    pdf = tmp_path / "cy.pdf"
    cli("generate", "care-planning-person", "--language", "cy", "-o", str(pdf), "--db", db)
    registry = FormRegistry.from_dirs()
    welsh = registry.in_language(registry.get("care-planning-person"), "cy")
    layout = compute_layout(welsh, "a4", "standard")
    pages = sim.render_pdf_pages(pdf, 1, layout.page_count)
    n, field = next((n, p.text_fields[0]) for n, p in enumerate(layout.pages) if p.text_fields)
    font = sim.available_tiers()["easy"][0]
    hand = sim.Hand(str(font), "easy", 0.24, 0.0, BLACK, 0, lift=(0.05, 0.1))
    written = sim.write_comment(pages[n], field, WELSH_COMMENT, hand, np.random.default_rng(3))
    assert written == WELSH_COMMENT
    images = [sim.degrade(p, np.random.default_rng(k), sim.DegradeParams.none()).image for k, p in enumerate(pages)]
    scan([save_pdf(images, tmp_path / "scan.pdf")], ScanOptions(db=db, jobs=1, quiet=True))
    with Ledger(db) as ledger:
        (text,) = [r[0] for r in ledger.execute("SELECT text FROM comments WHERE written = 1")]
    words = text.lower().split()
    assert "iawn" in words and "amser" in words and "lawn" not in words and "amber" not in words, text


def test_a_bilingual_print_carries_both_languages(tmp_path: Path, new_ledger: NewLedger) -> None:
    pdf, db = tmp_path / "both.pdf", new_ledger("s")
    cli("generate", "care-planning-practitioner", "--language", "cy", "--bilingual", "-o", str(pdf), "--db", db)
    text = pdf_text(pdf)
    assert "Dyma fy ateb" in text and "This is my answer" in text
    assert text.index("Sut i lenwi") < text.index("How to fill in this form")  # Welsh first
    assert "Tudalen 1 o" in text and "Page 1 of" in text
    with Ledger(db) as ledger:
        serial = ledger.execute("SELECT serial FROM serials").fetchone()[0]
        assert ledger.batch_language(serial) == "cy+en"
    registry = FormRegistry.from_dirs()
    both = registry.in_language(registry.get("care-planning-practitioner"), "cy+en")
    answers = {"S01": 4, "S06": 2, "S10": 5}
    scan([save_pdf(return_copy(pdf, both, "standard", answers, 3), tmp_path / "scan.pdf")],
         ScanOptions(db=db, jobs=1, quiet=True))
    got = read_answers(db, "care-planning-practitioner")
    assert {i: got[(serial, i)] for i in answers} == answers


# --- every script printed right or refused -----------------------------------------------------------------


def test_urdu_prints_shaped_right_to_left_and_reads_back(tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    urdu_form(folder)
    pdf, db = tmp_path / "ur.pdf", tmp_path / "ur.db"
    cli("generate", "urdu-survey", "--forms-dir", str(folder), "-o", str(pdf), "--db", str(db))
    text = pdf_text(pdf)
    lines = [line.strip(" \u202a\u202b\u202c\u200e\u200f") for line in text.splitlines()]
    for sentence in (URDU["items"][0]["text"], URDU["items"][2]["text"]):  # type: ignore[index]
        assert any(sentence in line for line in lines), sentence  # whole words, in reading order
    form = FormRegistry.from_dirs([folder]).get("urdu-survey")
    layout = compute_layout(form)
    assert layout.direction == "rtl"
    s01 = sorted(layout.pages[0].boxes_of("S01"), key=lambda b: b.value)
    assert all(a.x > b.x for a, b in pairwise(s01)), "the scale reads from the right"
    title = next(b for b in layout.pages[0].text_blocks if b.kind == "title")
    assert title.align == "right"
    answers = {"S01": 1, "S02": 4, "S03": 5}
    summary = scan([save_pdf(return_copy(pdf, form, "standard", answers), tmp_path / "scan.pdf")],
                   ScanOptions(db=db, jobs=1, quiet=True, forms_dirs=(folder,)))
    assert summary.exit_code == 0
    got = read_answers(db, "urdu-survey")
    assert {item: value for (_, item), value in got.items() if item in answers} == answers


@pytest.mark.parametrize(("field", "value", "chars"), [
    ("items", [{"id": "S01", "text": "我们想听听您的意见"}], "我们"),
    ("title", "ሰላም: a survey in Tigrinya", "ሰላም"),  # Ethiopic: no face installed
])
def test_text_no_typeface_can_draw_is_refused_naming_file_field_and_characters(
        tmp_path: Path, field: str, value: object, chars: str) -> None:
    folder = tmp_path / "forms"
    path = urdu_form(folder, **{field: value})
    pdf = tmp_path / "out.pdf"
    result = cli("generate", "urdu-survey", "--forms-dir", str(folder), "-o", str(pdf), "--db",
                 str(tmp_path / "s.db"), check=False)
    assert result.returncode == 2 and not pdf.exists()
    assert str(path) in result.stderr and chars in result.stderr
    assert ("items (S01).text" if field == "items" else "'title'") in result.stderr
    assert cli("layout", "urdu-survey", "--forms-dir", str(folder), check=False).returncode == 2


# --- Easy Read ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", sorted({f.id for f in FormRegistry.from_dirs().all()}))
def test_easy_read_layout_for_every_bundled_form(form_id: str) -> None:
    import json

    data = json.loads(cli("layout", form_id, "--style", "easy-read", "--json").stdout)
    assert data["style"] == "easy-read"
    boxes = [b for p in data["pages"] for b in p["boxes"]]
    assert boxes and all(min(b["w"], b["h"]) >= 11 * C.PT_PER_MM for b in boxes)
    faces = [p for page in data["pages"] for p in page["pictures"] if p["name"].startswith("face:")]
    assert len(faces) == len(boxes)  # a face above every box
    form = FormRegistry.from_dirs().get(form_id)
    pictured = {i.id for i in form.items if i.picture}
    named = [p for page in data["pages"] for p in page["pictures"] if not p["name"].startswith("face:")]
    assert len(named) == len(pictured)


def test_easy_read_prints_and_reads_back(tmp_path: Path) -> None:
    pdf, db = tmp_path / "easy.pdf", tmp_path / "easy.db"
    cli("generate", "care-planning-person", "--style", "easy-read", "-o", str(pdf), "--db", str(db))
    form = FormRegistry.from_dirs().get("care-planning-person")
    answers = {"S01": 1, "S04": 3, "S07": 5, "S10": 2}
    summary = scan([save_pdf(return_copy(pdf, form, "easy-read", answers), tmp_path / "scan.pdf")],
                   ScanOptions(db=db, jobs=1, quiet=True))
    assert summary.exit_code == 0
    got = read_answers(db, "care-planning-person")
    assert {item: value for (_, item), value in got.items() if item in answers} == answers
    assert all(value is None for (_, item), value in got.items() if item not in answers)


# --- staying within the page -----------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_long_words_and_web_addresses_wrap_inside_the_page(style: str) -> None:
    registry = FormRegistry.from_dirs()
    from dataclasses import replace

    base = registry.get("care-planning-person")
    url = "https://www.example-council.gov.uk/social-care/care-and-support-planning/feedback?survey=2026"
    long_word = "Gwasanaethau" * 8
    items = list(base.sections[0].items)
    items[0] = replace(items[0], text=f"Read more at {url} before you answer.")
    items[1] = replace(items[1], text=f"A very long word {long_word} here.")
    form = replace(base, sections=(replace(base.sections[0], items=tuple(items)),), contact=url)
    layout = compute_layout(form, "a4", style)
    page_w = layout.page_size[0]
    for page in layout.pages:
        for block in page.text_blocks:
            if block.kind == "identity":
                continue
            assert text_fits(block), (block.kind, block.lines)
            assert block.x >= 0 and block.right <= page_w - C.mm(C.PAGE_MARGIN_MM) + 0.5
    printed = "".join(line for p in layout.pages for b in p.text_blocks for line in b.lines)
    assert url in printed  # broken across lines, nothing lost
    assert max(text_width_pt(w, 14) for w in url.split("/")) < page_w


def test_right_to_left_lines_keep_numbers_and_names_in_their_own_order() -> None:
    from pipeline.form.fonts import placed_words

    def order(line: str) -> list[str]:
        return [unicodedata.normalize("NFKC", str(w))[::-1] if any("\u0600" <= ch <= "\u06ff" for ch in
                unicodedata.normalize("NFKC", str(w))) else str(w) for _, w, _ in placed_words(line, 14, False)]

    # visual order, left to right: the first word rightmost; "NHS 111" stays one left-to-right run
    assert order("صفحہ 1 از 3 - جاری") == ["جاری", "-", "3", "از", "1", "صفحہ"]
    assert order("فون NHS 111 کریں") == ["کریں", "NHS", "111", "فون"]


def test_a_joined_script_without_the_shaper_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.form import fonts

    monkeypatch.setattr(fonts, "shaping_available", lambda: False)
    problem = fonts.unprintable(URDU["closing"])  # type: ignore[arg-type]
    assert problem is not None and "uharfbuzz" in problem[1]
    assert fonts.unprintable("Sut oedd eich cynllunio gofal? ŵŷ") is None  # Welsh needs no shaping
