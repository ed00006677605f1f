"""Marks in adopted boxes: a cross drawn heavy for a small box is a mark, a box scribbled out is not.

In a 3.5 mm box a broad pen's cross covers 60-80 % of the inside, as much as a scribble-out; what tells them
apart is that a cross's ink lies along two straight strokes as wide as the pen, a scribble's along many.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.adopt.read import _dense_state, _Measured, two_line_share

SIDE_PX = 40  # the inside of a 3.5 mm box at the reader's resolution, about


def _cross(width: int, tilt: int = 0) -> np.ndarray:
    ink = np.zeros((SIDE_PX, SIDE_PX), np.uint8)
    cv2.line(ink, (2, 2 + tilt), (SIDE_PX - 3, SIDE_PX - 3 - tilt), 1, width)
    cv2.line(ink, (SIDE_PX - 3, 3), (3 + tilt, SIDE_PX - 4), 1, width)
    return ink.astype(bool)


def _scribble(width: int, passes: int) -> np.ndarray:
    """Back and forth over the box, corner to corner, as people cancel a box."""
    ink = np.zeros((SIDE_PX, SIDE_PX), np.uint8)
    ys = np.linspace(1, SIDE_PX - 2, passes + 1).astype(int)
    for n in range(passes):
        x0, x1 = (1, SIDE_PX - 2) if n % 2 == 0 else (SIDE_PX - 2, 1)
        cv2.line(ink, (x0, int(ys[n])), (x1, int(ys[n + 1])), 1, width)
    return ink.astype(bool)


@pytest.mark.parametrize(("width", "tilt"), [(8, 0), (12, 5), (13, 0), (11, 1)])
def test_a_heavy_cross_in_a_small_box_lies_along_two_strokes(width: int, tilt: int) -> None:
    ink = _cross(width, tilt)
    assert ink.mean() > 0.42  # dense: as much ink as a scribble-out
    assert two_line_share(ink) >= 0.8


@pytest.mark.parametrize(("width", "passes"), [(5, 6), (7, 5), (8, 7), (10, 4), (6, 8)])
def test_a_box_scribbled_out_does_not(width: int, passes: int) -> None:
    ink = _scribble(width, passes)
    assert ink.mean() > 0.42
    assert two_line_share(ink) < 0.8


def test_on_a_cancel_form_the_cross_is_the_answer_and_the_scribble_a_cancel() -> None:
    def measured(ink: np.ndarray) -> _Measured:
        paper = np.pad((~ink).astype(np.uint8), 1)
        gap = float(cv2.distanceTransform(paper, cv2.DIST_L2, 3).max()) * 2 / SIDE_PX
        return _Measured(float(ink.mean()), float(ink.mean()), 0.2, 0.9, gap, two_line_share(ink), 0, 0, 0.3)

    for width, tilt in ((8, 0), (12, 5), (13, 0)):
        assert _dense_state(measured(_cross(width, tilt)), True)[0] == "marked"
    for width, passes in ((5, 6), (7, 5), (8, 7), (10, 4), (6, 8)):
        assert _dense_state(measured(_scribble(width, passes)), True)[0] == "filled"
