"""Item decisions from box states: one mark is an answer, anything unclear goes to a person."""

from __future__ import annotations

from dataclasses import replace

from pipeline.scan.decide import classify, decide_item
from pipeline.scan.results import BoxReading


def box(value: int, state: str, coverage: float = 0.0) -> BoxReading:
    return BoxReading("S01", value, coverage, 0.8, 0.0, 0.0, 0.0, state, 0.9)  # type: ignore[arg-type]


def row(**states: str) -> list[BoxReading]:
    cover = {"empty": 0.0, "marked": 0.2, "filled": 0.9, "uncertain": 0.05}
    return [box(v, states.get(f"b{v}", "empty"), cover[states.get(f"b{v}", "empty")]) for v in range(1, 6)]


def test_single_mark_is_the_answer() -> None:
    item = decide_item("S01", row(b3="marked"))
    assert (item.value, item.state, item.reason) == (3, "answered", None)


def test_nothing_marked_is_blank() -> None:
    item = decide_item("S01", row())
    assert (item.value, item.state) == (None, "blank")


def test_two_marks_are_flagged_multiple() -> None:
    item = decide_item("S01", row(b2="marked", b4="marked"))
    assert (item.value, item.state, item.reason) == (None, "flagged", "multiple")
    assert "2 and 4" in item.detail


def test_fill_to_cancel_then_mark_gives_the_mark() -> None:
    item = decide_item("S01", row(b2="filled", b5="marked"))
    assert (item.value, item.state) == (5, "answered")
    assert "cancel" in item.detail


def test_fill_without_new_mark_is_flagged() -> None:
    item = decide_item("S01", row(b2="filled"))
    assert item.state == "flagged" and item.reason == "cancelled"


def test_only_unclear_evidence_is_flagged() -> None:
    item = decide_item("S01", row(b4="uncertain"))
    assert item.state == "flagged" and item.reason == "uncertain" and item.value is None


def test_stray_touch_beside_a_clear_mark_is_ignored() -> None:
    boxes = row(b3="marked")
    boxes[3] = box(4, "uncertain", 0.04)
    boxes[2] = box(3, "marked", 0.30)
    assert decide_item("S01", boxes).value == 3


def test_unclear_box_comparable_to_the_mark_is_flagged() -> None:
    boxes = row(b3="marked")
    boxes[3] = box(4, "uncertain", 0.06)
    boxes[2] = box(3, "marked", 0.09)
    assert decide_item("S01", boxes).state == "flagged"


def test_classify_thresholds() -> None:
    area = 5.8 ** 2  # inner square of an 8 mm box, mm²
    assert classify(0.0, 0.0, 0.0, area)[0] == "empty"
    assert classify(0.2, 0.2, 0.0, area)[0] == "marked"
    assert classify(0.9, 0.9, 0.8, area)[0] == "filled"
    # dense but solid: an unfinished fill or a heavy mark, a person decides
    assert classify(0.55, 0.55, 0.15, area)[0] == "uncertain"
    # dense strokes, nothing solid: a heavy felt-tip cross is still a mark
    assert classify(0.5, 0.5, 0.0, area)[0] == "marked"
    # a solid fill scanned light still counts as filled
    assert classify(0.5, 0.6, 0.4, area)[0] == "filled"
    assert classify(0.035, 0.045, 0.0, area)[0] == "uncertain"
    # a faint pencil tick: nothing dark, but plenty of light ink
    assert classify(0.0, 0.2, 0.0, area)[0] == "marked"


def test_a_faded_second_mark_beside_a_faded_mark_is_not_taken_for_a_brush() -> None:
    """Pencil through a black-and-white scan: a big cross in box 1 and hatching in box 5 both survive as broken
    traces (measures of the wide bench's case).  Box 5 holds little dark ink but over a third of box 1's light
    ink, and box 1 is itself no clear mark: a second answer may be there, so a person looks."""
    boxes = row()
    boxes[0] = replace(box(1, "marked", 0.0473), faint=0.0862)
    boxes[4] = replace(box(5, "uncertain", 0.0085), faint=0.0325)
    item = decide_item("S01", boxes)
    assert item.state == "flagged" and item.reason == "uncertain", item


def test_a_light_brush_beside_a_clear_pencil_mark_is_still_ignored() -> None:
    boxes = row()
    boxes[2] = replace(box(3, "marked", 0.12), faint=0.25)
    boxes[3] = replace(box(4, "uncertain", 0.01), faint=0.03)
    assert decide_item("S01", boxes).value == 3


def test_a_loose_scribble_over_most_of_the_box_is_asked_about() -> None:
    """A real box scribbled out to cancel (queXF), set into an 11 mm box at its pen width: strokes in 7 of 9
    ninths, crossed 2.75 times - an answer or crossed out?  A real cross reaching as far is crossed at most
    twice and stays a mark; hatching (one direction) stays a mark."""
    area = 8.8 ** 2
    assert classify(0.234, 0.31, 0.0, area, corners=0, cells=7, coherence=0.37, passes=2.75)[0] == "uncertain"
    assert classify(0.19, 0.21, 0.0, area, corners=1, cells=7, coherence=0.11, passes=1.68)[0] == "marked"
    assert classify(0.25, 0.3, 0.0, area, corners=1, cells=7, coherence=0.8, passes=3.5)[0] == "marked"
    boxes = row()
    boxes[2] = replace(box(3, "uncertain", 0.234), faint=0.31, cells=7)
    item = decide_item("S01", boxes)
    assert item.state == "flagged" and "scribbled over" in item.detail, item.detail


def test_a_loose_scribble_beside_a_clear_mark_is_a_box_crossed_out_to_cancel() -> None:
    """queXF's real returns cancel a box by scribbling it out and mark another: beside a sure mark the scribble
    is not a second answer, and the note says what was taken as cancelled.  Beside a weak mark, still asked."""
    boxes = row(b2="marked")
    boxes[2] = replace(box(3, "uncertain", 0.234), faint=0.31, cells=7)
    item = decide_item("S01", boxes)
    assert (item.state, item.value) == ("answered", 2), item
    assert "box 3 scribbled over" in item.detail and "cancel" in item.detail, item.detail
    boxes[1] = replace(boxes[1], confidence=0.55)
    item = decide_item("S01", boxes)
    assert item.state == "flagged" and "scribbled over" in item.detail, item


def test_a_hollow_cross_in_four_pieces_crossing_itself_often_is_a_mark_not_a_fill() -> None:
    """A broad cross a black-and-white scan kept only the edges of: four pieces, no one direction, strokes with
    open paper, yet a line across meets its edges three times - a mark.  A real box scribbled out loosely
    (queXF, one way and in two pieces) stays asked about, and a real fill in six pieces running one way stays
    filled in to cancel."""
    area = 8.8 ** 2
    hollow = dict(corners=0, cells=8, coherence=0.27, passes=3.18, open_gap=0.38, bridged_passes=1.5,
                  bridged_solid=0.069, pieces=4)
    assert classify(0.314, 0.36, 0.0, 5.8 ** 2, **hollow)[0] == "marked"  # type: ignore[arg-type]
    assert classify(0.267, 0.31, 0.0, area, corners=1, cells=7, coherence=0.40, passes=2.83, open_gap=0.37,
                    bridged_passes=2.42, bridged_solid=0.01, pieces=2)[0] == "uncertain"
    assert classify(0.328, 0.37, 0.0, area, corners=0, cells=8, coherence=0.65, passes=4.17, open_gap=0.26,
                    bridged_passes=3.04, bridged_solid=0.06, pieces=6)[0] == "filled"


def test_a_hollow_cross_whose_edges_close_up_in_pairs_is_a_mark() -> None:
    """In a large box the inner square does not cut a hollow cross apart: one to three pieces, but bridged
    its edges close up in pairs (a line across meets about half as many) - a mark.  A real fill in large print
    closes up far less and runs one way: still filled in to cancel."""
    area = 8.8 ** 2
    assert classify(0.276, 0.33, 0.009, area, corners=3, cells=7, coherence=0.05, passes=3.35, open_gap=0.37,
                    bridged_passes=1.85, bridged_solid=0.012, pieces=3)[0] == "marked"
    assert classify(0.305, 0.40, 0.0, area, corners=0, cells=9, coherence=0.62, passes=4.21, open_gap=0.23,
                    bridged_passes=3.29, bridged_solid=0.03, pieces=3)[0] == "filled"
