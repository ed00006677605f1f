"""Grouping the boxes found on a blank into questions, by geometry alone.

A row of boxes is one question, valued 1..n left to right (a scale, or one line of a grid); boxes that stand
alone in their row but line up in a column, close together, are one question valued top to bottom (Yes/No
stacked); a box on its own is a yes/no question of its own ("choose any").  This is a proposal: a person
checks it on the numbered preview and edits the form file.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from pipeline import constants as C
from pipeline.adopt.detect import Found


@dataclass(frozen=True)
class Proposed:
    page: int
    kind: str  # one | any
    boxes: tuple[Found, ...]  # in value order


def _rows(boxes: list[Found]) -> list[list[Found]]:
    rows: list[list[Found]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        if rows and abs(box.cy - median(b.cy for b in rows[-1])) <= C.ADOPT_ROW_TOLERANCE * box.h:
            rows[-1].append(box)
        else:
            rows.append([box])
    return [sorted(r, key=lambda b: b.cx) for r in rows]


def _split_row(row: list[Found]) -> list[list[Found]]:
    """Two questions side by side in one row are told apart by a gap much wider than the row's others."""
    if len(row) < 3:
        if len(row) == 2 and row[1].x - row[0].x - row[0].w > 12 * row[0].w:
            return [[row[0]], [row[1]]]
        return [row]
    gaps = [b.x - a.x - a.w for a, b in pairwise(row)]
    typical = median(gaps)
    parts: list[list[Found]] = [[row[0]]]
    for gap, box in zip(gaps, row[1:], strict=True):
        if gap > C.ADOPT_ROW_SPLIT_GAP * typical and gap > 3 * box.w:
            parts.append([box])
        else:
            parts[-1].append(box)
    return parts


def _columns(singles: list[Found]) -> list[list[Found]]:
    """Boxes alone in their rows that stack into a column, close together."""
    columns: list[list[Found]] = []
    for box in sorted(singles, key=lambda b: (b.cy)):
        for col in columns:
            last = col[-1]
            if abs(last.cx - box.cx) <= 0.5 * box.w and 0 <= box.y - last.y - last.h <= C.ADOPT_COLUMN_MAX_GAP * box.h:
                col.append(box)
                break
        else:
            columns.append([box])
    return columns


def group_page(page: int, boxes: list[Found]) -> list[Proposed]:
    parts = [part for row in _rows(boxes) for part in _split_row(row)]
    groups = [p for p in parts if len(p) > 1]
    singles = [p[0] for p in parts if len(p) == 1]
    proposed = [Proposed(page, "one", tuple(g)) for g in groups]
    for col in _columns(singles):
        proposed.append(Proposed(page, "one" if len(col) > 1 else "any", tuple(col)))
    return sorted(proposed, key=lambda p: (round(min(b.y for b in p.boxes) / 6), min(b.x for b in p.boxes)))
