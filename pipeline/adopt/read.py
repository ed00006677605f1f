"""Reading a scanned page of an adopted form: a pure function, like the native page reader.

The page is matched and aligned to its blank (`match`), warped into the blank's coordinates, and each box is
measured with the scanner's own ink measures (`scan.marks`): darkness relative to the local paper, coverage,
pencil-light ink, solidity.  Adopted boxes come in every size from 3 mm, so the measuring area, the search
for the printed outline and the solidity test scale with the box, and `classify` is given the area a native
box would have: every threshold stays the same share of the box.  Comments are read by `scan.comments`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.adopt.codes import read_codes, sheet_code
from pipeline.adopt.match import (
    Blobs,
    Match,
    StripReader,
    anchor_arrays,
    by_strip,
    fit_page,
    match_page,
    scan_blobs,
    words_in_place,
)
from pipeline.form.adopted import GLYPH_GRID, AdoptedBox, AdoptedGeometry, IdStrip, Question
from pipeline.form.adopted_layout import question_rect
from pipeline.form.definition import Form
from pipeline.form.identity import PageIdentity
from pipeline.form.layout import Layout, Rect, TextField, compute_layout
from pipeline.scan.comments import read_field
from pipeline.scan.decide import classify, decide_item
from pipeline.scan.images import encode_png
from pipeline.scan.marks import darkness_map, evidence_crop
from pipeline.scan.register import warp_to_layout
from pipeline.scan.results import BoxReading, BoxState, CommentReading, ItemReading, PageResult, PageSource


@dataclass(frozen=True)
class _Measured:
    coverage: float
    faint: float
    solid: float
    darkness: float
    gap: float  # the widest open paper left inside, as a share of the inner side: strokes leave some, fills none
    lines: float  # share of the ink lying along its two strongest straight lines: high for a tick or a cross
    dx: int
    dy: int
    match: float
    open_sides: int = 0  # of the 4 edge middles or the 4 corners, the most left open paper: a cross leaves 3-4


def open_sides(ink: np.ndarray) -> int:
    """How a box's ink is spread: of the four edge middles (between the arms of an x) or the four corners
    (between the arms of a +), the most that stay mostly paper.  A cross drawn heavy in a small box covers as
    much as a fill, but leaves these open; a box filled in or scribbled over leaves none."""
    h, w = ink.shape
    ph, pw = max(1, h // 4), max(1, w // 4)
    if h < 8 or w < 8:
        return 0

    def open_at(y: int, x: int) -> bool:
        return float(ink[y:y + ph, x:x + pw].mean()) <= C.ADOPT_OPEN_PATCH_INK

    mid_y, mid_x = (h - ph) // 2, (w - pw) // 2
    middles = [(0, mid_x), (h - ph, mid_x), (mid_y, 0), (mid_y, w - pw)]
    corners = [(0, 0), (0, w - pw), (h - ph, 0), (h - ph, w - pw)]
    return max(sum(open_at(y, x) for y, x in middles), sum(open_at(y, x) for y, x in corners))


def _template(w: int, h: int, line: int, shape: str) -> np.ndarray:
    t = np.zeros((h, w), np.float32)
    if shape == "round":
        cv2.ellipse(t, (w // 2, h // 2), (max(1, w // 2 - line // 2), max(1, h // 2 - line // 2)), 0, 0, 360, 1.0,
                    line)
    else:
        cv2.rectangle(t, (0, 0), (w - 1, h - 1), 1.0, line)
    return t


def measure(dark: np.ndarray, box: AdoptedBox, px_per_pt: float, at: tuple[int, int] | None = None) -> _Measured:
    """The ink in one box, its printed outline looked for around its place (or measured `at` a given offset in
    px, where its neighbours were found)."""
    w, h = max(4, round(box.w * px_per_pt)), max(4, round(box.h * px_per_pt))
    x, y = round(box.x * px_per_pt), round(box.y * px_per_pt)
    r = max(2, round(C.ADOPT_SEARCH_SHARE * min(w, h)))
    window = dark[max(0, y - r):y + h + r, max(0, x - r):x + w + r]
    dx = dy = 0
    score = 0.0
    if at is not None:
        dx, dy = at
    elif y - r >= 0 and x - r >= 0 and window.shape == (h + 2 * r, w + 2 * r):
        line = max(1, round(max(box.line, C.mm(C.ADOPT_OUTLINE_MM)) * px_per_pt))
        scores = cv2.matchTemplate(window, _template(w, h, line, box.shape), cv2.TM_CCOEFF_NORMED)
        _, score, _, (bx, by) = cv2.minMaxLoc(scores)
        if score >= C.BOX_MATCH_MIN_SCORE:
            dx, dy = bx - r, by - r
    # inside the printed line, then a margin for print and fit drift that grows with the box
    inset = max(2, round(box.line * px_per_pt + C.ADOPT_INSET_SHARE * min(w, h)))
    inner = dark[y + dy + inset:y + dy + h - inset, x + dx + inset:x + dx + w - inset]
    if not inner.size:
        return _Measured(0.0, 0.0, 0.0, 0.0, 1.0, 0.0, dx, dy, float(score))
    area = np.ones(inner.shape, bool)
    if box.shape == "round":
        area = np.zeros(inner.shape, np.uint8)
        cv2.ellipse(area, (inner.shape[1] // 2, inner.shape[0] // 2), (inner.shape[1] // 2, inner.shape[0] // 2),
                    0, 0, 360, 1, -1)
        area = area.astype(bool)
    if box.glyph:  # only ink added to what the blank prints there counts (a letter inside the box is no mark)
        area &= ~glyph_mask(box.glyph, inner.shape)
    values = inner[area]
    inked = inner > C.INK_DARKNESS
    coverage = float(inked[area].sum()) / area.size
    faint = float((values > C.FAINT_DARKNESS).sum()) / area.size
    if not box.glyph:
        coverage = max(0.0, coverage - _allowance(box.printed))
        faint = max(0.0, faint - _allowance(box.printed_faint))
    darkness = float(values[values > C.INK_DARKNESS].mean()) if coverage > 0 else 0.0
    solid = 0.0
    if coverage > C.MARK_MIN_COVERAGE:
        scale = min(w, h) / (C.STANDARD_BOX_MM / 25.4 * C.WORK_DPI)  # this box against one of ours
        close = max(1, round(C.mm(C.SOLID_CLOSE_MM) * px_per_pt * scale))
        erode = max(1, round(C.mm(C.SOLID_ERODE_MM) * px_per_pt * scale))
        closed = cv2.morphologyEx(inked.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((close, close), np.uint8))
        solid = float(cv2.erode(closed, np.ones((erode, erode), np.uint8))[area].mean())
    paper = np.pad((~inked & area).astype(np.uint8), 1)  # the box's own line walls the inside in
    gap = float(cv2.distanceTransform(paper, cv2.DIST_L2, 3).max()) * 2 / min(inner.shape)
    lines = two_line_share(inked & area) if coverage >= C.ADOPT_DENSE_COVERAGE else 0.0
    sides = open_sides(inked & area) if coverage >= C.ADOPT_DENSE_COVERAGE else 0
    return _Measured(coverage, faint, solid, darkness, gap, lines, dx, dy, float(score), sides)


def glyph_mask(glyph: str, shape: tuple[int, ...]) -> np.ndarray:
    """The cells of a box's inside that its own print covers (grown by one cell), at the size of `shape`
    (the same few letters and sizes come back on every page: worked out once each; never to be changed)."""
    return _glyph_mask(glyph, tuple(shape[:2]))


@lru_cache(maxsize=4096)
def _glyph_mask(glyph: str, shape: tuple[int, ...]) -> np.ndarray:
    bits = np.array([int(c, 16) >> (3 - k) & 1 for c in glyph for k in range(4)], np.uint8)
    grown = cv2.dilate(bits.reshape(GLYPH_GRID, GLYPH_GRID), np.ones((3, 3), np.uint8))
    mask = np.asarray(cv2.resize(grown, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST), bool)
    mask.setflags(write=False)
    return mask


def glyph_of(dark: np.ndarray, box: AdoptedBox, px_per_pt: float) -> str:
    """Where inside the box the blank prints, as `glyph_mask` reads it back."""
    w, h = max(4, round(box.w * px_per_pt)), max(4, round(box.h * px_per_pt))
    x, y = round(box.x * px_per_pt), round(box.y * px_per_pt)
    inset = max(2, round(box.line * px_per_pt + C.ADOPT_INSET_SHARE * min(w, h)))
    inner = dark[y + inset:y + h - inset, x + inset:x + w - inset]
    if not inner.size:
        return ""
    cells = cv2.resize((inner > C.FAINT_DARKNESS).astype(np.float32), (GLYPH_GRID, GLYPH_GRID),
                       interpolation=cv2.INTER_AREA) > 0.05
    bits = cells.flatten().astype(int)
    return "".join(f"{int(''.join(map(str, bits[i:i + 4])), 2):x}" for i in range(0, len(bits), 4))


def _allowance(printed: float) -> float:
    """The ink a box's own print accounts for on a return: a little more than on the blank, since each scan
    renders a glyph's edges a little differently."""
    return printed * C.ADOPT_PRINTED_SLACK + C.ADOPT_PRINTED_MARGIN if printed > 0 else 0.0


@dataclass(frozen=True)
class _Unmarked:
    """A blank's page as `darkness_map` sees it: no registration marks of ours to take the ink level from."""

    registration_marks: tuple[()] = ()


def printed_ink(image: np.ndarray, dpi: float, boxes: list[AdoptedBox]) -> list[tuple[float, float, str]]:
    """How much of each box's inside the blank itself inks, measured the way returns are: what a letter or a
    digit printed in the box adds, so that only ink added to it is judged as a mark."""
    px_per_pt = C.WORK_DPI / C.PT_PER_INCH
    factor = C.WORK_DPI / dpi
    canon = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor != 1 else image
    dark = darkness_map(canon, _Unmarked(), px_per_pt)  # type: ignore[arg-type]
    return [(round(m.coverage, 3), round(m.faint, 3), glyph_of(dark, b, px_per_pt))
            for b, m in ((b, measure(dark, b, px_per_pt)) for b in boxes)]


def _stroke_px(ink: np.ndarray) -> float:
    """A pen stroke's width in px: across a stroke of width W the distance to paper runs evenly from 0 to W/2,
    so W is four times its mean over the ink (the box's edge counts as paper)."""
    dist = cv2.distanceTransform(np.pad(ink.astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    return 4.0 * float(dist[ink].mean()) if ink.any() else 0.0


def two_line_share(ink: np.ndarray) -> float:
    """Share of the ink within a stroke's width of its two strongest straight lines (a small Hough search).

    A tick or a cross is two strokes, however thick the pen is for the box; a scribble-over is many.  The band
    is as wide as the pen (a broad cross in a 3.5 mm box has strokes a third of the box wide, and a band of the
    usual width held only the middle of each, so a clear cross read like a scribble-out)."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 8:
        return 1.0
    side = min(ink.shape)  # a thick pen's stroke is wider than the usual band, but no stroke is a box wide
    band = max(1.5, C.ADOPT_LINE_BAND_SHARE * side,
               min(_stroke_px(ink) * C.ADOPT_LINE_BAND_PER_STROKE, C.ADOPT_LINE_BAND_MAX_SHARE * side))
    angles = np.radians(np.arange(0, 180, 4))
    rho = xs[None, :] * np.cos(angles)[:, None] + ys[None, :] * np.sin(angles)[:, None]  # (angles, n)
    left = np.ones(len(xs), bool)
    for _ in range(2):
        best, best_sel = 0, None
        for a in range(len(angles)):
            r = rho[a][left]
            if not len(r):
                break
            bins = np.floor((r - r.min()) / band).astype(int)
            counts = np.bincount(bins) + np.bincount(bins + 1, minlength=bins.max() + 2)[:-1]  # band of 2 bins
            top = int(np.argmax(counts))
            if counts[top] > best:
                lo = r.min() + (top - 1) * band
                best, best_sel = int(counts[top]), (a, lo, lo + 2 * band)
        if best_sel is None:
            break
        a, lo, hi = best_sel
        left &= ~((rho[a] >= lo) & (rho[a] < hi))
    return 1.0 - float(left.sum()) / len(xs)



def _dense_state(m: _Measured, fill_to_cancel: bool) -> tuple[BoxState, float]:
    """Dense ink: filled or scribbled over, or a tick or cross drawn heavy for a small box?

    A fill leaves no open paper; a tick or a cross lies along two straight lines, a scribble does not.  A
    cross drawn heavy in a small box may close the open paper to specks, but it still leaves the paper between
    its arms (edge middles for an x, corners for a +) white, where a fill leaves nothing."""
    if m.open_sides >= C.ADOPT_CROSS_OPEN_SIDES:
        return "marked", 0.7
    if m.gap <= C.ADOPT_FILL_GAP:
        return "filled", 0.7
    if m.lines >= C.ADOPT_TWO_LINES_MARK:
        return "marked", 0.75
    if m.lines <= C.ADOPT_TWO_LINES_SCRIBBLE:
        return "filled", 0.65
    if m.gap >= C.ADOPT_OPEN_GAP or (m.gap >= C.ADOPT_OPEN_GAP_LIGHT and m.coverage < C.ADOPT_LIGHT_DENSE_COVERAGE):
        return "marked", 0.7
    if fill_to_cancel:
        return "uncertain", 0.4  # a scribble-over, or a heavy cross in a small box? a person decides
    return "marked", 0.6  # the form has no fill convention: dense strokes are a mark


def agreed_offsets(found: list[tuple[int, int, float]], groups: list[str], tolerance_px: float
                   ) -> list[tuple[int, int]]:
    """Where each box is measured: where its outline was found (dx, dy px, match score), unless that disagrees
    with where the other boxes of its question (its row or column, printed together) were found.  An outline
    search can land on a printed digit beside or inside a box; the neighbours' shift is then the better guess."""
    out = [(dx, dy) for dx, dy, _ in found]
    for g in set(groups):
        members = [n for n, other in enumerate(groups) if other == g]
        if len(members) < 3:
            continue
        for n in members:
            others = [found[k] for k in members if k != n and found[k][2] >= C.BOX_MATCH_MIN_SCORE]
            if len(others) < 2:
                continue
            mx = float(np.median([o[0] for o in others]))
            my = float(np.median([o[1] for o in others]))
            agree = sum(abs(o[0] - mx) <= tolerance_px and abs(o[1] - my) <= tolerance_px for o in others)
            if agree < 2 or agree < 0.6 * len(others):
                continue  # the neighbours do not agree among themselves: nothing better to go by
            if abs(found[n][0] - mx) > tolerance_px or abs(found[n][1] - my) > tolerance_px:
                out[n] = (round(mx), round(my))
    return out


def _box_readings(dark: np.ndarray, geo: AdoptedGeometry, page: int, px_per_pt: float
                  ) -> list[tuple[Question, AdoptedBox, BoxReading]]:
    pairs = [(q, b) for q in geo.questions_on(page) for b in q.boxes]
    measured = [measure(dark, b, px_per_pt) for _, b in pairs]
    where = agreed_offsets([(m.dx, m.dy, m.match) for m in measured], [q.id for q, _ in pairs],
                           C.mm(C.ADOPT_NEIGHBOUR_SHIFT_MM) * px_per_pt)
    measured = [m if (m.dx, m.dy) == at else measure(dark, b, px_per_pt, at)
                for m, (_, b), at in zip(measured, pairs, where, strict=True)]
    floor = float(np.median([m.coverage for m in measured])) if measured else 0.0
    mm_per_px = 1 / (px_per_pt * C.PT_PER_MM)
    out = []
    for (q, b), m in zip(pairs, measured, strict=True):
        state, confidence = classify(m.coverage, m.faint, m.solid, C.ADOPT_NATIVE_INNER_MM2, floor)
        if m.coverage >= C.ADOPT_DENSE_COVERAGE and state != "empty":
            state, confidence = _dense_state(m, geo.fill_to_cancel)
        if state == "filled" and (geo.fill_answers or (b.shape == "round" and not geo.fill_to_cancel)):
            state = "marked"  # bubbles (and any box on a form that says so) are filled in to answer
        out.append((q, b, BoxReading(q.item_of(b), b.value if q.kind == "one" else 1, round(m.coverage, 4),
                                     round(m.darkness, 3), 0.0, round(m.dx * mm_per_px, 2),
                                     round(m.dy * mm_per_px, 2), state, round(confidence, 3), faint=round(m.faint, 4),
                                     solid=round(m.solid, 4), match=round(m.match, 3))))
    return out


NO_CONVENTION = ("filled in, and this form does not say what filling a box in means (an answer, or a "
                 "correction?): please check the paper")


def _decide_one(q: Question, boxes: list[BoxReading], cancel: bool, crop: bytes) -> ItemReading:
    filled = [b for b in boxes if b.state == "filled"]
    if filled and not cancel:
        values = ", ".join(str(b.value) for b in filled)
        return ItemReading(q.id, None, "flagged", "uncertain", f"box {values} {NO_CONVENTION}", 0.4, crop)
    decided = decide_item(q.id, boxes, crop)
    if q.code and decided.state == "blank":  # a student number with a digit missing identifies nobody
        return ItemReading(q.id, None, "flagged", "uncertain", f"{q.text}: no box is marked, so the number is "
                           "incomplete (left out, or marked too lightly to see?): please check the paper", 0.3, crop)
    return decided


def _decide_any(q: Question, box: AdoptedBox, reading: BoxReading, cancel: bool, crop: bytes) -> ItemReading:
    item = q.item_of(box)
    state: BoxState = reading.state
    if state == "marked":
        return ItemReading(item, 1, "answered", None, "", reading.confidence, crop)
    if state == "empty":
        return ItemReading(item, 0, "answered", None, "", reading.confidence, crop)
    if state == "filled" and cancel:  # cancelled, or a heavy cross in a small box? nothing else on the item tells
        return ItemReading(item, 0, "flagged", "cancelled", f"box {box.value} filled in: cancelled (not ticked), "
                           "or ticked with a heavy cross? please check the paper", 0.5, crop)
    detail = f"box {box.value} {NO_CONVENTION}" if state == "filled" else f"unclear mark in box {box.value}"
    return ItemReading(item, None, "flagged", "uncertain", detail, 0.4, crop)


def read_adopted(image: np.ndarray, dpi: float, source: PageSource, match: Match, paper: float, ocr: str,
                 debug: bool = False) -> PageResult:
    form = match.form
    geo = form.adopted
    assert geo is not None
    layout: Layout = compute_layout(form)
    px_per_pt = C.WORK_DPI / C.PT_PER_INCH
    canon = warp_to_layout(image, match.homography, geo.page_size, C.WORK_DPI)
    dark = darkness_map(canon, layout.pages[match.page - 1], px_per_pt)
    readings = _box_readings(dark, geo, match.page, px_per_pt)
    # an empty box must show its printed outline where the fit puts it (a marked one may not: ink hides it)
    empty = [r for _, _, r in readings if r.state == "empty"]
    found = [r for r in empty if r.match >= C.ADOPT_FOUND_SCORE and np.hypot(r.dx_mm, r.dy_mm) <= 1.2]
    good_fit = (match.fit_quality_mm <= C.ADOPT_MAX_FIT_MM and len(found) >= C.ADOPT_MIN_FOUND_SHARE * len(empty)
                and match.words_found >= C.ADOPT_MIN_WORDS_IN_PLACE)
    items: list[ItemReading] = []
    for q in geo.questions_on(match.page):
        mine = [(b, r) for qq, b, r in readings if qq is q]
        crop = encode_png(evidence_crop(dark, question_rect([Rect(b.x, b.y, b.w, b.h) for b, _ in mine],
                                                            geo.page_size), px_per_pt))
        if q.kind == "one":
            decided = [_decide_one(q, [r for _, r in mine], geo.fill_to_cancel, crop)]
        else:
            decided = [_decide_any(q, b, r, geo.fill_to_cancel, crop) for b, r in mine]
        for reading in decided:
            if not good_fit:
                reading = ItemReading(reading.item, reading.value, "flagged", "poor_fit",
                                      _poor_fit_reason(match, len(found), len(empty)), 0.2, reading.crop_png)
            items.append(reading)
    comments: list[CommentReading] = [
        read_field(image, match.homography, geo.page_size, TextField(f.x, f.y, f.w, f.h, item=f.id), paper, ocr,
                   language=form.language)
        for f in geo.fields_on(match.page)]
    if readings and all(r.state == "empty" for _, _, r in readings) and not any(c.written for c in comments):
        items = [_nothing_marked(i) for i in items]
    ident = PageIdentity(form.id, form.version, layout.style, layout.paper, match.page, layout.page_count, "")
    result = PageResult(source, "form", "" if good_fit else "poor fit: every answer goes to a person",
                        identity=ident, rotation_deg=match.rotation_deg, fit_residual_mm=round(match.fit_quality_mm, 3),
                        dpi=dpi, boxes=[r for _, _, r in readings], items=items, comments=comments)
    if debug:
        result.debug_png = encode_png(_overlay(canon, readings, px_per_pt))
    return result


def _poor_fit_reason(match: Match, found: int, empty: int) -> str:
    """Why the fit is not trusted, in words: a possible slip of a row or column says so, since the residual alone
    looks perfect then."""
    if not match.slip_safe:
        return (f"the page's print lines up just as well {match.slip_mm:.0f} mm off (one row or column of its "
                "grid of boxes), so the answers may be read from the wrong row: please check the paper")
    return (f"the page lines up badly with its blank ({match.residual_mm:.1f} mm; {found} of {empty} empty boxes "
            f"and {match.words_found:.0%} of its printed words found in place): please check")


def _nothing_marked(i: ItemReading) -> ItemReading:
    """Not one mark on the whole page: a blank form scanned by mistake (the blank itself), or marks lost in
    scanning.  A person looks before it counts as a return with every answer blank."""
    if i.state == "flagged":
        return i
    return ItemReading(i.item, i.value, "flagged", "lost_marks", "nothing is marked anywhere on this page: an unused "
                       "blank scanned by mistake, or marks lost in scanning? Check the paper", 0.3, i.crop_png)


def _overlay(canon: np.ndarray, readings: list[tuple[Question, AdoptedBox, BoxReading]],
             px_per_pt: float) -> np.ndarray:
    colours = {"empty": (160, 160, 160), "marked": (0, 160, 0), "filled": (200, 0, 200), "uncertain": (0, 0, 230)}
    out = cv2.cvtColor(canon, cv2.COLOR_GRAY2BGR)
    for _, b, r in readings:
        p0 = (round(b.x * px_per_pt), round(b.y * px_per_pt))
        p1 = (round((b.x + b.w) * px_per_pt), round((b.y + b.h) * px_per_pt))
        cv2.rectangle(out, p0, p1, colours[r.state], 2)
    return out


class UnknownPage:
    """A page with no code of ours, matched against the adopted forms in two steps the scanner may take apart:
    `by_strip` (cheap: the page-id strip names the page, when the forms print one) and `read` (everything,
    the strip step first unless it was taken).  What the print is found as is kept between them, per dpi."""

    def __init__(self, image: np.ndarray, dpi: float, source: PageSource, forms: tuple[Form, ...], paper: float,
                 ocr: str, debug: bool = False) -> None:
        self.image, self.dpi, self.source, self.forms, self.paper = image, dpi, source, forms, paper
        self.ocr, self.debug = ocr, debug
        self._blobs: dict[float, Blobs] = {}
        self._strip_tried = False
        # the file's dpi may be wrong (a scanner that says 400 and gives 280): the page's size says otherwise
        self._dpis = (dpi, *dpis_from_size(image, forms, dpi))

    def blobs(self, at_dpi: float) -> Blobs:
        if at_dpi not in self._blobs:
            self._blobs[at_dpi] = scan_blobs(self.image, at_dpi)
        return self._blobs[at_dpi]

    def by_strip(self) -> PageResult | None:
        """The page read, when its page-id strip names one adopted page (at the file's dpi or the size's)."""
        self._strip_tried = True
        if not any(page.strips for form in self.forms if form.adopted for page in form.adopted.pages):
            return None
        read_strip = strip_reader(self.image, self.paper)
        for at_dpi in self._dpis:
            match = by_strip(self.blobs(at_dpi), list(self.forms), read_strip)
            if match is not None:
                return self._read(match, at_dpi)
        return None

    def read(self) -> PageResult:
        """One of the adopted forms, or a page a person must look at."""
        if not self._strip_tried:
            by_its_strip = self.by_strip()
            if by_its_strip is not None:
                return by_its_strip
        why = ""
        for at_dpi in self._dpis:  # every page fitted and compared, at the file's dpi and then at the size's
            match, reason = match_page(self.blobs(at_dpi), list(self.forms))
            why = why or reason
            if match is not None:
                return self._read(match, at_dpi)
        return PageResult(self.source, "not_form", f"no PaperVoice code found, and {why} (a person can assign it "
                          "in review)", dpi=self.dpi)

    def _read(self, match: Match, at_dpi: float) -> PageResult:
        dpi = at_dpi
        if at_dpi == self.dpi and abs(match.content_dpi / dpi - 1) > C.ADOPT_RESCALE_SHARE:
            dpi = round(match.content_dpi, 1)  # the print's size says the file's dpi is wrong: record what it is
        result = read_adopted(self.image, dpi, self.source, match, self.paper, self.ocr, self.debug)
        assert match.form.adopted is not None
        result.sheet_code = sheet_code(read_codes(self.image, dpi), match.form.adopted.blank_codes)
        return result


def read_unknown_page(image: np.ndarray, dpi: float, source: PageSource, forms: tuple[Form, ...], paper: float,
                      ocr: str, debug: bool = False) -> PageResult:
    """A page with no code of ours: one of the adopted forms, or a page a person must look at."""
    return UnknownPage(image, dpi, source, forms, paper, ocr, debug).read()


STRIP_SAMPLES = np.linspace(0.2, 0.8, 5)  # where in a strip cell (share of its side) the scan is looked at


def strip_reader(image: np.ndarray, paper: float) -> StripReader:
    """Reads a page-id strip's cells on this scan, under a homography from the blank (layout pt -> image px):
    1 for a cell whose middle is ink, 0 for one that is paper, None where it is neither clearly (a smudge, a
    mark across it, a fit a cell off) or off the picture."""
    height, width = image.shape[:2]
    gy, gx = np.meshgrid(STRIP_SAMPLES, STRIP_SAMPLES, indexing="ij")

    def read(h: np.ndarray, strip: IdStrip) -> list[int | None]:
        cells = [strip.cell(n) for n in range(len(strip.bits))]
        pts = np.array([(x + gx * w, y + gy * hh) for x, y, w, hh in cells], np.float64)  # (n, 2, 5, 5)
        pts = np.stack([pts[:, 0].reshape(len(cells), -1), pts[:, 1].reshape(len(cells), -1)], axis=2)
        at = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), h).reshape(len(cells), -1, 2)
        xs, ys = np.rint(at[..., 0]).astype(np.int64), np.rint(at[..., 1]).astype(np.int64)
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        ink = image[np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1)] < paper * C.ADOPT_INK_OF_PAPER
        out: list[int | None] = []
        for n in range(len(cells)):
            share = float(ink[n].mean())
            if not inside[n].all():
                out.append(None)
            elif share >= C.ADOPT_STRIP_SOLID_SHARE:
                out.append(1)
            elif share <= C.ADOPT_STRIP_OPEN_SHARE:
                out.append(0)
            else:
                out.append(None)
        return out

    return read


def dpis_from_size(image: np.ndarray, forms: tuple[Form, ...], dpi: float) -> list[float]:
    """The resolutions at which the scan would be the size of an adopted blank's page, where they differ from
    the one the file declares by more than a few per cent (a whole page scanned: the content sets the scale)."""
    h, w = image.shape[:2]
    found: list[float] = []
    for form in forms:
        assert form.adopted is not None
        pw, ph = form.adopted.page_size
        for long_px, short_px in ((max(h, w), min(h, w)),):
            guess = (long_px / (max(pw, ph) / C.PT_PER_INCH) + short_px / (min(pw, ph) / C.PT_PER_INCH)) / 2
            if abs(guess / dpi - 1) > C.ADOPT_DPI_SIZE_SLACK and all(abs(guess / f - 1) > 0.02 for f in found):
                found.append(round(guess, 1))
    return found


def read_assigned_page(image: np.ndarray, dpi: float, source: PageSource, form: Form, identity: PageIdentity,
                       paper: float, ocr: str, debug: bool = False) -> PageResult:
    """A page a person assigned by hand to an adopted form's page (review): aligned to that page's blank only."""
    assert form.adopted is not None
    if not 1 <= identity.page <= len(form.adopted.pages):
        return PageResult(source, "unreadable", f"{form.id} has no page {identity.page}", dpi=dpi,
                          identity=identity)
    anchors, sizes = anchor_arrays(form.adopted.pages[identity.page - 1].anchors)
    fit = fit_page(anchors, sizes, scan_blobs(image, dpi))
    if fit is None:
        return PageResult(source, "unreadable", "assigned by hand, but its print does not line up with the blank "
                          f"of {form.id} page {identity.page}: enter its answers from the paper", dpi=dpi,
                          identity=identity)
    k, homography, found, residual, ok, margin, slip_mm, content_dpi = fit
    words = words_in_place([a.kind for a in form.adopted.pages[identity.page - 1].anchors], ok) if k % 2 == 0 else 1.0
    match = Match(form, identity.page, k, homography, found / max(1, len(anchors)), found, len(anchors), residual,
                  words, ok, margin, slip_mm, content_dpi)
    result = read_adopted(image, dpi, source, match, paper, ocr, debug)
    result.identity = identity
    return result
