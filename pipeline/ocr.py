"""Handwriting engines behind one small interface.

The crop image is the record; the engine's text is only a transcription that a
person can correct in review.  Engines are created once per worker process.
"""

from __future__ import annotations

from functools import cache
from typing import Protocol

import numpy as np

from .errors import MissingDependencyError
from .tools import tesseract
from .tools.tesseract import OcrText


class OcrEngine(Protocol):
    name: str

    def read(self, image: np.ndarray) -> OcrText: ...


class TesseractEngine:
    name = "tesseract"

    def __init__(self) -> None:
        tesseract.check_tesseract()

    def read(self, image: np.ndarray) -> OcrText:
        return tesseract.read_text(image)


class RapidOcrEngine:
    """RapidOCR on onnxruntime; its models ship inside the wheel, nothing is downloaded."""

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise MissingDependencyError("the RapidOCR engine is not installed",
                                         "pip install 'papervoice[rapidocr]', or use --ocr tesseract") from exc
        self._engine = RapidOCR()

    def read(self, image: np.ndarray) -> OcrText:
        result, _ = self._engine(image)
        if not result:
            return OcrText("", 0.0)
        # group detected boxes into lines by their vertical centre, then read left to right
        boxes = sorted(((float(np.mean([p[1] for p in box])), float(min(p[0] for p in box)), text, float(score))
                        for box, text, score in result))
        lines: list[list[tuple[float, str]]] = []
        last_y = None
        height = float(np.median([abs(box[2][1] - box[0][1]) for box, _, _ in result])) or 1.0
        for y, x, text, _score in boxes:
            if last_y is None or y - last_y > height * 0.6:
                lines.append([])
            lines[-1].append((x, text))
            last_y = y
        text = "\n".join(" ".join(t for _, t in sorted(line)) for line in lines)
        return OcrText(text, 100.0 * float(np.mean([s for *_, s in boxes])))


class NoOcr:
    """Detect writing but transcribe nothing: everything written goes to a person."""

    name = "none"

    def read(self, image: np.ndarray) -> OcrText:
        return OcrText("", 0.0)


@cache
def get_engine(name: str) -> OcrEngine:
    if name == "tesseract":
        return TesseractEngine()
    if name == "rapidocr":
        return RapidOcrEngine()
    return NoOcr()
