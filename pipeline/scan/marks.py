"""Reading the answer boxes of one registered page.

Works on the page warped into layout coordinates, so every box is where the
layout says, give or take print and scan drift; a small local search finds the
printed square itself.  Ink is measured relative to this page's own paper and
ink levels, so pencil, blue pens, grey paper and bitonal scans are judged on
the same scale.  The raw measurements are returned so thresholds can change
later without scanning again: what they mean - each box's state, each item's
answer or reason for a person - is decided from them in `scan.decide`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.layout import Box, PageLayout, Rect
from pipeline.scan.decide import decided
from pipeline.scan.results import BoxMeasures, BoxReading


def darkness_map(canon: np.ndarray, page: PageLayout, px_per_pt: float, rows_only: bool = False) -> np.ndarray:
    """0 for this spot's own paper, 1 for the page's blackest ink, as float32.

    The paper level is estimated locally (a wide max-filter of a reduced page),
    so grey paper, uneven light and a shadow along the spine all read as paper,
    and pencil is judged against the paper right beside it.  `rows_only`: made only for the band of the
    page holding its item rows (all a printed form's boxes), the rest left 0.
    """
    h, w = canon.shape
    small = _paper_small(canon, px_per_pt)
    inks = []
    for mark in page.registration_marks:
        x0, y0 = int((mark.x + mark.w * 0.25) * px_per_pt), int((mark.y + mark.h * 0.25) * px_per_pt)
        x1, y1 = int((mark.right - mark.w * 0.25) * px_per_pt), int((mark.bottom - mark.h * 0.25) * px_per_pt)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, max(0, x1)), min(h, max(0, y1))
        if x1 > x0 and y1 > y0:
            grey = canon[y0:y1, x0:x1].astype(np.float32)
            inks.append(float(np.median(grey / np.maximum(_paper_px(small, y0, y1, x0, x1).astype(np.float32), 1.0))))
    ink = min(C.PAGE_INK_MAX_DARKNESS_RATIO, min(inks)) if inks else C.DEFAULT_INK_RATIO
    # only the band of the page holding the item rows is ever read (boxes, the strips beside them, the rows'
    # evidence crops): the rest stays 0, paper, and costs nothing
    top, bottom = 0, h
    if rows_only and page.item_rows:
        reach = C.mm(C.DARKNESS_BAND_MARGIN_MM)
        top = max(0, int((min(r.rect.y for r in page.item_rows) - reach) * px_per_pt))
        bottom = min(h, int((max(r.rect.bottom for r in page.item_rows) + reach) * px_per_pt) + 1)
    dark = np.zeros((h, w), np.float32)
    if bottom > top:
        darkness_lookup(darkness_table(ink), canon[top:bottom], _paper_px(small, top, bottom, 0, w), dark[top:bottom])
    return dark


def _paper_small(canon: np.ndarray, px_per_pt: float) -> np.ndarray:
    """The page's paper level at 1 / PAPER_REDUCTION_FACTOR of its size: the brightest paper near each spot, blurred.

    Reduced by whole blocks (the page's last few rows and columns beyond them are left out: `_paper_px` repeats
    the level beside them), which OpenCV's area reduction does in half the time of a fractional ratio.  The
    blur is done in float32 with the kernel OpenCV's 8-bit blur uses and rounded: about 1/6 of the time of the
    bit-exact 8-bit blur, and the same level give or take one grey step on a few spots in a thousand."""
    f = C.PAPER_REDUCTION_FACTOR
    h, w = canon.shape
    hs, ws = max(1, h // f), max(1, w // f)
    small = cv2.resize(canon[:hs * f, :ws * f], (ws, hs), interpolation=cv2.INTER_AREA)
    side = int(C.mm(C.PAPER_FILTER_MM) * px_per_pt / f) | 1
    small = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    sigma = side / 3
    kernel = cv2.getGaussianKernel(round(sigma * 6 + 1) | 1, sigma)  # OpenCV's own size for an 8-bit blur
    return cv2.convertScaleAbs(cv2.sepFilter2D(small, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT_101))


def _paper_px(small: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """The paper level (uint8) of page pixels [y0:y1, x0:x1]: `small` enlarged PAPER_REDUCTION_FACTOR times,
    bilinear, its last row and column repeated to the page's edge - the same values the whole page enlarged at
    once would give (a whole ratio puts every pixel at the same fraction between the same two reduced pixels),
    for only the pixels read."""
    f = C.PAPER_REDUCTION_FACTOR
    hs, ws = small.shape
    ya, yb, xa, xb = min(y0, f * hs - 1), min(y1, f * hs), min(x0, f * ws - 1), min(x1, f * ws)
    # a pixel lies between reduced pixels floor(y / f - 0.375) and the next: these reduced rows and columns hold them
    s0, s1 = max(0, ya // f - 1), min(hs, (yb - 1) // f + 2)
    t0, t1 = max(0, xa // f - 1), min(ws, (xb - 1) // f + 2)
    part = cv2.resize(small[s0:s1, t0:t1], ((t1 - t0) * f, (s1 - s0) * f), interpolation=cv2.INTER_LINEAR)
    part = part[ya - f * s0:yb - f * s0, xa - f * t0:xb - f * t0]
    below, right = (y1 - y0) - (yb - ya), (x1 - x0) - (xb - xa)
    if below or right:
        part = cv2.copyMakeBorder(part, 0, below, 0, right, cv2.BORDER_REPLICATE)
    return part


def darkness_table(ink: float) -> np.ndarray:
    """The darkness of every (grey, paper level) pair of bytes, flat (index grey * 256 + paper): the float32
    arithmetic of `darkness_map` done once on the 65,536 pairs instead of on every pixel of the page."""
    grey, paper = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8), indexing="ij")
    table = np.empty((256, 256), np.float32)
    np.divide(grey, np.maximum(paper, 1).astype(np.float32), out=table)
    np.subtract(1.0, table, out=table)
    np.divide(table, np.float32(1.0 - ink), out=table)
    np.clip(table, 0.0, 1.0, out=table)
    return table.ravel()


def darkness_lookup(table: np.ndarray, grey: np.ndarray, paper: np.ndarray, out: np.ndarray) -> None:
    """`out` = the table's darkness for each pixel's (grey, paper level): the same float32 values as the
    arithmetic per pixel, in a quarter of the time (one gather from a 256 KB table)."""
    if sys.byteorder == "little":  # the two bytes side by side read as one 16-bit index: grey * 256 + paper
        index = cv2.merge([paper, grey]).view(np.uint16)[..., 0]
    else:
        index = (grey.astype(np.uint16) << 8) | paper
    np.take(table, index, out=out, mode="wrap")  # every index is in the table: "wrap" skips the bounds check


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


@dataclass(frozen=True)
class _Measure:
    coverage: float
    faint: float
    solid: float
    darkness: float
    spill: float
    dx: int
    dy: int
    match: float
    corners: int = 4  # corners of the inner square holding ink: a fill reaches them, a dot or blob does not
    dot_mm2: float = 0.0  # ink left after eroding away pen-stroke widths: a dot's solid core
    cells: int = 0  # ninths of the inner square holding light ink (counted when there is plenty of it)
    coherence: float = 0.0  # one direction to the strokes (hatching) or many (scribbled out): see _coherence
    passes: float = 0.0  # strokes a line across the box meets: see _passes
    cut_mm2: float = 0.0  # the inner square as cut in whole pixels
    open_gap: float = 0.0  # widest open paper among the ink, as a share of the side: see _open_gap
    bridged_passes: float = 0.0  # passes once strokes' hollow middles are closed: see measure_box
    bridged_solid: float = 0.0  # ... and the share of that which is solid, not strokes
    pieces: int = 0  # separate pieces of light ink
    largest_mm2: float = 0.0  # the biggest of them


def _inked_corners(inked: np.ndarray) -> int:
    """How many of the inner square's four corner patches are mostly ink."""
    h, w = inked.shape
    ch, cw = max(1, round(h * C.BOX_CORNER_SHARE)), max(1, round(w * C.BOX_CORNER_SHARE))
    patches = (inked[:ch, :cw], inked[:ch, w - cw:], inked[h - ch:, :cw], inked[h - ch:, w - cw:])
    return sum(int(p.mean() >= C.BOX_CORNER_MIN_INK) for p in patches)


def _inked_cells(inked: np.ndarray) -> int:
    """How many ninths of the inner square hold some ink: all nine for a fill, however light or broken (pencil
    through a black-and-white scan); a tick leaves some empty."""
    h, w = inked.shape
    ys, xs = np.linspace(0, h, 4).astype(int), np.linspace(0, w, 4).astype(int)
    return sum(int(inked[ys[i]:ys[i + 1], xs[j]:xs[j + 1]].mean() >= C.BOX_CELL_MIN_INK)
               for i in range(3) for j in range(3))


def _passes(inked: np.ndarray) -> float:
    """How many strokes a line across the box meets, on average, across its rows or its columns (the more):
    a box scribbled out is crossed by pass after pass (3 and more); a cross, however heavy, by two at most."""
    edges = inked.astype(np.int8)
    rows = np.count_nonzero(np.diff(edges, axis=1) == 1, axis=1) + edges[:, 0]
    cols = np.count_nonzero(np.diff(edges, axis=0) == 1, axis=0) + edges[0, :]
    return float(max(rows.mean(), cols.mean()))


def _open_gap(inked: np.ndarray) -> float:
    """The widest round patch of paper among the ink (its diameter, as a share of the inner side), the
    square's edge counting as ink: a cross, however heavy, leaves four open triangles between its arms; a box
    filled in or scribbled out leaves only small holes."""
    h, w = inked.shape
    if not h or not w:
        return 0.0
    paper = np.pad((~inked).astype(np.uint8), 1, constant_values=0)
    return float(2 * cv2.distanceTransform(paper, cv2.DIST_L2, 3).max() / max(1, min(h, w)))


def _pieces(light: np.ndarray, mm2_per_px: float) -> tuple[int, float]:
    """How many separate pieces of light ink, and the biggest one's area (mm²): dust and toner leave one to
    three specks; what a black-and-white scan leaves of a pencil tick is a trail of many."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(light.astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0, 0.0
    return n - 1, float(stats[1:, cv2.CC_STAT_AREA].max()) * mm2_per_px


def _coherence(inked: np.ndarray) -> float:
    """How much the ink's edges share one direction (structure tensor, 0 .. 1): near 1 for hatching, parallel
    lines; lower for a scribble that crosses itself, as people scribble a box out."""
    m = cv2.GaussianBlur(inked.astype(np.float32), (0, 0), 1.0)
    gx, gy = cv2.Sobel(m, cv2.CV_32F, 1, 0), cv2.Sobel(m, cv2.CV_32F, 0, 1)
    a, b, c = float((gx * gx).sum()), float((gx * gy).sum()), float((gy * gy).sum())
    return float(np.sqrt((a - c) ** 2 + 4 * b * b) / (a + c)) if a + c > 0 else 0.0


def measure_box(dark: np.ndarray, box: Box, px_per_pt: float) -> _Measure:
    """Ink in the inner square at two strengths, how solid it is, which corners it reaches, and the spill ring
    outside it."""
    dx, dy, match = locate_box(dark, box, px_per_pt)
    inset = C.mm(C.BOX_INNER_INSET_MM) * px_per_pt
    x0 = round(box.x * px_per_pt + dx + inset)
    y0 = round(box.y * px_per_pt + dy + inset)
    x1 = round(box.right * px_per_pt + dx - inset)
    y1 = round(box.bottom * px_per_pt + dy - inset)
    inner = dark[y0:y1, x0:x1]
    if not inner.size:
        return _Measure(0.0, 0.0, 0.0, 0.0, 0.0, dx, dy, match)
    # every measure is taken for every box, whatever the thresholds: which of them count is decided in
    # `gated`, so a change of thresholds re-decides from the stored measures exactly as a new scan would
    inked = inner > C.INK_DARKNESS
    light = inner > C.FAINT_DARKNESS
    coverage = float(inked.mean())
    faint = float(light.mean())
    darkness = float(inner[inked].mean()) if inked.any() else 0.0
    mm2_per_px = 1.0 / (px_per_pt * C.PT_PER_MM) ** 2
    if not light.any():  # most boxes: not one pixel of ink, so no strokes to measure (all paper: the gap is 1)
        return _Measure(0.0, 0.0, 0.0, 0.0, _spill(dark, box, dx, dy, px_per_pt), dx, dy, match, 0, 0.0, 0, 0.0,
                        0.0, inner.size * mm2_per_px, 1.0)
    corners = _inked_corners(inked)
    cells = _inked_cells(light)
    coherence = _coherence(inked)
    # closed first: grainy pencil through a black-and-white scan is not many strokes
    passes = _passes(cv2.morphologyEx(inked.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((2, 2), np.uint8)))
    # strokes vanish under an erosion wider than a pen; a filled-in box does not
    close = max(1, round(C.mm(C.SOLID_CLOSE_MM) * px_per_pt))
    closed = cv2.morphologyEx(inked.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((close, close), np.uint8))
    erode_solid = max(1, round(C.mm(C.SOLID_ERODE_MM) * px_per_pt))
    solid = float(cv2.erode(closed, np.ones((erode_solid, erode_solid), np.uint8)).mean())
    # a small dot (an answer) or a trace?  A dot keeps a solid core where strokes thin away
    close = max(1, round(C.mm(C.DOT_CLOSE_MM) * px_per_pt))
    closed = cv2.morphologyEx(light.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((close, close), np.uint8))
    erode = max(1, round(C.mm(C.DOT_ERODE_MM) * px_per_pt))
    dot = float(cv2.erode(closed, np.ones((erode, erode), np.uint8)).sum()) * mm2_per_px
    # a broad stroke a black-and-white scan kept only the edges of is two thin lines a pen's width apart:
    # closed across that width it is one stroke again, and a line across the box meets it once, not twice
    bridge = max(1, round(C.mm(C.HOLLOW_BRIDGE_MM) * px_per_pt))
    bridged = cv2.morphologyEx(inked.astype(np.uint8), cv2.MORPH_CLOSE,
                               cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (bridge, bridge)))
    bridged_passes = _passes(bridged)
    bridged_solid = float(cv2.erode(bridged, np.ones((erode_solid, erode_solid), np.uint8)).mean())
    pieces, largest = _pieces(light, mm2_per_px)
    return _Measure(coverage, faint, solid, darkness, _spill(dark, box, dx, dy, px_per_pt), dx, dy, match, corners,
                    dot, cells, coherence, passes, inner.size * mm2_per_px, _open_gap(inked), bridged_passes,
                    bridged_solid, pieces, largest)


def _spill(dark: np.ndarray, box: Box, dx: int, dy: int, px_per_pt: float) -> float:
    """Ink just above and below the box (the number sits to its left, so sides are not measured)."""
    halo = round(C.mm(C.BOX_HALO_MM) * px_per_pt)
    gap = round(C.mm(C.BOX_HALO_GAP_MM) * px_per_pt)
    ox0, oy0 = round(box.x * px_per_pt + dx), round(box.y * px_per_pt + dy)
    ox1, oy1 = round(box.right * px_per_pt + dx), round(box.bottom * px_per_pt + dy)
    above = dark[max(0, oy0 - gap - halo):max(0, oy0 - gap), ox0:ox1]
    below = dark[oy1 + gap:oy1 + gap + halo, ox0:ox1]
    ring = np.concatenate([above.ravel(), below.ravel()]) if above.size + below.size else np.zeros(1)
    return float((ring > C.INK_DARKNESS).mean())


def _next_in_row(boxes: Sequence[Box]) -> list[Box | None]:
    return [nxt if nxt is not None and nxt.item == box.item else None
            for box, nxt in zip(boxes, [*boxes[1:], None], strict=False)]


def measure_beside(dark: np.ndarray, box: Box, nxt: Box | None, m: _Measure, px_per_pt: float
                   ) -> tuple[float, float, float]:
    """Ink outside the box where nothing is printed: the gap to its right, up to the next box's number, from the
    box's top to a little below it, and the band under the box (mm², and where across the gap its
    middle lies, 0 at this box .. 1 at the next number), and the strip between its own number and its left
    side, which a circle round the number crosses (mm²).

    A mark there is not in any box: a tick beside the box, a mark between two boxes, a circled number."""
    k = px_per_pt * C.PT_PER_MM  # px per mm
    y0, y1 = round(box.y * px_per_pt + m.dy), round(box.bottom * px_per_pt + m.dy)
    # the gap strip reaches below the box too, for a small tick hanging off its corner (not above: the scale's
    # words are printed there, and a long one, over the last box, reaches past its right edge)
    reach = round(C.BESIDE_REACH_MM * k)
    right = box.right * px_per_pt + m.dx
    x0 = round(right + C.BESIDE_GAP_MM * k)
    end = (nxt.x * px_per_pt + m.dx - C.BESIDE_NUMBER_CLEAR_MM * k) if nxt is not None else right + C.BESIDE_LAST_MM * k
    x1 = max(x0 + 1, round(end))
    strip = dark[y0:y1 + reach, x0:x1] > C.FAINT_DARKNESS  # pencil too: nothing is printed here
    # and the band under the box, up to the gap strip: nothing is printed there either (the next row starts
    # lower), and a small tick hanging off the box's bottom edge or corner leaves its ink there
    by0 = round(box.bottom * px_per_pt + m.dy + C.BOX_HALO_GAP_MM * k)
    below = dark[by0:by0 + round(C.BOX_HALO_MM * k), max(0, round(box.x * px_per_pt + m.dx)):x0]
    gap_mm2 = float(strip.sum() + np.count_nonzero(below > C.FAINT_DARKNESS)) / (k * k)
    at = 0.0
    if strip.any():
        at = float(np.nonzero(strip)[1].mean()) / max(1, strip.shape[1])
    lx1 = round(box.x * px_per_pt + m.dx - C.BESIDE_GAP_MM * k)
    lx0 = round(lx1 - C.NUMBER_GAP_STRIP_MM * k)
    left = dark[y0:y1, max(0, lx0):max(0, lx1)] > C.FAINT_DARKNESS
    return gap_mm2, at, float(left.sum()) / (k * k)


def read_boxes(canon: np.ndarray, page: PageLayout, px_per_pt: float) -> tuple[list[BoxReading], np.ndarray]:
    """The page's boxes, and its darkness map (reused for the evidence crops)."""
    dark = darkness_map(canon, page, px_per_pt, rows_only=True)
    mm_per_px = 1 / (px_per_pt * C.PT_PER_MM)
    measures = [measure_box(dark, box, px_per_pt) for box in page.boxes]
    besides = [measure_beside(dark, box, nxt, m, px_per_pt)
               for box, nxt, m in zip(page.boxes, _next_in_row(page.boxes), measures, strict=True)]
    # most boxes on a page are empty: their median is this scan's noise floor
    floor = float(np.median([m.coverage for m in measures])) if measures else 0.0
    faint_floor = float(np.median([m.faint for m in measures])) if measures else 0.0
    readings = []
    for box, m, beside in zip(page.boxes, measures, besides, strict=True):
        inner_side_mm = box.w / C.PT_PER_MM - 2 * C.BOX_INNER_INSET_MM
        kept = BoxMeasures(m.coverage, m.faint, m.solid, inner_side_mm ** 2, floor, faint_floor, m.corners,
                           m.dot_mm2, m.cells, m.coherence, m.passes, m.cut_mm2, m.open_gap, m.bridged_passes,
                           m.bridged_solid, m.pieces, m.largest_mm2)
        shown = BoxReading(box.item, box.value, round(m.coverage, 4), round(m.darkness, 3), round(m.spill, 4),
                           round(m.dx * mm_per_px, 2), round(m.dy * mm_per_px, 2), "empty", 1.0,
                           faint=round(m.faint, 4), match=round(m.match, 3), beside_mm2=round(beside[0], 2),
                           beside_at=round(beside[1], 2), left_mm2=round(beside[2], 2))
        readings.append(decided(shown, kept))
    return readings, dark


def row_evidence_rect(row: Rect) -> Rect:
    """The part of the page a row's evidence crop shows: the row, and the band under its boxes that
    `measure_beside` watches, so a person sees the mark at a box's lower edge that sent the row to them."""
    return Rect(row.x, row.y, row.w, row.h + C.mm(C.BOX_HALO_GAP_MM + C.BOX_HALO_MM))


def evidence_crop(dark: np.ndarray, rect: Rect, px_per_pt: float) -> np.ndarray:
    """A region as dark-on-white grey, paper flattened to white: what a person needs to see, compactly."""
    x0, y0 = max(0, round(rect.x * px_per_pt)), max(0, round(rect.y * px_per_pt))
    x1, y1 = round(rect.right * px_per_pt), round(rect.bottom * px_per_pt)
    # the lightest traces to paper: below FAINT_DARKNESS * 0.6 (as float32) is 0, the rest kept as it is, by one
    # OpenCV pass ("to zero" keeps what is above the float32 just below that level: the same pixels)
    lightest = np.nextafter(np.float32(C.FAINT_DARKNESS * 0.6), np.float32(-np.inf))
    _, region = cv2.threshold(dark[y0:y1, x0:x1], float(lightest), 0.0, cv2.THRESH_TOZERO)
    factor = C.EVIDENCE_DPI / (px_per_pt * C.PT_PER_INCH)
    if factor < 1:
        region = cv2.resize(region, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    levels = C.EVIDENCE_GREY_LEVELS - 1  # few grey levels: still legible, and the PNG is half the size
    return (255 - np.round(np.clip(region, 0, 1) * levels) * (255 / levels)).astype(np.uint8)


def looks_bitonal(image: np.ndarray) -> bool:
    """A black-and-white scan: few grey levels in the page (reducing a 1-bit page averages a handful of
    pixels, so only a few dozen levels appear; a grey scan shows nearly all 256).  A sample is enough."""
    levels = np.bincount(image[::5, ::5].ravel(), minlength=256)[32:224]  # mid greys: ink edges, not paper noise
    return int(np.count_nonzero(levels)) <= C.BITONAL_MAX_GREY_LEVELS
