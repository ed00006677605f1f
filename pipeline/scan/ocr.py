"""Handwriting engines: one registry, from which the options, the CLI's `--ocr` choices and the bench take their lists.

The crop image is the record; an engine's text is only a transcription that a person corrects in review.
Each engine is a class with its name, a `check()` that says (without loading any model) whether it can run
here and what to install if not, and `read()`.  An engine is created once per worker process, and only when
a field has writing: blank fields never start one.

Every engine's reading is tidied the same way: characters from outside the Latin scripts are dropped (the
PP-OCR models also know Chinese and Japanese, and a misread English stroke sometimes comes back as a kana),
lines with no letter or digit are dropped, and a reading with almost no letters or digits left is returned
empty - review then says "could not read; please type it" beside the picture, instead of offering junk to
correct.
"""

from __future__ import annotations

import ctypes
import importlib.util
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

import numpy as np

from pipeline import constants as C
from pipeline.errors import UsageError
from pipeline.tools import faster_paddle, rapidocr, tesseract
from pipeline.tools.reading import OcrLine, OcrText, group_lines


def _malloc_trim() -> Callable[[], object]:
    """glibc's malloc_trim(0), or a no-op elsewhere."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


_give_back_memory = _malloc_trim()


class OcrEngine(ABC):
    """A handwriting engine.  `name` is what `--ocr` takes and what the ledger records."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for --help and the README

    @classmethod
    @abstractmethod
    def check(cls) -> None:
        """Raise MissingDependencyError, with advice, if this engine cannot run here.  Loads no model: the
        coordinator of a process pool never reads a comment."""

    @abstractmethod
    def read_lines(self, image: np.ndarray) -> list[OcrLine]:
        """The lines read from a grey image of writing (dark on white), top to bottom."""

    def read(self, image: np.ndarray) -> OcrText:
        return tidy(self.read_lines(image))


class FasterPaddleEngine(OcrEngine):
    """PP-OCRv6 small, run by faster-paddle: the most accurate engine whose models ship in a wheel."""

    name = "faster-paddle"
    summary = "PP-OCRv6 small via faster-paddle (the default: reads handwriting best)"

    @classmethod
    def check(cls) -> None:
        faster_paddle.check()

    def __init__(self) -> None:
        self._engine = faster_paddle.load()

    def read_lines(self, image: np.ndarray) -> list[OcrLine]:
        try:
            return group_lines(faster_paddle.read_boxes(self._engine, image))
        finally:
            # onnxruntime allocates and frees tens of MB per strip in sizes that change with every field, and
            # glibc keeps what is freed in a fragmented heap: handing it back keeps a worker's size flat
            _give_back_memory()


class RapidOcrEngine(OcrEngine):
    """The same PP-OCRv6 small models run by RapidOCR: the widely used project, kept as the alternative."""

    name = "rapidocr"
    summary = "PP-OCRv6 small via RapidOCR (the alternative: the widely used project)"

    @classmethod
    def check(cls) -> None:
        rapidocr.check()

    def __init__(self) -> None:
        self._engine: Any = rapidocr.load()

    def read_lines(self, image: np.ndarray) -> list[OcrLine]:
        try:
            return group_lines(rapidocr.read_boxes(self._engine, image))
        finally:
            _give_back_memory()


# a lone '|' or '\' between spaces: tesseract's reading of a handwritten capital I (nobody writes a bar in a
# comment about their care)
_LONE_BAR = re.compile(r"(?<!\S)[|\\](?!\S)")


class TesseractEngine(OcrEngine):
    """Tesseract 5: for machines where the default cannot install (it reads unseen hands far worse)."""

    name = "tesseract"
    summary = "tesseract (lightest; for machines where faster-paddle cannot install)"

    @classmethod
    def check(cls) -> None:
        tesseract.check_tesseract()

    def __init__(self) -> None:
        tesseract.check_tesseract()

    def read_lines(self, image: np.ndarray) -> list[OcrLine]:
        lines = tesseract.read_text(image).lines
        if not any(_signs(line.text) for line in lines) and min(image.shape[:2]) >= 2 * C.TESSERACT_MIN_SIDE_PX:
            # tesseract looks for letters of printed size: large writing (seen: a 100 px line of a flowing
            # hand) can come back as nothing at all, and read well at half the size
            import cv2  # here, not at the top: commands that read no page (reclassify, export) never load it

            half = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
            lines = tesseract.read_text(half).lines
        return [OcrLine(_LONE_BAR.sub("I", line.text), line.confidence) for line in lines]


class NoOcr(OcrEngine):
    """Detect writing but transcribe nothing: everything written goes to a person to type."""

    name = "none"
    summary = "none (find writing, transcribe nothing)"

    @classmethod
    def check(cls) -> None:
        return None

    def read_lines(self, image: np.ndarray) -> list[OcrLine]:
        return []


ENGINES: dict[str, type[OcrEngine]] = {e.name: e for e in (FasterPaddleEngine, RapidOcrEngine, TesseractEngine, NoOcr)}
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)


def _default_engine() -> str:
    """faster-paddle where its wheel is installed; else RapidOCR (same models), which pip installs instead on the
    one system faster-paddle publishes no wheel for (Intel Macs: see the markers in pyproject.toml)."""
    if importlib.util.find_spec("faster_paddle") is None and importlib.util.find_spec("rapidocr") is not None:
        return RapidOcrEngine.name
    return FasterPaddleEngine.name


DEFAULT_ENGINE = _default_engine()
FALLBACK_ENGINE = TesseractEngine.name  # reads a written field the chosen engine read as nothing
TRANSCRIBING_ENGINES: tuple[str, ...] = tuple(n for n in ENGINE_NAMES if n != NoOcr.name)  # for the bench


def engine_class(name: str) -> type[OcrEngine]:
    try:
        return ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown OCR engine '{name}'", f"use one of: {', '.join(ENGINE_NAMES)}") from None


def check_engine(name: str) -> None:
    """Fail early, with advice, if an engine cannot run here, without loading it."""
    engine_class(name).check()


@cache
def get_engine(name: str) -> OcrEngine:
    """The engine of this process, loaded at its first use (a written field), then kept."""
    return engine_class(name)()


# --- tidying what an engine read -------------------------------------------------------------------------------

_KEEP_EXTRA = frozenset("\u2018\u2019\u201c\u201d\u2013\u2014\u2026£€")


def _latin(text: str) -> str:
    """Only characters an English comment can hold: Latin letters (with accents), digits, punctuation."""
    return "".join(ch for ch in text if ord(ch) < 0x250 or ch in _KEEP_EXTRA)


def _signs(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def tidy(lines: list[OcrLine]) -> OcrText:
    """The engine's lines as one transcription: foreign-script characters and letterless lines dropped; empty
    when almost nothing readable is left (then review asks a person to type it)."""
    kept = []
    for line in lines:
        text = " ".join(_latin(line.text).split())
        if _signs(text):
            kept.append(OcrLine(text, line.confidence))
    signs = sum(_signs(line.text) for line in kept)
    if signs < C.OCR_MIN_READABLE_CHARS:
        return OcrText("", 0.0, tuple(kept))
    confidence = sum(line.confidence * len(line.text) for line in kept) / sum(len(line.text) for line in kept)
    return OcrText("\n".join(line.text for line in kept), confidence, tuple(kept))
