"""Marks as real ink makes them (issue 24), drawn by the simulator's newer pens, read by the real reader.

Kinds: a hand's tick (short first stroke, long second, often to the outline; also in pencil), a cross written
in one stroke with a loop, a bold felt-tip cross over the outline, a broad cross a black-and-white scan keeps
only the edges of, and 1-3 px specks in an otherwise empty row (which a person reads as empty).  Each kind is
set into every row of both styles, with several pens, scanned grey or black and white, and scored as the
main bench scores: right without a flag, flagged, wrong without a flag.

This is the simulator grading itself: a figure here that improves must be checked on what the simulator did
not draw (`python -m bench.real_marks`, real pen marks from real scans).

    python -m bench.real_ink [COPIES [SEED]]      # the table by kind
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

FORM = "care-planning-person"
KINDS = ("rtick", "loopcross", "boldcross", "hollowcross", "specks")


def run(seed: int = 5, copies: int = 2, bitonal_share: float = 0.35) -> dict[str, Any]:
    from pipeline.simulate import Pen, draw_mark, rect_px
    from pipeline.simulate.marks import draw_specks

    def mark(img: np.ndarray, boxes: list[Any], kind: str, rng: np.random.Generator, pens: list[Pen], row: int
             ) -> tuple[int | None, str]:
        box = boxes[int(rng.integers(0, len(boxes)))]
        pen = pens[int(rng.integers(0, len(pens)))]
        if kind == "specks":  # every other row specked and left empty, the rest ticked
            if row % 2:
                draw_mark(img, rect_px(box), "wtick", rng, pen)
                return int(box.value), pen.name
            for other in boxes:
                if rng.random() < 0.5:
                    draw_specks(img, rect_px(other), rng)
            return None, pen.name
        if kind in ("boldcross", "hollowcross"):
            pen = Pen(pen.name, min(pen.grey, 60), pen.width_mm)
        draw_mark(img, rect_px(box), kind, rng, pen)
        return int(box.value), pen.name

    return read_marked(KINDS, mark, seed, copies, lambda kind, prng: kind == "hollowcross" or bool(
        prng.random() < bitonal_share), serial_base=800_000)


def read_marked(kinds: tuple[str, ...], mark: Callable[..., tuple[int | None, str]], seed: int, copies: int,
                bitonal: Callable[[str, np.random.Generator], bool], serial_base: int) -> dict[str, Any]:
    """Every row of `copies` fresh copies per kind and style marked by `mark(img, boxes, kind, rng, pens, row)`
    (which returns the answer a person reads, or None for an empty row, and the pen it took), scanned
    (`bitonal(kind, rng)`: in black and white) and read by the real reader: outcomes by kind, and examples of
    what went wrong."""
    from pipeline.form.definition import FormRegistry
    from pipeline.form.generate import render_pdf
    from pipeline.form.identity import serial_for
    from pipeline.form.layout import compute_layout
    from pipeline.scan.reader import ReaderConfig, read_page
    from pipeline.scan.results import PageSource
    from pipeline.simulate import PENCIL, PENS, DegradeParams, Pen, degrade, render_pdf_pages

    pens: list[Pen] = [p for _, p in PENS] + [PENCIL, Pen("soft pencil", 120, 0.5, pencil=True)]
    form = FormRegistry.from_dirs().get(FORM)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    examples: list[str] = []
    rng = np.random.default_rng(seed)
    n = 0
    for style in ("standard", "large-print"):
        layout = compute_layout(form, "a4", style)
        for kind in kinds:
            for _ in range(copies):
                n += 1
                prints = render_pdf_pages(render_pdf(form, layout, [serial_for(serial_base + n)]), 1,
                                          layout.page_count)
                expect: dict[str, tuple[int | None, str]] = {}
                for page, img in zip(layout.pages, prints, strict=True):
                    for item in page.items:
                        expect[item] = mark(img, list(page.boxes_of(item)), kind, rng, pens, len(expect))
                for page, img in zip(layout.pages, prints, strict=True):
                    prng = np.random.default_rng([seed, n, page.page])
                    black_and_white = bitonal(kind, prng)
                    scanned = degrade(img, prng, DegradeParams(), bitonal=black_and_white)
                    result = read_page(scanned.image, scanned.dpi, PageSource(f"{kind}-{n}", page.page),
                                       ReaderConfig())
                    got = {i.item: i for i in result.items}
                    for item in page.items:
                        reading, (want, pen_name) = got.get(item), expect[item]
                        if reading is None:
                            outcome = "missing"
                        elif reading.state == "flagged":
                            outcome = "flagged"
                        elif (reading.state == "blank" and want is None) or (
                                reading.state == "answered" and reading.value == want):
                            outcome = "right"
                        else:
                            outcome = "wrong"
                        table[kind][outcome] += 1
                        if outcome != "right" and len(examples) < 40:
                            detail = f"{reading.state} {reading.value} {reading.detail}" if reading else "not read"
                            detail += "".join(
                                f"\n      {b.value}: {b.state} {b.measures}" for b in result.boxes
                                if b.item == item and (b.state != "empty" or b.value == want))
                            examples.append(f"{style} {kind} {pen_name} bitonal={black_and_white} want {want} "
                                            f"-> {detail}")
    return {"by_kind": {k: dict(v) for k, v in table.items()}, "examples": examples}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    total: Counter[str] = Counter()
    for counts in result["by_kind"].values():
        total.update(counts)
    n = sum(total.values())
    return {"n": n, "right": total["right"], "flagged": total["flagged"], "wrong": total["wrong"],
            "right_pct": round(100 * total["right"] / n, 2) if n else None}


def main() -> int:
    args = [int(a) for a in sys.argv[1:3]]
    from bench.real_marks import print_table

    print_table(run(copies=args[0] if args else 2, seed=args[1] if len(args) > 1 else 5), summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
