"""Finding what is printed on a page: answer boxes, text areas, corner marks and the words around them.

Answer boxes are found as the *paper they enclose*: a white region walled in by a thin outline, square or
round, 2-14 mm across.  Looking at the enclosed paper rather than the outline makes the search indifferent
to what touches the outline from outside (dotted leaders, arrows, connecting lines, a table's grid).  A row
of boxes that share their walls is a hand-printed character field, not a set of answers.

The same measurements serve `adopt` on a blank and `scan` on a return (where the words and boxes found are
matched against the blank's anchors), so both see the page the same way.  Everything is in pt from the
image's top-left corner; the image's own dpi converts.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline import constants as C

DETECT_DPI = 200.0  # boxes of 3 mm are 24 px: enough to tell a square from a circle
INK_OF_PAPER = 0.6  # darker than this share of the paper level is ink
BOX_INNER_MIN_MM = 2.2  # paper inside the smallest box (3 mm outside, thin line)
BOX_INNER_MAX_MM = 14.0
BOX_MAX_ASPECT = 1.35
SQUARE_MIN_FILL = 0.86  # enclosed paper's share of its bounding box: a square
ROUND_FILL = (0.68, 0.86)  # ... a circle or ellipse (pi/4 = 0.785)
ROUND_MAX_ASPECT = 1.2
OUTLINE_MAX_MM = 0.9  # a box's wall is a thin line, not a letter's thick stroke
OUTLINE_MIN_CLOSED = 0.8  # share of the wall's probes that find ink right outside the enclosed paper
FIELD_MIN_W_MM = 25.0  # enclosed paper this wide (and FIELD_MIN_H_MM high) is a framed text area
FIELD_MIN_H_MM = 5.0
FIELD_MIN_FILL = 0.9
COMB_GAP_RATIO = 0.45  # neighbouring boxes closer than this share of their size share a wall: a comb field
WORD_JOIN_MM = (1.6, 0.5)  # letters closer than this join into one word-shaped anchor
WORD_MM = ((1.2, 90.0), (1.0, 14.0))  # anchor width and height limits
LINE_GAP_MM = 1.3  # gaps this long in a scanned line are closed before looking for enclosed paper
MARK_CORNER_REACH_MM = 40.0  # corner marks sit this close to a corner of the page
MARK_MIN_MM = 4.0  # a solid square mark at least this big
MARK_L_MIN_MM = 9.0  # an L-shaped mark's arms at least this long (a heading's capital is smaller)


@dataclass(frozen=True)
class Found:
    """One printed thing, in pt from the page's top-left corner (outer edge for boxes)."""

    kind: str  # box | field | comb | mark | text
    x: float
    y: float
    w: float
    h: float
    shape: str = "square"
    inner_ink: float = 0.0  # ink inside a box (a printed digit in a bubble; marks on a return)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def ink_mask(image: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The page reduced to DETECT_DPI as a 0/1 ink mask, and its pixels per mm."""
    # threshold first, then reduce: a hairline 1 px wide at 300 dpi must survive the reduction
    paper = float(np.percentile(image, 90))
    full = (image < paper * INK_OF_PAPER).astype(np.float32)
    factor = DETECT_DPI / dpi
    if abs(factor - 1) < 0.02:
        return full.astype(np.uint8), DETECT_DPI / 25.4
    small = cv2.resize(full, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1
                       else cv2.INTER_LINEAR)
    mask = (small >= 0.3).astype(np.uint8)
    return mask, DETECT_DPI / 25.4


def _wall_thickness(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int, reach: int) -> tuple[float, float]:
    """How thick the wall around an enclosed region is, and the share of probes that meet ink at once."""
    h, w = mask.shape
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    probes = []
    for (px, py, dx, dy) in ((x0 - 1, cy, -1, 0), (x1, cy, 1, 0), (cx, y0 - 1, 0, -1), (cx, y1, 0, 1),
                             ((x0 + cx) // 2, y0 - 1, 0, -1), ((x0 + cx) // 2, y1, 0, 1),
                             (x0 - 1, (y0 + cy) // 2, -1, 0), (x1, (y0 + cy) // 2, 1, 0)):
        run = 0
        met = False
        for step in range(reach + 2):
            x, y = px + dx * step, py + dy * step
            if not (0 <= x < w and 0 <= y < h):
                break
            if mask[y, x]:
                met = met or step <= 2
                run += 1
            elif run:
                break
        probes.append((run, met))
    runs = sorted(r for r, _ in probes)
    return float(runs[len(runs) // 2]), sum(1 for _, m in probes if m) / len(probes)


def find_enclosures(mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """Boxes (square or round) and framed text areas, found by the paper they enclose."""
    # a thin line through a 1-bit scan breaks into dashes: close gaps along lines (not across them)
    k = max(2, round(LINE_GAP_MM * px_per_mm))
    closed = np.maximum(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, 1), np.uint8)),
                        cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8)))
    paper = (1 - closed).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    h, w = mask.shape
    pt_per_px = C.PT_PER_MM / px_per_mm
    found: list[Found] = []
    lo, hi = BOX_INNER_MIN_MM * px_per_mm, BOX_INNER_MAX_MM * px_per_mm
    for n in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[n])
        if x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            continue  # the page's own background
        is_field = bw >= FIELD_MIN_W_MM * px_per_mm and bh >= FIELD_MIN_H_MM * px_per_mm
        if not is_field and not (lo <= bw <= hi and lo <= bh <= hi and max(bw, bh) / min(bw, bh) <= BOX_MAX_ASPECT):
            continue
        region = (labels[y:y + bh, x:x + bw] == n).astype(np.uint8)
        # paper plus whatever ink sits inside it (a printed digit, a mark): the whole enclosed shape
        outside = np.pad(1 - region, 1, constant_values=1)
        cv2.floodFill(outside, None, (0, 0), 2)
        enclosed = int(np.count_nonzero(outside == 1))
        filled_area = area + enclosed
        fill = filled_area / float(bw * bh)
        inner_ink = enclosed / max(1.0, float(filled_area))
        thickness, closed_share = _wall_thickness(closed, x, y, x + bw, y + bh,
                                                  int(OUTLINE_MAX_MM * px_per_mm * 2))
        if closed_share < OUTLINE_MIN_CLOSED:
            continue
        line = max(1.0, thickness)
        ox, oy, ow, oh = (x - line) * pt_per_px, (y - line) * pt_per_px, (bw + 2 * line) * pt_per_px, \
            (bh + 2 * line) * pt_per_px
        if is_field:
            if fill >= FIELD_MIN_FILL and inner_ink < 0.05:
                found.append(Found("field", ox, oy, ow, oh))
            continue
        if thickness > OUTLINE_MAX_MM * px_per_mm or inner_ink > 0.35:
            continue
        if fill >= SQUARE_MIN_FILL:
            found.append(Found("box", ox, oy, ow, oh, "square", round(inner_ink, 3)))
        elif ROUND_FILL[0] <= fill < ROUND_FILL[1] and max(bw, bh) / min(bw, bh) <= ROUND_MAX_ASPECT:
            found.append(Found("box", ox, oy, ow, oh, "round", round(inner_ink, 3)))
    return _split_combs(found)


def _split_combs(found: list[Found]) -> list[Found]:
    """Runs of three or more boxes that share walls are one character field ('comb'), not answers."""
    boxes = [f for f in found if f.kind == "box"]
    others = [f for f in found if f.kind != "box"]
    used: set[int] = set()
    rows: dict[int, list[int]] = {}
    for i, b in enumerate(boxes):
        rows.setdefault(i, [i])
        for j, o in enumerate(boxes):
            if j <= i or abs(b.cy - o.cy) > 0.3 * b.h or abs(b.h - o.h) > 0.3 * b.h:
                continue
            gap = max(o.x - b.x - b.w, b.x - o.x - o.w)
            if gap < COMB_GAP_RATIO * min(b.w, o.w):
                rows[i].append(j)
    # join neighbours transitively
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, members in rows.items():
        for j in members:
            parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    result = list(others)
    for members in groups.values():
        if len(members) >= 3:
            xs = [boxes[i] for i in members]
            x0, y0 = min(b.x for b in xs), min(b.y for b in xs)
            x1, y1 = max(b.x + b.w for b in xs), max(b.y + b.h for b in xs)
            result.append(Found("comb", x0, y0, x1 - x0, y1 - y0))
            used.update(members)
    result.extend(b for i, b in enumerate(boxes) if i not in used)
    return result


def find_words(mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """Word-sized blobs of print: letters joined into words.  Printed content to align a return by."""
    kx = max(1, round(WORD_JOIN_MM[0] * px_per_mm))
    ky = max(1, round(WORD_JOIN_MM[1] * px_per_mm))
    joined = cv2.dilate(mask, np.ones((ky, kx), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    pt_per_px = C.PT_PER_MM / px_per_mm
    out = []
    (wmin, wmax), (hmin, hmax) = WORD_MM
    for n in range(1, count):
        x, y, bw, bh, _ = (int(v) for v in stats[n])
        # undo the dilation's growth so the size matches the print
        bw, bh = bw - kx + 1, bh - ky + 1
        x, y = x + kx // 2, y + ky // 2
        if wmin * px_per_mm <= bw <= wmax * px_per_mm and hmin * px_per_mm <= bh <= hmax * px_per_mm:
            out.append(Found("text", x * pt_per_px, y * pt_per_px, bw * pt_per_px, bh * pt_per_px))
    return out


def find_corner_marks(mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """Solid squares or L-shaped marks near the page's corners (many forms print them for scanning)."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    h, w = mask.shape
    reach = MARK_CORNER_REACH_MM * px_per_mm
    pt_per_px = C.PT_PER_MM / px_per_mm
    out = []
    for n in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[n])
        if min(bw, bh) < MARK_MIN_MM * px_per_mm or max(bw, bh) > 40 * px_per_mm:
            continue
        near_x = x < reach or w - (x + bw) < reach
        near_y = y < reach or h - (y + bh) < reach
        if not (near_x and near_y) or x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            continue
        fill = area / float(bw * bh)
        solid = fill >= 0.85 and max(bw, bh) / min(bw, bh) <= 1.3
        corner = fill <= 0.35 and min(bw, bh) >= MARK_L_MIN_MM * px_per_mm and 0.5 <= bw / bh <= 2.0
        if solid or corner:
            out.append(Found("mark", x * pt_per_px, y * pt_per_px, bw * pt_per_px, bh * pt_per_px))
    return out


def find_all(image: np.ndarray, dpi: float) -> tuple[list[Found], list[Found]]:
    """(boxes, fields, combs and marks), and the word-sized anchors of the page."""
    mask, px_per_mm = ink_mask(image, dpi)
    return find_enclosures(mask, px_per_mm) + find_corner_marks(mask, px_per_mm), find_words(mask, px_per_mm)
