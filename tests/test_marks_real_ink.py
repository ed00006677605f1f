"""Marks as real ink makes them, drawn in code into a printed square and read by the real measures (issue 24)."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.layout import Box
from pipeline.scan.decide import classify, classify_measures, decide_item, decide_page
from pipeline.scan.marks import measure_box
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


def _light_strokes(box: Box, points: list[tuple[float, float]]) -> np.ndarray:
    """A pencil line through `points` in a printed square: light grain 0.3 mm wide round a darker core 0.15 mm
    wide (as a hard pencil pressed lightly scans in grey), too little ink for a pencil mark by area alone."""
    dark, _ = _page()
    ink = np.zeros_like(dark)
    for a, b in pairwise(points):
        cv2.line(ink, _px(box, *a), _px(box, *b), 0.2, _pen(0.3))
    for a, b in pairwise(points):
        cv2.line(ink, _px(box, *a), _px(box, *b), 0.45, _pen(0.15))
    return np.maximum(dark, ink)


#: a small hand's tick low in the box: a short first stroke down, a long second one up to the right
SMALL_TICK = [(0.42, 0.58), (0.52, 0.78), (0.8, 0.4)]


def _kept(dark: np.ndarray, box: Box) -> BoxMeasures:
    m = measure_box(dark, box, PX_PER_PT)
    inner_mm = box.w / C.PT_PER_MM - 2 * C.BOX_INNER_INSET_MM
    return BoxMeasures(m.coverage, m.faint, m.solid, inner_mm ** 2, 0.0, 0.0, m.corners, m.dot_mm2, m.cells,
                       m.coherence, m.passes, m.cut_mm2, m.open_gap, m.bridged_passes, m.bridged_solid, m.pieces,
                       m.largest_mm2)


def test_a_small_light_pencil_tick_is_read_as_a_mark() -> None:
    """A tick a person reads at a glance, though its light ink is under the pencil mark's area (bench.real_ink
    seed 5: flagged as unclear before): one unbroken stroke, running two ways."""
    dark = _light_strokes(_page()[1], SMALL_TICK)
    box = _page()[1]
    m = _kept(dark, box)
    faint_mm2 = m.faint * m.inner_mm2
    assert C.LIGHT_STROKE_MIN_FAINT_MM2 <= faint_mm2 < C.FAINT_MARK_MIN_AREA_MM2  # the case: under a pencil mark
    assert m.coverage < C.MARK_MIN_COVERAGE and m.coverage * m.inner_mm2 < C.MARK_MIN_AREA_MM2
    assert classify_measures(m)[0] == "marked"


def test_a_straight_light_line_as_long_as_the_tick_is_still_asked_about() -> None:
    """The same pencil, the same length of stroke, one straight way across the box (a stray line): no tick."""
    box = _page()[1]
    dark = _light_strokes(box, [(0.25, 0.7), (0.8, 0.35)])
    m = _kept(dark, box)
    assert m.faint * m.inner_mm2 >= C.LIGHT_STROKE_MIN_FAINT_MM2 and m.largest_mm2 >= C.LIGHT_STROKE_MIN_PIECE_MM2
    assert classify_measures(m)[0] == "uncertain"


def _reading(value: int, m: BoxMeasures) -> BoxReading:
    state, confidence = classify_measures(m)
    return BoxReading("S01", value, m.coverage, 0.5, 0.0, 0.0, 0.0, state, confidence, faint=m.faint, measures=m)


def test_a_small_light_tick_beside_a_clear_tick_is_a_brush_not_a_second_answer() -> None:
    """A light stroke in box 2 beside a clear felt-tip tick in box 4, with under STRAY_RATIO of its ink (a
    pencil rubbed out, or a brush): the answer is 4, with a note saying why box 2 was passed over.  Beside
    another light tick, or a thin pen tick with not much more ink, both are asked about."""
    box = _page()[1]
    light = _kept(_light_strokes(box, SMALL_TICK), box)
    pen, _ = _page()
    cv2.polylines(pen, [np.array([_px(box, 0.2, 0.5), _px(box, 0.4, 0.85), _px(box, 0.9, 0.1)])], False, 1.0,
                  _pen(0.8))
    clear = _kept(pen, box)
    empty = _kept(_page()[0], box)
    row = [_reading(1, empty), _reading(2, light), _reading(3, empty), _reading(4, clear), _reading(5, empty)]
    assert row[1].state == "marked" and row[3].state == "marked"
    got = decide_item("S01", row)
    assert (got.state, got.value) == ("answered", 4) and "light ink in box 2" in got.detail
    both = decide_item("S01", [row[0], row[1], row[2], _reading(4, light), row[4]])
    assert both.state == "flagged" and both.reason == FlagReason.MULTIPLE
    thin, _ = _page()
    cv2.polylines(thin, [np.array([_px(box, 0.2, 0.5), _px(box, 0.4, 0.85), _px(box, 0.9, 0.1)])], False, 1.0,
                  _pen(0.45))
    beside_thin = decide_item("S01", [row[0], row[1], row[2], _reading(4, _kept(thin, box)), row[4]])
    assert beside_thin.state == "flagged" and beside_thin.reason == FlagReason.MULTIPLE


def test_a_small_light_tick_read_in_black_and_white_still_warns_of_lighter_marks_lost() -> None:
    """A 1-bit page where one row's light tick is read as a mark: it is answered, and a blank row on the same
    page is still asked about, as when the tick was only a trace (a lighter mark may have vanished whole)."""
    box = _page()[1]
    light, empty = _kept(_light_strokes(box, SMALL_TICK), box), _kept(_page()[0], box)
    ticked = [replace(_reading(v, light if v == 2 else empty), item="S01") for v in range(1, 6)]
    blank = [replace(_reading(v, empty), item="S02") for v in range(1, 6)]
    got = {i.item: i for i in decide_page(ticked + blank, lambda _item: b"", "", True)[0]}
    assert (got["S01"].state, got["S01"].value) == ("answered", 2)
    assert got["S02"].state == "flagged" and got["S02"].reason == FlagReason.LOST_MARKS


def _dotted(box: Box, points: list[tuple[float, float]], step_mm: float = 0.5, dot_mm: float = 0.3) -> np.ndarray:
    """What a black-and-white scan keeps of a light pencil line through `points`: separate dots along it."""
    dark, _ = _page()
    for a, b in pairwise(points):
        (x0, y0), (x1, y1) = _px(box, *a), _px(box, *b)
        n = int(np.hypot(x1 - x0, y1 - y0) / (step_mm * C.PT_PER_MM * PX_PER_PT))
        for t in np.linspace(0.0, 1.0, max(2, n)):
            cv2.circle(dark, (round(x0 + t * (x1 - x0)), round(y0 + t * (y1 - y0))), _pen(dot_mm) // 2, 0.7, -1)
    return dark


def test_a_tick_a_black_and_white_scan_broke_into_a_trail_of_dots_is_a_mark() -> None:
    """A pencil tick a 1-bit scan kept as a trail of dots (the tidy set's ticks, flagged before): far more dots
    than dust leaves, enough ink in all to see the tick.  The first three of those dots alone are dust."""
    box = _page()[1]
    tick = [(0.2, 0.5), (0.4, 0.85), (0.9, 0.15)]
    m = _kept(_dotted(box, tick), box)
    assert m.pieces >= C.TRAIL_MIN_PIECES and m.largest_mm2 < C.LIGHT_STROKE_MIN_PIECE_MM2  # dots, no stroke
    assert m.coverage * m.inner_mm2 < C.MARK_MIN_AREA_MM2 and m.faint * m.inner_mm2 < C.FAINT_MARK_MIN_AREA_MM2
    assert classify_measures(m)[0] == "marked"
    dust = _kept(_dotted(box, [(0.2, 0.5), (0.25, 0.59)], step_mm=0.4), box)
    assert 1 <= dust.pieces <= C.SPECK_MAX_PIECES and classify_measures(dust)[0] == "empty"
