"""Reading the answer boxes of one registered page.

Works on the page warped into layout coordinates, so every box is where the
layout says, give or take print and scan drift; a small local search finds the
printed square itself.  Ink is measured relative to this page's own paper and
ink levels, so pencil, blue pens, grey paper and bitonal scans are judged on
the same scale.  The raw measurements are returned so thresholds can change
later without scanning again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import groupby

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.layout import Box, PageLayout, Rect
from pipeline.scan.results import BoxMeasures, BoxReading, BoxState, ItemReading
from pipeline.vocab import FlagReason


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
    gy0, gy1 = y0, y1 + round(C.BESIDE_REACH_MM * k)
    right = box.right * px_per_pt + m.dx
    x0 = round(right + C.BESIDE_GAP_MM * k)
    end = (nxt.x * px_per_pt + m.dx - C.BESIDE_NUMBER_CLEAR_MM * k) if nxt is not None else right + C.BESIDE_LAST_MM * k
    x1 = max(x0 + 1, round(end))
    strip = dark[gy0:gy1, x0:x1] > C.FAINT_DARKNESS  # pencil too: nothing is printed here
    # and the band under the box, up to the gap strip: nothing is printed there either (the next row starts
    # lower), and a small tick hanging off the box's bottom edge or corner leaves its ink there
    by0 = round(box.bottom * px_per_pt + m.dy + C.BOX_HALO_GAP_MM * k)
    below = dark[by0:by0 + round(C.BESIDE_BELOW_MM * k), max(0, round(box.x * px_per_pt + m.dx)):x0]
    gap_mm2 = float(strip.sum() + np.count_nonzero(below > C.FAINT_DARKNESS)) / (k * k)
    at = 0.0
    if strip.any():
        at = float(np.nonzero(strip)[1].mean()) / max(1, strip.shape[1])
    lx1 = round(box.x * px_per_pt + m.dx - C.BESIDE_GAP_MM * k)
    lx0 = round(lx1 - C.NUMBER_GAP_STRIP_MM * k)
    left = dark[y0:y1, max(0, lx0):max(0, lx1)] > C.FAINT_DARKNESS
    return gap_mm2, at, float(left.sum()) / (k * k)


def classify(coverage: float, faint: float, solid: float, inner_area_mm2: float, floor: float = 0.0,
             corners: int = 4, dot_mm2: float = 0.0, cells: int = 0, coherence: float = 0.0,
             passes: float = 9.0, faint_floor: float = 0.0, open_gap: float = 0.0, bridged_passes: float = 9.0,
             pieces: int = 99, largest_mm2: float = 99.0, bridged_solid: float = 1.0, stroke_coherence: float = 1.0
             ) -> tuple[BoxState, float]:
    """State and confidence from the inner area's ink; shares are turned into mm² so a dot counts the same in
    a standard and a large-print box.  `floor` is what this page's empty boxes show (scan noise): ink clearly
    above it, however little, is never called empty - a pencil tick a black-and-white scan has all but erased
    leaves only a dotted trace.  `corners` (of the inner square, holding ink) tells a box filled in, which
    reaches them, from a dot or blob in the middle, which is an answer however dense.  `open_gap` (the widest
    paper among the ink) tells a heavy cross, which leaves open triangles between its arms, from a box filled
    in; `bridged_passes` tells a broad cross a black-and-white scan left hollow from pass-on-pass scribbling;
    `coherence` low (strokes running two ways) with few passes tells a looped or hollow cross from a box
    scribbled out (back and forth, one way); `pieces` and `largest_mm2` tell dust and toner specks from what is
    left of a light mark.  `stroke_coherence` is `coherence` however little ink there is (1, one direction, when
    not measured): with `largest_mm2` it tells a small light tick, one unbroken stroke running two ways, from a
    straight stray line (see `light_stroke`)."""
    area = coverage * inner_area_mm2
    heavy_cross = (passes < C.SCRIBBLE_FILL_MIN_PASSES and open_gap >= C.HEAVY_CROSS_MIN_OPEN_GAP
                   and solid < C.HEAVY_CROSS_MAX_SOLID and coverage < C.HEAVY_CROSS_MAX_COVERAGE)
    hollow = (coverage < C.HOLLOW_MAX_COVERAGE and bridged_passes < C.HOLLOW_MAX_BRIDGED_PASSES
              and pieces >= C.HOLLOW_MIN_PIECES and bridged_solid < C.HOLLOW_MAX_BRIDGED_SOLID)
    # a cross written with a loop, or left as the edges of its strokes, is crossed by more than two passes, yet
    # its strokes run two ways at once: scribbling a box out runs mostly one way, back and forth
    crossed = (coherence < C.CROSSED_MAX_COHERENCE and passes < C.CROSSED_MAX_PASSES
               and open_gap >= C.CROSSED_MIN_OPEN_GAP and solid < C.SOLID_STROKES_MAX
               and coverage < C.CROSSED_MAX_COVERAGE)
    # a broad cross a black-and-white scan kept only the edges of - cut into pieces by the inner square, or
    # edges that close up in pairs when bridged (a line across meets half as many) - crossed more often than
    # two strokes would be: still no one direction, still strokes
    paired = bridged_passes <= C.HOLLOW_EDGES_MAX_BRIDGED_SHARE * passes
    hollow_edges = ((pieces >= C.HOLLOW_MIN_PIECES or paired) and coherence < C.HOLLOW_EDGES_MAX_COHERENCE
                    and bridged_solid < C.HOLLOW_EDGES_MAX_BRIDGED_SOLID and coverage < C.HOLLOW_EDGES_MAX_COVERAGE
                    and open_gap >= C.CROSSED_MIN_OPEN_GAP and solid < C.SOLID_STROKES_MAX)
    faint_area = faint * inner_area_mm2
    compact = corners <= C.BLOB_MAX_CORNERS
    if compact and solid >= C.SOLID_STROKES_MAX:
        return "marked", C.BLOB_CONFIDENCE  # a solid dot or blob in the middle: an answer, however big
    if cells >= C.SCRIBBLE_FILL_MIN_CELLS and coverage >= C.SCRIBBLE_FILL_MIN_COVERAGE:
        if coherence >= C.HATCH_MIN_COHERENCE and coverage < C.FILLED_MIN_COVERAGE:
            return "marked", C.HATCH_CONFIDENCE  # hatching: parallel lines across the box, a way of marking it
        if passes < C.SCRIBBLE_FILL_MIN_PASSES and coverage < C.FILLED_MIN_COVERAGE:
            # a heavy cross or tick: two strokes at most across the box, not pass on pass
            return "marked", C.HEAVY_STROKES_CONFIDENCE
        if heavy_cross:  # a bold or looped cross over most of the box: strokes with open paper between arms
            return "marked", C.HEAVY_STROKES_CONFIDENCE
        if hollow:  # the two edges of each broad stroke, as a black-and-white scan keeps them
            return "marked", C.HOLLOW_CONFIDENCE
        if crossed:  # strokes crossing at about right angles, no one direction: a cross, not a scribble
            return "marked", C.CROSSED_CONFIDENCE
        if hollow_edges:
            return "marked", C.HOLLOW_CONFIDENCE
        # scribbled over from edge to edge: how people cancel a box, holes and all
        return "filled", C.SCRIBBLE_FILL_CONFIDENCE
    if (cells >= C.SCRIBBLE_PART_MIN_CELLS and coverage >= C.SCRIBBLE_FILL_MIN_COVERAGE
            and passes >= C.SCRIBBLE_FILL_MIN_PASSES and coherence < C.HATCH_MIN_COHERENCE and not hollow
            and not crossed and not hollow_edges):
        # scribbled pass on pass over most of the box: an answer, or crossed out?
        return "uncertain", C.SCRIBBLE_UNCLEAR_CONFIDENCE
    if cells == 9 and faint >= C.LIGHT_FILL_MIN_FAINT:
        # light ink all over the box: a fill scanned light or broken up, or shading?
        return "uncertain", C.LIGHT_FILL_UNCLEAR_CONFIDENCE
    if corners >= C.FILL_MIN_CORNERS and (coverage >= C.FILLED_MIN_COVERAGE
                        or (coverage >= C.FILLED_MIN_COVERAGE_SOLID and solid >= C.SOLID_FILLED)):
        return "filled", min(1.0, C.FILLED_BASE_CONFIDENCE + coverage * C.FILLED_CONFIDENCE_PER_COVERAGE)
    if compact and coverage >= C.MARK_MIN_COVERAGE:
        return "marked", C.BLOB_CONFIDENCE  # a dot or blob in the box: an answer, not a fill
    if (coverage > C.MARK_MAX_BELOW_FILLED and solid >= C.SOLID_STROKES_MAX and corners >= C.FILL_MIN_CORNERS
            and not heavy_cross):
        # dense, partly solid, reaching the corners: a heavy mark, or an unfinished fill?
        return "uncertain", C.HEAVY_UNCLEAR_CONFIDENCE
    if area >= C.MARK_MIN_AREA_MM2 or coverage >= C.MARK_MIN_COVERAGE:
        return "marked", min(1.0, C.MARK_BASE_CONFIDENCE + area / (C.MARK_SURE_AREA_MULTIPLE * C.MARK_MIN_AREA_MM2))
    if faint_area >= C.FAINT_MARK_MIN_AREA_MM2:
        return "marked", C.PENCIL_MARK_CONFIDENCE  # pencil: little reaches full darkness, but plenty of light strokes
    if dot_mm2 >= C.DOT_MIN_CORE_MM2:
        return "marked", C.DOT_MARK_CONFIDENCE  # a small dot: solid where a stray line or scanner noise is not
    if light_stroke(area, faint_area, largest_mm2, stroke_coherence):
        return "marked", C.LIGHT_STROKE_CONFIDENCE
    if trail(faint_area, pieces, largest_mm2):
        return "marked", C.TRAIL_CONFIDENCE
    if area <= C.EMPTY_MAX_AREA_MM2 and coverage <= C.EMPTY_MAX_COVERAGE and faint_area <= C.FAINT_EMPTY_MAX_AREA_MM2:
        specks = (pieces <= C.SPECK_MAX_PIECES and largest_mm2 <= C.SPECK_MAX_MM2
                  and faint_area <= C.SPECKS_MAX_TOTAL_MM2)  # dust or toner: a person sees an empty box
        if not specks and ((coverage - floor) * inner_area_mm2 >= C.TRACE_MIN_AREA_MM2
                           or (faint - faint_floor) * inner_area_mm2 >= C.TRACE_FAINT_MIN_AREA_MM2):
            return "uncertain", C.TRACE_UNCLEAR_CONFIDENCE
        return "empty", min(1.0, 1.0 - area / max(C.EMPTY_MAX_AREA_MM2, 1e-6) * C.EMPTY_CONFIDENCE_DROP)
    return "uncertain", C.UNCLEAR_CONFIDENCE


def light_stroke(area_mm2: float, faint_area_mm2: float, largest_mm2: float, stroke_coherence: float) -> bool:
    """A small light tick, too little ink for a pencil mark by area: a person reads it at a glance, since its
    light ink is one unbroken stroke (dust and toner are specks; a 1-bit scan's trail of dots is `trail`'s)
    with enough dark ink in it to show its strokes running two ways, as a tick's or a cross's do (a straight
    stray line runs one way and is asked about)."""
    return (faint_area_mm2 >= C.LIGHT_STROKE_MIN_FAINT_MM2 and largest_mm2 >= C.LIGHT_STROKE_MIN_PIECE_MM2
            and area_mm2 >= C.LIGHT_STROKE_MIN_INK_MM2 and stroke_coherence < C.LIGHT_STROKE_MAX_COHERENCE)


def trail(faint_area_mm2: float, pieces: int, largest_mm2: float) -> bool:
    """What a black-and-white scan leaves of a light tick: a trail of many small dots (dust and toner leave one
    to three), with enough light ink in all that a person sees the tick in them."""
    return (pieces >= C.TRAIL_MIN_PIECES and faint_area_mm2 >= C.TRAIL_MIN_FAINT_MM2
            and largest_mm2 <= C.TRAIL_MAX_DOT_MM2)


def _light_mark(box: BoxReading) -> bool:
    """Read as a mark only as a small light stroke (`light_stroke`) or a trail of dots (`trail`): beside a
    clear mark in the same row, a brush of the pencil or a mark rubbed out, as `_stray` judges, not a second
    answer; and still a page-level sign that lighter marks may have been lost (`suspect_lost_marks`)."""
    m = box.measures
    if box.state != "marked" or m is None or m.coverage >= C.MARK_MIN_COVERAGE:
        return False
    area, faint_area = m.coverage * m.inner_mm2, m.faint * m.inner_mm2
    return (area < C.MARK_MIN_AREA_MM2 and faint_area < C.FAINT_MARK_MIN_AREA_MM2 and m.dot_mm2 < C.DOT_MIN_CORE_MM2
            and (light_stroke(area, faint_area, m.largest_mm2, m.coherence)
                 or trail(faint_area, m.pieces, m.largest_mm2)))


def gated(m: BoxMeasures) -> BoxMeasures:
    """The measures that count under today's thresholds: corners and solidity only with enough ink for a
    mark, a dot's core only with too little, ninths only with plenty of light ink, stroke direction and
    passes only over most of the box.  (Measured always, counted here: see `measure_box`.)"""
    enough = m.coverage >= C.MARK_MIN_COVERAGE
    cells = m.cells if m.faint >= C.SCRIBBLE_FILL_MIN_COVERAGE else 0
    dense = cells >= C.SCRIBBLE_PART_MIN_CELLS
    dot = m.dot_mm2 if not enough and m.faint * m.cut_mm2 >= C.DOT_MIN_CORE_MM2 else 0.0
    return replace(m, corners=m.corners if enough else 0, solid=m.solid if m.coverage > C.MARK_MIN_COVERAGE else 0.0,
                   dot_mm2=dot, cells=cells, coherence=m.coherence if dense else 0.0,
                   passes=m.passes if dense else 0.0, bridged_passes=m.bridged_passes if dense else 0.0)


def classify_measures(m: BoxMeasures) -> tuple[BoxState, float]:
    """`classify` from a box's measures: what scanning does, and what `reclassify` does again."""
    g = gated(m)
    return classify(g.coverage, g.faint, g.solid, g.inner_mm2, g.floor, g.corners, g.dot_mm2, g.cells,
                    g.coherence, g.passes, g.faint_floor, g.open_gap, g.bridged_passes, g.pieces, g.largest_mm2,
                    g.bridged_solid, m.coherence)


def decision_margin(m: BoxMeasures) -> float:
    """How close a box came to another decision: the smallest distance, as a log ratio (0 = on the line,
    0.1 = about 10 % away), of its main measures from the thresholds that part one state from another.
    The gallery shows the closest calls first, which is where a threshold is judged by eye."""
    m = gated(m)
    area, faint_area = m.coverage * m.inner_mm2, m.faint * m.inner_mm2
    pairs = ((m.coverage, C.EMPTY_MAX_COVERAGE), (m.coverage, C.MARK_MIN_COVERAGE),
             (m.coverage, C.FILLED_MIN_COVERAGE), (area, C.MARK_MIN_AREA_MM2), (area, C.EMPTY_MAX_AREA_MM2),
             (faint_area, C.FAINT_MARK_MIN_AREA_MM2), (faint_area, C.FAINT_EMPTY_MAX_AREA_MM2),
             (m.solid, C.SOLID_STROKES_MAX), (m.dot_mm2, C.DOT_MIN_CORE_MM2),
             ((m.coverage - m.floor) * m.inner_mm2, C.TRACE_MIN_AREA_MM2),
             (faint_area, C.LIGHT_STROKE_MIN_FAINT_MM2), (m.largest_mm2, C.LIGHT_STROKE_MIN_PIECE_MM2),
             (faint_area, C.TRAIL_MIN_FAINT_MM2), (float(m.pieces), float(C.TRAIL_MIN_PIECES)))
    tiny = 1e-4
    return float(min(abs(np.log((max(v, 0.0) + tiny) / (t + tiny))) for v, t in pairs))


def reclassify_box(box: BoxReading) -> BoxReading:
    """The box decided again from its measures under today's thresholds (unchanged without measures)."""
    if box.measures is None:
        return box
    return _decided(box, box.measures)


def _decided(box: BoxReading, m: BoxMeasures) -> BoxReading:
    """`box` with its decision, and the gated figures `decide_item` reads, from its measures."""
    state, confidence = classify_measures(m)
    g = gated(m)
    return replace(box, state=state, confidence=round(confidence, 3), solid=round(g.solid, 4), corners=g.corners,
                   cells=g.cells, coherence=round(g.coherence, 2), measures=m)


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
        readings.append(_decided(shown, kept))
    return readings, dark


def decide_page(boxes: Sequence[BoxReading], crop: Callable[[str], bytes], poor_fit: str, bitonal: bool
                ) -> tuple[list[ItemReading], bool]:
    """Every item of a page from its boxes (in layout order), and whether marks look lost in scanning.

    The one place a page's answers are decided: by the reader after measuring, and by `reclassify` from the
    ledger's stored measures, so both give the same answers.  `poor_fit` (the registration's misfit, in plain
    words; '' when the page fits) sends every answer to a person; `crop` gives an item's evidence PNG."""
    items: list[ItemReading] = []
    for item_id, group in groupby(boxes, key=lambda b: b.item):
        reading = decide_item(item_id, list(group), crop(item_id))
        if poor_fit:
            reading = ItemReading(item_id, reading.value, "flagged", FlagReason.POOR_FIT, poor_fit,
                                  C.POOR_FIT_CONFIDENCE, reading.crop_png)
        items.append(reading)
    return suspect_lost_marks(items, list(boxes), bitonal)


def row_evidence_rect(row: Rect) -> Rect:
    """The part of the page a row's evidence crop shows: the row, and the band under its boxes that
    `measure_beside` watches, so a person sees the mark at a box's lower edge that sent the row to them."""
    return Rect(row.x, row.y, row.w, row.h + C.mm(C.BOX_HALO_GAP_MM + C.BESIDE_BELOW_MM))


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


def boxes_confirm_fit(boxes: Sequence[BoxReading]) -> bool:
    """The printed squares were found where the fit put them: the fit is right where it matters."""
    if not boxes:
        return False
    found = [b for b in boxes if b.match >= C.BOX_CONFIRM_MIN_SCORE]
    if len(found) < C.BOX_CONFIRM_MIN_SHARE * len(boxes):
        return False
    offsets = sorted(float(np.hypot(b.dx_mm, b.dy_mm)) for b in found)
    return offsets[len(offsets) // 2] <= C.BOX_CONFIRM_MEDIAN_MM and offsets[-1] <= C.BOX_CONFIRM_MAX_MM


def outside_mark(boxes: Sequence[BoxReading], answer: BoxReading | None) -> str:
    """A mark outside every box that a person would not read as one answer, named in plain words; '' if none.

    With a clear answer, only ink beside *another* box counts (a big tick spills beside its own box); without
    one, any ink beside a box, between two boxes or round a number is a mark that missed the boxes."""
    for b in boxes:
        if (answer is not None and b.value == answer.value) or b.state == "filled" or _scribbled_over(b):
            continue  # a big mark, a fill or a scribble runs past its own box's edges (the last is asked about)
        if b.beside_mm2 >= C.BESIDE_MIN_MM2:
            nxt = next((o.value for o in boxes if o.value > b.value), None)
            if nxt is not None and b.beside_at > C.BETWEEN_AT[1]:
                return f"a mark round or beside the number {nxt} instead of in its box"
            if nxt is not None and b.beside_at >= C.BETWEEN_AT[0]:
                return f"a mark between boxes {b.value} and {nxt}, in neither box"
            return f"a mark beside box {b.value}, not in it"
        if b.left_mm2 >= C.NUMBER_CIRCLE_MIN_MM2:
            return f"a mark round or beside the number {b.value} instead of in its box"
    return ""


def _stray(box: BoxReading, mark: BoxReading) -> bool:
    """A brush of the pen in a neighbouring box, not a second answer: little ink beside a mark that is clear by
    itself.  Judged on light ink as well as dark, since pencil through a black-and-white scan keeps only broken
    traces of both marks: a faded mark beside another faded mark is as likely a second answer as a brush."""
    if mark.coverage < C.MARK_MIN_COVERAGE or box.coverage >= C.MARK_MIN_COVERAGE:
        return False
    return (box.coverage < C.STRAY_RATIO * mark.coverage
            and max(box.faint, box.coverage) < C.STRAY_RATIO * max(mark.faint, mark.coverage))


def _scribbled_over(box: BoxReading) -> bool:
    """Unclear because scribbled over most of the box (see `classify`): strokes reaching nearly every ninth."""
    return (box.state == "uncertain" and box.cells >= C.SCRIBBLE_PART_MIN_CELLS
            and box.coverage >= C.SCRIBBLE_FILL_MIN_COVERAGE and box.solid < C.SOLID_STROKES_MAX)


def _cancelled_beside(box: BoxReading, marked: Sequence[BoxReading]) -> bool:
    """A box scribbled over most of the way beside one clear mark in the row: crossed out to cancel, as people
    cancel a box and mark another (queXF's real returns).  Alone, the same scribble could be the answer and is
    asked about; beside a sure mark it is not a second answer a person reads."""
    return (len(marked) == 1 and marked[0].confidence >= C.CANCEL_BESIDE_MIN_MARK_CONFIDENCE
            and _scribbled_over(box))


def _unclear_detail(unclear: Sequence[BoxReading], summary: str) -> str:
    """Why a person is asked, in plain words: a box scribbled over most of the way is named as such."""
    values = ", ".join(str(b.value) for b in unclear)
    if all(_scribbled_over(b) for b in unclear):
        return f"box {values} scribbled over: an answer, or crossed out to cancel? ({summary})"
    return f"unclear mark in box {values} ({summary})"


def decide_item(item: str, boxes: Sequence[BoxReading], crop_png: bytes = b"") -> ItemReading:
    """One item's answer from its boxes: one mark is the answer, anything unclear goes to a person."""
    marked = [b for b in boxes if b.state == "marked"]
    clear = [b for b in marked if not _light_mark(b)]
    if len(clear) == 1 and len(marked) > 1 and all(_stray(b, clear[0]) for b in marked if b is not clear[0]):
        brushed = [b for b in marked if b is not clear[0]]
        marked = clear  # a light stroke beside a clear mark: a brush or a mark rubbed out, not a second answer
    else:
        brushed = []
    filled = [b for b in boxes if b.state == "filled"]
    unclear = [b for b in boxes if b.state == "uncertain"]
    if len(marked) == 1 and unclear and all(_stray(b, marked[0]) for b in unclear):
        unclear = []
    scribbled = [b for b in unclear if _cancelled_beside(b, marked)]
    if scribbled and len(scribbled) == len(unclear):
        unclear = []  # a clear mark, and a box scribbled out beside it: the person changed their mind
    summary = ", ".join(f"{b.value}:{b.state}" for b in boxes if b.state != "empty") or "all empty"
    if len(marked) >= 2:
        shown = [str(b.value) for b in marked]
        values = ", ".join(shown[:-1]) + " and " + shown[-1]
        both = "both" if len(shown) == 2 else "all"
        return ItemReading(item, None, "flagged", FlagReason.MULTIPLE, f"boxes {values} are {both} marked",
                           C.ITEM_MULTIPLE_CONFIDENCE, crop_png)
    outside = outside_mark(boxes, marked[0] if len(marked) == 1 else None)
    if outside:
        best = marked[0].value if marked else None
        also = f" (box {best} is marked too)" if best is not None else ""
        return ItemReading(item, best, "flagged", FlagReason.OUTSIDE, outside + also, C.ITEM_OUTSIDE_CONFIDENCE,
                           crop_png)
    if unclear:
        best = marked[0].value if marked else None
        return ItemReading(item, best, "flagged", FlagReason.UNCERTAIN, _unclear_detail(unclear, summary),
                           C.ITEM_UNCLEAR_CONFIDENCE, crop_png)
    if len(marked) == 1:
        note = f"box {filled[0].value} filled in to cancel" if filled else ""
        if scribbled:
            note = (f"box {', '.join(str(b.value) for b in scribbled)} scribbled over, taken as crossed out to "
                    f"cancel beside the clear mark in box {marked[0].value}")
        if brushed:
            note = (f"light ink in box {', '.join(str(b.value) for b in brushed)} taken as a brush of the pen "
                    f"(or a mark rubbed out) beside the clear mark in box {marked[0].value}")
        return ItemReading(item, marked[0].value, "answered", None, note, marked[0].confidence, crop_png)
    if filled:
        values = ", ".join(str(b.value) for b in filled)
        return ItemReading(item, None, "flagged", FlagReason.CANCELLED,
                           f"box {values} filled in (cancelled) and no other box marked", C.ITEM_CANCELLED_CONFIDENCE,
                           crop_png)
    return ItemReading(item, None, "blank", None, "", min(b.confidence for b in boxes) if boxes else 1.0, crop_png)


def looks_bitonal(image: np.ndarray) -> bool:
    """A black-and-white scan: few grey levels in the page (reducing a 1-bit page averages a handful of
    pixels, so only a few dozen levels appear; a grey scan shows nearly all 256).  A sample is enough."""
    levels = np.bincount(image[::5, ::5].ravel(), minlength=256)[32:224]  # mid greys: ink edges, not paper noise
    return int(np.count_nonzero(levels)) <= C.BITONAL_MAX_GREY_LEVELS


def suspect_lost_marks(items: list[ItemReading], boxes: list[BoxReading], bitonal: bool = False
                       ) -> tuple[list[ItemReading], bool]:
    """A blank row is flagged only on evidence in that row - or on a page-level sign that marks were lost:
    faint traces (or small light ticks read as marks, `_light_mark`) in several rows, or in any row of a 1-bit
    scan (which erases light pencil whole), or no answer anywhere on the page (on a grey scan with no trace at
    all that says 'left out', not 'lost', and the page's comments are not doubted for it).  Returns the items,
    blank rows flagged when the sign is there, and whether marks look lost."""
    # a small light tick or a trail of dots read as a mark is still a sign that light marks are on this page:
    # on a black-and-white scan a lighter one may have vanished whole, so blank rows stay asked about
    trace_rows = {b.item for b in boxes
                  if (b.state == "uncertain" and b.coverage < C.MARK_MIN_COVERAGE) or _light_mark(b)}
    if len(trace_rows) >= (1 if bitonal else C.LOST_MARKS_MIN_TRACE_ROWS):
        detail = ("nothing clear in this row, but other rows on this page show only faint traces"
                  + (" in a black-and-white scan" if bitonal else "")
                  + ": a light mark may have been lost in scanning - please check the paper form")
    elif items and all(i.state == "blank" for i in items) and bitonal:
        detail = ("no answer anywhere on this page: please check the paper form (faint pencil can vanish in a "
                  "black-and-white scan)")
    elif items and all(i.state == "blank" for i in items):
        # a grey scan keeps even light pencil as a trace, and there is none: most likely the person left this
        # page out (the last statements of a form, say).  Still asked, with that reason; the page's blank
        # comment fields are not, since nothing on the page suggests ink was lost
        detail = ("no answer anywhere on this page and no trace of a mark: the person may have left this page "
                  "out - please check the paper form")
        return [ItemReading(i.item, None, "flagged", FlagReason.PAGE_BLANK, detail, C.LOST_MARK_CONFIDENCE,
                            i.crop_png) for i in items], False
    else:
        return (thinned_rows(items, boxes) if bitonal else items), False
    return [ItemReading(i.item, None, "flagged", FlagReason.LOST_MARKS, detail, C.LOST_MARK_CONFIDENCE, i.crop_png)
            if i.state == "blank" else i for i in items], True


def _specks(box: BoxReading) -> int:
    """Separate pieces of light ink in a box that reads empty (0 without stored measures)."""
    return box.measures.pieces if box.state == "empty" and box.measures is not None else 0


def thinned_rows(items: list[ItemReading], boxes: list[BoxReading]) -> list[ItemReading]:
    """A black-and-white scan thins a light mark to a few dots that look like dust: a blank row is asked about
    when one of its boxes holds more specks than dust leaves (SPECK_MAX_PIECES), or when it is the page's only
    blank row among answered ones and holds any speck at all.  The page's comments are not doubted for it."""
    specks: dict[str, list[int]] = {}
    for b in boxes:
        specks.setdefault(b.item, []).append(_specks(b))
    blank = [i for i in items if i.state == "blank"]
    answered = sum(1 for i in items if i.state == "answered")
    alone = len(blank) == 1 and answered >= C.THINNED_MIN_ANSWERED_ROWS
    out = []
    for i in items:
        row = specks.get(i.item, [])
        if i.state == "blank" and row and (max(row) > C.SPECK_MAX_PIECES or (alone and any(row))):
            many = max(row) > C.SPECK_MAX_PIECES
            why = ("more specks in a box than dust leaves" if many
                   else "the only blank row on this page, with specks in it")
            detail = (f"nothing clear in this row, but {why} in a black-and-white scan: a light mark may have "
                      "been thinned away to dots - please check the paper form")
            i = ItemReading(i.item, None, "flagged", FlagReason.THINNED, detail, C.LOST_MARK_CONFIDENCE, i.crop_png)
        out.append(i)
    return out
