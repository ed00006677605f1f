"""Reading the answer boxes of one registered page.

Works on the page warped into layout coordinates, so every box is where the
layout says, give or take print and scan drift; a small local search finds the
printed square itself.  Ink is measured relative to this page's own paper and
ink levels, so pencil, blue pens, grey paper and bitonal scans are judged on
the same scale.  The raw measurements are returned so thresholds can change
later without scanning again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from . import constants as C
from .layout import Box, PageLayout
from .results import BoxReading, BoxState, ItemReading


@dataclass(frozen=True)
class InkScale:
    """This page's paper and ink brightness, measured on the page itself."""

    paper: float
    ink: float

    def darkness(self, pixels: np.ndarray) -> np.ndarray:
        span = max(30.0, self.paper - self.ink)
        return np.clip((self.paper - pixels.astype(np.float32)) / span, 0.0, 1.0)


def measure_ink_scale(canon: np.ndarray, page: PageLayout, px_per_pt: float) -> InkScale:
    paper = float(np.percentile(canon[:: 4, :: 4], 75))
    inks = []
    for mark in page.registration_marks:
        x0, y0 = int((mark.x + mark.w * 0.25) * px_per_pt), int((mark.y + mark.h * 0.25) * px_per_pt)
        x1, y1 = int((mark.right - mark.w * 0.25) * px_per_pt), int((mark.bottom - mark.h * 0.25) * px_per_pt)
        patch = canon[y0:y1, x0:x1]
        if patch.size:
            inks.append(float(np.median(patch)))
    ink = min(inks) if inks else 0.0
    return InkScale(paper, min(ink, paper - 30.0))


def _outline_template(size_px: int, line_px: int) -> np.ndarray:
    t = np.zeros((size_px, size_px), np.float32)
    cv2.rectangle(t, (0, 0), (size_px - 1, size_px - 1), 1.0, thickness=max(1, line_px))
    return t


def locate_box(dark: np.ndarray, box: Box, px_per_pt: float) -> tuple[int, int, float]:
    """Find the printed square near its predicted place: (dx, dy) in px and the match score."""
    r = round(C.mm(C.BOX_SEARCH_RADIUS_MM) * px_per_pt)
    size = round(box.w * px_per_pt)
    x0, y0 = round(box.x * px_per_pt) - r, round(box.y * px_per_pt) - r
    window = dark[max(0, y0):y0 + size + 2 * r, max(0, x0):x0 + size + 2 * r]
    if x0 < 0 or y0 < 0 or window.shape[0] < size + 2 * r or window.shape[1] < size + 2 * r:
        return 0, 0, 0.0
    template = _outline_template(size, round(C.BOX_LINE_WIDTH_PT * px_per_pt))
    scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (bx, by) = cv2.minMaxLoc(scores)
    if best < C.BOX_MATCH_MIN_SCORE:
        return 0, 0, float(best)
    return bx - r, by - r, float(best)


def measure_box(dark: np.ndarray, box: Box, px_per_pt: float, scale: InkScale, faint_floor: float = 0.0
                ) -> tuple[float, float, float, float, int, int]:
    """Inked share and area of the inner square, the ink's mean darkness, and the spill ring outside it."""
    dx, dy, _ = locate_box(dark, box, px_per_pt)
    inset = C.mm(C.BOX_INNER_INSET_MM) * px_per_pt
    x0 = round(box.x * px_per_pt + dx + inset)
    y0 = round(box.y * px_per_pt + dy + inset)
    x1 = round(box.right * px_per_pt + dx - inset)
    y1 = round(box.bottom * px_per_pt + dy - inset)
    inner = dark[y0:y1, x0:x1]
    inked = inner > C.INK_DARKNESS
    coverage = float(inked.mean()) if inner.size else 0.0
    darkness = float(inner[inked].mean()) if inked.any() else 0.0
    halo = round(C.mm(C.BOX_HALO_MM) * px_per_pt)
    gap = round(C.mm(0.6) * px_per_pt)
    ox0, oy0 = round(box.x * px_per_pt + dx), round(box.y * px_per_pt + dy)
    ox1, oy1 = round(box.right * px_per_pt + dx), round(box.bottom * px_per_pt + dy)
    # spill: ink just above and below the box (the number sits to its left, so sides are not measured)
    above = dark[max(0, oy0 - gap - halo):max(0, oy0 - gap), ox0:ox1]
    below = dark[oy1 + gap:oy1 + gap + halo, ox0:ox1]
    ring = np.concatenate([above.ravel(), below.ravel()]) if above.size + below.size else np.zeros(1)
    spill = float((ring > C.INK_DARKNESS).mean())
    faint = float((inner > C.FAINT_DARKNESS).mean()) - faint_floor if inner.size else 0.0
    return coverage, darkness, spill, max(0.0, faint), dx, dy


def classify(coverage: float, faint: float, area_mm2_per_unit: float) -> tuple[BoxState, float]:
    """State and confidence from the inner area's ink; `area_mm2_per_unit` converts a share to mm²."""
    area = coverage * area_mm2_per_unit
    faint_area = faint * area_mm2_per_unit
    if coverage >= C.FILLED_MIN_COVERAGE:
        return "filled", min(1.0, 0.6 + (coverage - C.FILLED_MIN_COVERAGE) * 2)
    if coverage > C.MARK_MAX_BELOW_FILLED:
        return "uncertain", 0.3
    if area >= C.MARK_MIN_AREA_MM2 or coverage >= C.MARK_MIN_COVERAGE:
        return "marked", min(1.0, 0.6 + area / (4 * C.MARK_MIN_AREA_MM2))
    if area <= C.EMPTY_MAX_AREA_MM2 and coverage <= C.EMPTY_MAX_COVERAGE:
        # nothing dark: still, a faint pencil mark shows only at the lighter threshold
        if faint_area >= 1.5 * C.MARK_MIN_AREA_MM2:
            return "marked", 0.55
        if faint_area >= C.MARK_MIN_AREA_MM2:
            return "uncertain", 0.3
        return "empty", min(1.0, 1.0 - area / max(C.EMPTY_MAX_AREA_MM2, 1e-6) * 0.4)
    return "uncertain", 0.4


def read_boxes(canon: np.ndarray, page: PageLayout, px_per_pt: float) -> list[BoxReading]:
    scale = measure_ink_scale(canon, page, px_per_pt)
    dark = scale.darkness(canon)
    raw = [measure_box(dark, box, px_per_pt, scale) for box in page.boxes]
    # the paper's own faint texture (tone, noise) is the floor a faint mark must rise above
    faint_floor = float(np.median([r[3] for r in raw])) if raw else 0.0
    readings = []
    for box, (coverage, darkness, spill, faint, dx, dy) in zip(page.boxes, raw, strict=True):
        inner_side_mm = box.w / C.PT_PER_MM - 2 * C.BOX_INNER_INSET_MM
        state, confidence = classify(coverage, max(0.0, faint - faint_floor), inner_side_mm ** 2)
        mm_per_px = 1 / (px_per_pt * C.PT_PER_MM)
        readings.append(BoxReading(box.item, box.value, round(coverage, 4), round(darkness, 3), round(spill, 4),
                                   round(dx * mm_per_px, 2), round(dy * mm_per_px, 2), state, round(confidence, 3)))
    return readings


def decide_item(item: str, boxes: Sequence[BoxReading], crop_png: bytes = b"") -> ItemReading:
    """One item's answer from its boxes: one mark is the answer, anything unclear goes to a person."""
    marked = [b for b in boxes if b.state == "marked"]
    filled = [b for b in boxes if b.state == "filled"]
    unclear = [b for b in boxes if b.state == "uncertain"]
    if len(marked) == 1 and unclear:
        # a brush of the pen in a neighbouring box is not a second answer when the mark is clear
        strong = marked[0]
        if all(b.coverage < C.STRAY_RATIO * strong.coverage and b.coverage < C.MARK_MIN_COVERAGE for b in unclear):
            unclear = []
    summary = ", ".join(f"{b.value}:{b.state}" for b in boxes if b.state != "empty") or "all empty"
    if len(marked) >= 2:
        values = " and ".join(str(b.value) for b in marked)
        return ItemReading(item, None, "flagged", "multiple", f"boxes {values} are both marked", 0.9, crop_png)
    if unclear:
        values = ", ".join(str(b.value) for b in unclear)
        best = marked[0].value if marked else None
        return ItemReading(item, best, "flagged", "uncertain", f"unclear mark in box {values} ({summary})", 0.4,
                           crop_png)
    if len(marked) == 1:
        note = f"box {filled[0].value} filled in to cancel" if filled else ""
        return ItemReading(item, marked[0].value, "answered", None, note, marked[0].confidence, crop_png)
    if filled:
        values = ", ".join(str(b.value) for b in filled)
        return ItemReading(item, None, "flagged", "cancelled",
                           f"box {values} filled in (cancelled) and no other box marked", 0.5, crop_png)
    return ItemReading(item, None, "blank", None, "", min(b.confidence for b in boxes) if boxes else 1.0, crop_png)
