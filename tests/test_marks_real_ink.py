"""Marks as real ink makes them, drawn in code into a printed square and read by the real measures (issue 24)."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.layout import Box
from pipeline.scan.marks import classify, classify_measures, measure_box
from pipeline.scan.results import BoxMeasures, BoxState

PX_PER_PT = 300 / 72  # a 300 dpi scan
BOX_MM = 8.0


def _page(side_mm: float = BOX_MM) -> tuple[np.ndarray, Box]:
    """A darkness map (0 paper, 1 ink) with one printed square, and that square."""
    side_pt = side_mm * C.PT_PER_MM
    box = Box(100.0, 100.0, side_pt, side_pt, item="S01", value=3)
    dark = np.zeros((int(400 * PX_PER_PT), int(400 * PX_PER_PT)), np.float32)
    x0, y0 = round(box.x * PX_PER_PT), round(box.y * PX_PER_PT)
    s = round(side_pt * PX_PER_PT)
    cv2.rectangle(dark, (x0, y0), (x0 + s - 1, y0 + s - 1), 1.0, thickness=round(C.BOX_LINE_WIDTH_PT * PX_PER_PT))
    return dark, box


def _px(box: Box, fx: float, fy: float) -> tuple[int, int]:
    """A point of the box, as shares of its side from its top-left corner."""
    return round((box.x + fx * box.w) * PX_PER_PT), round((box.y + fy * box.h) * PX_PER_PT)


def _state(dark: np.ndarray, box: Box) -> BoxState:
    m = measure_box(dark, box, PX_PER_PT)
    inner_mm = box.w / C.PT_PER_MM - 2 * C.BOX_INNER_INSET_MM
    kept = BoxMeasures(m.coverage, m.faint, m.solid, inner_mm ** 2, 0.0, 0.0, m.corners, m.dot_mm2, m.cells,
                       m.coherence, m.passes, m.cut_mm2, m.open_gap, m.bridged_passes, m.bridged_solid, m.pieces,
                       m.largest_mm2)
    return classify_measures(kept)[0]


def _pen(mm: float) -> int:
    return max(1, round(mm * C.PT_PER_MM * PX_PER_PT))


def test_a_broad_cross_a_black_and_white_scan_left_hollow_is_a_mark() -> None:
    """Two broad strokes corner to corner whose middles a 1-bit scan dropped: four edges crossing two ways."""
    dark, box = _page()
    ink = np.zeros_like(dark)
    arms = (((0.05, 0.05), (0.95, 0.95)), ((0.95, 0.05), (0.05, 0.95)))
    for a, b in arms:
        cv2.line(ink, _px(box, *a), _px(box, *b), 1.0, _pen(1.6))
    for a, b in arms:  # the stroke's middle, gone: two thin edges 0.3 mm wide are left of each arm
        cv2.line(ink, _px(box, *a), _px(box, *b), 0.0, _pen(1.0))
    dark = np.maximum(dark, ink)
    assert _state(dark, box) == "marked"


def test_a_box_scribbled_out_back_and_forth_is_still_filled() -> None:
    """Back and forth one way over the whole box (how people cancel a box): not a cross, however open."""
    dark, box = _page()
    for i in range(9):
        y = 0.12 + i * 0.095
        a, b = (0.1, y), (0.9, y + 0.09)
        cv2.line(dark, _px(box, *a), _px(box, *b), 1.0, _pen(0.45))
    assert _state(dark, box) == "filled"



def test_a_hollow_cross_over_most_of_a_large_box_is_a_mark_not_a_loose_scribble() -> None:
    """A large-print box, what a 1-bit scan left of a broad cross (measured by bench.real_ink): seven ninths
    inked, crossed three times along its rows; strokes running two ways say cross, not a scribble to ask about.
    The same measures running one way (a real scribble-out set into the box) are still asked about."""
    cross = dict(corners=2, cells=7, passes=3.19, open_gap=0.35, bridged_passes=1.87, pieces=3, largest_mm2=12.8,
                 bridged_solid=0.03)
    assert classify(0.243, 0.287, 0.0, 77.44, coherence=0.001, **cross)[0] == "marked"  # type: ignore[arg-type]
    assert classify(0.243, 0.287, 0.0, 77.44, coherence=0.37, **cross)[0] == "uncertain"  # type: ignore[arg-type]
