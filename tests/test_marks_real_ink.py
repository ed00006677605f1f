"""Marks as real ink makes them, drawn in code into a printed square and read by the real measures (issue 24)."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.layout import Box
from pipeline.scan.marks import classify, classify_measures, decide_page, measure_box
from pipeline.scan.results import BoxMeasures, BoxReading, BoxState, ItemReading
from pipeline.vocab import FlagReason

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


def _row(item: str, marked: int | None, specks: int = 0, in_box: int = 2) -> list[BoxReading]:
    """A row of five boxes: box `marked` ticked, `specks` pieces of dust in box `in_box` (which reads empty)."""
    out = []
    for v in range(1, 6):
        ticked = v == marked
        m = BoxMeasures(0.2 if ticked else 0.0, 0.25 if ticked else 0.002, 0.0, 33.64, 0.0, 0.0, 0, 0.0, 0, 0.0,
                        0.0, 33.1, pieces=1 if ticked else (specks if v == in_box else 0), largest_mm2=0.05)
        out.append(BoxReading(item, v, m.coverage, 0.8, 0.0, 0.0, 0.0, "marked" if ticked else "empty", 0.9,
                              faint=m.faint, measures=m))
    return out


def _decided(rows: list[list[BoxReading]], bitonal: bool) -> dict[str, ItemReading]:
    boxes = [b for r in rows for b in r]
    return {i.item: i for i in decide_page(boxes, lambda _item: b"", "", bitonal)[0]}


def test_the_only_blank_row_of_a_black_and_white_page_with_a_speck_is_asked_about() -> None:
    """A light tick a 1-bit scan thinned to one dot looks like dust; among answered rows it is asked about."""
    rows = [_row(f"S0{n}", 3) for n in range(1, 5)] + [_row("S05", None, specks=1)]
    got = _decided(rows, bitonal=True)
    assert got["S05"].state == "flagged" and got["S05"].reason == FlagReason.THINNED
    assert "thinned away" in got["S05"].detail
    assert all(got[f"S0{n}"].state == "answered" for n in range(1, 5))
    # the same page scanned in grey keeps a light mark as a trace: a speck there is dust, the row blank
    assert _decided(rows, bitonal=False)["S05"].state == "blank"


def test_specks_in_several_blank_rows_are_dust() -> None:
    """Two blank rows with a speck or three each (dust and toner, as real scans show): read as blank."""
    rows = [_row("S01", 3), _row("S02", 1), _row("S03", None, specks=2), _row("S04", None, specks=3),
            _row("S05", 4)]
    got = _decided(rows, bitonal=True)
    assert got["S03"].state == "blank" and got["S04"].state == "blank"


def test_a_box_with_more_specks_than_dust_leaves_is_asked_about_in_black_and_white() -> None:
    """More separate dots in one box than dust leaves: what a 1-bit scan keeps of a light pencil stroke."""
    rows = [_row("S01", 3), _row("S02", None), _row("S03", None, specks=C.SPECK_MAX_PIECES + 2), _row("S04", 4)]
    got = _decided(rows, bitonal=True)
    assert got["S03"].reason == FlagReason.THINNED and "more specks" in got["S03"].detail
    assert got["S02"].state == "blank"
