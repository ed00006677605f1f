"""An optional real check: hand-printed capitals and digits from real scanned forms, read by each engine.

queXF's test returns (GPL test data, kept outside this repository in `../shared/real/quexf/`; skipped when
absent) have 13 written character fields: one capital or digit per printed box, 139 characters, filled in with
a pen and scanned at 300 dpi in black and white.  It is small - a sanity check on real ink and real scanner
noise, not a benchmark.  Each box's inside (its printed frame left out) is set side by side on white paper at
200 dpi, as PaperVoice gives writing to an engine, and the engine reads the row; CER ignores spaces and case.

    python -m bench.quexf_chars                 # every installed engine
    python -m bench.quexf_chars --correct       # ... with the word-list correction (scan.handwriting.corrected)

These are the words a word-list correction must not damage: names, addresses, postcodes.  `--correct` reports
CER with the correction as a scan applies it and, harsher, with it applied to the reading in lower case (as
if the names had been written in lower case inside a sentence, where the correction is allowed to act).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.score import edit_distance
from pipeline import constants as C
from pipeline.errors import MissingDependencyError
from pipeline.scan.handwriting import corrected
from pipeline.scan.ocr import TRANSCRIBING_ENGINES, check_engine, get_engine
from pipeline.scan.words import correct_text

INSIDE = 0.14  # share of a box's width and height left out on each side: its printed frame
GAP_MM = 1.5  # paper between two characters when set side by side


def data_dir() -> Path | None:
    from bench.shared_data import quexf_dir

    return quexf_dir()


def _row(page: np.ndarray, boxes: list[dict[str, Any]], dpi: float) -> np.ndarray:
    """The insides of the field's boxes, side by side on white, at COMMENT_DPI."""
    scale = C.COMMENT_DPI / dpi
    gap = np.full((1, 1), 255, np.uint8)
    parts = []
    for box in boxes:
        x, y, w, h = box["bbox"]
        x0, y0 = int(x + INSIDE * w), int(y + INSIDE * h)
        x1, y1 = int(x + (1 - INSIDE) * w), int(y + (1 - INSIDE) * h)
        inside = cv2.resize(page[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        parts.append(inside)
    height = max(p.shape[0] for p in parts)
    gap = np.full((height, max(1, round(GAP_MM * C.COMMENT_DPI / 25.4))), 255, np.uint8)
    row = [np.pad(p, ((0, height - p.shape[0]), (0, 0)), constant_values=255) for p in parts]
    joined = np.hstack([piece for part in row for piece in (part, gap)])
    pad = round(C.OCR_TRIM_MARGIN_MM * C.COMMENT_DPI / 25.4)
    return np.pad(joined, pad, constant_values=255)


def _squash(text: str) -> str:
    return "".join(text.split()).upper()


def read_char_fields(engine_name: str, folder: Path, correct: bool = False) -> dict[str, Any]:
    truth = json.loads((folder / "truth.json").read_text())
    engine = get_engine(engine_name)
    fields = chars = edits = edits_corrected = edits_lower = 0
    examples: list[dict[str, str]] = []
    pages = truth["pages"]
    for page in pages.values() if isinstance(pages, dict) else pages:
        image = cv2.imread(str(folder / page["file"]), cv2.IMREAD_GRAYSCALE)
        if image is None:
            continue
        for field in page.get("char_fields", []):
            expected = _squash(field.get("transcription", ""))
            if field.get("state") != "written" or not expected:
                continue
            written = [b for b in field["char_boxes"] if b.get("char")]
            got = engine.read(_row(image, written, float(truth.get("dpi", 300))))
            read = _squash(got.text)
            fields += 1
            chars += len(expected)
            edits += edit_distance(expected, read)
            if correct:
                edits_corrected += edit_distance(expected, _squash(corrected(got).text))
                edits_lower += edit_distance(expected, _squash(correct_text(got.text.lower())[0]))
            if read != expected and len(examples) < 8:
                examples.append({"field": field["id"], "truth": expected, "read": read})
    out = {"fields": fields, "chars": chars, "cer_pct": round(100 * edits / chars, 1) if chars else None,
           "examples": examples}
    if correct and chars:
        out["cer_corrected_pct"] = round(100 * edits_corrected / chars, 1)
        out["cer_corrected_lower_case_pct"] = round(100 * edits_lower / chars, 1)
    return out


def run(engines: tuple[str, ...] = TRANSCRIBING_ENGINES, correct: bool = False) -> dict[str, Any] | None:
    """CER per installed engine, or None when the data is not here."""
    folder = data_dir()
    if folder is None:
        return None
    out = {}
    for name in engines:
        try:
            check_engine(name)
        except MissingDependencyError:
            continue
        out[name] = read_char_fields(name, folder, correct)
    return out


def main(argv: list[str] | None = None) -> int:
    result = run(correct="--correct" in (sys.argv[1:] if argv is None else argv))
    if result is None:
        from bench.shared_data import where_looked

        print(f"queXF test data not found (looked in {where_looked()}): nothing to check", file=sys.stderr)
        return 0
    for name, figures in result.items():
        print(f"{name}: {figures['cer_pct']}% CER on {figures['chars']} characters in {figures['fields']} fields; "
              f"misread: {figures['examples']}")
        if "cer_corrected_pct" in figures:
            print(f"  with the word-list correction {figures['cer_corrected_pct']}%; applied to the reading in "
                  f"lower case {figures['cer_corrected_lower_case_pct']}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
