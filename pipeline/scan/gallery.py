"""A box gallery, as SDAPS has: every measured box of a ledger, cut from its row's evidence crop, grouped by
the scanner's decision and sorted by how close the call was (`decide.decision_margin`), closest first.

Thresholds are judged by looking: the first tiles of 'empty' are the specks nearest to being called a mark,
the first of 'marked' the faintest ticks; a wrong one among them shows which threshold to move.  Written as
one PNG sheet per decision and an index.html that shows them with every tile's figures.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.atomic import atomic_write
from pipeline.errors import LedgerError
from pipeline.form.definition import FormRegistry
from pipeline.form.layout import Layout, PageLayout, compute_layout
from pipeline.ledger.measures import gallery_rows
from pipeline.ledger.url import parse_url
from pipeline.scan.decide import decision_margin
from pipeline.scan.reclassify import stored_measures
from pipeline.vocab import BoxState

TILE_PX = 96
LABEL_PX = 30
COLUMNS = 12
STATES = ("empty", "marked", "filled", "uncertain")

@dataclass(frozen=True)
class Tile:
    state: BoxState
    margin: float
    caption: str
    image: np.ndarray


def cut_box(row_crop: np.ndarray, page: PageLayout, item: str, value: int, pad_mm: float) -> np.ndarray:
    """One box (and `pad_mm` round it) cut from its item row's evidence crop (kept at EVIDENCE_DPI)."""
    k = C.EVIDENCE_DPI / C.PT_PER_INCH
    row = next(x for x in page.item_rows if x.item == item).rect
    box = next(b for b in page.boxes_of(item) if b.value == value)
    pad = C.mm(pad_mm)
    x0, y0 = round((box.x - row.x - pad) * k), round((box.y - row.y - pad) * k)
    x1, y1 = round((box.right - row.x + pad) * k), round((box.bottom - row.y + pad) * k)
    return row_crop[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]


def _tiles(db: str, registry: FormRegistry) -> list[Tile]:
    address = parse_url(db)
    if address.path is not None and not address.path.exists():
        raise LedgerError(f"no ledger at {address.shown}", "pass the ledger you scanned into with --db")
    rows = gallery_rows(db)

    @cache
    def layout(form: str, version: int, style: str, paper: str) -> Layout | None:
        found = registry.find(form, version)
        return None if found is None else compute_layout(found, paper, style)

    @cache
    def crop(data: bytes) -> np.ndarray | None:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)

    out = []
    for r in rows:
        lay = layout(r["form_id"], int(r["form_version"]), r["style"], r["paper"])
        row_crop = crop(bytes(r["data"]))
        if lay is None or row_crop is None:
            continue
        cut = cut_box(row_crop, lay.pages[int(r["form_page"]) - 1], r["item"], int(r["value"]), 2.0)
        if not cut.size:
            continue
        m = stored_measures(r)
        margin = decision_margin(m)
        tile = np.full((TILE_PX + LABEL_PX, TILE_PX), 255, np.uint8)
        tile[:TILE_PX] = cv2.resize(cut, (TILE_PX, TILE_PX), interpolation=cv2.INTER_AREA)
        for n, text in enumerate((f"m{margin:.2f} c{m.coverage:.3f}", f"f{m.faint:.2f} s{m.solid:.2f} n{m.cells}")):
            cv2.putText(tile, text, (2, TILE_PX + 12 + 13 * n), cv2.FONT_HERSHEY_SIMPLEX, 0.33, 0, 1, cv2.LINE_AA)
        caption = (f"copy {r['serial']} page {r['form_page']} {r['item']} box {r['value']}: {r['state']} "
                   f"(confidence {r['confidence']:.2f}); margin {margin:.3f}; coverage {m.coverage:.4f}, faint "
                   f"{m.faint:.4f}, solid {m.solid:.3f}, corners {m.corners}, cells {m.cells}, dot {m.dot_mm2:.2f} "
                   f"mm², coherence {m.coherence:.2f}, passes {m.passes:.2f}")
        out.append(Tile(r["state"], margin, caption, tile))
    return out


def sheet(parts: list[np.ndarray]) -> np.ndarray:
    """Tiles in rows of COLUMNS, a grey line between them."""
    if not parts:
        return np.full((40, 400), 255, np.uint8)
    h, w = parts[0].shape
    rows = []
    for i in range(0, len(parts), COLUMNS):
        chunk = parts[i:i + COLUMNS] + [np.full((h, w), 255, np.uint8)] * (COLUMNS - len(parts[i:i + COLUMNS]))
        rows.append(np.hstack([np.pad(t, ((0, 2), (0, 2)), constant_values=200) for t in chunk]))
    return np.vstack(rows)


def write_gallery(db: str | Path, out: Path, per_state: int = 240, registry: FormRegistry | None = None) -> list[Path]:
    """One sheet per decision (closest calls first, at most `per_state` boxes) and an index.html; the sheets'
    paths are returned."""
    tiles = _tiles(str(db), registry or FormRegistry.from_dirs())
    name = parse_url(str(db)).shown.rsplit('/', 1)[-1]  # the file's or the database's name, no password
    out.mkdir(parents=True, exist_ok=True)
    written, sections = [], []
    for state in STATES:
        chosen = sorted((t for t in tiles if t.state == state), key=lambda t: t.margin)[:per_state]
        total = sum(1 for t in tiles if t.state == state)
        if not chosen:
            sections.append(f"<h2>{state}</h2><p>No box was decided '{state}'.</p>")
            continue
        ok, png = cv2.imencode(".png", sheet([t.image for t in chosen]))
        assert ok
        path = out / f"{state}.png"
        atomic_write(path, png.tobytes())
        written.append(path)
        items = "".join(f"<li>{html.escape(t.caption)}</li>" for t in chosen)
        sections.append(
            f"<h2>{state}: {total} boxes, the {len(chosen)} closest calls first</h2>"
            f'<img src="{path.name}" alt="{len(chosen)} boxes decided {state}, closest calls first; each is listed '
            f'below in the same order">'
            f"<details><summary>Every tile's figures, in order (left to right, top to bottom)</summary>"
            f"<ol>{items}</ol></details>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Box gallery</title>"
            "<style>body{font-family:sans-serif;font-size:1.1rem;margin:1.5rem}img{max-width:100%}</style></head>"
            f"<body><h1>Box gallery: {html.escape(name)}</h1><p>Every box the scanner measured, by its decision. "
            "Within a decision the closest calls come first: the margin (m) is how far the box's measures lay "
            "from the nearest threshold, 0 meaning on it. Under each tile: m margin, c coverage, f light ink, "
            "s solid share, n ninths inked. Move a threshold in pipeline/constants.py, then run "
            "<code>papervoice reclassify</code> to see what changes.</p>" + "".join(sections) + "</body></html>")
    atomic_write(out / "index.html", page.encode())
    return [out / "index.html", *written]
