"""Grouping the boxes found on a blank into questions, as the form prints them.

The print says which boxes are one question, and geometry alone does not: a choose-one list laid out in two
columns is one question, two short questions side by side are two, a rating grid is one question per row.
So, with the blank's words (tesseract, `wording.page_words`):

- a box's label is the run of words just right of it; the scale words printed over a row or grid of boxes
  are labels too ("very poor ... very good");
- a row of boxes with no label between them (a scale, "from ... to" with a word at each end, a row of a
  rating grid) is one question, valued 1..n left to right; a grid of ten stacked rows (digits 0-9) is a code,
  one question per column, valued top to bottom;
- every other box (a list option, yes/no, a box on its own) belongs to the printed line that owns it: the
  nearest line of wording above it (or on its own row, left of it) that starts left of it - a question
  number, the question's text, or a heading.  Boxes with one owner are one question, valued in reading
  order (row by row); so the columns of one list stay together under their question, and a column of the
  page under its own heading stays apart.
- where the print does not settle it (no wording found over some boxes, rows of one list far apart), the
  question carries a doubt in plain words, written into the form file and adopt's summary: two questions
  are never merged silently.

Without words (no tesseract), rows and stacked columns of boxes are grouped by geometry, each with a doubt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from pipeline import constants as C
from pipeline.adopt.detect import Found
from pipeline.adopt.wording import Word

NUMBERED = re.compile(r"^(Q\.?\s?\d+|\d+(\.\d+)*[.):]?|[A-Z]\d*[.)])$", re.IGNORECASE)
CHOOSE_ANY = re.compile(r"all that apply|tick all|mark all|select all|check all|any that apply|more than one|"
                        r"several answers|multiple answers", re.IGNORECASE)
GEOMETRY_DOUBT = "grouped by where the boxes lie (no printed wording was read near them): check it"


@dataclass(frozen=True)
class Proposed:
    page: int
    kind: str  # one | any
    boxes: tuple[Found, ...]  # in value order
    text: str = ""  # the printed line that owns the boxes (their question), when one does
    doubt: str = ""  # why this grouping may be wrong, in plain words; '' when the print settles it
    first_value: int = 1  # the value of the first box: 0 for a code grid's column (its boxes are the digits 0-9)

    @property
    def code(self) -> bool:
        """One digit column of a code grid (a student number): its boxes are valued 0-9 as printed."""
        return self.first_value == 0


@dataclass
class _Line:
    words: list[Word]

    @property
    def x0(self) -> float:
        return min(w.x for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x + w.w for w in self.words)

    @property
    def y0(self) -> float:
        return min(w.y for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y + w.h for w in self.words)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def numbered(self) -> bool:
        return bool(NUMBERED.match(self.words[0].text))


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


def _by_geometry(page: int, boxes: list[Found], doubt: str) -> list[Proposed]:
    parts = [part for row in _rows(boxes) for part in _split_row(row)]
    proposed = [Proposed(page, "one", tuple(p), doubt=doubt) for p in parts if len(p) > 1]
    for col in _columns([p[0] for p in parts if len(p) == 1]):
        proposed.append(Proposed(page, "one" if len(col) > 1 else "any", tuple(col), doubt=doubt))
    return proposed


def _inside(w: Word, box: Found) -> bool:
    """A word tesseract read on a box itself (its outline, the letter printed in it) is no wording."""
    return box.x - 1 <= w.cx <= box.x + box.w + 1 and box.y - 1 <= w.cy <= box.y + box.h + 1


def _label_words(words: list[Word], box: Found, row: list[Found]) -> list[Word]:
    """The run of words just right of a box, up to the next box of its row: its label."""
    stop = min((o.x for o in row if o.x > box.x + box.w / 2), default=1e9)
    right = sorted((w for w in words if abs(w.cy - box.cy) <= max(C.mm(C.ADOPT_WORDING_LINE_MM), box.h / 2)
                    and w.x >= box.x + box.w - 1 and w.x + w.w <= stop + 1), key=lambda w: w.x)
    if not right or right[0].x - (box.x + box.w) > C.mm(C.ADOPT_LABEL_REACH_MM):
        return []
    run = [right[0]]
    for w in right[1:]:
        if w.x - (run[-1].x + run[-1].w) > C.mm(C.ADOPT_WORDING_GAP_MM):
            break
        run.append(w)
    return run


def _left_label(words: list[Word], box: Found) -> list[Word]:
    """The run of words ending just left of a box that has no label on its right (queXF prints "Yes [ ]"),
    unless it starts with a question number (then it is the question, printed on the box's line)."""
    left = sorted((w for w in words if abs(w.cy - box.cy) <= max(C.mm(C.ADOPT_WORDING_LINE_MM), box.h / 2)
                   and w.x + w.w <= box.x + 1), key=lambda w: -w.x)
    if not left or box.x - (left[0].x + left[0].w) > C.mm(C.ADOPT_LABEL_REACH_MM):
        return []
    run = [left[0]]
    for w in left[1:]:
        if run[-1].x - (w.x + w.w) > C.mm(C.ADOPT_WORDING_GAP_MM):
            break
        run.append(w)
    return [] if NUMBERED.match(run[-1].text) else run


def _header_words(words: list[Word], row: list[Found]) -> list[Word]:
    """Scale words printed over a row of boxes (each centred near one of them)."""
    top = min(b.y for b in row)
    pitch = median(b.x - a.x for a, b in pairwise(row)) if len(row) > 1 else row[0].w
    return [w for w in words if 0 <= top - (w.y + w.h) <= C.mm(C.ADOPT_HEADER_REACH_MM)
            and min(abs(w.cx - b.cx) for b in row) <= max(pitch / 2, w.w / 2)]


def _lines(words: list[Word]) -> list[_Line]:
    """Words into printed lines: close in height, no wide gap between neighbours."""
    lines: list[_Line] = []
    bands: list[list[Word]] = []
    for w in sorted(words, key=lambda w: w.cy):
        if bands and abs(w.cy - median(x.cy for x in bands[-1])) <= C.mm(C.ADOPT_WORDING_LINE_MM):
            bands[-1].append(w)
        else:
            bands.append([w])
    for band in bands:
        run: list[Word] = []
        for w in sorted(band, key=lambda w: w.x):
            if run and w.x - (run[-1].x + run[-1].w) > C.mm(C.ADOPT_WORDING_GAP_MM):
                lines.append(_Line(run))
                run = []
            run.append(w)
        if run:
            lines.append(_Line(run))
    return lines


def _owner(box: Found, lines: list[_Line]) -> _Line | None:
    """The printed line a list box belongs to: the nearest above it (or on its row, left of it) that starts
    left of it; of two at one height (questions side by side), the one starting nearer."""
    candidates = [ln for ln in lines if ln.x0 <= box.x + box.w and (
        (ln.y1 <= box.cy and box.y - ln.y1 <= C.mm(C.ADOPT_OWNER_REACH_MM))
        or (abs(ln.cy - box.cy) <= box.h and ln.x1 <= box.x))]
    if not candidates:
        return None
    lowest = max(min(ln.y1, box.cy) for ln in candidates)
    near = [ln for ln in candidates if lowest - min(ln.y1, box.cy) <= C.mm(C.ADOPT_WORDING_LINE_MM)]
    return max(near, key=lambda ln: ln.x0)


def _wording(owner: _Line, lines: list[_Line]) -> str:
    """The owner line, and the line(s) just above it when the question's number starts there (wrapped)."""
    text = [owner]
    while not text[0].numbered:
        above = [ln for ln in lines if ln.y1 <= text[0].y0 and text[0].y0 - ln.y1 <= 0.8 * (owner.y1 - owner.y0)
                 and abs(ln.x0 - text[0].x0) <= C.mm(C.ADOPT_WORDING_GAP_MM)]
        if not above or len(text) >= 3:
            break
        text.insert(0, max(above, key=lambda ln: ln.y1))
    if not text[0].numbered:
        text = [owner]
    return " ".join(ln.text for ln in text)[:C.ADOPT_WORDING_MAX_CHARS]


def _split_list(boxes: list[Found]) -> list[list[Found]]:
    """One owner's boxes in reading order (row by row); rows far further apart than the list's own pitch
    start another part (two lists under one heading whose own wording was not read)."""
    rows = _rows(boxes)
    parts = [[rows[0]]]
    gaps = [b[0].cy - a[0].cy for a, b in pairwise(rows)]
    pitch = min(gaps) if gaps else 0.0
    for gap, row in zip(gaps, rows[1:], strict=True):
        if gap > C.ADOPT_LIST_SPLIT_PITCHES * pitch and gap > 3 * row[0].h:
            parts.append([row])
        else:
            parts[-1].append(row)
    return [[b for row in part for b in row] for part in parts]


def _code_grids(scale_rows: list[list[Found]]) -> tuple[list[list[Found]], list[list[Found]]]:
    """Ten or more stacked rows with boxes in the same columns, close together (digits 0-9 of a code):
    the columns; the other rows stay rows."""
    rows = sorted(scale_rows, key=lambda r: r[0].cy)
    columns: list[list[Found]] = []
    used: set[int] = set()
    start = 0
    while start < len(rows):
        end = start
        while end + 1 < len(rows) and len(rows[end + 1]) == len(rows[start]) \
                and rows[end + 1][0].cy - rows[end][0].cy <= C.ADOPT_CODE_GRID_PITCH * rows[end][0].h \
                and all(abs(a.cx - b.cx) <= 0.5 * a.w for a, b in zip(rows[start], rows[end + 1], strict=True)):
            end += 1
        if end - start + 1 >= C.ADOPT_CODE_GRID_ROWS:
            columns.extend([rows[r][c] for r in range(start, end + 1)] for c in range(len(rows[start])))
            used.update(range(start, end + 1))
        start = end + 1
    return columns, [r for n, r in enumerate(rows) if n not in used]


def _code_column(column: list[Found], columns: list[list[Found]]) -> tuple[str, str, int]:
    """A code grid's column is one digit of the number: its wording names the digit's place (so the export's
    columns read as the number, left to right), its boxes are valued 0-9 top to bottom as printed."""
    grid = sorted((c for c in columns if abs(c[0].cy - column[0].cy) <= column[0].h), key=lambda c: c[0].cx)
    place = next(n for n, c in enumerate(grid, start=1) if c is column)
    return f"code grid: digit {place} of {len(grid)} (from the left)", "", 0


def group_page(page: int, boxes: list[Found], words: list[Word] | None = None) -> list[Proposed]:
    """The page's questions in reading order, grouped as printed where the print's words say."""
    if not boxes:
        return []
    if not words:
        return _order(_by_geometry(page, boxes, GEOMETRY_DOUBT if len(boxes) > 1 else ""))
    words = [w for w in words if not any(_inside(w, b) for b in boxes)]  # a bubble read as "O", a box's letter
    label_ids: set[int] = set()
    scale_rows: list[list[Found]] = []
    listed: list[Found] = []
    for row in _rows(boxes):
        labels = [_label_words(words, b, row) for b in row]
        label_ids.update(id(w) for run in labels for w in run)
        for part in _split_row(row):
            between = any(_label_words(words, b, part) for b in part[:-1])
            if len(part) > 1 and not between:
                scale_rows.append(part)
            else:
                listed.extend(part)
    for row in scale_rows:
        label_ids.update(id(w) for w in _header_words(words, row))
    for box in listed:
        if not any(id(w) in label_ids for w in _label_words(words, box, [box])):
            label_ids.update(id(w) for w in _left_label(words, box))
    lines = _lines([w for w in words if id(w) not in label_ids])
    columns, scale_rows = _code_grids(scale_rows)
    proposed = [Proposed(page, "one", tuple(c), *_code_column(c, columns)) for c in columns]
    proposed += [Proposed(page, "one", tuple(r)) for r in scale_rows]
    owned: dict[int, tuple[_Line, list[Found]]] = {}
    orphans: list[Found] = []
    for box in listed:
        owner = _owner(box, lines)
        if owner is None:
            orphans.append(box)
        else:
            owned.setdefault(id(owner), (owner, []))[1].append(box)
    for owner, members in owned.values():
        parts = _split_list(members)
        text = _wording(owner, lines)
        kind = "any" if (CHOOSE_ANY.search(text) and len(members) > 2) or len(members) == 1 else "one"
        doubt = ("these boxes are under one line of wording but far apart: one question or several? check it"
                 if len(parts) > 1 else "")
        proposed += [Proposed(page, kind if len(part) > 1 or kind == "any" else "any", tuple(part), text, doubt)
                     for part in parts]
    proposed += _by_geometry(page, orphans, GEOMETRY_DOUBT)
    return _order(proposed)


def _order(proposed: list[Proposed]) -> list[Proposed]:
    """Reading order: top to bottom, left to right, a question placed by its first box."""
    return sorted(proposed, key=lambda p: (round(min(b.y for b in p.boxes) / 6), min(b.x for b in p.boxes)))
