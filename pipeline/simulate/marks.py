"""Marks drawn by hand in the answer boxes: shapes in the box's unit square, scaled, nudged and wobbled."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import cv2
import numpy as np

from pipeline.constants import mm
from pipeline.simulate.world import (
    MARK_KINDS,
    PENCIL,
    PRINT_DPI,
    WIDE_BLOB_RADIUS_MM,
    WIDE_DOT_RADIUS_MM,
    WIDE_OVERSHOOT_SIZE,
    WIDE_TICK_SIZE,
    Pen,
)


def _ink(img: np.ndarray, x0: int, y0: int, mask: np.ndarray, pen: Pen, rng: np.random.Generator) -> None:
    """Lay `mask` (0..255 ink coverage) on `img` at (x0, y0) with the pen's ink, darkening only."""
    h, w = mask.shape
    x1, y1 = max(0, x0), max(0, y0)
    x2, y2 = min(img.shape[1], x0 + w), min(img.shape[0], y0 + h)
    if x2 <= x1 or y2 <= y1:
        return
    m = mask[y1 - y0:y2 - y0, x1 - x0:x2 - x0].astype(np.float32) / 255.0
    if pen.pencil:
        # graphite is grainy and uneven: the paper's tooth shows through
        m *= rng.uniform(0.55, 1.0, size=m.shape).astype(np.float32)
    region = img[y1:y2, x1:x2].astype(np.float32)
    ink = np.minimum(region, float(pen.grey))
    img[y1:y2, x1:x2] = np.clip(region + (ink - region) * m, 0, 255).astype(np.uint8)


def _jitter_path(points: np.ndarray, rng: np.random.Generator, wobble: float, steps: int = 8) -> np.ndarray:
    """Turn straight segments into a hand-drawn stroke: subdivide and wander a little."""
    out = [points[0]]
    for a, b in itertools.pairwise(points):
        for t in np.linspace(0, 1, steps + 1)[1:]:
            out.append(a + (b - a) * t)
    path = np.array(out, dtype=np.float64)
    drift = np.cumsum(rng.normal(0, wobble, size=path.shape), axis=0)
    drift -= np.linspace(0, 1, len(path))[:, None] * drift[-1]  # keep the ends where the hand aimed
    return path + drift


def _stroke(mask: np.ndarray, pts: np.ndarray, width_px: float, shift: int = 4, pressure: float = 0.0,
            rng: np.random.Generator | None = None) -> None:
    """A pen stroke along `pts`; with `pressure`, width and darkness swell and fade along it as a hand's do."""
    scale = 1 << shift
    if not pressure or rng is None:
        poly = np.round(pts * scale).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(mask, [poly], False, 255, max(1, round(width_px)), cv2.LINE_AA, shift)
        return
    n = len(pts)
    phase, cycles = rng.uniform(0, 2 * math.pi), rng.uniform(0.5, 2.0)
    push = 1.0 + pressure * np.sin(np.linspace(0, 2 * math.pi * cycles, n) + phase)
    for i, (a, b) in enumerate(itertools.pairwise(pts)):
        w = max(1, round(width_px * push[i]))
        level = int(np.clip(255 * (0.55 + 0.45 * push[i]), 120, 255))
        seg = np.round(np.array([a, b]) * scale).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(mask, [seg], False, level, w, cv2.LINE_AA, shift)


def draw_mark(img: np.ndarray, box_px: tuple[float, float, float, float], kind: str, rng: np.random.Generator,
              pen: Pen, dpi: int = PRINT_DPI) -> None:
    """Draw one hand-made mark of `kind` in the box at `box_px` (x, y, w, h in pixels of `img`).

    Shapes are drawn in the box's own unit square, then scaled, nudged and
    wobbled, so no two marks are alike.  A `faint` mark is a tick or cross in
    pencil whatever `pen` is; a `spill` is a tick or cross far larger than the box.
    """
    if kind == "specks":
        draw_specks(img, box_px, rng, dpi)
        return
    if kind == "faint":
        pen = PENCIL
        kind = "tick" if rng.random() < 0.6 else "cross"
    bx, by, bw, bh = box_px
    px_per_mm = mm(1) * dpi / 72.0
    # work in a patch with room for spills
    margin = bw * 1.2
    x0, y0 = int(bx - margin), int(by - margin)
    mask = np.zeros((int(bh + 2 * margin) + 1, int(bw + 2 * margin) + 1), np.uint8)
    ox, oy = bx - x0, by - y0
    width = pen.width_mm * px_per_mm * rng.uniform(0.85, 1.15)

    def place(unit: Sequence[tuple[float, float]], size: float, spread: float) -> np.ndarray:
        pts = np.array(unit, dtype=np.float64) - 0.5
        angle = rng.normal(0, 0.12)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        pts = pts @ rot.T * size * np.array([bw, bh])
        centre = np.array([ox + bw / 2, oy + bh / 2]) + rng.normal(0, spread, 2) * np.array([bw, bh])
        return pts + centre

    if kind in WIDE_ONLY_KINDS:
        _draw_wide(mask, (ox, oy, bw, bh), kind, rng, width, px_per_mm, pen.pressure)
        _ink(img, x0, y0, mask, pen, rng)
        return
    if kind == "spill":
        kind = "tick" if rng.random() < 0.6 else "cross"
        size, spread = rng.uniform(1.45, 2.0), 0.12
    else:
        size, spread = rng.uniform(0.6, 1.0), 0.05

    if kind == "tick":
        unit = [(0.1 + rng.uniform(-0.05, 0.05), 0.5 + rng.uniform(-0.1, 0.1)),
                (0.38 + rng.uniform(-0.05, 0.05), 0.85 + rng.uniform(-0.05, 0.05)),
                (0.92 + rng.uniform(-0.05, 0.05), 0.05 + rng.uniform(-0.05, 0.1))]
        _stroke(mask, _jitter_path(place(unit, size, spread), rng, width * 0.08), width)
    elif kind == "cross":
        for unit in ([(0.08, 0.08), (0.92, 0.92)], [(0.9, 0.1), (0.1, 0.9)]):
            u = [(x + rng.uniform(-0.06, 0.06), y + rng.uniform(-0.06, 0.06)) for x, y in unit]
            _stroke(mask, _jitter_path(place(u, size, spread), rng, width * 0.08), width)
    elif kind == "slash":
        unit = [(0.85 + rng.uniform(-0.08, 0.08), 0.08), (0.15 + rng.uniform(-0.08, 0.08), 0.92)]
        _stroke(mask, _jitter_path(place(unit, size, spread), rng, width * 0.08), width * 1.2)
    elif kind == "dot":
        r = rng.uniform(1.1, 1.9) * px_per_mm
        cx = ox + bw / 2 + rng.normal(0, 0.08) * bw
        cy = oy + bh / 2 + rng.normal(0, 0.08) * bh
        cv2.ellipse(mask, (round(cx * 16), round(cy * 16)), (round(r * 16), round(r * rng.uniform(0.75, 1.0) * 16)),
                    rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, 4)
    elif kind == "fill":
        _draw_fill(mask, (ox, oy, bw, bh), rng, width, px_per_mm)
    else:
        raise ValueError(f"unknown mark kind {kind!r}; use one of {', '.join(MARK_KINDS)}")
    _ink(img, x0, y0, mask, pen, rng)


def _draw_fill(mask: np.ndarray, box: tuple[float, float, float, float], rng: np.random.Generator, width: float,
               px_per_mm: float) -> None:
    """Fill-to-cancel: the box blacked in, solid or with a dense scribble, often past its edges."""
    bx, by, bw, bh = box
    grow = rng.uniform(-0.2, 0.8) * px_per_mm
    x1, y1, x2, y2 = bx - grow, by - grow, bx + bw + grow, by + bh + grow
    if rng.random() < 0.4:
        quad = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]) + rng.normal(0, 0.3 * px_per_mm, (4, 2))
        cv2.fillPoly(mask, [np.round(quad * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    pen_w = max(width, 0.5 * px_per_mm)
    step = pen_w * rng.uniform(0.55, 0.85)
    ys = np.arange(y1 + pen_w / 3, y2, step)
    pts = []
    for i, y in enumerate(ys):
        left = x1 + rng.uniform(-0.3, 0.5) * px_per_mm
        right = x2 + rng.uniform(-0.5, 0.3) * px_per_mm
        pts.extend([(left, y), (right, y + step / 2)] if i % 2 == 0 else [(right, y), (left, y + step / 2)])
    _stroke(mask, np.array(pts) + rng.normal(0, 0.15 * px_per_mm, (len(pts), 2)), pen_w)



#: marks only the wide variety draws (the tidy set keeps its own kinds and random streams unchanged)
WIDE_ONLY_KINDS = ("wtick", "wcross", "overshoot", "blob", "wdot", "hatch", "scribble", "beside", "circle",
                   "rtick", "loopcross", "boldcross", "hollowcross")
#: grown from what real ink looks like on returns (issue 24): a hand's tick, a cross written in one stroke with
#: a loop, a bold cross over the box's outline, a broad cross a black-and-white scan keeps only the edges of
REAL_INK_KINDS = ("rtick", "loopcross", "boldcross", "hollowcross")


def _draw_wide(mask: np.ndarray, box: tuple[float, float, float, float], kind: str, rng: np.random.Generator,
               width: float, px_per_mm: float, pressure: float) -> None:
    """The sloppier marks: ticks and crosses 0.7-1.8x the box (often off-centre and over its edges), dots and
    blobs of several sizes, hatching, scribbles, a tick beside the box, a circle round the printed number, and
    (a mark exactly between two boxes is a tick drawn in a box set midway: see `fill_page`)."""
    bx, by, bw, bh = box
    centre = np.array([bx + bw / 2, by + bh / 2])

    def line(pts: Sequence[tuple[float, float]], w: float = width) -> None:
        _stroke(mask, _jitter_path(np.array(pts, dtype=np.float64), rng, w * 0.1), w, pressure=pressure, rng=rng)

    def shape(unit: Sequence[tuple[float, float]], size: float, at: np.ndarray) -> list[tuple[float, float]]:
        angle = rng.normal(0, 0.2)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        pts = (np.array(unit) - 0.5) @ rot.T * size * np.array([bw, bh]) + at
        return [(float(x), float(y)) for x, y in pts]

    if kind in REAL_INK_KINDS:
        _draw_real_ink(mask, box, kind, rng, width, px_per_mm, pressure)
    elif kind in ("wtick", "wcross", "overshoot", "beside"):
        big = kind == "overshoot"
        size = rng.uniform(*(WIDE_OVERSHOOT_SIZE if big else WIDE_TICK_SIZE))
        at = centre + rng.normal(0, 0.12 if big else 0.06, 2) * np.array([bw, bh])
        if big:  # a big mark starts in the box and runs up and out: its centre sits high and to the right
            at += np.array([0.15, -0.15]) * (size - 1) * np.array([bw, bh])
        if kind == "beside":
            at = centre + np.array([bw * rng.uniform(0.75, 0.95), rng.normal(0, 0.1) * bh])
            size = rng.uniform(0.6, 0.9)
        tick = kind == "wtick" or (kind != "wcross" and rng.random() < 0.6)
        if tick:
            line(shape([(0.1, 0.5 + rng.uniform(-0.15, 0.15)), (0.38 + rng.uniform(-0.08, 0.08), 0.88),
                        (0.95, rng.uniform(-0.05, 0.15))], size, at))
        else:
            line(shape([(0.05, 0.05), (0.95, 0.95)], size, at))
            line(shape([(0.95, 0.05), (0.05, 0.95)], size, at))
    elif kind in ("wdot", "blob"):
        r = rng.uniform(*(WIDE_DOT_RADIUS_MM if kind == "wdot" else WIDE_BLOB_RADIUS_MM)) * px_per_mm
        c = centre + rng.normal(0, 0.07, 2) * np.array([bw, bh])
        if kind == "blob" and rng.random() < 0.5:  # a few circles gone round, not quite filled
            t = np.linspace(0, 2 * math.pi * rng.uniform(2, 4), 80)
            radius = r * (1 - t / t[-1] * 0.7)
            pts = np.stack([c[0] + radius * np.cos(t), c[1] + radius * np.sin(t)], 1)
            _stroke(mask, pts, max(width, 0.5 * px_per_mm), pressure=pressure, rng=rng)
        else:
            axes = (round(r * 16), round(r * rng.uniform(0.7, 1) * 16))
            cv2.ellipse(mask, (round(c[0] * 16), round(c[1] * 16)), axes, rng.uniform(0, 180), 0, 360, 255, -1,
                        cv2.LINE_AA, 4)
    elif kind == "hatch":
        # hatching leaves paper between its lines: a broad pen draws fewer of them
        n = int(np.clip(rng.integers(3, 6), 2, max(2, int(0.75 * bw / (2.5 * width)))))
        for i in range(n):
            u = (i + 0.5) / n
            line(shape([(u - 0.2, 0.85), (u + 0.2, 0.15)], rng.uniform(0.6, 0.9), centre))
    elif kind == "scribble":
        t = np.linspace(0, 1, 60)
        f = rng.uniform(3, 6)
        pts = np.stack([centre[0] + (t - 0.5) * bw * rng.uniform(0.3, 0.5),
                        centre[1] + np.sin(t * f * 2 * math.pi) * bh * rng.uniform(0.1, 0.18)], 1)
        _stroke(mask, pts + rng.normal(0, 0.3 * px_per_mm, pts.shape), width, pressure=pressure, rng=rng)
    elif kind == "circle":  # round the printed number, which sits left of the box
        c = np.array([bx - 2.9 * px_per_mm, centre[1]]) + rng.normal(0, 0.4 * px_per_mm, 2)
        r = bh * rng.uniform(0.5, 0.75)
        t = np.linspace(0, 2 * math.pi * rng.uniform(1.0, 1.15), 60) + rng.uniform(0, 2 * math.pi)
        pts = np.stack([c[0] + r * 1.1 * np.cos(t), c[1] + r * np.sin(t)], 1)
        _stroke(mask, pts + rng.normal(0, 0.2 * px_per_mm, pts.shape), width, pressure=pressure, rng=rng)


def _draw_real_ink(mask: np.ndarray, box: tuple[float, float, float, float], kind: str, rng: np.random.Generator,
                   width: float, px_per_mm: float, pressure: float) -> None:
    """Marks as real hands make them, not as a tidy shape: see REAL_INK_KINDS."""
    bx, by, bw, bh = box
    centre = np.array([bx + bw / 2, by + bh / 2]) + rng.normal(0, 0.06, 2) * np.array([bw, bh])

    def at(unit: Sequence[tuple[float, float]], size: float, angle_sd: float = 0.15) -> np.ndarray:
        angle = rng.normal(0, angle_sd)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        return (np.array(unit, dtype=np.float64) - 0.5) @ rot.T * size * np.array([bw, bh]) + centre

    def line(pts: np.ndarray, w: float, steps: int = 8) -> None:
        _stroke(mask, _jitter_path(pts, rng, w * 0.1, steps), w, pressure=pressure, rng=rng)

    if kind == "rtick":
        # a short first stroke down to the turn, then a long one up and out, often to or past the outline
        size = rng.uniform(0.75, 1.35)
        turn = (rng.uniform(0.3, 0.5), rng.uniform(0.75, 0.95))
        start = (turn[0] - rng.uniform(0.12, 0.28), turn[1] - rng.uniform(0.15, 0.35))
        end = (rng.uniform(0.85, 1.15), rng.uniform(-0.15, 0.15))
        if rng.random() < 0.5:  # the hand slows into the turn: a little hook or blob there
            mid = (turn[0] + rng.uniform(-0.04, 0.04), turn[1] + rng.uniform(0.0, 0.05))
            pts = at([start, mid, turn, end], size)
        else:
            pts = at([start, turn, end], size)
        line(pts, width * rng.uniform(0.8, 1.2))
    elif kind == "loopcross":
        # one stroke: down across, a loop, back up, and down across the other way (a joined-up x)
        size = rng.uniform(0.7, 1.2)
        r = rng.uniform(0.08, 0.2)
        t = np.linspace(0, 2 * math.pi, 18)
        if rng.random() < 0.5:  # the loop at the bottom-right turn
            loop = [(0.9 + r * math.cos(a) - r, 0.9 - r * math.sin(a)) for a in t]
            unit = [(0.1, 0.1), (0.9 - r, 0.9), *loop, (0.92, 0.1), (0.1, 0.9)]
        else:  # the loop where the strokes cross
            loop = [(0.5 + r * math.sin(a), 0.5 - r + r * math.cos(a)) for a in t]
            unit = [(0.1, 0.1), (0.5, 0.5), *loop[1:], (0.9, 0.9), (0.9, 0.1), (0.1, 0.9)]
        line(at(unit, size), width, steps=3)
    else:
        # bold: a broad felt tip, often larger than the box; hollow: the same broad stroke, of which a
        # black-and-white scan's edge enhancement keeps only the edges
        size = rng.uniform(1.0, 1.5) if kind == "boldcross" else rng.uniform(0.8, 1.2)
        w = max(width, rng.uniform(0.9, 1.6) * px_per_mm)
        stroke = np.zeros_like(mask)
        for unit in ([(0.05, 0.05), (0.95, 0.95)], [(0.95, 0.05), (0.05, 0.95)]):
            u = [(x + rng.uniform(-0.05, 0.05), y + rng.uniform(-0.05, 0.05)) for x, y in unit]
            _stroke(stroke, _jitter_path(at(u, size), rng, w * 0.05), w)
        if kind == "hollowcross":
            edge = max(1, round(rng.uniform(0.2, 0.35) * px_per_mm))
            inner = cv2.erode(stroke, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge + 1, 2 * edge + 1)))
            stroke = cv2.subtract(stroke, inner)
        np.maximum(mask, stroke, out=mask)


def draw_specks(img: np.ndarray, box_px: tuple[float, float, float, float], rng: np.random.Generator,
                dpi: int = PRINT_DPI) -> None:
    """Dust and toner: one to three specks of 1-3 scan pixels (at 300 dpi) in an empty box, as real scans
    show.  A person sees an empty box."""
    bx, by, bw, bh = box_px
    px = dpi / 300.0
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = bx + bw * rng.uniform(0.2, 0.8), by + bh * rng.uniform(0.2, 0.8)
        r = rng.uniform(0.5, 1.5) * px
        cv2.circle(img, (round(cx * 4), round(cy * 4)), max(1, round(r * 4)), int(rng.integers(20, 120)), -1,
                   cv2.LINE_AA, 2)
