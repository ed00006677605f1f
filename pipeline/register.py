"""Registration: from a scanned page image to the layout's coordinates.

Recipe: find a QR code near a corner (any of the four orientations), which
says which form, style, paper, page and copy this is and gives a first
estimate of the page's position; then find the four solid registration marks
where that estimate predicts them, and fit a homography to marks and QR
corners by least squares.  Its residual says how well the page fits; a page
that fits badly is flagged, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import constants as C
from .identity import PageIdentity, parse_payload, qr_module_count
from .layout import Layout, Rect


@dataclass(frozen=True)
class QrHit:
    identity: PageIdentity
    corners_px: np.ndarray  # 4x2 image points: the symbol's own top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True)
class Registration:
    homography: np.ndarray  # 3x3, layout pt -> image px
    residual_mm: float
    marks_found: int
    rotation_deg: float
    mark_centres_px: tuple[tuple[float, float], ...]

    def is_good(self) -> bool:
        return self.marks_found >= 3 and self.residual_mm <= C.MAX_FIT_RESIDUAL_MM


_DETECTOR: cv2.QRCodeDetector | None = None


def _detector() -> cv2.QRCodeDetector:
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = cv2.QRCodeDetector()
    return _DETECTOR


def _decode(crop: np.ndarray) -> tuple[str, np.ndarray] | None:
    try:
        text, points, _ = _detector().detectAndDecode(crop)
    except cv2.error:
        return None
    if text and points is not None:
        return text, points.reshape(-1, 2).astype(np.float64)
    return None


def find_qr(image: np.ndarray, dpi: float) -> QrHit | None:
    """Look in the four corners first (fast: small crops), then the whole page."""
    h, w = image.shape[:2]
    px_per_mm = dpi / 25.4
    side = int(min(h, w, (C.QR_INSET_MM + C.QR_SIZE_MM + C.REG_MARK_SIZE_MM + 2 + C.QR_SEARCH_MARGIN_MM) * px_per_mm
                       + 0.5 * C.QR_SIZE_MM * px_per_mm))
    corners = [(w - side, 0), (0, h - side), (0, 0), (w - side, h - side)]  # TR, BL, TL, BR
    # aim for about 6 px per QR module: small scans are enlarged, large ones reduced
    scale = min(2.5, max(0.35, 250.0 / dpi))
    for x0, y0 in corners:
        crop = image[y0:y0 + side, x0:x0 + side]
        for factor in (scale, scale * 1.6) if dpi < 250 else (scale,):
            resized = cv2.resize(crop, None, fx=factor, fy=factor,
                                 interpolation=cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA)
            found = _decode(resized)
            if found:
                hit = _hit(found, factor, x0, y0)
                if hit:
                    return hit
    # wider search: the whole page, reduced (a page shifted far off its usual place)
    factor = min(1.0, 150.0 / dpi)
    found = _decode(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA))
    return _hit(found, factor, 0, 0) if found else None


def _hit(found: tuple[str, np.ndarray], factor: float, x0: int, y0: int) -> QrHit | None:
    text, points = found
    identity = parse_payload(text)
    if identity is None:
        return None
    return QrHit(identity, points / factor + np.array([x0, y0], dtype=np.float64))


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
    mask = (window < paper * 0.55).astype(np.uint8)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    expected_area = size_px * size_px
    best: tuple[float, tuple[float, float]] | None = None
    for i in range(1, count):
        bw, bh, area = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_AREA]
        low, high = (1 - C.MARK_SIZE_TOLERANCE) ** 2, (1 + C.MARK_SIZE_TOLERANCE) ** 2
        if not low * expected_area <= area <= high * expected_area:
            continue
        # a rotated square fills at least half its bounding box; text and QR modules do not pass together
        if area < 0.5 * bw * bh or max(bw, bh) > 1.6 * size_px or min(bw, bh) < 0.6 * size_px:
            continue
        mx, my = centroids[i]
        distance = float(np.hypot(mx + x0 - centre[0], my + y0 - centre[1]))
        if best is None or distance < best[0]:
            best = (distance, (float(mx + x0), float(my + y0)))
    return None if best is None else best[1]


def paper_level(image: np.ndarray) -> float:
    """Brightness of bare paper: a high percentile, robust to ink and to dark scan borders."""
    small = image[:: max(1, image.shape[0] // 300), :: max(1, image.shape[1] // 300)]
    return float(max(64.0, np.percentile(small, 90)))


def register(image: np.ndarray, dpi: float, layout: Layout, qr: QrHit) -> Registration:
    page = layout.pages[qr.identity.page - 1]
    payload = qr.identity.payload()
    px_per_mm = dpi / 25.4
    # which of the two codes did we read? the one whose estimate puts the page where the image is
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for code in page.codes:
        corners = qr_symbol_corners(code, payload)
        # a similarity (rotation, scale, shift) from the QR's corners: a full perspective fitted to so small a
        # base would swing wildly at the far corners of the page
        partial, _ = cv2.estimateAffinePartial2D(corners, qr.corners_px, method=cv2.LMEDS)
        if partial is None:
            continue
        estimate = np.vstack([partial, [0.0, 0.0, 1.0]])
        centre = _apply(estimate, np.array([[layout.page_size[0] / 2, layout.page_size[1] / 2]]))[0]
        off = float(np.hypot(centre[0] - image.shape[1] / 2, centre[1] - image.shape[0] / 2))
        if best is None or off < best[0]:
            best = (off, estimate, corners)
    if best is None:
        return Registration(np.eye(3), float("inf"), 0, 0.0, ())
    _, estimate, qr_layout = best
    # the QR alone is a small base: refine with a similarity fitted to its corners, then find the marks
    paper = paper_level(image)
    mark_size_px = C.REG_MARK_SIZE_MM * px_per_mm
    layout_pts: list[np.ndarray] = [qr_layout]
    image_pts: list[np.ndarray] = [qr.corners_px]
    mark_centres: list[tuple[float, float]] = []
    mark_layout = np.array([[m.cx, m.cy] for m in page.registration_marks])
    predicted = _apply(estimate, mark_layout)
    for layout_pt, guess in zip(mark_layout, predicted, strict=True):
        found = _find_mark(image, guess, mark_size_px, px_per_mm, paper)
        if found is not None:
            mark_centres.append(found)
            layout_pts.append(layout_pt.reshape(1, 2))
            image_pts.append(np.array([found]))
    src = np.vstack(layout_pts)
    dst = np.vstack(image_pts)
    if len(mark_centres) >= 2:
        homography, _ = cv2.findHomography(src, dst, 0)
        if homography is None:
            homography = estimate
    else:
        homography = estimate
    err = np.hypot(*(_apply(homography, src) - dst).T)
    # marks carry the fit; weigh their error like the QR corners'
    residual_mm = float(np.sqrt(np.mean(err ** 2))) / px_per_mm
    origin, x_axis = _apply(homography, np.array([[0.0, 0.0], [100.0, 0.0]]))
    rotation = float(np.degrees(np.arctan2(x_axis[1] - origin[1], x_axis[0] - origin[0])))
    return Registration(homography, residual_mm, len(mark_centres), rotation, tuple(mark_centres))


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
