"""Reading the free-text fields: crop, clean, decide written or blank, transcribe.

The crop (a grey PNG) is always kept: it is the record, the text only a
transcription a person may correct.  The printed frame and writing lines are
known from the layout and removed before deciding whether anything was written.
"""

from __future__ import annotations

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


def remove_lines(dark: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Drop long straight strokes from an ink mask: the printed writing lines, and the frame's sides where a
    slightly skewed fit brings them inside the field.  No handwriting runs straight for 20 mm.

    People write across the rules (descenders, and writing that sits low or slopes), so taking the rule out
    would cut every crossing letter in two, and a reader sees 'l' as 'i' and 'g' as 'o'.  Where ink continues
    on both sides of a removed rule, the stroke is rejoined across it."""
    span = max(3, int(C.COMMENT_RULE_MIN_LENGTH_MM * px_per_mm))
    lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (span, 1)))
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    sides = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, span)))
    sides = cv2.dilate(sides, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    writing = cv2.subtract(cv2.subtract(dark, lines), sides)
    bridge = max(3, round(C.COMMENT_RULE_BRIDGE_MM * px_per_mm))
    joined = cv2.morphologyEx(writing, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge)))
    return cv2.bitwise_or(writing, cv2.bitwise_and(joined, lines))


def clean_field(image: np.ndarray, homography: np.ndarray, page_size: tuple[float, float], field: TextField,
                dpi: float, paper: float) -> tuple[np.ndarray, np.ndarray]:
    """The field's inside at `dpi`, lines removed: (grey image for OCR, ink mask)."""
    inset = C.mm(C.COMMENT_INSET_MM)
    region = Rect(field.x + inset, field.y + inset, field.w - 2 * inset, field.h - 2 * inset)
    crop = warp_to_layout(image, homography, page_size, dpi, region, border=int(paper))
    px_per_mm = dpi / 25.4
    ink = (crop < paper * (1 - C.INK_DARKNESS * 0.8)).astype(np.uint8) * 255
    writing = remove_lines(ink, px_per_mm)
    # keep what can be writing: not specks (scanner noise), not flat slivers (what a black-and-white scan
    # leaves of a grey writing line, broken into dashes the line remover cannot see as one line)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(writing, connectivity=8)
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    min_side = C.COMMENT_MIN_COMPONENT_MM * px_per_mm
    flat = (heights < C.COMMENT_SLIVER_MAX_HEIGHT_MM * px_per_mm) & (widths > 2 * heights)
    keep = (np.maximum(widths, heights) >= min_side) & ~flat
    keep[0] = False
    mask = keep[labels].astype(np.uint8) * 255
    _keep_dots(mask, labels, stats, keep, flat, px_per_mm)
    cleaned = np.where(mask > 0, crop, 255).astype(np.uint8)
    return cleaned, mask


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


def read_field(image: np.ndarray, homography: np.ndarray, page_size: tuple[float, float], field: TextField,
               paper: float, ocr: str) -> CommentReading:
    """Blank fields never start an engine: a worker that meets only blank comments never loads an engine's
    models (over a hundred MB)."""
    cleaned, mask = clean_field(image, homography, page_size, field, C.COMMENT_DPI, paper)
    ink_fraction = float((mask > 0).mean())
    record = warp_to_layout(image, homography, page_size, C.COMMENT_CROP_DPI, field, border=int(paper))
    crop_png = encode_png(whiten(record, paper))
    if ink_fraction < C.COMMENT_MIN_INK_FRACTION:
        return CommentReading(field.item, False, "", 0.0, ocr, round(ink_fraction, 5), crop_png)
    engine = get_engine(ocr)
    try:
        text = transcribe(engine, cleaned, mask, rules_px(field, C.COMMENT_DPI), C.COMMENT_DPI)
    except ExternalProgramError as exc:
        return CommentReading(field.item, True, "", 0.0, f"{engine.name} (failed: {exc.message})",
                              round(ink_fraction, 5), crop_png)
    return CommentReading(field.item, True, text.text.strip(), round(text.confidence, 1), engine.name,
                          round(ink_fraction, 5), crop_png, tuple(round(line.confidence, 1) for line in text.lines))


def rules_px(field: TextField, dpi: float) -> list[float]:
    """The printed writing lines' heights in the cleaned field (the crop `clean_field` makes at `dpi`)."""
    top = field.y + C.mm(C.COMMENT_INSET_MM)
    return [(y - top) * dpi / 72.0 for y in field.line_ys]
