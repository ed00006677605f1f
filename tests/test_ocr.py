"""Handwriting: the engine registry, what the engines are given, what they make of it, and what review shows.

The figures that matter (CER per engine and hand) come from `make bench`; these tests pin the behaviour
those figures rest on: rules removed without cutting the letters that cross them, fields read in strips cut
between written lines, each installed engine reading a whole multi-line field, nothing fetched from the
network, and writing the engine could not read shown to a person as such, never as a blank.
About the text reader: SQLite only (a comment's storage runs on both backends in test_scan).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_scan import BLACK, comments, issue_copy, opts, save_pdf, scanned

from bench.score import edit_distance, normalise
from pipeline import cli
from pipeline import constants as C
from pipeline.errors import MissingDependencyError, UsageError
from pipeline.form.layout import Rect, TextField
from pipeline.ledger import open_ledger
from pipeline.ledger.doubt import doubt_reason, doubtful_lines
from pipeline.ledger.queries import comment_questions
from pipeline.ledger.records import line_confidences_text, parse_line_confidences
from pipeline.ledger.store import Ledger
from pipeline.options import OCR_ENGINES, ReviewOptions, ScanOptions
from pipeline.review.app import create_app
from pipeline.scan import handwriting, ocr
from pipeline.scan.comments import overflow, remove_lines
from pipeline.scan.coordinator import scan
from pipeline.simulate import returns as sim
from pipeline.tools import faster_paddle, rapidocr
from pipeline.tools.reading import OcrBox, OcrLine, group_lines

PX_PER_MM = 200 / 25.4
ROOT = Path(__file__).resolve().parent.parent


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


# --- the registry ------------------------------------------------------------------------------------------

def test_every_engine_is_registered_once_with_a_name_a_summary_and_a_check() -> None:
    assert ocr.DEFAULT_ENGINE == "faster-paddle"
    assert set(ocr.ENGINES) == {"faster-paddle", "rapidocr", "tesseract", "none"}
    for name, engine in ocr.ENGINES.items():
        assert engine.name == name and engine.summary
        assert callable(engine.check)
    assert "none" not in ocr.TRANSCRIBING_ENGINES and len(ocr.TRANSCRIBING_ENGINES) == len(ocr.ENGINES) - 1


def test_options_and_cli_take_their_engines_from_the_registry() -> None:
    assert OCR_ENGINES == ocr.ENGINE_NAMES
    assert ScanOptions().ocr == ocr.DEFAULT_ENGINE and ReviewOptions().ocr == ocr.DEFAULT_ENGINE
    parser = cli.build_parser()
    for command in ("scan", "review"):
        sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
        action = next(a for a in sub._actions if "--ocr" in a.option_strings)
        assert tuple(action.choices) == ocr.ENGINE_NAMES and action.default == ocr.DEFAULT_ENGINE
    with pytest.raises(UsageError, match="unknown OCR engine 'paddle'") as err:
        ScanOptions(ocr="paddle")
    assert "faster-paddle" in (err.value.advice or "")
    with pytest.raises(UsageError):
        ocr.check_engine("easyocr")


@pytest.mark.parametrize("wrapper", [faster_paddle, rapidocr])
def test_an_engine_that_is_not_installed_says_what_to_do(wrapper: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError) as err:
        wrapper.check()  # type: ignore[attr-defined]
    assert "make setup" in (err.value.advice or "")


def test_an_engine_of_another_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The models ride inside the pinned wheel: another version means other models than the ones measured."""
    if importlib.util.find_spec("faster_paddle") is None:
        pytest.skip("faster-paddle is not installed")
    monkeypatch.setattr(faster_paddle, "installed_version", lambda distribution, module: "9.9.9")
    with pytest.raises(MissingDependencyError, match=r"9\.9\.9"):
        faster_paddle.check()


def test_blank_fields_never_start_an_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[str] = []
    monkeypatch.setattr("pipeline.scan.comments.get_engine", lambda name: started.append(name))
    db = tmp_path / "survey.db"
    _, pages, _ = issue_copy(db, "care-planning-person", "standard")
    scan([save_pdf([scanned(p, n).image for n, p in enumerate(pages)], 300, tmp_path / "b.pdf")], opts(db))
    assert started == []


# --- tidying what an engine read ---------------------------------------------------------------------------

def test_lines_are_grouped_even_when_pieces_of_one_line_sit_at_different_heights() -> None:
    boxes = [OcrBox("kind", 90, 300, 8, 48), OcrBox("Staff were", 95, 10, 12, 52), OcrBox("later", 80, 10, 62, 102)]
    assert [line.text for line in group_lines(boxes)] == ["Staff were kind", "later"]


def test_foreign_script_and_letterless_lines_are_dropped_and_confidence_kept_per_line() -> None:
    read = ocr.tidy([OcrLine("The carer is kind」", 90.0), OcrLine("ハ」 .", 40.0), OcrLine("café at 10", 60.0)])
    assert read.text == "The carer is kind\ncafé at 10"
    assert [line.confidence for line in read.lines] == [90.0, 60.0]
    # weighted by length: (17 x 90 + 10 x 60) / 27, not the plain mean of 75
    assert read.confidence == pytest.approx((17 * 90.0 + 10 * 60.0) / 27, abs=0.01)


@pytest.mark.parametrize("junk", ["", "ハ」", ". ,", "7」"])
def test_junk_becomes_an_empty_transcription(junk: str) -> None:
    assert ocr.tidy([OcrLine(junk, 50.0)]).text == ""


def test_tesseract_lone_bar_is_read_as_capital_i(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tesseract reads a handwritten 'I' as '|' or '\\'; only a bar standing alone is changed."""
    from pipeline.tools import tesseract
    from pipeline.tools.reading import OcrText

    monkeypatch.setattr(tesseract, "check_tesseract", lambda: (5, 3))
    line = OcrLine("when | rang \\ felt a|b x\\y", 80.0)
    monkeypatch.setattr(tesseract, "read_text", lambda image: OcrText(line.text, 80.0, (line,)))
    read = ocr.TesseractEngine().read(np.zeros((10, 10), np.uint8))
    assert read.text == "when I rang I felt a|b x\\y" and read.confidence == 80.0


# --- strips cut between written lines ----------------------------------------------------------------------

def _lined_field(lines: int, spacing: int = 80) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """A field at 200 dpi with writing-like blobs sitting on `lines` of its printed rules."""
    h, w = spacing * (lines + 2), 1200
    mask = np.zeros((h, w), np.uint8)
    rules = [float(spacing * (i + 1)) for i in range(lines + 1)]
    for i in range(lines):
        base = int(rules[i])
        for x in range(40, 1000, 90):
            cv2.rectangle(mask, (x, base - 25), (x + 60, base), 255, -1)  # letters on the rule
        cv2.line(mask, (200, base - 40), (200, base + 18), 255, 4)  # a tail below the rule
    cleaned = np.where(mask > 0, 40, 255).astype(np.uint8)
    return cleaned, mask, rules


def test_a_tall_field_is_read_in_strips_of_a_few_lines_cut_between_them() -> None:
    cleaned, mask, rules = _lined_field(5)
    parts = handwriting.strips(cleaned, mask, rules, 200, max_lines=3)
    assert len(parts) == 2
    inked = [int((p < 128).sum()) for p in parts]
    assert sum(inked) == int((mask > 0).sum())  # every stroke is in exactly one strip: nothing cut off or doubled
    assert inked[0] > inked[1]  # three lines, then two


def test_writing_that_ignores_the_rules_is_not_cut_through() -> None:
    """Big writing, each word two rule spacings tall, runs across the rules: no row near a rule is empty."""
    _, mask, rules = _lined_field(4)
    for x in range(40, 1000, 90):
        cv2.ellipse(mask, (x + 30, 200), (30, 150), 0, 0, 360, 255, 6)  # tall loops across three rules
    cleaned = np.where(mask > 0, 40, 255).astype(np.uint8)
    assert not any(100 < gap < 300 for gap in handwriting.line_gaps(mask, rules))
    inked = [int((p < 128).sum()) for p in handwriting.strips(cleaned, mask, rules, 200, 1)]
    assert sum(inked) == int((mask > 0).sum())


def test_a_strip_never_spans_an_empty_stretch_of_the_field() -> None:
    """One line at the top and a speck at the foot of a tall field: two small strips, not the whole field (the
    text finder's working memory grows with the strip, and ONNX Runtime keeps the most it ever needed)."""
    cleaned, mask, rules = _lined_field(1, spacing=80)
    mask = np.pad(mask, ((0, 800), (0, 0)))
    cv2.circle(mask, (900, mask.shape[0] - 40), 4, 255, -1)
    cleaned = np.where(mask > 0, 40, 255).astype(np.uint8)
    rules = [float(80 * (i + 1)) for i in range(mask.shape[0] // 80 - 1)]
    parts = handwriting.strips(cleaned, mask, rules, 200, max_lines=3)
    assert len(parts) == 2 and max(p.shape[0] for p in parts) < 200
    assert sum(int((p < 128).sum()) for p in parts) == int((mask > 0).sum())


def test_lines_whose_tails_touch_can_be_cut_apart_when_asked() -> None:
    """The second reading of a field read as nothing cuts at every rule, through a tail that crosses it."""
    cleaned, mask, rules = _lined_field(3)
    for rule in rules[:2]:
        for x in range(100, 1000, 150):
            cv2.line(mask, (x, int(rule) - 20), (x, int(rule) + 70), 255, 6)  # long tails into the next line
    cleaned = np.where(mask > 0, 40, 255).astype(np.uint8)
    assert not any(60 < gap < 210 for gap in handwriting.line_gaps(mask, rules))
    parts = handwriting.strips(cleaned, mask, rules, 200, max_lines=1, max_ink=1.0)
    assert len(parts) >= 3 and max(p.shape[0] for p in parts) < 160


class _ReadsNothing(ocr.NoOcr):
    """An engine whose detector finds no text in writing (as PP-OCR did on two lines whose tails touch)."""

    name = "reads-nothing"


def test_a_written_field_the_engine_reads_as_nothing_is_read_by_tesseract_before_giving_up(
        tmp_path: Path) -> None:
    if not _ready("tesseract"):
        pytest.skip("tesseract is not installed")
    font = next(f for f in sim.available_tiers()["easy"])
    from PIL import Image, ImageDraw, ImageFont
    image = Image.new("L", (1200, 160), 255)
    ImageDraw.Draw(image).text((30, 40), "The staff were kind", font=ImageFont.truetype(str(font), 64), fill=0)
    cleaned = np.asarray(image)
    mask = np.where(cleaned < 128, 255, 0).astype(np.uint8)
    text, reader = handwriting.transcribe(_ReadsNothing(), cleaned, mask, [120.0], 200)
    assert reader == "tesseract (after reads-nothing read nothing)"
    assert edit_distance(normalise("The staff were kind"), normalise(text.text)) <= 5


def test_tesseract_reads_large_writing_it_found_nothing_in_again_at_half_size(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen on the bench: a flowing blue-biro line 100 px tall came back from tesseract as nothing at all, and
    read well at half the size.  Here the first (full-size) reading is made to find nothing."""
    if not _ready("tesseract"):
        pytest.skip("tesseract is not installed")
    from PIL import Image, ImageDraw, ImageFont

    from pipeline.tools import tesseract
    font = next(f for f in sim.available_tiers()["easy"])
    image = Image.new("L", (1500, 170), 255)
    ImageDraw.Draw(image).text((30, 20), "The staff were kind", font=ImageFont.truetype(str(font), 110), fill=0)
    real, heights = tesseract.read_text, []

    def first_finds_nothing(img: np.ndarray, **kw: object) -> object:
        heights.append(img.shape[0])
        return real(img) if len(heights) > 1 else tesseract.OcrText("", 0.0, ())

    monkeypatch.setattr(tesseract, "read_text", first_finds_nothing)
    read = ocr.TesseractEngine().read(np.asarray(image))
    assert heights == [170, 85]
    assert edit_distance(normalise("The staff were kind"), normalise(read.text)) <= 4


# --- the engines on real writing ---------------------------------------------------------------------------

def _ready(name: str) -> bool:
    try:
        ocr.check_engine(name)
    except MissingDependencyError:
        return False
    return True


TEXT = ("The support workers are lovely but often late. I was allowed to try the day centre first "
        "before deciding. Please send letters in large print.")


def _middling_hand_copy(db: Path) -> tuple[str, list[np.ndarray], list[tuple[int, TextField]]]:
    """A copy printed into `db` whose comment C1 carries TEXT in a middling hand over three lines: its serial,
    its page images, and (page number, field) of the writing."""
    serial, pages, layout = issue_copy(db, "care-planning-person", "standard")
    font = next(f for f in sim.available_tiers()["middle"] if f.name == "Breip.ttf")
    hand = sim.Hand(str(font), "middle", 0.26, 0.1, BLACK, 0)
    written = [(n, field) for n, page in enumerate(layout.pages)  # type: ignore[attr-defined]
               for field in page.text_fields if field.item == "C1"]
    for n, field in written:
        assert sim.write_comment(pages[n], field, TEXT, hand, np.random.default_rng(3)) == TEXT
    return serial, pages, written


def _written_copy(tmp_path: Path) -> tuple[Path, str, Path]:
    """A middling hand written across three lines, sitting on the rules, scanned crooked as a JPEG-in-PDF at
    200 dpi (a hand the PP-OCRv5 set-up read at about one character in four wrong)."""
    db = tmp_path / "survey.db"
    serial, pages, _ = _middling_hand_copy(db)
    images = [scanned(p, n, max_rotation_deg=2.0, rotation_sigma_deg=2.0, dpis=(200,), dpi_weights=(1.0,),
                      jpeg_quality=(75, 75)).image for n, p in enumerate(pages)]
    return db, serial, save_pdf(images, 200, tmp_path / "batch.pdf")


@pytest.mark.parametrize("engine", ["faster-paddle", "rapidocr"])
@pytest.mark.slow
def test_engine_reads_a_middling_hand_over_several_lines(engine: str, tmp_path: Path) -> None:
    if not _ready(engine):
        pytest.skip(f"{engine} is not installed (make setup installs it)")
    db, serial, pdf = _written_copy(tmp_path)
    scan([pdf], opts(db, ocr=engine))
    was_written, read = comments(db)[(serial, "C1")]
    assert was_written == 1
    expected = normalise(TEXT)
    cer = edit_distance(expected, normalise(read)) / len(expected)
    assert cer <= 0.08, f"CER {cer:.0%}: {read!r}"
    assert read.lower().index("support") < read.lower().index("large")  # lines come back in order


def _without_network() -> list[str] | None:
    """A command prefix that runs a program with networking cut off, or None where that is not possible."""
    if shutil.which("unshare") is None:
        return None
    for prefix in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return None


@pytest.mark.skipif(_without_network() is None, reason="cannot cut networking off here (unshare -n)")
@pytest.mark.parametrize("engine", ["faster-paddle", "rapidocr"])
@pytest.mark.slow
def test_engine_reads_with_networking_cut_off(engine: str, tmp_path: Path) -> None:
    """Models come from the wheel: a scan in a network namespace with no network reads the comment as well."""
    if not _ready(engine):
        pytest.skip(f"{engine} is not installed (make setup installs it)")
    db, serial, pdf = _written_copy(tmp_path)
    prefix = _without_network()
    assert prefix is not None
    done = subprocess.run([*prefix, sys.executable, "-m", "pipeline", "scan", str(pdf), "--db", str(db), "--jobs",
                           "1", "--ocr", engine, "-q"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    was_written, read = comments(db)[(serial, "C1")]
    expected = normalise(TEXT)
    assert was_written == 1 and edit_distance(expected, normalise(read)) / len(expected) <= 0.08, read


# --- what review shows ------------------------------------------------------------------------------------

def test_writing_that_could_not_be_read_is_shown_as_such_never_as_blank(tmp_path: Path) -> None:
    """A written field with no transcription (here: no engine at all) asks a person to type it."""
    db, serial, pdf = _written_copy(tmp_path)
    scan([pdf], opts(db, ocr="none"))
    assert comments(db)[(serial, "C1")] == (1, "")
    client = create_app(ReviewOptions(db=db, open_browser=False)).test_client()
    page = client.get("/comments", follow_redirects=True).get_data(as_text=True)
    assert "Could not read; please type it." in page and 'role="alert"' in page
    assert f"copy <strong>{serial}</strong>".lower() in page.lower()


def test_review_offers_the_transcription_to_correct(tmp_path: Path) -> None:
    if not _ready(ocr.DEFAULT_ENGINE):
        pytest.skip("the default engine is not installed (make setup installs it)")
    db, serial, pdf = _written_copy(tmp_path)
    scan([pdf], opts(db))
    _, read = comments(db)[(serial, "C1")]
    client = create_app(ReviewOptions(db=db, open_browser=False)).test_client()
    page = client.get("/comments", follow_redirects=True).get_data(as_text=True)
    first_line = read.splitlines()[0]
    assert f">{first_line}" in page and "Could not read" not in page


def test_a_page_assigned_in_review_is_read_with_the_engine_chosen_for_review(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_review import FORM, _csrf, build_ledger

    from pipeline.form.definition import FormRegistry
    from pipeline.ledger import queries as Q
    from pipeline.ledger.store import Ledger
    from pipeline.review import reassign

    used: list[str] = []
    monkeypatch.setattr(reassign, "read_assigned", lambda *a, ocr="?", **kw: used.append(ocr))
    built = build_ledger(tmp_path / "survey.db", FormRegistry.from_dirs())
    with Ledger(built.db, readonly=True) as led:
        stray = next(q for q in Q.page_questions(led) if q.status == "not_form")
        copy = next(c for c in Q.incomplete_copies(led) if c.form_id == FORM)
    client = create_app(ReviewOptions(db=built.db, open_browser=False, ocr="tesseract")).test_client()
    token = _csrf(client, f"/page/{stray.page_id}")
    client.post(f"/page/{stray.page_id}", data={"csrf_token": token, "action": "assign", "form": f"{FORM}@1",
                                                "serial": copy.serial, "page": "3"})
    assert used == ["tesseract"]


def test_a_field_that_is_only_possibly_written_asks_whether_anything_is_there(tmp_path: Path) -> None:
    """A small blot in a comment box is neither a comment nor nothing: review shows the scanner's doubt in
    plain words and asks the person to look, not "could not read" and never blank."""
    db = tmp_path / "survey.db"
    serial, pages, layout = issue_copy(db, "care-planning-person", "standard")
    for n, page in enumerate(layout.pages):  # type: ignore[attr-defined]
        for field in page.text_fields:
            if field.item == "C1":
                x, y, w, h = sim.rect_px(field)
                k = sim.PRINT_DPI / 25.4
                cv2.circle(pages[n], (int(x + w / 2), int(y + h / 2)), round(0.6 * k), 0, -1)
    images = [scanned(p, n, dpis=(200,), dpi_weights=(1.0,), jpeg_quality=(90, 90)).image
              for n, p in enumerate(pages)]
    scan([save_pdf(images, 200, tmp_path / "batch.pdf")], opts(db, ocr="none"))
    assert comments(db)[(serial, "C1")] == (1, "")
    client = create_app(ReviewOptions(db=db, open_browser=False)).test_client()
    page = client.get("/comments", follow_redirects=True).get_data(as_text=True)
    assert "Is anything written here?" in page and "please look at the picture" in page
    assert "Could not read; please type it." not in page


# --- a per-line confidence that sends what is likely misread to a person --------------------------------------

def _copy_with_lines(tmp_path: Path, blurred: tuple[int, ...]) -> tuple[Path, str, Path]:
    """The middling hand of `_written_copy` over three lines, the lines numbered in `blurred` (0 = first)
    smeared past reading (as a wet sleeve or a failing scanner lamp leaves writing), scanned at 200 dpi."""
    db = tmp_path / "survey.db"
    serial, pages, written = _middling_hand_copy(db)
    for n, field in written:
        x, _, w, _ = (round(v) for v in sim.rect_px(field))
        spacing = (field.line_ys[1] - field.line_ys[0]) * (sim.PRINT_DPI / 72.0)
        for line in blurred:
            y1 = round(field.line_ys[line] * (sim.PRINT_DPI / 72.0) + 0.3 * spacing)
            y0 = round(y1 - spacing)
            pages[n][y0:y1, x:x + w] = cv2.GaussianBlur(pages[n][y0:y1, x:x + w], (0, 0), 5.0)
    images = [scanned(p, n, dpis=(200,), dpi_weights=(1.0,), jpeg_quality=(90, 90)).image
              for n, p in enumerate(pages)]
    return db, serial, save_pdf(images, 200, tmp_path / "batch.pdf")


@pytest.mark.slow
def test_a_badly_misread_line_is_flagged_in_review_and_a_clean_one_is_not(tmp_path: Path) -> None:
    """The engine's confidence is kept per line: the smeared line is flagged as likely misread, by number, in
    plain words on the review page and the workbook's Review sheet; the clean lines are not."""
    if not _ready(ocr.DEFAULT_ENGINE):
        pytest.skip("the default engine is not installed (make setup installs it)")
    clean_db, clean_serial, clean_pdf = _copy_with_lines(tmp_path / "clean", ())
    scan([clean_pdf], opts(clean_db))
    smeared_db, serial, pdf = _copy_with_lines(tmp_path / "smeared", (1,))
    scan([pdf], opts(smeared_db))
    with open_ledger(clean_db, readonly=True) as ledger:
        clean = next(c for c in comment_questions(ledger) if c.serial == clean_serial and c.item == "C1")
    with open_ledger(smeared_db, readonly=True) as ledger:
        smeared = next(c for c in comment_questions(ledger) if c.serial == serial and c.item == "C1")
    assert len(clean.line_confidences) == len(clean.machine_text.splitlines()) >= 3
    assert clean.doubtful == () and clean.doubt == ""
    assert len(smeared.line_confidences) == len(smeared.machine_text.splitlines()) >= 2
    assert [line.number for line in smeared.doubtful] == [2], (smeared.machine_text, smeared.line_confidences)
    assert all(line.confidence < C.OCR_LINE_DOUBT_CONFIDENCE for line in smeared.doubtful)
    page = create_app(ReviewOptions(db=smeared_db, open_browser=False)).test_client().get(
        "/comments", follow_redirects=True).get_data(as_text=True)
    assert "Likely misread:" in page and "line 2" in page and "please read the picture and type" in page
    quiet = create_app(ReviewOptions(db=clean_db, open_browser=False)).test_client().get(
        "/comments", follow_redirects=True).get_data(as_text=True)
    assert "Likely misread" not in quiet


def test_the_doubt_threshold_is_the_read_models_and_needs_no_new_scan() -> None:
    """Lines are judged when read from the ledger: a new threshold changes the flag; lines and confidences that
    do not match (a ledger from before they were kept) flag nothing rather than the wrong line."""
    lines = doubtful_lines("good line\nbad lime", (98.0, 71.5))
    assert [(line.number, line.text) for line in lines] == [(2, "bad lime")]
    assert doubtful_lines("good line\nbad lime", (98.0, 71.5), threshold=70.0) == ()
    assert doubtful_lines("good line\nbad lime", (71.5,)) == ()
    assert "line 2" in doubt_reason(lines, 2) and "72 of 100" in doubt_reason(lines, 2)
    assert parse_line_confidences(line_confidences_text((98.04, 71.5))) == (98.0, 71.5)
    assert parse_line_confidences("") == ()


# --- writing that runs on past the frame --------------------------------------------------------------------

def _past_the_frame(tmp_path: Path) -> tuple[Path, str, Path, str]:
    """A hand whose lines run on past the field's right side, as people write to the paper's edge."""
    db = tmp_path / "survey.db"
    serial, pages, layout = issue_copy(db, "care-planning-person", "standard")
    font = next(f for f in sim.available_tiers()["middle"] if f.name == "Breip.ttf")
    hand = sim.Hand(str(font), "middle", 0.26, 0.1, BLACK, 0, past_frame=True)
    written = ""
    for n, page in enumerate(layout.pages):  # type: ignore[attr-defined]
        for field in page.text_fields:
            if field.item == "C1":
                written = sim.write_comment(pages[n], field, TEXT, hand, np.random.default_rng(5))
    images = [scanned(p, n, dpis=(200,), dpi_weights=(1.0,), jpeg_quality=(90, 90)).image
              for n, p in enumerate(pages)]
    return db, serial, save_pdf(images, 200, tmp_path / "batch.pdf"), written  # type: ignore[return-value]


def test_writing_past_the_frame_is_read_and_kept_in_the_picture() -> None:
    """Only ink at the field's right side widens it; never over the page's marks, nor on a form PaperVoice did
    not print (what lies beside its fields is not known)."""
    field = TextField(100.0, 200.0, 300.0, 80.0, item="C1", line_ys=(240.0, 270.0))
    page = (595.0, 842.0)
    reaching, inside = np.zeros((50, 300), np.uint8), np.zeros((50, 300), np.uint8)
    reaching[20:30, 250:300] = 255
    inside[20:30, 100:200] = 255
    wider = overflow(field, reaching, page, ())
    assert wider is not None and wider.right == pytest.approx(field.right + C.mm(C.COMMENT_OVERFLOW_MM))
    assert overflow(field, inside, page, ()) is None
    assert overflow(field, reaching, page, None) is None
    assert overflow(field, reaching, page, (Rect(field.right + 5, 210.0, 20.0, 20.0),)) is None


def _picture(ledger: Ledger, image_id: int | None) -> np.ndarray:
    stored = ledger.image(image_id) if image_id is not None else None
    assert stored is not None
    return cv2.imdecode(np.frombuffer(stored[1], np.uint8), cv2.IMREAD_GRAYSCALE)


@pytest.mark.slow
def test_words_written_past_the_frame_are_transcribed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _ready(ocr.DEFAULT_ENGINE):
        pytest.skip("the default engine is not installed (make setup installs it)")
    db, serial, pdf, written = _past_the_frame(tmp_path / "wide")
    scan([pdf], opts(db))
    monkeypatch.setattr(C, "COMMENT_OVERFLOW_MM", 0.0)  # the field's own width only, as before
    narrow_db, narrow_serial, narrow_pdf, _ = _past_the_frame(tmp_path / "narrow")
    scan([narrow_pdf], opts(narrow_db))
    expected = normalise(written)
    cer = edit_distance(expected, normalise(comments(db)[(serial, "C1")][1])) / len(expected)
    narrow_cer = edit_distance(expected, normalise(comments(narrow_db)[(narrow_serial, "C1")][1])) / len(expected)
    assert cer < narrow_cer, (cer, narrow_cer)
    with open_ledger(db, readonly=True) as ledger, open_ledger(narrow_db, readonly=True) as narrow:
        crop_id = next(c.crop_id for c in comment_questions(ledger) if c.item == "C1")
        narrow_id = next(c.crop_id for c in comment_questions(narrow) if c.item == "C1")
        crop, narrow_crop = (_picture(led, i) for led, i in ((ledger, crop_id), (narrow, narrow_id)))
    assert crop.shape[1] > narrow_crop.shape[1]  # the picture kept shows the words past the frame too
