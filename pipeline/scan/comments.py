"""Reading the free-text fields: crop, clean, decide written or blank, transcribe.

The crop (a grey PNG) is always kept: it is the record, the text only a
transcription a person may correct.  The printed frame and writing lines are
known from the layout and removed before deciding whether anything was written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.errors import ExternalProgramError
from pipeline.form.layout import Rect, TextField
from pipeline.scan.handwriting import transcribe
from pipeline.scan.images import encode_png, whiten
from pipeline.scan.ocr import get_engine
from pipeline.scan.register import warp_to_layout
from pipeline.scan.results import CommentReading
from pipeline.scan.words import corrects
from pipeline.vocab import POSSIBLY_WRITTEN


def remove_lines(dark: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Drop long straight strokes from an ink mask: the printed writing lines, and the frame's sides where a
    slightly skewed fit brings them inside the field.  No handwriting runs straight for 20 mm.

    People write across the rules (descenders, and writing that sits low or slopes), so taking the rule out
    would cut every crossing letter in two, and a reader sees 'l' as 'i' and 'g' as 'o'.  Where ink continues
    on both sides of a removed rule, the stroke is rejoined across it.

    Each opening is made only on the rows (columns) that hold enough ink to contain a straight run that long,
    and the rejoining only in bands round the rules found: the same masks as over the whole field (a
    one-pixel-high opening treats every row alone; tests/test_fast_paths.py checks it), at a
    fraction of the cost, since a field is mostly paper."""
    span = max(3, int(C.COMMENT_RULE_MIN_LENGTH_MM * px_per_mm))
    lines = cv2.dilate(open_runs(dark, span, horizontal=True), cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    sides = cv2.dilate(open_runs(dark, span, horizontal=False), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    writing = cv2.subtract(cv2.subtract(dark, lines), sides)
    bridge = max(3, round(C.COMMENT_RULE_BRIDGE_MM * px_per_mm))
    return cv2.bitwise_or(writing, _rejoined(writing, lines, bridge))


def open_runs(mask: np.ndarray, span: int, horizontal: bool) -> np.ndarray:
    """`mask` opened by a straight line of `span` pixels along rows (`horizontal`) or columns: only the runs
    of ink at least that long are left, and those running off the mask's edge at least half that long
    (OpenCV's erosion does not erode from beyond the edge).  A line one pixel thick treats every row (column)
    by itself, so only the rows holding enough ink pixels for such a run are opened; the others are left
    empty, as the opening would leave them."""
    counts = np.count_nonzero(mask, axis=1 if horizontal else 0)
    out = np.zeros_like(mask)
    least = min(span - span // 2, span // 2 + 1, mask.shape[1 if horizontal else 0])  # at an edge, anchor mid
    chosen = np.flatnonzero(counts >= least)
    if not chosen.size:
        return out
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (span, 1) if horizontal else (1, span))
    if horizontal:
        out[chosen] = cv2.morphologyEx(np.ascontiguousarray(mask[chosen]), cv2.MORPH_OPEN, kernel)
    else:
        out[:, chosen] = cv2.morphologyEx(np.ascontiguousarray(mask[:, chosen]), cv2.MORPH_OPEN, kernel)
    return out


def _rejoined(writing: np.ndarray, lines: np.ndarray, bridge: int) -> np.ndarray:
    """Writing closed across a removed rule (a vertical closing `bridge` pixels tall), kept only on the rules:
    computed only in bands round the rows that hold a rule, each wide enough (a closing looks `bridge` rows
    either way, twice) that it sees all the rows the whole-field closing would."""
    out = np.zeros_like(writing)
    rows = np.flatnonzero(np.count_nonzero(lines, axis=1))
    if not rows.size:
        return out
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge))
    reach = 2 * bridge + 1
    height = writing.shape[0]
    # rows holding a rule, grouped into bands whose reaches overlap
    breaks = np.flatnonzero(np.diff(rows) > 2 * reach)
    for first, last in zip(rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, rows.size - 1]], strict=True):
        top, bottom = max(0, int(first) - reach), min(height, int(last) + reach + 1)
        joined = cv2.morphologyEx(writing[top:bottom], cv2.MORPH_CLOSE, kernel)
        out[top:bottom] = cv2.bitwise_and(joined, lines[top:bottom])
    return out


def field_background(crop: np.ndarray, paper: float, px_per_mm: float) -> np.ndarray:
    """The field's own background at every pixel, so ink is judged against what it is written on.

    A field shaded grey (a tinted box on someone else's form, a highlighter over the comment) is darker than
    the page's paper: judged against the paper it is all "ink", the line remover takes it out as one solid
    block, and black writing on it reads as blank.  A closing wider than any pen stroke gives the shading
    without the writing and follows the shading's edges; it is never taken above the paper, nor below
    COMMENT_DARKEST_TINT of it (a block darker than that is ink itself: writing scribbled out).  Returned as
    the closed grey (uint8); `background_level` turns a grey of it into the level it stands for."""
    side = max(3, round(C.COMMENT_BACKGROUND_MM * px_per_mm)) | 1
    return cv2.morphologyEx(crop, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (side, side)))


def background_level(closed: np.ndarray, paper: float) -> np.ndarray:
    """The background level (float32) that the closed grey `closed` stands for: clipped to the paper's range."""
    return np.clip(closed.astype(np.float32), paper * C.COMMENT_DARKEST_TINT, paper)


def ink_mask(crop: np.ndarray, closed: np.ndarray, paper: float) -> np.ndarray:
    """255 where the crop is ink: darker than INK_DARKNESS * 0.8 below its own background (`field_background`).

    The threshold depends only on the background's grey, one of 256 values, so it is worked out once per
    grey (in the same float32 arithmetic as over the whole field) as the number of greys below it, and the
    field is compared through a lookup table: the same mask as
    `crop < background_level(closed, paper) * (1 - INK_DARKNESS * 0.8)`, without two float images."""
    greys = np.arange(256, dtype=np.uint8)
    threshold = background_level(greys, paper) * (1 - C.INK_DARKNESS * 0.8)
    below = np.count_nonzero(greys[None, :] < threshold[:, None], axis=1)  # greys that count as ink, per level
    if below.max() > 255:  # a threshold above white (never with paper <= 255): compare as floats
        return (crop < threshold[closed]).astype(np.uint8) * 255
    return cv2.compare(crop, cv2.LUT(closed, below.astype(np.uint8)), cv2.CMP_LT)


def clean_field(image: np.ndarray, homography: np.ndarray, page_size: tuple[float, float], field: TextField,
                dpi: float, paper: float, frame_right: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The field's inside at `dpi`, lines removed: (grey image for OCR, writing mask, specks left out).
    `frame_right`: where the frame's right side runs through a field widened past it (`overflow`), in pt."""
    inset = C.mm(C.COMMENT_INSET_MM)
    region = Rect(field.x + inset, field.y + inset, field.w - 2 * inset, field.h - 2 * inset)
    crop = warp_to_layout(image, homography, page_size, dpi, region, border=int(paper))
    px_per_mm = dpi / 25.4
    ink = ink_mask(crop, field_background(crop, paper, px_per_mm), paper)
    if frame_right is not None:  # the printed side itself is not writing (a short field's side is under 20 mm)
        side = round((frame_right - region.x) * dpi / C.PT_PER_INCH)
        half = max(2, round(C.COMMENT_INSET_MM * 0.5 * px_per_mm))
        ink[:, max(0, side - half):side + half] = 0
    writing = remove_lines(ink, px_per_mm)
    # keep what can be writing: not specks (scanner noise), not flat slivers (what a black-and-white scan
    # leaves of a grey writing line, broken into dashes the line remover cannot see as one line).  Measured
    # within the box round what is left (most fields keep nothing or a few specks), placed back at the end
    x, y, w, h = cv2.boundingRect(writing)
    cleaned, mask, specks = np.full_like(crop, 255), np.zeros_like(writing), np.zeros_like(writing)
    if not w or not h:  # nothing left at all: no piece to measure
        return cleaned, mask, specks
    labels, stats = components(writing[y:y + h, x:x + w])
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    min_side = C.COMMENT_MIN_COMPONENT_MM * px_per_mm
    flat = (heights < C.COMMENT_SLIVER_MAX_HEIGHT_MM * px_per_mm) & (widths > 2 * heights)
    # what a black-and-white scan leaves of a grey writing line is a row of dashes and specks along it
    band = C.COMMENT_RULE_BAND_MM * px_per_mm
    tops = stats[:, cv2.CC_STAT_TOP] + y  # in the field, not the box
    bottoms = tops + heights
    on_rule = np.zeros(len(stats), bool)
    for line_y in field.line_ys:
        rule = (line_y - region.y) * dpi / C.PT_PER_INCH
        on_rule |= (tops >= rule - band) & (bottoms <= rule + band)
    flat |= on_rule & (heights < C.COMMENT_SLIVER_MAX_HEIGHT_MM * px_per_mm)
    keep = (np.maximum(widths, heights) >= min_side) & ~flat
    keep[0] = False
    inside = np.s_[y:y + h, x:x + w]
    if not keep.any():  # most fields are blank: nothing kept, so no pass over the labels for the mask
        specks[inside] = _specks(labels, stats, keep, flat, on_rule, px_per_mm, mask[inside])
        return cleaned, mask, specks
    mask[inside] = keep[labels].astype(np.uint8) * 255
    _keep_dots(mask[inside], labels, stats, keep, flat, px_per_mm)
    cleaned[inside] = np.where(mask[inside] > 0, crop[inside], 255).astype(np.uint8)
    specks[inside] = _specks(labels, stats, keep, flat, on_rule, px_per_mm, mask[inside])
    return cleaned, mask, specks


def components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 8-connected pieces of `mask`: labels and, per label, OpenCV's stats (left, top, width, height,
    area), as `cv2.connectedComponentsWithStats` gives them for every piece (label 1 on).

    OpenCV's stats visit every pixel of the picture, paper included (five times the labelling's own time on a
    field of paper with a few specks); here only the ink's pixels are visited.  Label 0's row (the paper) is
    left as the whole mask: nothing reads it."""
    count, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
    h, w = mask.shape
    stats = np.zeros((count, 5), np.int32)
    stats[0] = (0, 0, w, h, h * w - int(np.count_nonzero(mask)))
    if count > 1:
        flat = labels.ravel()
        where = np.flatnonzero(flat)
        order = np.argsort(flat[where], kind="stable")
        where, which = where[order], flat[where][order]
        ys, xs = np.divmod(where, w)
        starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])  # labels 1 .. count-1, each present
        left, top = np.minimum.reduceat(xs, starts), np.minimum.reduceat(ys, starts)
        stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP] = left, top
        stats[1:, cv2.CC_STAT_WIDTH] = np.maximum.reduceat(xs, starts) - left + 1
        stats[1:, cv2.CC_STAT_HEIGHT] = np.maximum.reduceat(ys, starts) - top + 1
        stats[1:, cv2.CC_STAT_AREA] = np.diff(np.r_[starts, which.size])
    return labels, stats


def _specks(labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, flat: np.ndarray, on_rule: np.ndarray,
            px_per_mm: float, mask: np.ndarray) -> np.ndarray:
    """Ink in pieces too small to be strokes and not kept as writing: what a light pen leaves in a
    black-and-white scan (its amount can send a field to a person)."""
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    sizes = np.maximum(widths, heights)
    speck = ~keep & ~flat & ~on_rule & (sizes >= C.COMMENT_DOT_MIN_MM * px_per_mm)
    speck[0] = False
    return (speck[labels] & (mask == 0)).astype(np.uint8) * 255 if speck.any() else np.zeros_like(mask)


def _keep_dots(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, flat: np.ndarray,
               px_per_mm: float) -> None:
    """Put back the specks beside writing: the dot of an 'i' or 'j', a full stop.  Without them 'with'
    reads 'wth' and 'friends' 'frends'.  Specks far from any writing stay out: they are scanner noise."""
    sizes = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    small = ~keep & ~flat & (sizes >= C.COMMENT_DOT_MIN_MM * px_per_mm)
    small[0] = False
    if not keep.any() or not small.any():  # a blank field (most of them) costs nothing here
        return
    reach = max(1, round(C.COMMENT_DOT_REACH_MM * px_per_mm))
    near = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1)))
    for i in np.flatnonzero(small):
        x, y, w, h = stats[i, :4]
        speck = labels[y:y + h, x:x + w] == i
        if near[y:y + h, x:x + w][speck].any():
            mask[y:y + h, x:x + w][speck] = 255


@dataclass(frozen=True)
class WritingEvidence:
    """What the cleaned ink of a field shows, in absolute units: a word is the same size in any box."""

    ink_mm2: float  # stroke-like ink (specks and line remnants taken out)
    strokes: int  # stroke-like pieces
    extent_mm: float  # longer side of the box around them
    speck_mm2: float  # ink in specks too small to be strokes: what a black-and-white scan leaves of a light pen


def writing_evidence(mask: np.ndarray, specks: np.ndarray, px_per_mm: float) -> WritingEvidence:
    """Measure the writing left in `mask` (and the specks left out of it) in mm and mm²."""
    mm2_per_px = 1.0 / (px_per_mm * px_per_mm)
    ink = int(np.count_nonzero(mask))
    if ink:
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        strokes = count - 1
        x0, y0 = stats[1:, 0].min(), stats[1:, 1].min()
        x1 = (stats[1:, 0] + stats[1:, 2]).max()
        y1 = (stats[1:, 1] + stats[1:, 3]).max()
        extent = max(x1 - x0, y1 - y0) / px_per_mm
    else:
        strokes, extent = 0, 0.0
    return WritingEvidence(ink * mm2_per_px, strokes, float(extent), int(np.count_nonzero(specks)) * mm2_per_px)


WrittenState = Literal["blank", "possible", "written"]


def decide_written(e: WritingEvidence) -> tuple[WrittenState, str]:
    """Written, blank, or possibly written - on the writing itself, never on its share of the field, so
    "No." counts in a large-print box as in a small one.  Between clearly blank and clearly written a field
    goes to a person with its crop: a lost comment is the one mistake we must not make."""
    if e.ink_mm2 >= C.COMMENT_WRITTEN_MIN_INK_MM2 and e.extent_mm >= C.COMMENT_WRITTEN_MIN_EXTENT_MM:
        return "written", ""
    if e.ink_mm2 >= C.COMMENT_POSSIBLE_MIN_INK_MM2:
        return "possible", (f"{POSSIBLY_WRITTEN}: a little ink ({e.ink_mm2:.1f} mm², {e.strokes} strokes) - "
                            "please look at the picture")
    if e.speck_mm2 + e.ink_mm2 >= C.COMMENT_POSSIBLE_MIN_SPECK_MM2:
        return "possible", (f"{POSSIBLY_WRITTEN}: many faint specks ({e.speck_mm2:.1f} mm²), as a light pen leaves in "
                            "a black-and-white scan - please look at the picture")
    return "blank", ""


def overflow(field: TextField, mask: np.ndarray, page_size: tuple[float, float],
             keep_out: tuple[Rect, ...] | None) -> TextField | None:
    """The field widened past its right side when the writing reaches that side (people write on past the
    frame, and the words there would be missing from the transcription and from the picture kept), or None.
    Never over the page's own marks and codes (`keep_out`), nor near the paper's edge; None for `keep_out`
    None (a form PaperVoice did not print: what lies beside its fields is not known)."""
    edge = max(1, round(C.COMMENT_OVERFLOW_EDGE_MM * C.COMMENT_DPI / 25.4))
    if keep_out is None or not mask[:, -edge:].any():
        return None
    right = min(field.right + C.mm(C.COMMENT_OVERFLOW_MM), page_size[0] - C.mm(C.COMMENT_OVERFLOW_PAPER_MM))
    beside = Rect(field.right, field.y, right - field.right, field.h)
    if beside.w <= C.mm(1) or any(beside.overlaps(r) for r in keep_out):
        return None
    return replace(field, w=right - field.x)


def read_field(image: np.ndarray, homography: np.ndarray, page_size: tuple[float, float], field: TextField,
               paper: float, ocr: str, keep_out: tuple[Rect, ...] | None = None, language: str = "en"
               ) -> CommentReading:
    """Blank fields never start an engine: a worker that meets only blank comments never loads an engine's
    models (over a hundred MB).  Nor does a field that is only possibly written: a person reads its crop.
    Writing that runs on past the field's right side is read, and kept in the picture, up to
    COMMENT_OVERFLOW_MM beyond it (clear of `keep_out`: the page's marks and codes).  `language`: the copy's
    as printed ('cy', 'cy+en'); the word list's correction is for English writing only (`words.corrects`)."""
    cleaned, mask, specks = clean_field(image, homography, page_size, field, C.COMMENT_DPI, paper)
    wider = overflow(field, mask, page_size, keep_out)
    if wider is not None:
        cleaned, mask, specks = clean_field(image, homography, page_size, wider, C.COMMENT_DPI, paper,
                                            frame_right=field.right)
    ink_fraction = float((mask > 0).mean())
    evidence = writing_evidence(mask, specks, C.COMMENT_DPI / 25.4)
    state, why = decide_written(evidence)
    record = warp_to_layout(image, homography, page_size, C.COMMENT_CROP_DPI, wider or field, border=int(paper))
    crop_png = encode_png(whiten(record, paper))

    def reading(written: bool, text: str, confidence: float, engine: str,
                lines: tuple[float, ...] = ()) -> CommentReading:
        return CommentReading(field.item, written, text, confidence, engine, round(ink_fraction, 5), crop_png,
                              line_confidences=lines, possible=state == "possible",
                              ink_mm2=round(evidence.ink_mm2, 2), strokes=evidence.strokes,
                              extent_mm=round(evidence.extent_mm, 1))

    if state == "blank":
        return reading(False, "", 0.0, ocr)
    if state == "possible":
        return reading(True, "", 0.0, why)
    engine = get_engine(ocr)
    try:
        text, reader = transcribe(engine, cleaned, mask, rules_px(field, C.COMMENT_DPI), C.COMMENT_DPI,
                                  correct=None if corrects(language) else False)
    except ExternalProgramError as exc:
        return reading(True, "", 0.0, f"{engine.name} (failed: {exc.message})")
    return reading(True, text.text.strip(), round(text.confidence, 1), reader,
                   tuple(round(line.confidence, 1) for line in text.lines))


def rules_px(field: TextField, dpi: float) -> list[float]:
    """The printed writing lines' heights in the cleaned field (the crop `clean_field` makes at `dpi`)."""
    top = field.y + C.mm(C.COMMENT_INSET_MM)
    return [(y - top) * dpi / 72.0 for y in field.line_ys]
