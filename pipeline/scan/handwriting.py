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
from pipeline.errors import MissingDependencyError
from pipeline.scan.ocr import FALLBACK_ENGINE, NoOcr, OcrEngine, check_engine, get_engine, tidy
from pipeline.scan.words import correct_text
from pipeline.tools.reading import OcrLine, OcrText

# where to look for the gap between two written lines, as shares of the rule spacing around a printed rule
# (writing sits on the rule; tails hang below it; the next line's tall letters reach down towards it)
_GAP_ABOVE, _GAP_BELOW = 0.2, 0.6
_GAP_MAX_INK = 0.04  # a row is a gap when it holds at most this share of the busiest row's ink


def line_gaps(mask: np.ndarray, rules_px: list[float], max_ink: float = _GAP_MAX_INK) -> list[int]:
    """Rows between written lines, one per printed rule at most, where a cut would touch at most `max_ink` of
    the busiest row's ink (1.0: cut at the emptiest row near every rule, through any writing there)."""
    rows = (mask > 0).sum(axis=1)
    inked = np.flatnonzero(rows)
    if inked.size == 0:
        return []
    top, bottom = int(inked[0]), int(inked[-1]) + 1
    spacing = float(np.median(np.diff(rules_px))) if len(rules_px) > 1 else mask.shape[0]
    limit = max_ink * float(rows.max())
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
           max_lines: int = C.OCR_STRIP_MAX_LINES, max_ink: float = _GAP_MAX_INK) -> list[np.ndarray]:
    """The writing in strips of at most `max_lines` written lines, top to bottom, each trimmed to its writing
    plus a margin and stretched to full contrast (dark writing on white); cut only where a row holds at most
    `max_ink` of the busiest row's ink."""
    rows = (mask > 0).sum(axis=1)
    inked = np.flatnonzero(rows)
    if inked.size == 0:
        return []
    edges = [int(inked[0]), *line_gaps(mask, rules_px, max_ink), int(inked[-1]) + 1]
    out = []
    for run in _runs([(a, b) for a, b in pairwise(edges) if rows[a:b].any()]):
        for i in range(0, len(run), max_lines):
            a, b = run[i][0], run[min(len(run), i + max_lines) - 1][1]
            out.append(_trimmed(cleaned, mask, a, b, dpi))
    return out


def _runs(bands: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Written bands in runs of neighbours: a strip never spans an empty band.  (A line at the top and a speck
    at the foot of a tall field would otherwise make one strip of the whole field: the text finder's working
    memory grows with the strip, and ONNX Runtime keeps the most it ever needed.)"""
    runs: list[list[tuple[int, int]]] = []
    for band in bands:
        if runs and runs[-1][-1][1] == band[0]:
            runs[-1].append(band)
        else:
            runs.append([band])
    return runs


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
               dpi: float, correct: bool | None = None) -> tuple[OcrText, str]:
    """Read a field strip by strip; the lines of all strips, in order, tidied as one transcription, with the
    name of the engine that read it.

    The field has writing (blank fields never get here), so an empty reading is the engine failing, not the
    field being empty.  Seen: two lines whose tails touch are found as one tall box of text, which the
    recogniser reads as nothing.  So before giving up the field is read again one written line at a time, cut
    at the emptiest row near every printed rule even where a tail crosses it (a cut letter costs less than a
    lost comment); and if that is empty too, by tesseract (always installed, and it fails differently).
    Whatever comes back stays a draft that a person confirms in review; still nothing, and review asks for
    it to be typed.  Words clearly misread are put right from a word list (`corrected`) when `correct` is
    true (default `OCR_WORD_CORRECTION`)."""
    text, name = _transcribe(engine, cleaned, mask, rules_px, dpi)
    return (corrected(text) if (C.OCR_WORD_CORRECTION if correct is None else correct) else text), name


def corrected(text: OcrText) -> OcrText:
    """The transcription with clearly misread words put right (scan/words.py), line by line.  A line that
    needed a correction was misread, whatever the engine thought: its confidence drops by
    `OCR_WORD_CORRECTED_DOUBT` per corrected word, so review still doubts it; the whole text's confidence is
    weighed again from its lines."""
    fixes = [correct_text(line.text) for line in text.lines]
    if not any(n for _, n in fixes):
        return text
    lines = [OcrLine(fixed, max(0.0, line.confidence - n * C.OCR_WORD_CORRECTED_DOUBT)) if n else line
             for line, (fixed, n) in zip(text.lines, fixes, strict=True)]
    whole = "\n".join(line.text for line in lines) if text.text else ""
    confidence = (sum(line.confidence * len(line.text) for line in lines) / sum(len(line.text) for line in lines)
                  if text.text else text.confidence)
    return OcrText(whole, confidence, tuple(lines))


def _transcribe(engine: OcrEngine, cleaned: np.ndarray, mask: np.ndarray, rules_px: list[float],
                dpi: float) -> tuple[OcrText, str]:
    text = _read(engine, strips(cleaned, mask, rules_px, dpi))
    if not text.text:
        text = _read(engine, strips(cleaned, mask, rules_px, dpi, max_lines=1, max_ink=1.0))
    if text.text or engine.name in (FALLBACK_ENGINE, NoOcr.name):
        return text, engine.name
    try:
        check_engine(FALLBACK_ENGINE)
    except MissingDependencyError:
        return text, engine.name
    fallback = get_engine(FALLBACK_ENGINE)
    text = _read(fallback, strips(cleaned, mask, rules_px, dpi))
    return text, (f"{fallback.name} (after {engine.name} read nothing)" if text.text else engine.name)


def _read(engine: OcrEngine, parts: list[np.ndarray]) -> OcrText:
    return tidy([line for part in parts for line in engine.read_lines(part)])
