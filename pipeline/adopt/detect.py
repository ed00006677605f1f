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
from itertools import pairwise

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.adopted import IdStrip


@dataclass(frozen=True)
class Found:
    """One printed thing, in pt from the page's top-left corner (outer edge for boxes)."""

    kind: str  # box | field | comb | mark | text
    x: float
    y: float
    w: float
    h: float
    shape: str = "square"
    inner_ink: float = 0.0
    line: float = 0.0  # a box's wall, pt  # ink inside a box (a printed digit in a bubble; marks on a return)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def components(mask: np.ndarray, connectivity: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components with their stats (count, labels, stats), as `cv2.connectedComponentsWithStats`.

    Labelled 16-bit first: OpenCV then takes some three times less time over a page (the same labels and
    stats); a page with more than 65,535 pieces (a speckled 1-bit scan) overflows that, and is labelled again
    32-bit."""
    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=connectivity,
                                                                   ltype=cv2.CV_16U)
    except cv2.error:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=connectivity)
    return int(count), labels, stats


def percentile_90(image: np.ndarray) -> float:
    """`np.percentile(image, 90)` of an 8-bit picture, from its histogram: the same number (the two values
    either side of the 90 % rank, interpolated as numpy does) without sorting two million pixels."""
    if image.dtype != np.uint8:
        return float(np.percentile(image, 90))
    counts = np.cumsum(np.bincount(image.ravel(), minlength=256))
    q = 90 / 100
    rank = (image.size - 1) * q  # numpy's "linear" rank, computed as numpy computes it
    low = int(np.floor(rank))
    gamma = rank - low
    a = float(np.searchsorted(counts, low, side="right"))  # the value at sorted position `low`
    b = float(np.searchsorted(counts, min(low + 1, image.size - 1), side="right"))
    return b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma  # numpy's lerp


def ink_mask(image: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The page reduced to C.ADOPT_DETECT_DPI as a 0/1 ink mask, and its pixels per mm."""
    # threshold first, then reduce: a hairline 1 px wide at 300 dpi must survive the reduction
    paper = percentile_90(image)
    full = (image < paper * C.ADOPT_INK_OF_PAPER).astype(np.float32)
    factor = C.ADOPT_DETECT_DPI / dpi
    if abs(factor - 1) < 0.02:
        return full.astype(np.uint8), C.ADOPT_DETECT_DPI / 25.4
    small = cv2.resize(full, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1
                       else cv2.INTER_LINEAR)
    mask = (small >= 0.3).astype(np.uint8)
    return mask, C.ADOPT_DETECT_DPI / 25.4


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


def _corner_ink(mask: np.ndarray, x: int, y: int, w: int, h: int, line: float) -> float:
    """Share of the four corners of a box's outer edge that are ink (the hole is x, y, w, h)."""
    t = max(1, round(line))
    hits = []
    for cx, cy in ((x - t, y - t), (x + w - 1, y - t), (x - t, y + h - 1), (x + w - 1, y + h - 1)):
        patch = mask[max(0, cy):cy + t + 1, max(0, cx):cx + t + 1]
        hits.append(float(patch.mean()) if patch.size else 0.0)
    return sum(1 for v in hits if v >= 0.3) / 4


def find_enclosures(mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """Boxes (square or round) and framed text areas, found by the paper they enclose.

    Twice: with gaps along lines closed (a thin line through a 1-bit scan breaks into dashes), and as
    printed (closing would join a letter printed inside a small box to its walls, as AMC prints A B C D in
    its boxes, and split the box's paper); a box found both ways is kept once."""
    k = max(2, round(C.ADOPT_LINE_GAP_MM * px_per_mm))
    closed = np.maximum(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, 1), np.uint8)),
                        cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8)))
    found = _enclosures(mask, closed, px_per_mm)
    for extra in _enclosures(mask, mask, px_per_mm):
        if extra.kind == "box" and not any(abs(f.cx - extra.cx) < f.w / 2 and abs(f.cy - extra.cy) < f.h / 2
                                           for f in found):
            found.append(extra)
    return _split_combs(found)


def _enclosures(mask: np.ndarray, closed: np.ndarray, px_per_mm: float) -> list[Found]:
    paper = (1 - closed).astype(np.uint8)
    count, labels, stats = components(paper, 4)
    h, w = mask.shape
    pt_per_px = C.PT_PER_MM / px_per_mm
    found: list[Found] = []
    lo, hi = C.ADOPT_BOX_INNER_MIN_MM * px_per_mm, C.ADOPT_BOX_INNER_MAX_MM * px_per_mm
    for n in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[n])
        if x == 0 or y == 0 or x + bw >= w or y + bh >= h:
            continue  # the page's own background
        is_field = bw >= C.ADOPT_FIELD_MIN_W_MM * px_per_mm and bh >= C.ADOPT_FIELD_MIN_H_MM * px_per_mm
        aspect = max(bw, bh) / max(1, min(bw, bh))
        if not is_field and not (lo <= bw <= hi and lo <= bh <= hi and aspect <= C.ADOPT_BOX_MAX_ASPECT):
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
                                                  int(C.ADOPT_OUTLINE_MAX_MM * px_per_mm * 2))
        if closed_share < C.ADOPT_OUTLINE_MIN_CLOSED:
            continue
        line = max(1.0, thickness)
        ox, oy, ow, oh = (x - line) * pt_per_px, (y - line) * pt_per_px, (bw + 2 * line) * pt_per_px, \
            (bh + 2 * line) * pt_per_px
        if is_field:
            if fill >= C.ADOPT_FIELD_MIN_FILL and inner_ink < 0.05:
                found.append(Found("field", ox, oy, ow, oh))
            continue
        if thickness > C.ADOPT_OUTLINE_MAX_MM * px_per_mm or inner_ink > C.ADOPT_BOX_MAX_INNER_INK:
            continue
        # a square's outline has ink in the corners of its bounding box, a circle's leaves them paper
        square_corners = _corner_ink(mask, x, y, bw, bh, line) >= 0.5
        if fill >= C.ADOPT_SQUARE_MIN_FILL and square_corners:
            found.append(Found("box", ox, oy, ow, oh, "square", round(inner_ink, 3), line * pt_per_px))
        elif C.ADOPT_ROUND_FILL[0] <= fill and not square_corners and aspect <= C.ADOPT_ROUND_MAX_ASPECT:
            found.append(Found("box", ox, oy, ow, oh, "round", round(inner_ink, 3), line * pt_per_px))
    return found


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
            if gap < C.ADOPT_COMB_GAP_RATIO * min(b.w, o.w):
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
    grid = _code_grid_members(boxes)
    for members in groups.values():
        if len(members) >= 3 and not any(id(boxes[i]) in grid for i in members):
            xs = [boxes[i] for i in members]
            x0, y0 = min(b.x for b in xs), min(b.y for b in xs)
            x1, y1 = max(b.x + b.w for b in xs), max(b.y + b.h for b in xs)
            result.append(Found("comb", x0, y0, x1 - x0, y1 - y0))
            used.update(members)
    result.extend(b for i, b in enumerate(boxes) if i not in used)
    return result


def _code_grid_members(boxes: list[Found]) -> set[int]:
    """The boxes of a code grid (a student number: ten or more stacked rows of boxes in the same columns, the
    digits 0-9 printed in them): answers to choose from, one per column, not a comb to write characters in,
    however close the columns are printed."""
    rows: list[list[Found]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        if rows and abs(box.cy - rows[-1][0].cy) <= 0.3 * box.h and abs(box.h - rows[-1][0].h) <= 0.3 * box.h:
            rows[-1].append(box)
        else:
            rows.append([box])
    ordered: list[list[Found]] = []
    for row in rows:  # each row in runs of close boxes (a grid's columns are at most two boxes apart)
        row.sort(key=lambda b: b.x)
        ordered.append([row[0]])
        for a, b in pairwise(row):
            if b.x - a.x - a.w > 2 * a.w:
                ordered.append([])
            ordered[-1].append(b)
    ordered.sort(key=lambda r: (r[0].cy, r[0].x))
    members: set[int] = set()
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and len(ordered[end + 1]) == len(ordered[start]) \
                and 0 < ordered[end + 1][0].cy - ordered[end][0].cy <= C.ADOPT_CODE_GRID_PITCH * ordered[end][0].h \
                and all(abs(a.cx - b.cx) <= 0.5 * a.w for a, b in zip(ordered[start], ordered[end + 1], strict=True)):
            end += 1
        if end - start + 1 >= C.ADOPT_CODE_GRID_ROWS:
            members.update(id(b) for r in ordered[start:end + 1] for b in r)
        start = end + 1
    return members


def _solid_at(mask: np.ndarray, px_per_mm: float, x: float, y: float, w: float, h: float) -> bool:
    """The middle of the cell x, y, w, h (pt) is printed black."""
    scale = px_per_mm / C.PT_PER_MM
    height, width = mask.shape
    x0, y0 = max(0, round((x + 0.2 * w) * scale)), max(0, round((y + 0.2 * h) * scale))
    x1, y1 = min(width, round((x + 0.8 * w) * scale)), min(height, round((y + 0.8 * h) * scale))
    return x1 > x0 and y1 > y0 and float(mask[y0:y1, x0:x1].mean()) >= C.ADOPT_SOLID_CELL_INK


def _strip_cells(found: list[Found], mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """The open cells (boxes, combs) of a printed identification strip (AMC's page id: a row of touching cells,
    some printed solid black): those a solid cell of their height touches in their row, and the open cells
    beyond the strip's last solid one."""

    def touching(a: Found, b: Found) -> bool:
        return abs(a.cy - b.cy) <= 0.3 * a.h and abs(a.h - b.h) <= 0.3 * a.h \
            and max(b.x - a.x - a.w, a.x - b.x - b.w) < C.ADOPT_COMB_GAP_RATIO * a.h

    cells = [f for f in found if f.kind in ("box", "comb")]
    strip = [f for f in cells if _solid_at(mask, px_per_mm, f.x - f.h, f.y, f.h, f.h)
             or _solid_at(mask, px_per_mm, f.x + f.w, f.y, f.h, f.h)]
    grown = True
    while grown:  # the open cells beyond the strip's last solid one belong to it too
        more = [f for f in cells if not any(f is s for s in strip) and any(touching(f, s) for s in strip)]
        strip.extend(more)
        grown = bool(more)
    return strip


def _code_strip(found: list[Found], mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """An identification strip is copy evidence that differs from copy to copy, not a question nor a field:
    its open cells are dropped (`find_strips` reads it)."""
    strip = _strip_cells(found, mask, px_per_mm)
    return [f for f in found if not any(f is s for s in strip)]


def _strip_rows(strip: list[Found], mask: np.ndarray, px_per_mm: float) -> list[IdStrip]:
    """The strip's rows, each as its outer edge and its cells open or solid, left to right: the open cells
    found, the solid ones between and beyond them (a solid cell encloses no paper, so it is found by its ink)."""
    rows: list[list[Found]] = []
    for f in sorted(strip, key=lambda f: f.cy):
        if rows and abs(f.cy - rows[-1][0].cy) <= 0.3 * rows[-1][0].h:
            rows[-1].append(f)
        else:
            rows.append([f])
    out = []
    scale = px_per_mm / C.PT_PER_MM
    for row in rows:
        side = float(np.median([f.h for f in row]))  # the cells are square: a comb's height is one cell's side
        x0, x1 = min(f.x for f in row), max(f.x + f.w for f in row)
        y, h = float(np.median([f.y for f in row])), side
        pitch = _cell_pitch(mask[round((y + h / 2) * scale), max(0, round(x0 * scale)):round(x1 * scale)],
                            side * scale) / scale
        x0, x1 = _row_extent(mask, y * scale, h * scale, x0 * scale, x1 * scale)
        x0, x1 = x0 / scale, x1 / scale
        n = round((x1 - x0) / pitch)
        if n < C.ADOPT_STRIP_MIN_CELLS:
            continue
        pitch = (x1 - x0) / n  # the row's own length says it best: a step measured off by 1 % is a quarter
        # of a cell off by the 24th
        bits = "".join("1" if _solid_at(mask, px_per_mm, x0 + i * pitch, y, pitch, h) else "0" for i in range(n))
        if "1" in bits:
            out.append(IdStrip(round(x0, 1), round(y, 1), round(x1 - x0, 1), round(h, 1), bits))
    return out


def _row_extent(mask: np.ndarray, y: float, h: float, x0: float, x1: float) -> tuple[float, float]:
    """Where a strip row begins and ends, px: its top and bottom walls run unbroken along every cell, open or
    solid (a solid cell walled in by two others encloses no paper, so it is not found as a box)."""
    width = mask.shape[1]

    def band(top: float) -> np.ndarray:
        return np.asarray(mask[max(0, round(top)):max(1, round(top + 0.15 * h) + 1)].any(axis=0))

    walled = band(y) & band(y + 0.85 * h)
    walled = cv2.morphologyEx(walled.astype(np.uint8)[None, :], cv2.MORPH_CLOSE, np.ones((1, 3), np.uint8))[0] > 0
    left, right = min(width - 1, max(0, round(x0 + 0.5 * h))), min(width - 1, max(0, round(x1 - 0.5 * h)))
    if not walled[left:right + 1].all():
        return x0, x1  # the found cells' own walls are broken: keep to what was found
    while left > 0 and walled[left - 1]:
        left -= 1
    while right < width - 1 and walled[right + 1]:
        right += 1
    return float(left), float(right + 1)


def _cell_pitch(line: np.ndarray, side_px: float) -> float:
    """The step from one cell to the next along a row of touching open cells, px: the median distance between
    their walls where a straight line through the row's middle crosses them (touching cells share a wall, so
    the step is a cell's outer side less one wall)."""
    edges = np.diff(np.concatenate([[0], line.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    centres = (starts + ends - 1) / 2
    steps = np.diff(centres)
    steps = steps[(steps >= 0.6 * side_px) & (steps <= 1.2 * side_px)]
    return float(np.median(steps)) if len(steps) else side_px


def find_strips(image: np.ndarray, dpi: float) -> list[IdStrip]:
    """The page-id strip a blank prints (AMC's: two rows of cells at the top, some solid), row by row: the
    pattern that tells this copy's page from every other's (`match.match_page` reads it on returns)."""
    mask, px_per_mm = ink_mask(image, dpi)
    return _strip_rows(_strip_cells(find_enclosures(mask, px_per_mm), mask, px_per_mm), mask, px_per_mm)


def find_words(mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """Word-sized blobs of print: letters joined into words.  Printed content to align a return by."""
    kx = max(1, round(C.ADOPT_WORD_JOIN_MM[0] * px_per_mm))
    ky = max(1, round(C.ADOPT_WORD_JOIN_MM[1] * px_per_mm))
    joined = cv2.dilate(mask, np.ones((ky, kx), np.uint8))
    count, _, stats = components(joined, 8)
    pt_per_px = C.PT_PER_MM / px_per_mm
    out = []
    (wmin, wmax), (hmin, hmax) = C.ADOPT_WORD_MM
    for n in range(1, count):
        x, y, bw, bh, _ = (int(v) for v in stats[n])
        # undo the dilation's growth so the size matches the print
        bw, bh = bw - kx + 1, bh - ky + 1
        x, y = x + kx // 2, y + ky // 2
        if wmin * px_per_mm <= bw <= wmax * px_per_mm and hmin * px_per_mm <= bh <= hmax * px_per_mm:
            out.append(Found("text", x * pt_per_px, y * pt_per_px, bw * pt_per_px, bh * pt_per_px))
    return out


def find_corner_marks(mask: np.ndarray, px_per_mm: float) -> list[Found]:
    """Solid squares or L-shaped marks near the page's corners (many forms print them for scanning).

    A mark starts within the corner reach and is at most 40 mm across, so it lies wholly inside a corner
    square that much larger: only the four corner squares are labelled (a sixth of the page), pieces touching
    a square's inner edges left out (part of something larger), the marks kept in the page's reading order."""
    h, w = mask.shape
    reach = C.ADOPT_MARK_CORNER_REACH_MM * px_per_mm
    side = int(np.ceil(reach + C.ADOPT_MARK_MAX_MM * px_per_mm)) + 2
    if 2 * side >= min(h, w):  # a small picture: labelled whole
        regions = [(0, 0, w, h)]
    else:
        regions = [(x0, y0, side, side) for y0 in (0, h - side) for x0 in (0, w - side)]
    pt_per_px = C.PT_PER_MM / px_per_mm
    out = []
    for x0, y0, rw, rh in regions:
        count, labels, stats = components(np.ascontiguousarray(mask[y0:y0 + rh, x0:x0 + rw]), 8)
        for n in range(1, count):
            cx, cy, bw, bh, area = (int(v) for v in stats[n])
            inner = (x0 > 0 and cx == 0) or (y0 > 0 and cy == 0) or (x0 + rw < w and cx + bw >= rw) \
                or (y0 + rh < h and cy + bh >= rh)
            x, y = cx + x0, cy + y0
            if inner or min(bw, bh) < C.ADOPT_MARK_MIN_MM * px_per_mm or max(bw, bh) > C.ADOPT_MARK_MAX_MM * px_per_mm:
                continue
            near_x = x < reach or w - (x + bw) < reach
            near_y = y < reach or h - (y + bh) < reach
            if not (near_x and near_y) or x == 0 or y == 0 or x + bw >= w or y + bh >= h:
                continue
            fill = area / float(bw * bh)
            solid = fill >= 0.85 and max(bw, bh) / min(bw, bh) <= 1.3
            corner = fill <= 0.35 and min(bw, bh) >= C.ADOPT_MARK_L_MIN_MM * px_per_mm and 0.5 <= bw / bh <= 2.0
            if solid or corner:
                first = x0 + cx + int(np.argmax(labels[cy, cx:cx + bw] == n))  # where reading meets it first
                out.append((y, first, Found("mark", x * pt_per_px, y * pt_per_px, bw * pt_per_px, bh * pt_per_px)))
    return [f for _, _, f in sorted(out, key=lambda t: (t[0], t[1]))]


def find_ruled_areas(mask: np.ndarray, px_per_mm: float, taken: list[Found], banded: np.ndarray | None = None
                     ) -> list[Found]:
    """Writing lines: two or more long horizontal rules of like extent, evenly spaced, are one text area
    (from a line's spacing above the first rule down to the last).  Rules inside a framed area are its own."""
    pt_per_px = C.PT_PER_MM / px_per_mm
    rules = sorted(_segments(mask, px_per_mm, True, C.ADOPT_RULE_MIN_MM, banded))
    groups: list[list[tuple[int, int, int]]] = []
    for rule in rules:
        g = groups[-1] if groups else None
        tol = C.ADOPT_RULE_ALIGN_MM * px_per_mm
        if g and abs(rule[1] - g[-1][1]) <= tol and abs(rule[2] - g[-1][2]) <= tol:
            gap = rule[0] - g[-1][0]
            lo, hi = (v * px_per_mm for v in C.ADOPT_RULE_SPACING_MM)
            if lo <= gap <= hi and (len(g) < 2 or abs(gap - (g[-1][0] - g[-2][0])) <= 1.5 * px_per_mm):
                g.append(rule)
                continue
        groups.append([rule])
    out = []
    for g in groups:
        if len(g) < 2:
            continue
        spacing = g[1][0] - g[0][0]
        x0, x1 = min(r[1] for r in g), max(r[2] for r in g)
        y0, y1 = g[0][0] - spacing, g[-1][0] + 2
        f = Found("field", x0 * pt_per_px, y0 * pt_per_px, (x1 - x0) * pt_per_px, (y1 - y0) * pt_per_px)
        if not any(t.kind == "field" and t.x <= f.cx <= t.x + t.w and t.y <= f.cy <= t.y + t.h for t in taken):
            out.append(f)
    return out


def banded_rows(mask: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The mask with dashes along its rows joined and every row thickened into a band (what `_segments` looks
    for long lines in): the same for every length of line looked for, so worked out once a page."""
    gap = max(2, round(C.ADOPT_FRAME_GAP_MM * px_per_mm))
    thick = max(3, round(C.ADOPT_LINE_BAND_MM * px_per_mm))  # a skewed line stays inside a band this thick
    return np.asarray(cv2.dilate(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((1, gap), np.uint8)),
                                 np.ones((thick, 1), np.uint8)))


def _segments(mask: np.ndarray, px_per_mm: float, horizontal: bool, min_mm: float,
              banded: np.ndarray | None = None) -> list[tuple[int, int, int]]:
    """Long thin lines, dashes joined, a few degrees of skew allowed: (position across, start, end) in px
    (`banded`: `banded_rows` of the mask, when worked out already for horizontal lines)."""
    length = max(3, round(min_mm * px_per_mm))
    thick = max(3, round(C.ADOPT_LINE_BAND_MM * px_per_mm))
    if not horizontal:
        mask = mask.T
    if banded is None or not horizontal:
        banded = banded_rows(mask, px_per_mm)
    lines = cv2.morphologyEx(banded, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    # labelled within the lines' own bounding box only: most of a page has no long line (same components)
    bx, by, bw, bh = cv2.boundingRect(lines)
    if bw == 0 or bh == 0:
        return []
    count, _, stats = components(lines[by:by + bh, bx:bx + bw], 8)
    stats[:, 0] += bx
    stats[:, 1] += by
    slope = np.tan(np.radians(C.ADOPT_LINE_MAX_SKEW_DEG))
    return [(int(y + h // 2), int(x), int(x + w)) for x, y, w, h, _ in stats[1:count]
            if h <= thick + px_per_mm + w * slope and _is_thin(mask[y:y + h, x:x + w], px_per_mm)]


def _is_thin(strip: np.ndarray, px_per_mm: float) -> bool:
    """A printed line, not a line of text joined into a bar: where it has ink, the ink is one thin stroke."""
    inked = strip.any(axis=0)
    if inked.mean() < C.ADOPT_LINE_MIN_INKED:
        return False
    rows = np.arange(strip.shape[0])[:, None]
    top = np.where(strip, rows, strip.shape[0]).min(axis=0)
    bottom = np.where(strip, rows, -1).max(axis=0)
    thin = (bottom - top + 1) <= C.ADOPT_LINE_MAX_MM * px_per_mm
    return float(thin[inked].mean()) >= C.ADOPT_LINE_THIN_SHARE


def find_frames(mask: np.ndarray, px_per_mm: float, banded: np.ndarray | None = None) -> list[Found]:
    """Text areas framed by lines a scan has broken into dashes: a top rule with uprights at both ends, down
    to a bottom rule of the same extent, or open at the bottom (the uprights' length then says how deep)."""
    rules = sorted(_segments(mask, px_per_mm, True, C.ADOPT_FRAME_MIN_W_MM, banded))
    uprights = _segments(mask, px_per_mm, False, C.ADOPT_FRAME_TICK_MM)
    near = C.ADOPT_FRAME_ALIGN_MM * px_per_mm
    pt_per_px = C.PT_PER_MM / px_per_mm

    def upright_at(x: int, y0: int) -> int | None:
        """How far down an upright starting at the rule at (x, y0) reaches, if there is one."""
        ends = [y1 for ux, uy0, y1 in uprights if abs(ux - x) <= near and abs(uy0 - y0) <= near]
        return max(ends) if ends else None

    out = []
    used: set[int] = set()
    for i, (y, x0, x1) in enumerate(rules):
        if i in used:
            continue
        left, right = upright_at(x0, y), upright_at(x1, y)
        if left is None or right is None:
            continue
        depth = min(left, right)
        bottom = next((j for j, (yb, bx0, bx1) in enumerate(rules) if j > i and abs(bx0 - x0) <= near
                       and abs(bx1 - x1) <= near and abs(yb - depth) <= near), None)
        if bottom is not None:
            used.add(bottom)
        if depth - y >= C.ADOPT_FIELD_MIN_H_MM * px_per_mm:
            out.append(Found("field", x0 * pt_per_px, y * pt_per_px, (x1 - x0) * pt_per_px, (depth - y) * pt_per_px))
    return out


def _merge_fields(found: list[Found]) -> list[Found]:
    """One text area per place: a frame found both ways (or twice) is kept once, the larger."""
    fields = sorted((f for f in found if f.kind == "field"), key=lambda f: -f.w * f.h)
    kept: list[Found] = []
    for f in fields:
        if not any(k.x - 5 <= f.cx <= k.x + k.w + 5 and k.y - 5 <= f.cy <= k.y + k.h + 5 for k in kept):
            kept.append(f)
    return [f for f in found if f.kind != "field"] + kept


def find_all(image: np.ndarray, dpi: float) -> tuple[list[Found], list[Found]]:
    """(boxes, fields, combs and marks), and the word-sized anchors of the page."""
    mask, px_per_mm = ink_mask(image, dpi)
    banded = banded_rows(mask, px_per_mm)
    enclosed = _merge_fields(find_enclosures(mask, px_per_mm) + find_frames(mask, px_per_mm, banded))
    enclosed = _code_strip(enclosed, mask, px_per_mm)
    return (enclosed + find_ruled_areas(mask, px_per_mm, enclosed, banded) + find_corner_marks(mask, px_per_mm),
            find_words(mask, px_per_mm))
