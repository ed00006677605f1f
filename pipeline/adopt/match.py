"""Which adopted form and page a scanned page is, which way up, and where its every point lies.

A return carries no code of ours, so it is recognised by its print.  The blank's anchors (corner marks,
boxes, word-sized blobs of text, in pt) are matched against the same kind of blobs found on the scan:
for each quarter turn and a few small skews, every pair of blobs of a similar size votes for the shift
that would put one on the other; the true shift gets a vote from most anchors, anything else from few.
Handwriting, stamps, barcodes and marks add blobs that vote at random; a missing corner or a cross
through a box loses a few votes.  The winning shift seeds a homography, fitted robustly (RANSAC) to the
anchors it brings together and then refined on all anchors that land on a blob.

The score is the share of the blank's anchors found again.  A page matches a form's page when the score is
clearly the best; two pages scoring alike are left to a person, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.adopt.detect import Found, find_all
from pipeline.form.adopted import AdoptedPage, Anchor, IdStrip
from pipeline.form.definition import Form


@dataclass(frozen=True)
class Blobs:
    centres: np.ndarray  # (n, 2) pt
    sizes: np.ndarray  # (n, 2) pt
    image_size_pt: tuple[float, float]
    dpi: float


@dataclass(frozen=True)
class Match:
    form: Form
    page: int
    quarter_turns: int  # how far the scan is turned from upright, in quarter turns clockwise
    homography: np.ndarray  # layout pt -> image px
    score: float
    anchors_found: int
    anchors: int
    residual_mm: float
    words_found: float = 1.0  # share of the blank's printed words found in place (aperiodic: a slipped grid fails)
    found_mask: np.ndarray | None = None  # which of the page's anchors were found in place
    slip_margin: int = 999  # anchors found in place at this fit beyond the best fit one grid step away
    slip_mm: float = 0.0  # the length of that step (a row or a column of a regular grid), mm
    content_dpi: float = 0.0  # the resolution the print says the page was scanned at (0: as the file says)

    @property
    def slip_safe(self) -> bool:
        """The blank's own print tells this fit from the same fit one grid step off (a row or column)."""
        return self.slip_margin >= slip_margin_needed(self.anchors)

    @property
    def fit_quality_mm(self) -> float:
        """How far the fit may be off, mm: the residual over the anchors found, or the grid step when the print
        cannot tell this fit from one a row or a column away (a 0.1 mm residual then says nothing)."""
        return self.residual_mm if self.slip_safe else max(self.residual_mm, self.slip_mm)

    @property
    def rotation_deg(self) -> float:
        return 90.0 * self.quarter_turns


def blobs_of(found: list[Found], image_size_pt: tuple[float, float], dpi: float) -> Blobs:
    usable = [f for f in found if f.kind in ("mark", "box", "text", "field", "comb")]
    centres = np.array([[f.cx, f.cy] for f in usable], np.float64).reshape(-1, 2)
    sizes = np.array([[f.w, f.h] for f in usable], np.float64).reshape(-1, 2)
    return Blobs(centres, sizes, image_size_pt, dpi)


def scan_blobs(image: np.ndarray, dpi: float) -> Blobs:
    things, words = find_all(image, dpi)
    size = (image.shape[1] / dpi * C.PT_PER_INCH, image.shape[0] / dpi * C.PT_PER_INCH)
    return blobs_of(things + words, size, dpi)


def anchor_arrays(anchors: tuple[Anchor, ...]) -> tuple[np.ndarray, np.ndarray]:
    centres = np.array([[a.x + a.w / 2, a.y + a.h / 2] for a in anchors], np.float64).reshape(-1, 2)
    sizes = np.array([[a.w, a.h] for a in anchors], np.float64).reshape(-1, 2)
    return centres, sizes


def _turned(blobs: Blobs, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blob centres and sizes as they would be with the scan turned k quarter turns anticlockwise (so a page
    scanned k quarter turns clockwise comes upright), and the 2x3 map from turned pt to image pt."""
    w, h = blobs.image_size_pt
    maps = {
        0: np.array([[1, 0, 0], [0, 1, 0]], np.float64),
        1: np.array([[0, -1, h], [1, 0, 0]], np.float64),  # turned (u, v) -> image (h - v, u)
        2: np.array([[-1, 0, w], [0, -1, h]], np.float64),
        3: np.array([[0, 1, 0], [-1, 0, w]], np.float64),
    }
    to_image = maps[k]
    inverse = cv2.invertAffineTransform(to_image)
    pts = blobs.centres @ inverse[:, :2].T + inverse[:, 2]
    sizes = blobs.sizes[:, ::-1] if k % 2 else blobs.sizes
    return pts, sizes, to_image


def _vote(anchors: np.ndarray, pts: np.ndarray, pairs: tuple[np.ndarray, ...]) -> tuple[int, np.ndarray]:
    """The shift (anchor - blob) most pairs of like-sized blobs (`pairs`: anchor and blob indices) agree on, and
    how many agree."""
    ai, pi = pairs
    if not len(ai):
        return 0, np.zeros(2)
    # x and y as contiguous 1-D arrays: a page pairs some 20,000 like-sized anchors and blobs, and reducing an
    # (n, 2) array along its first axis costs several times as much (the same numbers either way)
    sx = anchors[:, 0].copy()[ai] - pts[:, 0].copy()[pi]
    sy = anchors[:, 1].copy()[ai] - pts[:, 1].copy()[pi]
    cx = np.floor((sx - sx.min()) / C.ADOPT_VOTE_BIN_PT).astype(np.int64)
    cy = np.floor((sy - sy.min()) / C.ADOPT_VOTE_BIN_PT).astype(np.int64)
    rows, cols = int(cy.max()) + 3, int(cx.max()) + 3
    grid = np.bincount((cy + 1) * cols + cx + 1, minlength=rows * cols).astype(np.float32)
    grid = grid.reshape(rows, cols)
    summed = cv2.boxFilter(grid, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    y, x = np.unravel_index(int(np.argmax(summed)), summed.shape)
    near = (np.abs(cx + 1 - x) <= 1) & (np.abs(cy + 1 - y) <= 1)
    return int(summed[y, x]), np.array([np.median(sx[near]), np.median(sy[near])])


def _like_sizes(a_sizes: np.ndarray, b_sizes: np.ndarray) -> np.ndarray:
    """(n, m): anchor n and blob m are of a like size (in both directions)."""
    tol = np.maximum(2.5, C.ADOPT_SIZE_TOLERANCE * a_sizes)
    # each direction as its own (n, m) table: no (n, m, 2) array to build and reduce (a page has ~1000 of each)
    like = np.abs(a_sizes[:, None, 0] - b_sizes[None, :, 0]) <= tol[:, None, 0]
    like &= np.abs(a_sizes[:, None, 1] - b_sizes[None, :, 1]) <= tol[:, None, 1]
    return like


def _nearest(projected: np.ndarray, centres: np.ndarray, radius: float, like: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest like-sized blob for each projected anchor, and whether it is within `radius`.

    Size matters as much as place: on a page dense with print some blob is always near, but seldom one of
    the same size - that is what keeps a page from matching another form's blank."""
    dx = projected[:, None, 0] - centres[None, :, 0]
    dy = projected[:, None, 1] - centres[None, :, 1]
    d2 = dx * dx + dy * dy  # squared: the nearest is the same, and no root over the whole table
    d2[~like] = np.inf
    idx = d2.argmin(axis=1)
    return idx, d2[np.arange(len(projected)), idx] <= radius * radius


Fit = tuple[int, np.ndarray, int, float, np.ndarray, int, float, float]


def fit_page(anchors: np.ndarray, a_sizes: np.ndarray, blobs: Blobs, slip: bool = True,
             turns: tuple[int, ...] = (0, 1, 2, 3)) -> Fit | None:
    """Best quarter turn, homography (anchor pt -> image px), anchors found again, residual in mm, which
    anchors were found in place, how much better it is than the fit one grid step off (anchors, step mm), and
    the resolution the page's print says it was scanned at.

    The scale comes from the content: the votes assume the file's dpi, so when the first fit says the print is
    larger or smaller than that (a scanner that declares 300 dpi and gives 290), the page is fitted once more
    at the scale the fit found, where every vote lands in one place again.  `slip=False` leaves out the check
    for a slip of a grid step (`settle`), for ranking many candidate pages: only the likely ones need it."""
    fit = _fit_once(anchors, a_sizes, blobs, turns)
    if fit is None or not _scales_of(fit[1], anchors[fit[4]]):
        return None  # no fit, or a degenerate one (the page squashed onto a line): not this layout
    for _ in range(C.ADOPT_RESCALE_TRIES if fit[2] >= C.ADOPT_RESCALE_MIN_SHARE * len(anchors) else 0):
        # a scale far off is found in steps, each fit landing closer (not for pages plainly not this one); a fit
        # at the wrong scale may come out stretched one way (boxes paired with their neighbours), so the scale
        # along each axis is tried
        tries = [sc for sc in _scales_of(fit[1], anchors[fit[4]]) if abs(sc / (blobs.dpi / C.PT_PER_INCH) - 1)
                 > C.ADOPT_RESCALE_SHARE]
        if not tries:
            break
        best: tuple[Any, Blobs] | None = None
        for sc in tries:
            rescaled = _at_dpi(blobs, blobs.dpi * sc / (blobs.dpi / C.PT_PER_INCH))
            again = _fit_once(anchors, a_sizes, rescaled, (fit[0],))  # the turn is known by now
            if again is not None and again[2] >= fit[2] and (best is None or again[2] > best[0][2]) \
                    and _scales_of(again[1], anchors[again[4]]):
                best = (again, rescaled)
        if best is None:
            break
        fit, blobs = best
    return settle(anchors, a_sizes, blobs, fit[0], fit[1], slip)


def _at_dpi(blobs: Blobs, dpi: float) -> Blobs:
    scale = dpi / blobs.dpi
    if scale == 1:
        return blobs
    return Blobs(blobs.centres / scale, blobs.sizes / scale,
                 (blobs.image_size_pt[0] / scale, blobs.image_size_pt[1] / scale), dpi)


def settle(anchors: np.ndarray, a_sizes: np.ndarray, blobs: Blobs, k: int, h: np.ndarray, slip: bool = True) -> Fit:
    """The fit's anchors in place and residual, after the check for a slip of one grid step when asked."""
    margin, slip_mm = 999, 0.0
    if slip:
        h, margin, slip_mm = slip_check(anchors, a_sizes, blobs, k, h)
    _, turned_sizes, _ = _turned(blobs, k)
    px_per_pt = blobs.dpi / C.PT_PER_INCH
    projected = cv2.perspectiveTransform(anchors.reshape(-1, 1, 2), h).reshape(-1, 2) / px_per_pt
    like = _like_sizes(skewed_sizes(a_sizes, h, anchors), turned_sizes)
    idx, ok = _nearest(projected, blobs.centres, C.mm(C.ADOPT_MATCH_RADIUS_MM), like)
    residual = np.linalg.norm(projected[ok] - blobs.centres[idx[ok]], axis=1)
    residual_mm = float(np.median(residual)) / C.PT_PER_MM if ok.any() else 99.0
    return k, h, int(ok.sum()), residual_mm, ok, margin, slip_mm, blobs.dpi


def _axes_at(h: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the homography takes one layout pt along x and along y in the middle of the points (its Jacobian
    there, in image px), measured over 10 pt."""
    c = points.mean(axis=0) if len(points) else np.zeros(2)
    d = 10.0
    p = cv2.perspectiveTransform(np.array([[c, c + np.array([d, 0.0]), c + np.array([0.0, d])]], np.float64), h
                                 ).reshape(-1, 2)
    return (p[1] - p[0]) / d, (p[2] - p[0]) / d


def skewed_sizes(a_sizes: np.ndarray, h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The anchors' sizes as a scan skewed by the fit's small angle shows them: a blob's size is its upright
    bounding box, which a skew widens (a line of text 60 mm long, skewed 1.5 degrees, is 1.6 mm taller), so a
    skewed page's words would otherwise not be found in place and a good fit would be doubted."""
    if not len(points):
        return a_sizes
    (ax, ay), _ = _axes_at(h, points)
    angle = float(np.arctan2(ay, ax))
    small = (angle + np.pi / 4) % (np.pi / 2) - np.pi / 4  # the skew left after the quarter turn
    cs, sn = abs(np.cos(small)), abs(np.sin(small))
    if not np.isfinite(small) or sn < 1e-3:
        return a_sizes
    w, hh = a_sizes[:, 0], a_sizes[:, 1]
    return np.stack([w * cs + hh * sn, w * sn + hh * cs], axis=1)


def _scales_of(h: np.ndarray, points: np.ndarray) -> list[float]:
    """Image px per layout pt the homography maps with in the middle of the page's points (its Jacobian there):
    along x, along y, and over the area (a perspective fit's scale differs from corner to corner); none for a
    degenerate fit (one that squashes the page onto a line or a point, or maps it to infinity): no scale at all."""
    (ax, ay), (bx, by) = _axes_at(h, points)
    sx, sy = float(np.hypot(ax, ay)), float(np.hypot(bx, by))
    area = float(np.sqrt(abs(ax * by - ay * bx)))
    if not np.isfinite((sx, sy, area)).all() or min(sx, sy, area) <= C.ADOPT_DEGENERATE_SCALE_PX_PER_PT:
        return []
    return [area] if abs(sx / sy - 1) <= C.ADOPT_RESCALE_SHARE else [area, sx, sy]


def _fit_once(anchors: np.ndarray, a_sizes: np.ndarray, blobs: Blobs, turns: tuple[int, ...] = (0, 1, 2, 3)
              ) -> tuple[int, np.ndarray, int, float, np.ndarray] | None:
    if len(anchors) < 4 or len(blobs.centres) < 4:
        return None
    best: tuple[int, int, float, np.ndarray] | None = None
    # which anchor and blob are of a like size depends only on whether the scan is turned a quarter or not
    pairs = {parity: np.nonzero(_like_sizes(a_sizes, blobs.sizes[:, ::-1] if parity else blobs.sizes))
             for parity in {k % 2 for k in turns}}
    for k in turns:
        pts, _, _ = _turned(blobs, k)
        centre = pts.mean(axis=0)
        for skew in C.ADOPT_SKEWS_DEG:
            t = np.radians(skew)
            rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
            moved = (pts - centre) @ rot.T + centre
            votes, shift = _vote(anchors, moved, pairs[k % 2])
            if best is None or votes > best[0]:
                best = (votes, k, skew, shift)
    assert best is not None
    votes, k, skew, shift = best
    if votes < 4:
        return None
    pts, turned_sizes, _ = _turned(blobs, k)
    like = _like_sizes(a_sizes, turned_sizes)
    centre = pts.mean(axis=0)
    t = np.radians(skew)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    moved = (pts - centre) @ rot.T + centre + shift
    px_per_pt = blobs.dpi / C.PT_PER_INCH
    idx, ok = _nearest(anchors, moved, C.mm(C.ADOPT_MATCH_RADIUS_MM * 2.5), like)
    if ok.sum() < 4:
        return None
    image_pt = blobs.centres
    h, _ = cv2.findHomography(anchors[ok], image_pt[idx[ok]] * px_per_pt, cv2.RANSAC,
                              C.mm(C.ADOPT_RANSAC_MM * 2) * px_per_pt)
    if h is None:
        return None
    for radius_mm in (C.ADOPT_MATCH_RADIUS_MM, C.ADOPT_MATCH_RADIUS_MM * 0.6):
        projected = cv2.perspectiveTransform(anchors.reshape(-1, 1, 2), h).reshape(-1, 2) / px_per_pt
        idx, ok = _nearest(projected, image_pt, C.mm(radius_mm), like)
        if ok.sum() < 4:
            return None
        refit, _ = cv2.findHomography(anchors[ok], image_pt[idx[ok]] * px_per_pt, cv2.RANSAC,
                                        C.mm(C.ADOPT_RANSAC_MM) * px_per_pt)
        if refit is None:
            break
        h = refit
    projected = cv2.perspectiveTransform(anchors.reshape(-1, 1, 2), h).reshape(-1, 2) / px_per_pt
    idx, ok = _nearest(projected, image_pt, C.mm(C.ADOPT_MATCH_RADIUS_MM), like)
    residual = np.linalg.norm(projected[ok] - image_pt[idx[ok]], axis=1)
    residual_mm = float(np.median(residual)) / C.PT_PER_MM if ok.any() else 99.0
    return k, h, int(ok.sum()), residual_mm, ok


def slip_margin_needed(anchors: int) -> int:
    """Anchors a fit must find beyond its one-grid-step neighbours to be trusted (more on a page with more)."""
    return max(C.ADOPT_SLIP_MIN_ANCHORS, round(C.ADOPT_SLIP_MIN_SHARE * anchors))


_GRID_STEPS: dict[bytes, np.ndarray] = {}


def grid_steps(anchors: np.ndarray, a_sizes: np.ndarray) -> np.ndarray:
    """The shifts (pt) that carry many of the blank's anchors onto other like-sized anchors: the rows and columns
    of a regular grid of boxes.  A fit moved by one of them lines up most of the page as well as the true one.

    A blank page's own: worked out once per page (it took a tenth of a page's matching), not per scan."""
    key = anchors.tobytes() + a_sizes.tobytes()
    if key not in _GRID_STEPS:
        if len(_GRID_STEPS) >= C.ADOPT_GRID_STEPS_KEPT:
            _GRID_STEPS.clear()
        _GRID_STEPS[key] = _grid_steps(anchors, a_sizes)
    return _GRID_STEPS[key].copy()


def _grid_steps(anchors: np.ndarray, a_sizes: np.ndarray) -> np.ndarray:
    if len(anchors) < 4:
        return np.zeros((0, 2))
    like = _like_sizes(a_sizes, a_sizes)
    ai, bi = np.nonzero(like)
    d = anchors[bi] - anchors[ai]
    near = (np.linalg.norm(d, axis=1) >= C.mm(C.ADOPT_SLIP_STEP_MM[0])) & \
        (np.linalg.norm(d, axis=1) <= C.mm(C.ADOPT_SLIP_STEP_MM[1]))
    d = d[near]
    if not len(d):
        return np.zeros((0, 2))
    binned = np.round(d / C.ADOPT_VOTE_BIN_PT).astype(np.int64)
    # each cell as one number (x major, as rows sort): the same cells, counts and order as np.unique over rows,
    # without its slow sort of row pairs
    low = binned.min(axis=0)
    span = int(binned[:, 1].max() - low[1]) + 1
    keys, counts = np.unique((binned[:, 0] - low[0]) * span + (binned[:, 1] - low[1]), return_counts=True)
    cells = np.stack([keys // span + low[0], keys % span + low[1]], axis=1)
    order = np.argsort(-counts)
    keep = [cells[i] for i in order[:C.ADOPT_SLIP_STEPS] if counts[i] >= slip_margin_needed(len(anchors))]
    steps = []
    for cell in keep:  # the median of the differences in that cell and its neighbours: the step, to the point
        sel = np.abs(np.round(d / C.ADOPT_VOTE_BIN_PT) - cell).max(axis=1) <= 1
        steps.append(np.median(d[sel], axis=0))
    return np.array(steps, np.float64).reshape(-1, 2)


def _in_place(anchors: np.ndarray, h: np.ndarray, blobs: Blobs, like: np.ndarray) -> np.ndarray:
    px_per_pt = blobs.dpi / C.PT_PER_INCH
    projected = cv2.perspectiveTransform(anchors.reshape(-1, 1, 2), h).reshape(-1, 2) / px_per_pt
    return _nearest(projected, blobs.centres, C.mm(C.ADOPT_MATCH_RADIUS_MM), like)[1]


def slip_check(anchors: np.ndarray, a_sizes: np.ndarray, blobs: Blobs, k: int, h: np.ndarray
               ) -> tuple[np.ndarray, int, float]:
    """Is this fit the one the blank's print says, or could it be one row or column of a grid off?

    The fit is moved by each grid step of the blank and the anchors found in place counted again.  A true fit
    finds its page's aperiodic print (headings, corner marks, the end of each row and column) that a moved one
    loses; when a moved fit finds more, it is the better fit and is taken (refined).  Returns the homography,
    the margin over the best moved fit (anchors), and that move's length in mm."""
    steps = grid_steps(anchors, a_sizes)
    if not len(steps):
        return h, 999, 0.0
    _, turned_sizes, _ = _turned(blobs, k)
    like = _like_sizes(a_sizes, turned_sizes)
    px_per_pt = blobs.dpi / C.PT_PER_INCH
    for _ in range(C.ADOPT_SLIP_TRIES):
        here = int(_in_place(anchors, h, blobs, like).sum())
        moved = []
        for step in steps:
            shift = np.array([[1, 0, step[0]], [0, 1, step[1]], [0, 0, 1]], np.float64)
            moved.append((int(_in_place(anchors, h @ shift, blobs, like).sum()), step, h @ shift))
        best, step, h_moved = max(moved, key=lambda m: m[0])
        if best <= here:
            return h, here - best, float(np.linalg.norm(step)) / C.PT_PER_MM
        ok = _in_place(anchors, h_moved, blobs, like)  # a moved fit finds more: it is the true one; refine it
        projected = cv2.perspectiveTransform(anchors.reshape(-1, 1, 2), h_moved).reshape(-1, 2) / px_per_pt
        idx, _ = _nearest(projected, blobs.centres, C.mm(C.ADOPT_MATCH_RADIUS_MM), like)
        refit, _ = cv2.findHomography(anchors[ok], blobs.centres[idx[ok]] * px_per_pt, cv2.RANSAC,
                                      C.mm(C.ADOPT_RANSAC_MM) * px_per_pt) if ok.sum() >= 4 else (None, None)
        h = refit if refit is not None else h_moved
    return h, 0, float(np.linalg.norm(steps[0])) / C.PT_PER_MM


def words_in_place(kinds: list[str], ok: np.ndarray) -> float:
    """Share of the blank's word anchors found in place.  Boxes in a regular grid also fit a copy of the grid
    shifted by one row or column; the words around them do not, so a fit that slipped shows here."""
    text = np.array([k == "text" for k in kinds], bool)
    if text.sum() < C.ADOPT_MIN_WORDS_TO_CHECK:
        return 1.0
    return float(ok[text].mean())


def _distinct(mine: np.ndarray, my_sizes: np.ndarray, theirs: np.ndarray, their_sizes: np.ndarray) -> np.ndarray:
    """Which of my anchors the other page has nothing like near the same place: what tells the two apart."""
    if not len(theirs):
        return np.ones(len(mine), bool)
    d = np.linalg.norm(mine[:, None, :] - theirs[None, :, :], axis=2)
    like = _like_sizes(my_sizes, their_sizes)
    return ~((d <= C.mm(C.ADOPT_MATCH_RADIUS_MM)) & like).any(axis=1)


def _told_apart(top: Match, rival: Match) -> bool:
    """Two near-identical blanks (versions, shuffled copies): judged on what differs between them only.  The
    top match wins when the scan shows most of what only it prints and little of what only the rival prints."""
    if top.found_mask is None or rival.found_mask is None:
        return False
    assert top.form.adopted is not None and rival.form.adopted is not None
    a, a_sizes = anchor_arrays(top.form.adopted.pages[top.page - 1].anchors)
    b, b_sizes = anchor_arrays(rival.form.adopted.pages[rival.page - 1].anchors)
    only_a, only_b = _distinct(a, a_sizes, b, b_sizes), _distinct(b, b_sizes, a, a_sizes)
    if only_a.sum() < C.ADOPT_DISTINCT_MIN or only_b.sum() < C.ADOPT_DISTINCT_MIN:
        return False
    seen_a, seen_b = float(top.found_mask[only_a].mean()), float(rival.found_mask[only_b].mean())
    return seen_a >= C.ADOPT_DISTINCT_SEEN and seen_b <= C.ADOPT_DISTINCT_UNSEEN


def _checked(m: Match, blobs: Blobs) -> Match:
    assert m.form.adopted is not None
    page = m.form.adopted.pages[m.page - 1]
    anchors, sizes = anchor_arrays(page.anchors)
    k, h, found, residual, ok, margin, slip_mm, dpi = settle(anchors, sizes, _at_dpi(blobs, m.content_dpi),
                                                             m.quarter_turns, m.homography)
    words = words_in_place([a.kind for a in page.anchors], ok) if k % 2 == 0 else 1.0
    return Match(m.form, m.page, k, h, found / len(anchors), found, len(anchors), residual, words, ok, margin,
                 slip_mm, dpi)


def match_page(blobs: Blobs, forms: list[Form]) -> tuple[Match | None, str]:
    """The adopted form page this scan is, or None and why not (in words for a person): every page fitted and
    compared (`by_strip` first, where the pages print a page-id strip, spares most of that)."""
    candidates = _candidates(blobs, forms, True)
    if max((m.score for m in candidates), default=0.0) < C.ADOPT_SURE_SCORE:
        candidates = _candidates(blobs, forms, False)  # no page matched well at the turn found: try every turn
    return _decide(candidates, blobs)


StripReader = Callable[[np.ndarray, IdStrip], list[int | None]]  # reads a strip's cells under a homography


def _straight_votes(pages: list[tuple[np.ndarray, np.ndarray]], blobs: Blobs) -> np.ndarray:
    """(pages, 4): each page's straight vote at the quarter turns that need one, as a share of its anchors
    (cheap: no fit; 0 where not voted).  Every page is voted upright; the two voting best at every turn too,
    which says how the scan is turned (every page of one set is turned alike); the rest at those turns only."""
    share = np.zeros((len(pages), 4))
    pairs: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}

    def vote(n: int, k: int) -> None:
        anchors, sizes = pages[n]
        if len(anchors) < 4:
            return
        if (n, k % 2) not in pairs:
            pairs[n, k % 2] = np.nonzero(_like_sizes(sizes, blobs.sizes[:, ::-1] if k % 2 else blobs.sizes))
        share[n, k] = _vote(anchors, _turned(blobs, k)[0], pairs[n, k % 2])[0] / len(anchors)

    for n in range(len(pages)):
        vote(n, 0)
    top = [int(i) for i in np.argsort(-share[:, 0], kind="stable")[:2]]
    for n in top:
        for k in (1, 2, 3):
            vote(n, k)
    best = share.max(axis=0)
    for k in (1, 2, 3):
        if best[k] >= C.ADOPT_TURN_CLOSE * best.max():
            for n in range(len(pages)):
                if n not in top:
                    vote(n, k)
    return share


@lru_cache(maxsize=8)
def _strips_apart(codes: tuple[str, ...]) -> bool:
    """Every two pages' strips differ in enough cells that one cell misread cannot turn one into the other."""
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            if len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) < C.ADOPT_STRIP_MIN_CELLS_APART:
                return False
    return True


def _strip_agrees(page: AdoptedPage, h: np.ndarray, read_strip: StripReader) -> tuple[bool, int]:
    """Whether the scan shows this page's strip exactly (every cell clear and as printed), and in how many clear
    cells it shows something else."""
    seen = [bit for strip in page.strips for bit in read_strip(h, strip)]
    printed = [int(c) for c in page.strip_bits]
    differ = sum(1 for s, p in zip(seen, printed, strict=True) if s is not None and s != p)
    return differ == 0 and None not in seen, differ


def _fitted(form: Form, page: AdoptedPage, anchors: np.ndarray, sizes: np.ndarray, blobs: Blobs,
            turns: tuple[int, ...]) -> Match | None:
    """The page fitted at each of the turns, the fit with most anchors in place kept (unchecked for a slip).
    Each turn is fitted on its own: a fit over several turns keeps the turn its first vote liked, and a grid of
    boxes votes as strongly upside down as upright."""
    fits = [f for f in (fit_page(anchors, sizes, blobs, slip=False, turns=(k,)) for k in turns) if f]
    fit = max(fits, key=lambda f: (f[2], -f[3]), default=None)
    if fit is None:
        return None
    k, h, found, residual, ok, margin, slip_mm, content_dpi = fit
    # words are found as letters joined along the scan's lines: a page turned a quarter shows none
    words = words_in_place([a.kind for a in page.anchors], ok) if k % 2 == 0 else 1.0
    return Match(form, page.page, k, h, found / len(anchors), found, len(anchors), residual, words, ok, margin,
                 slip_mm, content_dpi)


def by_strip(blobs: Blobs, forms: list[Form], read_strip: StripReader) -> Match | None:
    """The page its page-id strip names, when every candidate page prints one (AMC's shuffled copies: near-alike
    pages that differ in their questions' order and in the strip).  Pages are fitted best straight vote first
    (nearly always the page itself) until a fit lines up enough of its page to read the strip under (every copy
    prints its strip in the same place); the strip read is compared with every page's, and the one page it
    shows exactly, every other page's strip plainly not, is fitted and checked like any match (and must fit at
    least as well as the page the strip was read under).  A skewed page may vote for another: while fits keep
    finding some of their page, the next page is fitted; after a few that find nothing, or once a sure fit
    cannot read the strip (smudged, marked across), the page is left to the full comparison.
    Anything short of a strip read exactly returns None: every page is then fitted and compared as without a
    strip, so the strip can save time but never decide against the print."""
    pages = [(form, page) for form in forms for page in (form.adopted.pages if form.adopted else ())]
    if len(pages) < 2 or any(not page.strips for _, page in pages) \
            or not _strips_apart(tuple(page.strip_bits for _, page in pages)):
        return None
    arrays = [anchor_arrays(page.anchors) for _, page in pages]
    votes = _straight_votes(arrays, blobs)
    turns = tuple(int(k) for k in np.nonzero(votes.max(axis=0) >= C.ADOPT_TURN_CLOSE * votes.max())[0])
    best_score = 0.0
    for tried, n in enumerate(int(i) for i in np.argsort(-votes.max(axis=1), kind="stable")):
        if tried >= C.ADOPT_STRIP_FIRST_FITS and best_score < C.ADOPT_MIN_SCORE:
            return None  # nothing lines up: no page of these forms, or not at this scale
        fit = _fitted(*pages[n], *arrays[n], blobs, turns)
        if fit is None or fit.score < C.ADOPT_MIN_SCORE:
            best_score = max(best_score, fit.score if fit else 0.0)
            continue
        best_score = max(best_score, fit.score)
        named = _named_by_strip(pages, fit.homography, read_strip)
        if named is not None:
            return _confirmed(pages, arrays, named, n, fit, blobs, read_strip)
        if fit.score >= C.ADOPT_SURE_SCORE:
            return None  # a sure fit, and its strip unreadable: the print decides
    return None


def _named_by_strip(pages: list[tuple[Form, AdoptedPage]], h: np.ndarray, read_strip: StripReader) -> int | None:
    """The one page whose strip the scan shows exactly under `h`, every other page's differing in enough cells."""
    agree = [(n, _strip_agrees(page, h, read_strip)) for n, (_, page) in enumerate(pages)]
    shown = [n for n, (exact, _) in agree if exact]
    if len(shown) != 1 or any(differ < C.ADOPT_STRIP_MIN_CELLS_APART for n, (_, differ) in agree if n != shown[0]):
        return None
    return shown[0]


def _confirmed(pages: list[tuple[Form, AdoptedPage]], arrays: list[tuple[np.ndarray, np.ndarray]], n: int,
               read_under: int, fit: Match, blobs: Blobs, read_strip: StripReader) -> Match | None:
    """Page n, which the strip names under `fit` (of page `read_under`), fitted and checked like any match."""
    best = fit if n == read_under else _fitted(*pages[n], *arrays[n], _at_dpi(blobs, fit.content_dpi),
                                               (fit.quarter_turns,))
    if best is None or best.score < fit.score:
        return None  # the page the strip names fits worse than another: the print, not the strip, must decide
    best = _checked(best, blobs)
    if best.score < C.ADOPT_MIN_SCORE or best.anchors_found < C.ADOPT_MIN_INLIERS \
            or not _strip_agrees(pages[n][1], best.homography, read_strip)[0]:
        return None
    return best


def _candidates(blobs: Blobs, forms: list[Form], settle_turn: bool) -> list[Match]:
    """Every adopted page fitted to the scan.  With `settle_turn`, once one page fits well the scan's quarter
    turn is known and the other pages are fitted at that turn only (shuffled copies: many near-alike pages)."""
    pages = [(form, page, *anchor_arrays(page.anchors)) for form in forms
             for page in (form.adopted.pages if form.adopted else ())]
    turns: tuple[int, ...] = (0, 1, 2, 3)
    if settle_turn:  # one straight vote per page and turn: the turn most pages agree with best
        share = np.zeros(4)
        for _, _, anchors, sizes in pages:
            if len(anchors) < 4:
                continue
            pairs = {p: np.nonzero(_like_sizes(sizes, blobs.sizes[:, ::-1] if p else blobs.sizes)) for p in (0, 1)}
            for k in range(4):
                share[k] = max(share[k], _vote(anchors, _turned(blobs, k)[0], pairs[k % 2])[0] / len(anchors))
        # a page much like itself turned (a grid of boxes, marks in every corner) votes alike for two turns: both
        # are fitted, and the fit with more anchors in place decides, as when every turn is tried
        turns = tuple(int(k) for k in np.nonzero(share >= C.ADOPT_TURN_CLOSE * share.max())[0])
    candidates: list[Match] = []
    scaled = blobs  # the scan at the scale its print was found at: the scanner's, the same for every page
    for form, page, anchors, sizes in pages:
        m = _fitted(form, page, anchors, sizes, scaled, turns)
        if m is not None:
            if m.anchors_found >= C.ADOPT_SURE_SCORE * m.anchors and scaled.dpi != m.content_dpi:
                scaled = _at_dpi(blobs, m.content_dpi)  # the next pages start there, not refitted step by step
            candidates.append(m)
    return candidates


def _decide(candidates: list[Match], blobs: Blobs) -> tuple[Match | None, str]:
    candidates.sort(key=lambda m: m.score, reverse=True)
    if candidates:  # the slip check, on the pages that may win only (it costs as much as a fit)
        likely = C.ADOPT_AMBIGUOUS_RATIO * candidates[0].score * C.ADOPT_SLIP_CHECK_SHARE
        candidates = [_checked(m, blobs) if m.score >= likely else m for m in candidates]
        candidates.sort(key=lambda m: m.score, reverse=True)
    if not candidates or candidates[0].score < C.ADOPT_MIN_SCORE or candidates[0].anchors_found < C.ADOPT_MIN_INLIERS:
        best = f" (best: {candidates[0].form.id} page {candidates[0].page}, {candidates[0].score:.0%} of its " \
               "printed marks found)" if candidates else ""
        return None, f"not like any adopted form{best}"
    top = candidates[0]
    rivals = [m for m in candidates[1:] if (m.form.id, m.page) != (top.form.id, top.page)
              and m.score >= C.ADOPT_AMBIGUOUS_RATIO * top.score]
    rivals = [r for r in rivals if not _told_apart(top, r)]
    if rivals:
        r = rivals[0]
        return None, (f"looks like {top.form.id} page {top.page} ({top.score:.0%}) but just as much like "
                      f"{r.form.id} page {r.page} ({r.score:.0%}): a person must say which")
    return top, ""
