"""Reading the free-text fields: crop, clean, decide written or blank, transcribe.

The crop (a grey PNG) is always kept: it is the record, the text only a
transcription a person may correct.  The printed frame and writing lines are
known from the layout and removed before deciding whether anything was written.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import constants as C
from .errors import ExternalProgramError
from .images import encode_png, whiten
from .layout import Rect, TextField
from .ocr import OcrEngine
from .register import warp_to_layout
from .results import CommentReading


def remove_lines(dark: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Drop long horizontal strokes (the printed writing lines) from an ink mask."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(25 * px_per_mm)), 1))
    lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    return cv2.subtract(dark, lines)


def clean_field(image: np.ndarray, homography: np.ndarray, page_size: tuple[float, float], field: TextField,
                dpi: float, paper: float) -> tuple[np.ndarray, np.ndarray]:
    """The field's inside at `dpi`, lines removed: (grey image for OCR, ink mask)."""
    inset = C.mm(C.COMMENT_INSET_MM)
    region = Rect(field.x + inset, field.y + inset, field.w - 2 * inset, field.h - 2 * inset)
    crop = warp_to_layout(image, homography, page_size, dpi, region, border=int(paper))
    px_per_mm = dpi / 25.4
    ink = (crop < paper * (1 - C.INK_DARKNESS * 0.8)).astype(np.uint8) * 255
    writing = remove_lines(ink, px_per_mm)
    # despeckle: components smaller than a pen dot are scanner noise
    count, labels, stats, _ = cv2.connectedComponentsWithStats(writing, connectivity=8)
    min_side = C.COMMENT_MIN_COMPONENT_MM * px_per_mm
    keep = np.zeros(count, dtype=bool)
    for i in range(1, count):
        if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) >= min_side:
            keep[i] = True
    mask = keep[labels].astype(np.uint8) * 255
    cleaned = np.where(mask > 0, crop, 255).astype(np.uint8)
    return cleaned, mask


def read_field(image: np.ndarray, homography: np.ndarray, page_size: tuple[float, float], field: TextField,
               paper: float, engine: OcrEngine) -> CommentReading:
    cleaned, mask = clean_field(image, homography, page_size, field, C.COMMENT_DPI, paper)
    ink_fraction = float((mask > 0).mean())
    record = warp_to_layout(image, homography, page_size, C.COMMENT_CROP_DPI, field, border=int(paper))
    crop_png = encode_png(whiten(record, paper))
    if ink_fraction < C.COMMENT_MIN_INK_FRACTION:
        return CommentReading(field.item, False, "", 0.0, engine.name, round(ink_fraction, 5), crop_png)
    # give the engine dark writing on white, trimmed to the writing plus a margin
    ys, xs = np.nonzero(mask)
    pad = int(3 * C.COMMENT_DPI / 25.4)
    y0, y1 = max(0, ys.min() - pad), min(mask.shape[0], ys.max() + pad)
    x0, x1 = max(0, xs.min() - pad), min(mask.shape[1], xs.max() + pad)
    trimmed = cleaned[y0:y1, x0:x1]
    low, high = float(trimmed.min()), float(trimmed.max())
    normalised = ((trimmed.astype(np.float32) - low) * (255.0 / max(1.0, high - low))).astype(np.uint8)
    try:
        ocr = engine.read(normalised)
    except ExternalProgramError as exc:
        return CommentReading(field.item, True, "", 0.0, f"{engine.name} (failed: {exc.message})",
                              round(ink_fraction, 5), crop_png)
    return CommentReading(field.item, True, ocr.text.strip(), round(ocr.confidence, 1), engine.name,
                          round(ink_fraction, 5), crop_png)
