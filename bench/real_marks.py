"""Real pen marks from real scans, set into PaperVoice boxes: does the reader hold on marks it was not tuned to?

The queXF project's test data (GPL; never copied into this repository) holds three forms filled in by hand
and scanned at 300 dpi in black and white, with a hand-made truth of every box: crosses, empty boxes, and
boxes scribbled over to cancel.  Each box is cut out of the filled scan, the same box of the blank scan is
taken away (its printed square, dotted leaders and labels), and what is left - the pen alone - is set into
one of our boxes: scaled to our box, then thinned back to its real pen width, so a 0.5 mm line stays 0.5 mm.
The page is then scanned the way the simulator scans (skew, noise, JPEG or black and white) and read.

    python -m bench.real_marks            # prints the table by kind

Looked for in `<repo>/../shared/real/quexf` (or `$PAPERVOICE_SHARED/real/quexf`); absent data means no figures.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

MARGIN = 0.7  # the cut reaches this share of the box side beyond each edge (crosses run well outside)
BLANK_GROW_PX = 2  # the blank scan's print is grown by this much before it is taken away (alignment slack)
ALIGN_SEARCH_PX = 8
FORM = "care-planning-person"


def find_quexf() -> Path | None:
    from bench.shared_data import quexf_dir

    return quexf_dir()


@dataclass(frozen=True)
class RealMark:
    """One real box's pen, alone: `mask` (255 = ink) centred on the box, at the scan's 300 dpi."""

    source: str  # page and box id
    state: str  # marked, empty, filled-to-cancel
    mask: np.ndarray
    box_px: float  # the printed box's side in the scan
    pen_px: float  # the pen's line width in the scan


def _crop(image: np.ndarray, bbox: list[float], margin: int) -> np.ndarray:
    x, y, w, h = (round(v) for v in bbox)
    padded = cv2.copyMakeBorder(image, margin + ALIGN_SEARCH_PX, margin + ALIGN_SEARCH_PX, margin + ALIGN_SEARCH_PX,
                                margin + ALIGN_SEARCH_PX, cv2.BORDER_CONSTANT, value=255)
    o = ALIGN_SEARCH_PX
    return padded[y + o:y + h + 2 * margin + o, x + o:x + w + 2 * margin + o]


def _pen_width(mask: np.ndarray) -> float:
    """Line width of the pen: twice the ink's area over its outline's length (a long stroke's w = 2A/P)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return float(2 * np.count_nonzero(mask) / perimeter) if perimeter else 3.0


def cut_marks(root: Path) -> list[RealMark]:
    """Every box of the filled scans, its printed parts taken away by the same box of the blank scan."""
    truth = json.loads((root / "truth.json").read_text())
    pages = truth["pages"]
    blanks = {key.rsplit("-", 1)[1]: page for key, page in pages.items() if key.startswith("test_blank")}
    marks: list[RealMark] = []
    for key, page in sorted(pages.items()):
        if key.startswith("test_blank"):
            continue
        blank_page = blanks[key.rsplit("-", 1)[1]]
        filled = cv2.imread(str(root / page["file"]), cv2.IMREAD_GRAYSCALE)
        empty = cv2.imread(str(root / blank_page["file"]), cv2.IMREAD_GRAYSCALE)
        blank_boxes = {b["id"]: b for b in blank_page["boxes"]}
        for box in page["boxes"]:
            side = float(box["bbox"][2])
            margin = round(side * MARGIN)
            ink = (_crop(filled, box["bbox"], margin) < 128).astype(np.uint8) * 255
            print_ = (_crop(empty, blank_boxes[box["id"]]["bbox"], margin + ALIGN_SEARCH_PX) < 128).astype(np.uint8)
            # align the blank box to the filled one by its printed square (a few pixels of drift either way)
            score = cv2.matchTemplate(print_.astype(np.float32), (ink > 0).astype(np.float32), cv2.TM_CCORR)
            _, _, _, (bx, by) = cv2.minMaxLoc(score)
            aligned = print_[by:by + ink.shape[0], bx:bx + ink.shape[1]] * 255
            grow = cv2.dilate(aligned, np.ones((2 * BLANK_GROW_PX + 1, 2 * BLANK_GROW_PX + 1), np.uint8))
            pen = cv2.bitwise_and(ink, cv2.bitwise_not(grow))
            pen = cv2.morphologyEx(pen, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))  # specks the subtraction leaves
            marks.append(RealMark(f"{key}/{box['id']}", box["state"], pen, side, _pen_width(pen)))
    return marks


def set_into_box(img: np.ndarray, box_px: tuple[float, float, float, float], mark: RealMark, grey: int = 30) -> None:
    """Lay a real mark into one of our boxes (x, y, w, h in pixels of a 300-dpi page): scaled to the box,
    then thinned back to the pen's real width."""
    bx, by, bw, _ = box_px
    scale = bw / mark.box_px
    size = round(mark.mask.shape[1] * scale), round(mark.mask.shape[0] * scale)
    grown = cv2.resize(mark.mask, size, interpolation=cv2.INTER_LINEAR)
    thin = round((scale - 1) * mark.pen_px)
    if thin > 0:
        grown = cv2.erode(grown, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thin + 1, thin + 1)))
    h, w = grown.shape
    x0, y0 = round(bx + bw / 2 - w / 2), round(by + bw / 2 - h / 2)
    x1, y1 = max(0, x0), max(0, y0)
    x2, y2 = min(img.shape[1], x0 + w), min(img.shape[0], y0 + h)
    m = grown[y1 - y0:y2 - y0, x1 - x0:x2 - x0].astype(np.float32) / 255.0
    region = img[y1:y2, x1:x2].astype(np.float32)
    img[y1:y2, x1:x2] = np.clip(region + (np.minimum(region, grey) - region) * m, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Placement:
    """One item row: which real mark goes in which box, and what a person reads there."""

    kind: str  # real cross / real empty row / real fill + cross / real fill alone
    marks: tuple[tuple[int, RealMark], ...]  # (box value, mark)
    expect: int | None  # the answer; None with `flag` for a fill alone
    flag: bool = False


def plan_rows(marks: list[RealMark], rng: np.random.Generator, values: tuple[int, ...]) -> list[Placement]:
    crosses = [m for m in marks if m.state == "marked"]
    empties = [m for m in marks if m.state == "empty"]
    fills = [m for m in marks if m.state == "filled-to-cancel"]

    def fill_row(used: dict[int, RealMark]) -> tuple[tuple[int, RealMark], ...]:
        # every other box gets a real empty box's content (what the scan shows of an empty box)
        rest = [(v, empties[int(rng.integers(0, len(empties)))]) for v in values if v not in used]
        return tuple(used.items()) + tuple(rest)

    rows: list[Placement] = []
    for cross in crosses:
        v = int(rng.choice(values))
        rows.append(Placement("real cross", fill_row({v: cross}), v))
    for i in range(0, len(empties), len(values)):
        group = empties[i:i + len(values)]
        rows.append(Placement("real empty row", tuple(zip(values, group, strict=False)), None))
    for fill in fills:
        v, w = (int(x) for x in rng.choice(values, 2, replace=False))
        cross = crosses[int(rng.integers(0, len(crosses)))]
        rows.append(Placement("real fill + cross", fill_row({v: fill, w: cross}), w))
        rows.append(Placement("real fill alone", fill_row({v: fill}), None, flag=True))
    # mixed, as on a real return: a page of nothing but empty rows would rightly be asked about as a whole
    return [rows[int(i)] for i in rng.permutation(len(rows))]


def run(root: Path, seed: int = 13, styles: tuple[str, ...] = ("standard", "large-print"),
        bitonal_share: float = 0.3) -> dict[str, Any]:
    """Set every real box into our forms (each style), scan, read; the outcome by kind."""
    from pipeline.form.definition import FormRegistry
    from pipeline.form.generate import render_pdf
    from pipeline.form.identity import serial_for
    from pipeline.form.layout import compute_layout
    from pipeline.scan.reader import ReaderConfig, read_page
    from pipeline.scan.results import PageSource
    from pipeline.simulate import DegradeParams, degrade, rect_px, render_pdf_pages

    marks = cut_marks(root)
    form = FormRegistry.from_dirs().get(FORM)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    examples: list[str] = []
    rng = np.random.default_rng(seed)
    for style in styles:
        layout = compute_layout(form, "a4", style)
        rows = plan_rows(marks, rng, tuple(form.scale_values))
        slots = [(page, item) for page in layout.pages for item in page.items]
        copy = 0
        while rows:
            serial = serial_for(900_000 + copy)
            prints = render_pdf_pages(render_pdf(form, layout, [serial]), 1, layout.page_count)
            placed: dict[tuple[int, str], Placement] = {}
            for (page, item), row in zip(slots, rows, strict=False):
                for value, mark in row.marks:
                    box = next(b for b in page.boxes_of(item) if b.value == value)
                    set_into_box(prints[page.page - 1], rect_px(box), mark)
                placed[(page.page, item)] = row
            rows = rows[len(placed):]
            for page, img in zip(layout.pages, prints, strict=True):
                prng = np.random.default_rng([seed, copy, page.page])
                scanned = degrade(img, prng, DegradeParams(), bitonal=bool(prng.random() < bitonal_share))
                result = read_page(scanned.image, scanned.dpi, PageSource(f"real-{copy}", page.page),
                                   ReaderConfig())
                got = {i.item: i for i in result.items}
                for item in page.items:
                    row = placed.get((page.page, item))
                    if row is None:
                        continue
                    reading = got.get(item)
                    outcome = _outcome(row, reading)
                    table[row.kind][outcome] += 1
                    if outcome != "right" and len(examples) < 20:
                        where = ", ".join(f"{v}:{m.source}" for v, m in row.marks if m.state != "empty")
                        detail = f"{reading.state} {reading.value} {reading.detail}" if reading else "page not read"
                        examples.append(f"{style} {row.kind} [{where}] -> {detail}")
            copy += 1
    return {"by_kind": {k: dict(v) for k, v in sorted(table.items())}, "examples": examples}


def _outcome(row: Placement, reading: Any) -> str:
    if reading is None:
        return "missing"
    if reading.state == "flagged":
        return "right" if row.flag else "flagged"
    if row.flag:
        return "wrong"
    ok = (reading.state == "blank" and row.expect is None) or (reading.state == "answered"
                                                               and reading.value == row.expect)
    return "right" if ok else "wrong"


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """Read right without a flag over the marks a person reads at a glance (fills alone, which must be
    flagged, counted apart)."""
    total: Counter[str] = Counter()
    for kind, counts in result["by_kind"].items():
        if kind != "real fill alone":
            total.update(counts)
    n = sum(total.values())
    return {"n": n, "right": total["right"], "flagged": total["flagged"], "wrong": total["wrong"],
            "right_pct": round(100 * total["right"] / n, 2) if n else None}


def main() -> int:
    root = find_quexf()
    if root is None:
        from bench.shared_data import where_looked

        print("queXF test data not found (looked in " + where_looked() + ")", file=sys.stderr)
        return 1
    print_table(run(root), summary)
    return 0


def print_table(result: dict[str, Any], total: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Outcomes by kind, the total, and the examples of what went wrong."""
    for kind, c in result["by_kind"].items():
        print(f"{kind:20s} n={sum(c.values()):3d} right={c.get('right', 0):3d} flagged={c.get('flagged', 0):3d} "
              f"wrong={c.get('wrong', 0):3d}")
    print(total(result))
    for line in result["examples"]:
        print("  ", line)


if __name__ == "__main__":
    raise SystemExit(main())
