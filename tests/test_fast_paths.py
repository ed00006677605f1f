"""The reader's fast paths give exactly what the plain computations give (issue 24, item 4).

Each fast path does less work for the same answer: it must never change a mask, a measure or a picture, so
each is checked here against the plain whole-image computation it replaces (kept in this file as the
reference), on fields and pages built in code with the cases that could tell them apart: runs exactly as long
as a rule, rules at the edges, rules close enough that their bands merge, strokes crossing rules, specks,
grey shading, noise.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline import constants as C
from pipeline.scan import comments

PX_PER_MM = C.COMMENT_DPI / 25.4


def _remove_lines_whole(dark: np.ndarray, px_per_mm: float) -> np.ndarray:
    """The rule remover as it was, over the whole field: the reference."""
    span = max(3, int(C.COMMENT_RULE_MIN_LENGTH_MM * px_per_mm))
    lines = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (span, 1)))
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 3)))
    sides = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, span)))
    sides = cv2.dilate(sides, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 1)))
    writing = cv2.subtract(cv2.subtract(dark, lines), sides)
    bridge = max(3, round(C.COMMENT_RULE_BRIDGE_MM * px_per_mm))
    joined = cv2.morphologyEx(writing, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge)))
    return cv2.bitwise_or(writing, cv2.bitwise_and(joined, lines))


def _ink_field(seed: int, px_per_mm: float = PX_PER_MM) -> np.ndarray:
    """An ink mask such as a comment field gives: rules (some slightly skewed, some broken, one at each edge,
    two close together), frame sides, handwriting-like strokes across them, specks and noise."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(120, 420)), int(rng.integers(300, 1300))
    ink = np.zeros((h, w), np.uint8)
    span = max(3, int(C.COMMENT_RULE_MIN_LENGTH_MM * px_per_mm))
    ys = [0, h - 1, *rng.integers(5, h - 5, size=int(rng.integers(1, 6))).tolist()]
    ys.append(min(h - 1, ys[-1] + int(rng.integers(3, 30))))  # a rule close to another: the bands merge
    for y in ys:
        slope = int(rng.integers(-3, 4))
        cv2.line(ink, (int(rng.integers(0, 20)), y), (w - 1 - int(rng.integers(0, 20)), y + slope), 255,
                 int(rng.integers(1, 4)))
    x = int(rng.integers(0, w - span - 2))
    y = int(rng.integers(0, h))
    ink[y, x:x + span] = 255  # a run exactly as long as a rule: opened away as one
    ink[min(h - 1, y + 7), x:x + span - 1] = 255  # one pixel short: stays writing
    for side_x in (0, w - 1, int(rng.integers(1, w - 1))):
        cv2.line(ink, (side_x, int(rng.integers(0, 10))), (side_x, h - 1 - int(rng.integers(0, 10))), 255, 2)
    for _ in range(int(rng.integers(0, 40))):  # strokes: across the rules, ending on them, joined writing
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (p0[0] + int(rng.integers(-40, 40)), p0[1] + int(rng.integers(-60, 60)))
        cv2.line(ink, p0, p1, 255, int(rng.integers(1, 5)))
    noise = rng.random((h, w)) < rng.choice([0.0, 0.001, 0.02])
    ink[noise] = 255
    return ink


@pytest.mark.parametrize("seed", range(40))
def test_rule_removal_on_chosen_rows_and_bands_is_the_whole_field_opening(seed: int) -> None:
    px_per_mm = PX_PER_MM if seed % 4 else 150 / 25.4
    ink = _ink_field(seed, px_per_mm)
    assert np.array_equal(comments.remove_lines(ink, px_per_mm), _remove_lines_whole(ink, px_per_mm))


def test_rule_removal_of_an_empty_and_a_full_field_is_the_whole_field_opening() -> None:
    for ink in (np.zeros((80, 400), np.uint8), np.full((80, 400), 255, np.uint8)):
        assert np.array_equal(comments.remove_lines(ink, PX_PER_MM), _remove_lines_whole(ink, PX_PER_MM))


@pytest.mark.parametrize("paper", [255.0, 254.6, 231.3, 200.0, 180.7, 128.2, 97.0, 40.5, 1.0])
def test_ink_mask_by_lookup_table_is_the_float_comparison_for_every_pair_of_greys(paper: float) -> None:
    crop, closed = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))  # every pair
    background = np.clip(closed.astype(np.float32), paper * C.COMMENT_DARKEST_TINT, paper)  # as it was
    reference = (crop < background * (1 - C.INK_DARKNESS * 0.8)).astype(np.uint8)
    assert np.array_equal(comments.ink_mask(crop, closed, paper), reference * 255)
