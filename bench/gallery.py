"""A box gallery: every box of a scanned ledger, cut out and laid out sorted by one measure (as SDAPS does).

Thresholds are chosen by looking, not by guessing: sort the boxes by coverage (or faint ink, solidity, spill)
and see where empty turns into a mark and a mark into a fill.  Each tile is the box as a person sees it in
review (the kept row crop), with its measure and the scanner's state under it.

    python -m bench.gallery bench-out/variety-j2.db --measure coverage --out /tmp/coverage.png
    python -m bench.gallery survey.db --measure solid --state marked --min 0.05 --limit 120 --out solid.png
"""

from __future__ import annotations

import argparse
import sqlite3
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from pipeline.form.definition import FormRegistry
from pipeline.form.layout import Layout, compute_layout
from pipeline.scan.gallery import cut_box, sheet

MEASURES = ("coverage", "faint", "solid", "darkness", "spill", "match")
TILE_PX = 96
COLUMNS = 12
STATE_COLOURS = {"empty": 150, "marked": 0, "filled": 60, "uncertain": 100}


@cache
def _layout(form: str, style: str, paper: str) -> Layout:
    return compute_layout(FormRegistry.from_dirs().get(form), paper, style)


def tiles(db: Path, measure: str, state: str | None, low: float, high: float, limit: int) -> list[np.ndarray]:
    """The boxes, cut out of their rows' evidence crops, sorted by `measure`."""
    if measure not in MEASURES:
        raise SystemExit(f"--measure must be one of {', '.join(MEASURES)}")
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute(
        f"SELECT b.item, b.value, b.{measure}, b.state, p.form_id, p.style, p.paper, p.form_page, i.data "
        "FROM box_measurements b JOIN pages p ON p.id = b.page_id "
        "JOIN answers a ON a.page_id = b.page_id AND a.item = b.item JOIN images i ON i.id = a.crop_id "
        f"WHERE p.status = 'form' AND b.{measure} BETWEEN ? AND ? AND (? IS NULL OR b.state = ?) "
        f"ORDER BY b.{measure} LIMIT ?", (low, high, state, state, limit)).fetchall()
    out = []
    for item, value, figure, box_state, form, style, paper, form_page, data in rows:
        crop = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        if crop is None:
            continue
        cut = cut_box(crop, _layout(form, style, paper).pages[form_page - 1], item, value, 3.0)
        if not cut.size:
            continue
        tile = np.full((TILE_PX + 18, TILE_PX), 255, np.uint8)
        tile[:TILE_PX] = cv2.resize(cut, (TILE_PX, TILE_PX), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, f"{figure:.3f} {box_state[:4]}", (2, TILE_PX + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.36,
                    STATE_COLOURS.get(box_state, 0), 1, cv2.LINE_AA)
        out.append(tile)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--measure", default="coverage", choices=MEASURES)
    parser.add_argument("--state", choices=tuple(STATE_COLOURS))
    parser.add_argument("--min", type=float, default=0.0, dest="low")
    parser.add_argument("--max", type=float, default=1.0, dest="high")
    parser.add_argument("--limit", type=int, default=240)
    parser.add_argument("--out", type=Path, default=Path("gallery.png"))
    args = parser.parse_args(argv)
    parts = tiles(args.db, args.measure, args.state, args.low, args.high, args.limit)
    cv2.imwrite(str(args.out), sheet(parts))
    print(f"{len(parts)} boxes sorted by {args.measure} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
