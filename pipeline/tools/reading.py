"""What every handwriting wrapper gives back: the lines it read, each with the engine's own confidence.

Kept per line because a field is often half easy and half hard: an average over the field would hide the
one line a person should look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float  # 0-100, the engine's own confidence in this line


@dataclass(frozen=True)
class OcrText:
    text: str
    confidence: float  # 0-100 over the whole text (length-weighted over its lines); 0 when nothing was read
    lines: tuple[OcrLine, ...] = ()


@dataclass(frozen=True)
class OcrBox:
    """One piece of text an engine found: its reading, confidence (0-100) and place (pixels)."""

    text: str
    confidence: float
    left: float
    top: float
    bottom: float


def group_lines(boxes: list[OcrBox]) -> list[OcrLine]:
    """Pieces on one line of writing joined left to right, lines top to bottom.

    Engines sometimes find one line as several pieces whose centres differ by a few pixels; sorting by centre
    alone would interleave them with the next line.  A piece joins the line above when its centre is within
    0.6 of a typical piece's height."""
    if not boxes:
        return []
    height = median(b.bottom - b.top for b in boxes) or 1.0
    lines: list[list[OcrBox]] = []
    last_y: float | None = None
    for box in sorted(boxes, key=lambda b: (b.top + b.bottom) / 2):
        y = (box.top + box.bottom) / 2
        if last_y is None or y - last_y > 0.6 * height:
            lines.append([])
        lines[-1].append(box)
        last_y = y
    out = []
    for line in lines:
        pieces = sorted(line, key=lambda b: b.left)
        chars = sum(len(p.text) for p in pieces) or 1
        out.append(OcrLine(" ".join(p.text for p in pieces),
                           sum(p.confidence * len(p.text) for p in pieces) / chars))
    return out
