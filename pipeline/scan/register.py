"""Registration: from a scanned page image to the layout's coordinates.

Recipe: find a QR code near a corner (any of the four orientations), which
says which form, style, paper, page and copy this is and gives a first
estimate of the page's position; then find the four solid registration marks
where that estimate predicts them, and fit a homography to marks and QR
corners by least squares.  Its residual says how well the page fits; a page
that fits badly is flagged, never guessed.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.identity import PageIdentity, parse_payload, qr_module_count
from pipeline.form.layout import Layout, Rect


@dataclass(frozen=True)
class QrHit:
    identity: PageIdentity
    corners_px: np.ndarray  # 4x2 image points: the symbol's own top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True)
class Registration:
    homography: np.ndarray  # 3x3, layout pt -> image px
    residual_mm: float
    marks_found: int
    codes_found: int
    rotation_deg: float
    mark_centres_px: tuple[tuple[float, float], ...]
    anchors_layout: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # pt
    anchors_image: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # px

    def is_good(self) -> bool:
        """Enough anchors spread over the page, and they agree with each other."""
        anchors = self.marks_found + self.codes_found
        spread = self.marks_found >= 2 or self.codes_found >= 2
        return anchors >= 3 and spread and self.residual_mm <= C.MAX_FIT_RESIDUAL_MM


_LOCAL = threading.local()  # one OpenCV detector per thread: it keeps state between calls


def _opencv_decode(crop: np.ndarray) -> list[tuple[str, np.ndarray]]:
    detector = getattr(_LOCAL, "detector", None)
    if detector is None:
        detector = _LOCAL.detector = cv2.QRCodeDetector()
    try:
        text, points, _ = detector.detectAndDecode(crop)
    except cv2.error:
        return []
    if text and points is not None:
        return [(text, points.reshape(-1, 2).astype(np.float64))]
    return []


def _zxing_decode(image: np.ndarray, thorough: bool = True) -> list[tuple[str, np.ndarray]]:
    """zxing-cpp finds every QR in the image at once, quickly, in the symbol's own corner order.

    Not `thorough`: only dark-on-light codes at the image's own scale (zxing-cpp otherwise searches the image
    again inverted and again reduced): our printed codes, found so on every page of the bench sets, in about
    60 % of the time."""
    import zxingcpp

    found = []
    # a white margin restores the quiet zone of a code a skewed scan pushed against the image's edge
    pad = C.QR_DECODE_PAD_PX
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    for code in zxingcpp.read_barcodes(padded, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
                                       try_invert=thorough, try_downscale=thorough):
        p = code.position
        corners = np.array([[q.x, q.y] for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)],
                           dtype=np.float64) - pad
        found.append((code.text, corners))
    return found


def _hits(found: list[tuple[str, np.ndarray]], factor: float, x0: int = 0, y0: int = 0) -> list[QrHit]:
    hits = []
    for text, points in found:
        identity = parse_payload(text)
        if identity is not None:
            hits.append(QrHit(identity, points / factor + np.array([x0, y0], dtype=np.float64)))
    return hits


def _agreeing(hits: list[QrHit]) -> int:
    """How many hits name the identity most of them name."""
    return max(Counter(h.identity for h in hits).values(), default=0)


def _add_distinct(hits: list[QrHit], new: list[QrHit], px_per_mm: float) -> None:
    """Add the symbols not already found (a corner's closer look finds the whole-page pass's codes again)."""
    for hit in new:
        if all(np.abs(hit.corners_px - other.corners_px).max() > px_per_mm for other in hits):
            hits.append(hit)


def vote(hits: list[QrHit]) -> tuple[list[QrHit], str]:
    """Every code found has a say: the hits of the one identity they all name, or none and why not.

    A page's four codes name one copy and page.  When they disagree (a piece of another copy's page caught
    in the feeder, a second sheet fed at an offset, a forged code) no majority is trusted: which copy the
    answers belong to is for a person to say, so the page is never moved silently to another copy.
    """
    counts = Counter(h.identity for h in hits)
    if len(counts) <= 1:
        return hits, ""
    described = "; ".join(
        f"{n} {'says' if n == 1 else 'say'} {ident.form} copy {ident.serial}"
        f"{f' (survey {ident.survey})' if ident.survey else ''} page {ident.page}"
        for ident, n in counts.most_common())
    return [], (f"its codes disagree ({described}): a piece of another page caught with it, or a sheet fed "
                "at an offset? A person must say which copy this page is (assign it in review)")


def hits_for(hits: list[QrHit], identity: PageIdentity) -> list[QrHit]:
    """The hits to register a page a person assigned by: the codes that name that copy and page, if any."""
    same = [h for h in hits if (h.identity.form, h.identity.serial, h.identity.page)
            == (identity.form, identity.serial, identity.page)]
    if not same:
        top = Counter(h.identity for h in hits).most_common(1)
        same = [h for h in hits if top and h.identity == top[0][0]]
    return [QrHit(identity, h.corners_px) for h in same]


def qr_settled(hits: list[QrHit]) -> bool:
    """Two codes or more name one copy and page: `find_qr` looks no further."""
    return _agreeing(hits) >= 2


def find_qr(image: np.ndarray, dpi: float, give_up_if_blank: Callable[[], bool] | None = None,
            slowest_decoder: bool = True) -> list[QrHit]:
    """Every code found on the page: the whole page at about 150 dpi first, then each corner closer up.

    All codes are returned, whatever they say: `vote` decides whether they agree.
    `give_up_if_blank` spares a blank back page the slower close search; `slowest_decoder=False` leaves
    OpenCV's decoder out of it (zxing-cpp looks at every corner still), for a first look.
    """
    factor = min(1.0, C.QR_SEARCH_DPI / dpi)
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else image
    hits = _hits(_zxing_decode(small, thorough=False), factor)
    if qr_settled(hits):
        return hits[:C.QR_MAX_HITS]
    hits = _hits(_zxing_decode(small), factor)  # not enough: the whole search, as a damaged page needs it
    if _agreeing(hits) >= 2:
        return hits[:C.QR_MAX_HITS]
    if not hits and give_up_if_blank is not None and give_up_if_blank():
        return []
    # closer look at the four corners, where the codes sit in every orientation
    h, w = image.shape[:2]
    px_per_mm = dpi / 25.4
    reach_mm = C.QR_INSET_MM + C.QR_SIZE_MM + C.REG_MARK_SIZE_MM + C.QR_CORNER_SEARCH_EXTRA_MM + C.QR_SEARCH_MARGIN_MM
    side = int(min(h, w, reach_mm * px_per_mm + 0.5 * C.QR_SIZE_MM * px_per_mm))
    low_scale, high_scale = C.QR_DECODE_SCALE_RANGE
    scale = min(high_scale, max(low_scale, C.QR_DECODE_DPI / dpi))
    for x0, y0 in [(w - side, 0), (0, h - side), (0, 0), (w - side, h - side)]:
        crop = image[y0:y0 + side, x0:x0 + side]
        resized = cv2.resize(crop, None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
        for decode in (_zxing_decode, _opencv_decode) if slowest_decoder else (_zxing_decode,):
            found = _hits(decode(resized), scale, x0, y0)
            if found:
                _add_distinct(hits, found, px_per_mm)
                break
        if _agreeing(hits) >= 2:
            break
    return hits[:C.QR_MAX_HITS]


def qr_symbol_corners(code: Rect, payload: str) -> np.ndarray:
    """Layout positions (pt) of the symbol corners, quiet zone excluded, in the decoder's order."""
    n = qr_module_count(payload)
    cell = code.w / (n + 2 * C.QR_QUIET_MODULES)
    x0, y0 = code.x + C.QR_QUIET_MODULES * cell, code.y + C.QR_QUIET_MODULES * cell
    s = n * cell
    return np.array([[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s]], dtype=np.float64)


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    out = cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), h)
    return np.asarray(out).reshape(-1, 2)


def _find_mark(image: np.ndarray, centre: np.ndarray, size_px: float, px_per_mm: float,
               paper: float) -> tuple[float, float] | None:
    """The solid square nearest the predicted centre with about the right size."""
    r = int(C.MARK_SEARCH_RADIUS_MM * px_per_mm)
    h, w = image.shape[:2]
    cx, cy = round(centre[0]), round(centre[1])
    x0, y0, x1, y1 = max(0, cx - r), max(0, cy - r), min(w, cx + r), min(h, cy + r)
    if x1 - x0 < size_px or y1 - y0 < size_px:
        return None
    window = image[y0:y1, x0:x1]
    mask = (window < paper * C.MARK_DARKER_THAN_PAPER).astype(np.uint8)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    expected_area = size_px * size_px
    best: tuple[float, tuple[float, float]] | None = None
    for i in range(1, count):
        bw, bh, area = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_AREA]
        low, high = (1 - C.MARK_SIZE_TOLERANCE) ** 2, (1 + C.MARK_SIZE_TOLERANCE) ** 2
        if not low * expected_area <= area <= high * expected_area:
            continue
        # a rotated square fills at least half its bounding box; text and QR modules do not pass together
        if not _square_like(bw, bh, area, size_px):
            continue
        mx, my = centroids[i]
        distance = float(np.hypot(mx + x0 - centre[0], my + y0 - centre[1]))
        if best is None or distance < best[0]:
            best = (distance, (float(mx + x0), float(my + y0)))
    return None if best is None else best[1]


def paper_level(image: np.ndarray) -> float:
    """Brightness of bare paper: a high percentile, robust to ink and to dark scan borders."""
    step_y, step_x = (max(1, n // C.PAPER_SAMPLE_PX) for n in image.shape[:2])
    return float(max(C.PAPER_MIN_LEVEL, np.percentile(image[::step_y, ::step_x], C.PAPER_LEVEL_PERCENTILE)))


def _square_like(bw: int, bh: int, area: int, size_px: float) -> bool:
    """A blob that can be a printed corner mark: filled enough, and its box about the mark's size."""
    low, high = C.MARK_BOX_SIDE_RANGE
    return bool(area >= C.MARK_MIN_FILL * bw * bh and low * size_px <= min(bw, bh) and max(bw, bh) <= high * size_px)


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    partial, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    return None if partial is None else np.vstack([partial, [0.0, 0.0, 1.0]])


def _assign_codes(hits: list[QrHit], layout: Layout, image_shape: tuple[int, ...]) -> list[tuple[QrHit, np.ndarray]]:
    """Which printed code each decoded symbol is: the assignment that puts the page where the image is.

    Every candidate assignment is fitted at once by the closed-form least-squares similarity (`_similarities`):
    scoring only has to tell a right assignment (misfit of a pixel or two) from a wrong one (misfit of a
    symbol's size or more, or the page's centre far off the image's), which least squares over all points does
    as well as an LMEDS fit of each candidate (the same choice on every page of the bench sets, turned and skewed,
    with 1-4 codes found), in about a seventh of its time.  The chosen pairs are fitted robustly afterwards, by
    `register`.
    """
    page = layout.pages[hits[0].identity.page - 1]
    payload = hits[0].identity.payload()
    corners = np.array([qr_symbol_corners(code, payload) for code in page.codes]).reshape(-1, 4, 2)
    orders = list(itertools.permutations(range(len(corners)), len(hits)))
    if not orders or not hits:
        return []
    # complex numbers x + iy: a similarity without reflection is z -> a z + b
    src_xy = corners[np.array(orders)].reshape(len(orders), -1, 2)  # candidates x points (layout pt)
    dst_xy = np.vstack([h.corners_px for h in hits])  # points (image px), the same for every candidate
    src, dst = src_xy[..., 0] + 1j * src_xy[..., 1], dst_xy[:, 0] + 1j * dst_xy[:, 1]
    a, b = _similarities(src, dst)
    fitted = a[:, None] * src + b[:, None]
    # several codes: each symbol's own orientation must agree with the page's, so the misfit decides;
    # one code (or a tie): it is the one that puts the page's centre where the image is
    misfit = np.maximum(np.abs(fitted.real - dst.real), np.abs(fitted.imag - dst.imag)).max(axis=1)
    guess = a * complex(layout.page_size[0] / 2, layout.page_size[1] / 2) + b
    off = np.abs(guess - complex(image_shape[1] / 2, image_shape[0] / 2))
    score = misfit + C.QR_OFF_CENTRE_WEIGHT * off if len(hits) > 1 else off
    best = orders[int(np.argmin(score))]  # the first of equal scores, as a loop keeping only a lower one would
    return [(hit, corners[i]) for hit, i in zip(hits, best, strict=True)]


def _similarities(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares similarity (rotation, uniform scale, shift; no reflection) taking each row of `src` to
    `dst`, as complex points: (a, b) per row, for z -> a z + b.  Closed form (Umeyama's, in two dimensions):
    a is the centred points' complex covariance over the source's variance, b puts the centroids together."""
    src_mean, dst_mean = src.mean(axis=1), dst.mean()
    centred = src - src_mean[:, None]
    a = ((dst - dst_mean)[None, :] * centred.conj()).sum(axis=1) / np.maximum((np.abs(centred) ** 2).sum(axis=1),
                                                                              np.finfo(np.float64).tiny)
    return a, dst_mean - a * src_mean


def register(image: np.ndarray, dpi: float, layout: Layout, hits: list[QrHit], paper: float | None = None
             ) -> Registration:
    """Fit layout -> image from the QR corners and the four corner marks, by least squares.  `paper`: the page's
    `paper_level`, when the caller has it already (it is the same figure, not measured twice)."""
    page = layout.pages[hits[0].identity.page - 1]
    px_per_mm = dpi / 25.4
    pairs = _assign_codes(hits, layout, image.shape)
    if not pairs:
        return Registration(np.eye(3), float("inf"), 0, 0, 0.0, ())
    layout_pts = [c for _, c in pairs]
    image_pts = [h.corners_px for h, _ in pairs]
    estimate = _similarity(np.vstack(layout_pts), np.vstack(image_pts))
    assert estimate is not None
    paper = paper_level(image) if paper is None else paper
    mark_size_px = C.REG_MARK_SIZE_MM * px_per_mm
    mark_centres: list[tuple[float, float]] = []
    mark_layout = np.array([[m.cx, m.cy] for m in page.registration_marks])
    for layout_pt, guess in zip(mark_layout, _apply(estimate, mark_layout), strict=True):
        found = _find_mark(image, guess, mark_size_px, px_per_mm, paper)
        if found is not None:
            mark_centres.append(found)
            layout_pts.append(layout_pt.reshape(1, 2))
            image_pts.append(np.array([found]))
    src, dst = np.vstack(layout_pts), np.vstack(image_pts)
    homography = None
    if len(mark_centres) >= 2 or len(pairs) >= 2:
        homography, _ = cv2.findHomography(src, dst, 0)
    if homography is None:
        homography = estimate
    return _finish(homography, src, dst, px_per_mm, len(mark_centres), len(pairs), tuple(mark_centres))


def _finish(homography: np.ndarray, src: np.ndarray, dst: np.ndarray, px_per_mm: float, marks: int, codes: int,
            mark_centres: tuple[tuple[float, float], ...]) -> Registration:
    err = np.hypot(*(_apply(homography, src) - dst).T)
    residual_mm = float(np.sqrt(np.mean(err ** 2))) / px_per_mm
    origin, x_axis = _apply(homography, np.array([[0.0, 0.0], [100.0, 0.0]]))
    rotation = float(np.degrees(np.arctan2(x_axis[1] - origin[1], x_axis[0] - origin[0])))
    return Registration(homography, residual_mm, marks, codes, rotation, mark_centres, src, dst)


def refine_with_boxes(reg: Registration, found_layout: np.ndarray, predicted_layout: np.ndarray,
                      dpi: float) -> Registration:
    """Add the printed answer squares, where they were actually found, as anchors and fit again.

    For a page whose corner marks were cut off by a skewed scan: the squares
    spread over the whole page and pin down what the QR code alone cannot.
    """
    if len(found_layout) < C.REFINE_MIN_BOXES:
        return reg
    src = np.vstack([reg.anchors_layout, predicted_layout])
    dst = np.vstack([reg.anchors_image, _apply(reg.homography, found_layout)])
    homography, _ = cv2.findHomography(src, dst, 0)
    if homography is None:
        return reg
    return _finish(homography, src, dst, dpi / 25.4, reg.marks_found, reg.codes_found, reg.mark_centres_px)


def registrations_by_marks(image: np.ndarray, dpi: float, layout: Layout, page_no: int) -> list[Registration]:
    """Fits from the four corner marks alone, one per quarter turn of the page: for a page without codes.

    The marks are the solid squares nearest each corner of the image; which corner of the page each one is
    cannot be told from the marks (they are alike), so every turn is offered and the caller keeps the one
    whose printed squares are found where it puts them.
    """
    px_per_mm = dpi / 25.4
    size = C.REG_MARK_SIZE_MM * px_per_mm
    paper = paper_level(image)
    mask = (image < paper * C.MARK_DARKER_THAN_PAPER).astype(np.uint8)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    low, high = (1 - C.MARK_SIZE_TOLERANCE) ** 2 * size * size, (1 + C.MARK_SIZE_TOLERANCE) ** 2 * size * size
    squares = []
    for i in range(1, count):
        bw, bh, area = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_AREA]
        if low <= area <= high and _square_like(bw, bh, area, size):
            squares.append((float(centroids[i][0]), float(centroids[i][1])))
    if len(squares) < 4:
        return []
    h, w = image.shape[:2]
    reach = C.MARKS_ONLY_CORNER_REACH_MM * px_per_mm
    picks: list[tuple[float, float] | None] = []
    for cx, cy in ((0.0, 0.0), (w, 0.0), (w, h), (0.0, h)):  # image TL, TR, BR, BL
        near = min(squares, key=lambda s: np.hypot(s[0] - cx, s[1] - cy))
        picks.append(near if np.hypot(near[0] - cx, near[1] - cy) <= reach else None)
    if any(p is None for p in picks):
        return []
    page = layout.pages[page_no - 1]
    marks = np.array([[m.cx, m.cy] for m in page.registration_marks])  # page TL, TR, BR, BL
    fits = []
    for turn in range(4):
        dst = np.array([picks[(i + turn) % 4] for i in range(4)], dtype=np.float64)
        homography, _ = cv2.findHomography(marks, dst, 0)
        if homography is not None:
            fits.append(_finish(homography, marks, dst, px_per_mm, 4, 0, tuple(map(tuple, dst))))
    return fits


def warp_to_layout(image: np.ndarray, homography: np.ndarray, page_size_pt: tuple[float, float], dpi: float,
                   region: Rect | None = None, border: int = 255) -> np.ndarray:
    """Resample the page (or one region of it) into layout coordinates at `dpi`."""
    scale = dpi / C.PT_PER_INCH
    region = region or Rect(0, 0, page_size_pt[0], page_size_pt[1])
    out_w, out_h = round(region.w * scale), round(region.h * scale)
    # output pixel -> layout pt -> image px
    to_layout = np.array([[1 / scale, 0, region.x], [0, 1 / scale, region.y], [0, 0, 1]], dtype=np.float64)
    m = homography @ to_layout
    return cv2.warpPerspective(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=border)
