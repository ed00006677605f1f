"""What a handwriting engine is given: the writing of a field in strips of a few lines, cut between the lines.

A comment field is wide and can be tall.  Read whole, a field of many lines makes PP-OCR's text finder work on
a large image (a few hundred MB more per worker) for no gain in accuracy; read one line at a time, letters
whose tails cross into the next line are cut and the engine loses the context of neighbouring lines (both
measured: README, "Which engine?").  So the field is cut, at most every `OCR_STRIP_MAX_LINES` written lines,
at the emptiest row near a printed rule - between two lines of writing - and only where that row is (nearly)
empty, so writing that ignores the rules is never cut through.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from pipeline import constants as C
from pipeline.scan.ocr import OcrEngine, tidy
from pipeline.tools.reading import OcrText

# where to look for the gap between two written lines, as shares of the rule spacing around a printed rule
# (writing sits on the rule; tails hang below it; the next line's tall letters reach down towards it)
_GAP_ABOVE, _GAP_BELOW = 0.2, 0.6
_GAP_MAX_INK = 0.04  # a row is a gap when it holds at most this share of the busiest row's ink


def line_gaps(mask: np.ndarray, rules_px: list[float]) -> list[int]:
    """Rows between written lines, one per printed rule at most, where a cut would touch (almost) no ink."""
    rows = (mask > 0).sum(axis=1)
    inked = np.flatnonzero(rows)
    if inked.size == 0:
        return []
    top, bottom = int(inked[0]), int(inked[-1]) + 1
    spacing = float(np.median(np.diff(rules_px))) if len(rules_px) > 1 else mask.shape[0]
    limit = _GAP_MAX_INK * float(rows.max())
    gaps = set()
    for rule in rules_px:
        lo, hi = max(top + 1, int(rule - _GAP_ABOVE * spacing)), min(bottom - 1, int(rule + _GAP_BELOW * spacing))
        if hi <= lo:
            continue
        row = lo + int(np.argmin(rows[lo:hi]))
        if rows[row] <= limit:
            gaps.add(row)
    return sorted(gaps)


def strips(cleaned: np.ndarray, mask: np.ndarray, rules_px: list[float], dpi: float,
           max_lines: int = C.OCR_STRIP_MAX_LINES) -> list[np.ndarray]:
    """The writing in strips of at most `max_lines` written lines, top to bottom, each trimmed to its writing
    plus a margin and stretched to full contrast (dark writing on white)."""
    rows = (mask > 0).sum(axis=1)
    inked = np.flatnonzero(rows)
    if inked.size == 0:
        return []
    edges = [int(inked[0]), *line_gaps(mask, rules_px), int(inked[-1]) + 1]
    bands = [(a, b) for a, b in pairwise(edges) if rows[a:b].any()]
    out = []
    for i in range(0, len(bands), max_lines):
        a, b = bands[i][0], bands[min(len(bands), i + max_lines) - 1][1]
        out.append(_trimmed(cleaned, mask, a, b, dpi))
    return out


def _trimmed(cleaned: np.ndarray, mask: np.ndarray, a: int, b: int, dpi: float) -> np.ndarray:
    """Rows a..b of the field: only the writing in them, with a margin of paper, at full contrast."""
    pad = round(C.OCR_TRIM_MARGIN_MM * dpi / 25.4)
    ys, xs = np.nonzero(mask[a:b])
    y0, y1 = max(0, a + ys.min() - pad), min(mask.shape[0], a + ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(mask.shape[1], xs.max() + 1 + pad)
    part = cleaned[y0:y1, x0:x1].copy()
    part[: max(0, a - y0)] = 255  # the margin may reach into the neighbouring strips: only this one's writing
    part[b - y0:] = 255
    low, high = float(part.min()), float(part.max())
    return ((part.astype(np.float32) - low) * (255.0 / max(1.0, high - low))).astype(np.uint8)


def transcribe(engine: OcrEngine, cleaned: np.ndarray, mask: np.ndarray, rules_px: list[float],
               dpi: float) -> OcrText:
    """Read a field strip by strip; the lines of all strips, in order, tidied as one transcription."""
    return tidy([line for part in strips(cleaned, mask, rules_px, dpi) for line in engine.read_lines(part)])
