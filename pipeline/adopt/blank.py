"""`papervoice adopt`: measure a blank copy of a paper form and write it as an adopted form.

Recipe: open the blank (PDF, PNG, TIFF; any number of pages) with the scanner's own loader; on each page find
the answer boxes, text areas, corner marks and words (`detect`); group the boxes into questions (`group`);
write `forms/ID.yaml` and one numbered preview per page (`write`); say what was found and what a person
should check.  A blank that cannot work (no boxes at all, too coarse, a page with nothing to align by) is
refused with advice rather than adopted badly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline import constants as C
from pipeline.adopt.codes import read_codes
from pipeline.adopt.detect import Found, find_all, find_strips
from pipeline.adopt.group import Proposed, group_page
from pipeline.adopt.orientation import turned_by
from pipeline.adopt.wording import Word, page_words
from pipeline.adopt.write import MAX_TEXT_ANCHORS, form_document, preview, write_form
from pipeline.atomic import atomic_write
from pipeline.errors import UsageError
from pipeline.form.adopted import IdStrip
from pipeline.form.definition import FORM_ID_RE, load_form_file
from pipeline.scan.loading import decode_page, open_pages
from pipeline.text import plural


@dataclass
class AdoptReport:
    form_path: Path
    previews: list[Path]
    pages: int
    boxes: int
    questions: int
    fields: int
    lines: list[str] = field(default_factory=list)  # what was found, page by page
    checks: list[str] = field(default_factory=list)  # what a person should look at
    warnings: list[str] = field(default_factory=list)  # what looks wrong with the blank itself (also in checks)


def _spread(words: list[Found], limit: int) -> list[Found]:
    """At most `limit` word anchors, taken evenly through the page in reading order."""
    ordered = sorted(words, key=lambda f: (round(f.cy / 10), f.cx))
    if len(ordered) <= limit:
        return ordered
    picks = np.linspace(0, len(ordered) - 1, limit).round().astype(int)
    return [ordered[i] for i in sorted(set(picks.tolist()))]


def _pages(blank: Path) -> list[tuple[np.ndarray, float]]:
    count, jobs = open_pages(blank)
    if count > C.ADOPT_MAX_PAGES:
        raise UsageError(f"{blank}: {count} pages is more than a blank form has",
                         "give the blank copy of the form alone (one copy, every page once)")
    pages = []
    for job in jobs:
        image, dpi = decode_page(job)
        if dpi < C.ADOPT_MIN_BLANK_DPI:
            raise UsageError(f"{blank}: page {job.source.index + 1} is {dpi:.0f} dpi, too coarse to measure boxes",
                             "scan the blank again at 300 dpi (or give the printed PDF)")
        pages.append((image, dpi))
    return pages


def _read_wording(doc: dict[str, object], proposed: list[Proposed], read: dict[int, list[Word]]) -> None:
    """Each question's printed wording and its boxes' labels, read from the blank (tesseract), into the file:
    the line that owns a question's boxes when grouping found one, else what lies beside them."""
    from pipeline.adopt.wording import question_and_labels

    questions = doc["questions"]
    assert isinstance(questions, list)
    for entry, p in zip(questions, proposed, strict=True):
        if not read[p.page]:
            continue
        text, labels = question_and_labels(read[p.page], p.boxes)
        if p.text or text:
            entry["text"] = p.text or text
        for box_entry, label in zip(entry["boxes"], labels, strict=True):
            if label and not p.code:  # a code grid's boxes are labelled with their digits already
                box_entry["label"] = label


def _record_printed_ink(doc: dict[str, object], pages: list[tuple[np.ndarray, float]]) -> None:
    """Each box's own printed ink (a letter or digit inside it), measured on the blank, into the form file."""
    from pipeline.adopt.read import printed_ink
    from pipeline.form.adopted import AdoptedBox

    questions = doc["questions"]
    assert isinstance(questions, list)
    for number, (image, dpi) in enumerate(pages, start=1):
        entries = [b for q in questions if q["page"] == number for b in q["boxes"]]
        boxes = [AdoptedBox(1, b["x"], b["y"], b["w"], b["h"], b.get("shape", "square"), line=b["line"])
                 for b in entries]
        for entry, (ink, faint, glyph) in zip(entries, printed_ink(image, dpi, boxes), strict=True):
            if faint >= C.ADOPT_PRINTED_MIN:
                entry["printed"] = ink
                entry["printed_faint"] = faint
                entry["glyph"] = glyph


def _refuse_hiding(form_id: str, forms_dir: Path) -> None:
    """An adopted form never hides a form PaperVoice prints (its returns would be read by the wrong geometry),
    nor is it written among the bundled forms (`--forms-dir` pointing there)."""
    from pipeline.form.definition import BUNDLED_FORMS_DIR

    bundled = BUNDLED_FORMS_DIR.resolve()
    if forms_dir.exists() and forms_dir.resolve() == bundled:
        raise UsageError(f"{forms_dir} is the folder of the forms PaperVoice itself prints",
                         "keep adopted forms in a folder of their own, e.g. --forms-dir my-forms")
    if (bundled / f"{form_id}.yaml").exists() or any(bundled.glob(f"{form_id}@*.yaml")):
        raise UsageError(f"'{form_id}' is the id of a form PaperVoice prints itself: an adopted form under it "
                         "would take over that form's returns",
                         f"choose another --id, e.g. --id {form_id}-paper"[:200])


def adopt_blank(blank: Path, form_id: str, forms_dir: Path, force: bool = False) -> AdoptReport:
    if not FORM_ID_RE.match(form_id):
        raise UsageError(f"'{form_id}' is not a valid form id", "use 2-48 lower-case letters, digits and hyphens, "
                         "e.g. --id member-survey")
    if forms_dir.exists() and not forms_dir.is_dir():
        raise UsageError(f"{forms_dir} is a file, not a folder", "give --forms-dir a folder for the form files")
    _refuse_hiding(form_id, forms_dir)
    target = forms_dir / f"{form_id}.yaml"
    if target.exists() and not force:
        raise UsageError(f"{target} already exists (it may hold your edits)",
                         "choose another --id, or add --force to replace it")
    pages = _pages(blank)
    page_size = (pages[0][0].shape[1] / pages[0][1] * C.PT_PER_INCH, pages[0][0].shape[0] / pages[0][1] * C.PT_PER_INCH)
    proposed: list[Proposed] = []
    fields: list[tuple[int, Found]] = []
    anchors: dict[int, list[Found]] = {}
    strips: dict[int, list[IdStrip]] = {}
    lines: list[str] = []
    checks: list[str] = []
    warnings: list[str] = []
    read: dict[int, list[Word]] = {}
    for number, (image, dpi) in enumerate(pages, start=1):
        things, words = find_all(image, dpi)
        read[number] = page_words(image, dpi)
        boxes = [t for t in things if t.kind == "box"]
        page_fields = [t for t in things if t.kind in ("field", "comb")]
        marks = [t for t in things if t.kind == "mark"]
        groups = group_page(number, boxes, read[number])
        proposed.extend(groups)
        fields.extend((number, f) for f in sorted(page_fields, key=lambda f: (f.y, f.x)))
        anchors[number] = marks + boxes + page_fields + _spread(words, MAX_TEXT_ANCHORS)
        strips[number] = find_strips(image, dpi)
        round_n = sum(1 for b in boxes if b.shape == "round")
        lines.append(f"page {number}: {plural(len(boxes), 'answer box', 'answer boxes')} ({round_n} round) in "
                     f"{plural(len(groups), 'question')}, {plural(len(page_fields), 'text area')}, "
                     f"{plural(len(marks), 'corner mark')}, {plural(len(words), 'printed word')}")
        if len(anchors[number]) < C.ADOPT_MIN_ANCHORS:
            raise UsageError(f"{blank}: page {number} has almost nothing printed on it to align a return by",
                             "give a blank with its printed text (not a page of bare boxes), scanned upright")
        small = [b for b in boxes if min(b.w, b.h) / C.PT_PER_MM < C.ADOPT_SMALL_BOX_MM]
        if small:
            checks.append(f"page {number}: {len(small)} boxes are under {C.ADOPT_SMALL_BOX_MM} mm: marks in them are "
                          "hard to read; check the scan of a few returns closely")
        if not boxes and not page_fields:
            checks.append(f"page {number}: nothing to read was found on it (no boxes, no text areas)")
        turned = turned_by(image, dpi, words)
        if turned:
            way = "upside down" if turned == 180 else "sideways"
            warnings.append(f"page {number} of the blank looks {way} (its printed text is turned {turned} degrees): "
                            "returns scanned upright will not match it; turn the blank upright (or scan it again "
                            "upright) and adopt it again with --force")
    if not proposed:
        raise UsageError(f"{blank}: no answer boxes found on any page",
                         "check it is the right file and the boxes are printed as outlines (square or round, "
                         "3 mm or bigger); a photo or a scan under 200 dpi will not do: scan the blank at 300 dpi")
    found = sum(len(p.boxes) for p in proposed)
    if found < C.ADOPT_MIN_BOXES:
        raise UsageError(f"{blank}: only {plural(found, 'answer box', 'answer boxes')} found on the whole blank, "
                         "too few to be the form's questions", "check it is the blank form (not a letter or a "
                         "cover page), scanned at 300 dpi in greyscale; boxes must be printed outlines 3 mm or "
                         "bigger")
    doc, qids, fids = form_document(form_id, blank.name, page_size, proposed, fields, anchors, strips)
    _record_printed_ink(doc, pages)
    _read_wording(doc, proposed, read)
    codes = sorted({c for image, dpi in pages for c in read_codes(image, dpi)})
    if codes:  # the blank's own codes (form id, page numbers) tell no copy from another
        doc["adopted"]["blank_codes"] = codes
    previews = [forms_dir / f"{form_id}.page-{n}.png" for n in range(1, len(pages) + 1)]
    forms_dir.mkdir(parents=True, exist_ok=True)
    for n, ((image, dpi), path) in enumerate(zip(pages, previews, strict=True), start=1):
        qs = [(qid, p) for qid, p in zip(qids, proposed, strict=True) if p.page == n]
        fs = [(fid, f) for fid, (page, f) in zip(fids, fields, strict=True) if page == n]
        atomic_write(path, preview(image, dpi, n, qs, fs))
    write_form(target, doc, previews)
    load_form_file(target)  # what was written must load: a bug here is caught now, not at scan time
    singles = sum(1 for p in proposed if p.kind == "any" and len(p.boxes) == 1)
    unsure = [(qid, p.doubt) for qid, p in zip(qids, proposed, strict=True) if p.doubt]
    checks[:0] = [
        f"open the previews ({', '.join(p.name for p in previews)}) and check every answer box has a number and "
        "nothing else does",
        "check the grouping: each question's boxes share a colour and are numbered 1, 2, 3 in the order of their "
        "answers; merge or split questions in the form file where they are wrong",
        "check each question's wording ('text', read from the print where tesseract could; a placeholder "
        "where not) and write the form's 'title'; set 'kind: any' where people may tick several boxes",
        "say what a box filled in solid means on this form ('filled_box': answer, cancel, or ask), and how each "
        "return's pages reach the scanner ('copies': in-order, one-file or each-page)",
    ]
    if singles:
        checks.append(f"{singles} boxes stand alone and were made yes/no questions of their own ('kind: any'): "
                      "join them to a question if they belong to one")
    if unsure:
        checks.append(f"grouping unsure for {plural(len(unsure), 'question')} (marked 'check:' in the form file): "
                      + "; ".join(f"{qid}: {doubt}" for qid, doubt in unsure[:5])
                      + (f"; and {len(unsure) - 5} more" if len(unsure) > 5 else ""))
    return AdoptReport(target, previews, len(pages), sum(len(p.boxes) for p in proposed), len(proposed),
                       len(fields), lines, warnings + checks, warnings)
