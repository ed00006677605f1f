"""Ticks in shapes the simulator never draws, read by the real reader: a held-out check on tick handling.

The simulator's pens (`pipeline.simulate.marks`) are what the reader was tuned on; a figure that holds only
there proves little.  These ticks are drawn here, apart from it, in shapes people make that it does not: a
tiny tick anywhere in the box, a tick whose long stroke runs far out of the box, one sitting on the box's
lower edge, a hairline, a tick gone over twice, one turned 30-45 degrees, a flat wide one, and a small tick
over one of the box's corners (most of its ink outside the box).  Each kind is set into every row of both
styles with the simulator's pens, scanned grey or black and white, read, and scored as the main bench
scores: right without a flag, flagged, wrong without a flag (a corner tick read as blank is wrong: a person
sees a mark there).

    python -m bench.tick_shapes [COPIES [SEED]]      # the table by kind
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

FORM = "care-planning-person"
KINDS = ("tiny", "long", "on-edge", "hairline", "twice", "turned", "flat", "corner")
TICK = ((0.1, 0.55), (0.38, 0.9), (0.95, 0.05))  # a tick in the box's unit square: start, turn, end


def draw_tick(img: np.ndarray, box_px: tuple[float, float, float, float], kind: str, rng: np.random.Generator,
              pen: Any, dpi: int) -> None:
    """One tick of `kind` for the box at `box_px` (x, y, w, h in pixels of `img`)."""
    from pipeline.simulate.marks import _ink, _jitter_path, _stroke

    bx, by, bw, bh = box_px
    px_per_mm = dpi / 25.4
    margin = bw * 2.5
    x0, y0 = int(bx - margin), int(by - margin)
    mask = np.zeros((int(bh + 2 * margin) + 1, int(bw + 2 * margin) + 1), np.uint8)
    ox, oy = bx - x0, by - y0
    width = (0.22 if kind == "hairline" else pen.width_mm * rng.uniform(0.85, 1.15)) * px_per_mm
    centre = np.array([ox + bw / 2, oy + bh / 2])

    def placed(unit: Any, size: float, at: np.ndarray, angle: float = 0.0) -> np.ndarray:
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        return (np.array(unit, float) - 0.5) @ rot.T * size * np.array([bw, bh]) + at

    if kind == "tiny":
        pts = placed(TICK, rng.uniform(0.3, 0.5), centre + rng.uniform(-0.22, 0.22, 2) * np.array([bw, bh]),
                     rng.normal(0, 0.15))
    elif kind in ("long", "on-edge"):
        low = kind == "on-edge"  # its turn on or under the lower edge, the long stroke up through the box
        turn = np.array([ox + bw * rng.uniform(0.3, 0.6), oy + bh * rng.uniform(*((1.0, 1.2) if low else
                                                                                   (0.6, 0.9)))])
        start = turn + np.array([-bw * rng.uniform(0.15, 0.3), -bh * rng.uniform(0.2, 0.5)])
        reach = rng.uniform(1.0, 1.4) if low else rng.uniform(1.5, 2.5)
        pts = np.array([start, turn, turn + np.array([bw * reach * 0.7, -bh * reach])])
    elif kind == "twice":
        pts = placed(TICK, rng.uniform(0.6, 1.0), centre, rng.normal(0, 0.15))
        _stroke(mask, _jitter_path(pts + rng.normal(0, 0.4 * px_per_mm, 2), rng, width * 0.1), width)
    elif kind == "turned":
        pts = placed(TICK, rng.uniform(0.6, 1.1), centre, float(rng.choice([-1, 1]) * rng.uniform(0.5, 0.8)))
    elif kind == "flat":
        pts = placed([(0.0, 0.45), (0.3, 0.75), (1.1, 0.35)], rng.uniform(0.8, 1.3), centre, rng.normal(0, 0.1))
    elif kind == "corner":
        at = np.array([ox + bw * rng.choice([0.1, 0.9]), oy + bh * rng.choice([0.1, 0.9])])
        pts = placed(TICK, rng.uniform(0.45, 0.65), at, rng.normal(0, 0.15))
    else:  # hairline
        pts = placed(TICK, rng.uniform(0.6, 1.0), centre, rng.normal(0, 0.15))
    _stroke(mask, _jitter_path(np.asarray(pts, float), rng, width * 0.1), width, pressure=pen.pressure, rng=rng)
    _ink(img, x0, y0, mask, pen, rng)


def run(seed: int = 7, copies: int = 3, bitonal_share: float = 0.35) -> dict[str, Any]:
    from bench.real_ink import read_marked
    from pipeline.simulate import rect_px
    from pipeline.simulate.world import PRINT_DPI

    def mark(img: np.ndarray, boxes: list[Any], kind: str, rng: np.random.Generator, pens: list[Any], row: int
             ) -> tuple[int, str]:
        box = boxes[int(rng.integers(0, len(boxes)))]
        pen = pens[int(rng.integers(0, len(pens)))]
        draw_tick(img, rect_px(box), kind, rng, pen, PRINT_DPI)
        return int(box.value), pen.name

    return read_marked(KINDS, mark, seed, copies, lambda kind, prng: bool(prng.random() < bitonal_share),
                       serial_base=810_000)


def main() -> int:
    args = [int(a) for a in sys.argv[1:3]]
    from bench.real_ink import summary
    from bench.real_marks import print_table

    print_table(run(copies=args[0] if args else 3, seed=args[1] if len(args) > 1 else 7), summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
