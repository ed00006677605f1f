"""Reading that holds on hands, pens and marks the scanner was not tuned to (issue 13).

Each case is drawn in code on a real printed page (generator -> poppler), scanned by the simulator and read
by the real per-page reader: a short comment in a big box and writing on the rules are never called blank, a
blank field stays blank, a dot or blob in the middle of a box is an answer, a mark outside the boxes is
flagged by name, and real pen marks from real scans (when present) are read.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from pipeline import constants as C
from pipeline.form.definition import FormRegistry
from pipeline.form.generate import render_pdf
from pipeline.form.identity import serial_for
from pipeline.form.layout import Layout, PageLayout, compute_layout
from pipeline.scan.reader import ReaderConfig, read_page
from pipeline.scan.results import PageResult, PageSource
from pipeline.simulate import (
    DegradeParams,
    Hand,
    Pen,
    available_tiers,
    degrade,
    draw_mark,
    rect_px,
    render_pdf_pages,
    write_comment,
)
from pipeline.simulate.world import PRINT_DPI

FORM = "care-planning-person"
BLACK = Pen("black ballpoint", 40, 0.5)
PENCIL = Pen("pencil", 130, 0.4, pencil=True)
LIGHTLY_SCANNED = replace(DegradeParams.none(), noise_sigma=(2.0, 2.0), paper_tone=(236, 236), dpis=(200,),
                          dpi_weights=(1.0,), max_rotation_deg=1.0, rotation_sigma_deg=1.0)


@cache
def _printed(style: str) -> tuple[Layout, tuple[np.ndarray, ...]]:
    form = FormRegistry.from_dirs().get(FORM)
    layout = compute_layout(form, "a4", style)
    pages = render_pdf_pages(render_pdf(form, layout, [serial_for(4242)]), 1, layout.page_count)
    return layout, tuple(pages)


def printed(style: str) -> tuple[Layout, list[np.ndarray]]:
    layout, pages = _printed(style)
    return layout, [p.copy() for p in pages]


def comment_page(layout: Layout) -> PageLayout:
    """The page whose comment field is biggest (the last one stretches to fill its page)."""
    return max((p for p in layout.pages if p.text_fields), key=lambda p: p.text_fields[-1].h)


def read(img: np.ndarray, seed: int = 3, params: DegradeParams = LIGHTLY_SCANNED, bitonal: bool = False
         ) -> PageResult:
    scan = degrade(img, np.random.default_rng(seed), params, bitonal=bitonal)
    result = read_page(scan.image, scan.dpi, PageSource("test", 0), ReaderConfig())
    assert result.status == "form", result.reason
    return result


def hand(font_tier: str = "easy", x_height: float = 0.22, lift: tuple[float, float] = (0.05, 0.18),
         pen: Pen = BLACK, **kw: object) -> Hand:
    font = available_tiers()[font_tier][0]
    return Hand(str(font), font_tier, x_height, 0.1, pen, 0, lift=lift, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("word", ["No.", "Thanks"])
def test_one_word_in_the_large_print_box_is_not_blank(word: str) -> None:
    layout, pages = printed("large-print")
    page = comment_page(layout)
    field = page.text_fields[-1]
    write_comment(pages[page.page - 1], field, word, hand(), np.random.default_rng(1))
    comment = next(c for c in read(pages[page.page - 1]).comments if c.item == field.item)
    assert comment.written, f"'{word}' alone in a {field.h / 2.83:.0f} mm tall box was called blank"


def test_a_short_word_at_the_far_end_of_a_lower_line_is_not_blank() -> None:
    layout, pages = printed("standard")
    page = comment_page(layout)
    field = page.text_fields[-1]
    write_comment(pages[page.page - 1], field, "OK", hand(first_line=3, far_end=True), np.random.default_rng(2))
    comment = next(c for c in read(pages[page.page - 1]).comments if c.item == field.item)
    assert comment.written


@pytest.mark.parametrize("lift", [(-0.2, -0.15), (-0.02, 0.02)], ids=["rule-through-letters", "sitting-on-rule"])
def test_writing_on_the_rules_is_not_blank(lift: tuple[float, float]) -> None:
    layout, pages = printed("standard")
    page = comment_page(layout)
    field = page.text_fields[-1]
    write_comment(pages[page.page - 1], field, "Fine", hand("middle", lift=lift), np.random.default_rng(3))
    comment = next(c for c in read(pages[page.page - 1]).comments if c.item == field.item)
    assert comment.written


def test_a_light_pencil_word_in_a_black_and_white_scan_is_not_silently_blank() -> None:
    layout, pages = printed("standard")
    page = comment_page(layout)
    field = page.text_fields[-1]
    write_comment(pages[page.page - 1], field, "Thank you", hand(pen=PENCIL), np.random.default_rng(4))
    comment = next(c for c in read(pages[page.page - 1], bitonal=True).comments if c.item == field.item)
    assert comment.written  # transcribed, or 'possibly written' and sent to a person with the crop


@pytest.mark.parametrize("bitonal", [False, True])
def test_a_blank_field_stays_blank(bitonal: bool) -> None:
    layout, pages = printed("large-print")
    page = comment_page(layout)
    # a clear answer on the page, so no page-level sign of lost marks sends the field to a person
    for item in page.items:
        box = page.boxes_of(item)[1]
        draw_mark(pages[page.page - 1], rect_px(box), "tick", np.random.default_rng(5), BLACK)
    for comment in read(pages[page.page - 1], params=replace(LIGHTLY_SCANNED, noise_sigma=(5.0, 5.0)),
                        bitonal=bitonal).comments:
        assert not comment.written and not comment.possible, comment.engine


@pytest.mark.parametrize("style", ["standard", "large-print"])
@pytest.mark.parametrize("kind", ["dot", "wdot", "blob"])
def test_a_centred_dot_or_blob_is_an_answer_not_a_flag(style: str, kind: str) -> None:
    layout, pages = printed(style)
    page = layout.pages[0]
    expected = {}
    for n, item in enumerate(page.items):
        box = page.boxes_of(item)[n % 5]
        draw_mark(pages[0], rect_px(box), kind, np.random.default_rng(10 + n), BLACK)
        expected[item] = box.value
    got = {i.item: i for i in read(pages[0]).items}
    for item, value in expected.items():
        assert (got[item].state, got[item].value) == ("answered", value), got[item].detail


def test_a_big_tick_over_the_edges_is_the_answer_for_its_box() -> None:
    layout, pages = printed("standard")
    page = layout.pages[0]
    for n, item in enumerate(page.items):
        draw_mark(pages[0], rect_px(page.boxes_of(item)[n + 1]), "overshoot", np.random.default_rng(20 + n),
                  Pen("felt tip", 25, 0.9))
    got = {i.item: i for i in read(pages[0]).items}
    for n, item in enumerate(page.items):
        assert (got[item].state, got[item].value) == ("answered", n + 2), got[item].detail


@pytest.mark.parametrize("kind,words", [("circle", "round or beside the number"), ("beside", "beside box")])
def test_a_mark_outside_the_boxes_is_flagged_by_name(kind: str, words: str) -> None:
    layout, pages = printed("standard")
    page = layout.pages[0]
    item = page.items[0]
    draw_mark(pages[0], rect_px(page.boxes_of(item)[2]), kind, np.random.default_rng(7), BLACK)
    reading = next(i for i in read(pages[0]).items if i.item == item)
    assert reading.state == "flagged" and reading.reason == "outside" and words in reading.detail


def _hanging_tick(img: np.ndarray, box_px: tuple[float, float, float, float], pen: Pen) -> None:
    """A small tick drawn over a box's lower right corner: its turn just under the box, its long stroke up
    across the outline's corner, most of its ink outside the box (issue 24: ticks touching the outline)."""
    import cv2

    x, y, w, h = box_px
    px_per_mm = PRINT_DPI / 25.4
    turn = (x + 0.95 * w, y + h + 1.2 * px_per_mm)
    points = np.array([(turn[0] - 1.0 * px_per_mm, turn[1] - 1.2 * px_per_mm), turn,
                       (turn[0] + 1.6 * px_per_mm, turn[1] - 3.2 * px_per_mm)])
    stroke = np.zeros_like(img)
    cv2.polylines(stroke, [np.round(points).astype(np.int32).reshape(-1, 1, 2)], False, 255,
                  max(1, round(pen.width_mm * px_per_mm)), cv2.LINE_AA)
    ink = stroke.astype(np.float32) / 255.0
    img[:] = np.clip(img - (img.astype(np.float32) - pen.grey) * ink, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("pen", [BLACK, PENCIL], ids=["ballpoint", "pencil"])
def test_a_small_tick_hanging_off_a_box_corner_is_asked_about_not_read_blank(pen: Pen) -> None:
    """Little of such a tick is inside any box, so no box reads as marked; before, the row was read as blank
    without a flag.  The band under the boxes and the gap strip's reach below them see it: the row goes to a
    person, naming the box, and its evidence crop shows the band, so the person sees the tick."""
    layout, pages = printed("standard")
    page = layout.pages[0]
    item = page.items[1]
    box = page.boxes_of(item)[2]
    _hanging_tick(pages[0], rect_px(box), pen)
    got = {i.item: i for i in read(pages[0]).items}
    reading = got[item]
    assert reading.state == "flagged" and reading.reason == "outside", (reading.state, reading.detail)
    assert f"beside box {box.value}" in reading.detail
    assert all(i.state == "blank" for i in got.values() if i.item != item)  # the other rows: nothing there
    import cv2

    crop = cv2.imdecode(np.frombuffer(reading.crop_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    row = next(r for r in page.item_rows if r.item == item).rect
    assert crop.shape[0] > row.h / 72 * C.EVIDENCE_DPI + 5  # taller than the row: the band under it is shown


def test_a_box_scribbled_out_plus_a_tick_is_the_tick() -> None:
    layout, pages = printed("standard")
    page = layout.pages[0]
    item = page.items[0]
    boxes = page.boxes_of(item)
    draw_mark(pages[0], rect_px(boxes[1]), "fill", np.random.default_rng(8), BLACK)
    draw_mark(pages[0], rect_px(boxes[3]), "wtick", np.random.default_rng(9), BLACK)
    reading = next(i for i in read(pages[0]).items if i.item == item)
    assert (reading.state, reading.value) == ("answered", 4)


#: a box scribbled out loosely with a biro, as a real one from queXF (test_filled_3 B3_1): passes to and fro
#: over most of the box, one corner left clear, and strokes back across them (x, y as shares of the box)
LOOSE_SCRIBBLE = ((0.284, 0.33), (0.928, 0.284), (0.192, 0.56), (0.882, 0.514), (0.284, 0.836), (0.928, 0.836),
                  (0.56, 0.192), (0.468, 0.928))


def test_a_lone_loose_scribble_over_most_of_a_big_box_is_asked_about() -> None:
    """Scribbled out to cancel, or a mark?  Crossing passes over most of an 11 mm box, one ninth short of the
    whole box, are not an answer a person reads at a glance: flagged and named, never silently the answer."""
    import cv2

    layout, pages = printed("large-print")
    page = next(p for p in layout.pages if p.items)
    item = page.items[0]
    x, y, w, h = rect_px(page.boxes_of(item)[3])
    pts = np.array([(x + w * u, y + h * v) for u, v in LOOSE_SCRIBBLE])
    cv2.polylines(pages[page.page - 1], [np.round(pts).astype(np.int32)], False, 40, round(0.5 * PRINT_DPI / 25.4),
                  cv2.LINE_AA)
    reading = next(i for i in read(pages[page.page - 1]).items if i.item == item)
    assert reading.state == "flagged" and "scribbled over" in reading.detail, (reading.value, reading.detail)


def test_a_loose_scribble_beside_a_clear_cross_is_the_cross() -> None:
    """The same loose scribble, with a clear cross in another box of the row: the box was crossed out to cancel
    and the cross is the answer, as a person reads it (real queXF returns); the note names the scribbled box."""
    import cv2

    layout, pages = printed("large-print")
    page = next(p for p in layout.pages if p.items)
    item = page.items[0]
    boxes = page.boxes_of(item)
    x, y, w, h = rect_px(boxes[3])
    pts = np.array([(x + w * u, y + h * v) for u, v in LOOSE_SCRIBBLE])
    cv2.polylines(pages[page.page - 1], [np.round(pts).astype(np.int32)], False, 40, round(0.5 * PRINT_DPI / 25.4),
                  cv2.LINE_AA)
    draw_mark(pages[page.page - 1], rect_px(boxes[1]), "cross", np.random.default_rng(4), BLACK)
    reading = next(i for i in read(pages[page.page - 1]).items if i.item == item)
    assert (reading.state, reading.value) == ("answered", boxes[1].value), (reading.state, reading.detail)
    assert f"box {boxes[3].value} scribbled over" in reading.detail, reading.detail


@pytest.mark.realdata
@pytest.mark.slow
def test_real_pen_marks_from_real_scans_are_read() -> None:
    """queXF's hand-filled 1-bit scans, cut out and set into our boxes (skipped when the data is absent)."""
    from bench.real_marks import find_quexf, run, summary
    from bench.shared_data import where_looked

    root = find_quexf()
    if root is None:
        pytest.skip(f"queXF's real scans are not there: looked in {where_looked()}")
    result = run(root, styles=("standard",))
    s = summary(result)
    assert s["wrong"] == 0 and s["right_pct"] >= 97, result["examples"]
    assert result["by_kind"]["real cross"].get("right", 0) == sum(result["by_kind"]["real cross"].values())
