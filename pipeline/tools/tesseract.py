"""The one place PaperVoice talks to tesseract.

Version check, a timeout per call, an explicit environment (`OMP_THREAD_LIMIT=1`:
tesseract's own threads would fight our process pool for the same cores), and
tesseract's failures translated into PaperVoice errors with advice.
"""

from __future__ import annotations

import os
import shutil
from functools import cache

import numpy as np

from pipeline import constants as C
from pipeline.errors import ExternalProgramError, MissingDependencyError
from pipeline.tools.reading import OcrLine, OcrText

MIN_VERSION = (4, 1)
_INSTALL = "run 'make setup' as root, or 'sudo apt-get install tesseract-ocr tesseract-ocr-eng'"


def _environment() -> None:
    # pytesseract starts tesseract with this process's environment
    os.environ["OMP_THREAD_LIMIT"] = "1"


@cache
def check_tesseract() -> tuple[int, ...]:
    """Fail early, with advice, if tesseract is missing or too old."""
    import pytesseract

    if shutil.which("tesseract") is None:
        raise MissingDependencyError("tesseract (the handwriting reader) is not installed", _INSTALL)
    try:
        version = pytesseract.get_tesseract_version()
    except Exception as exc:  # pytesseract raises its own error types and OSError
        raise MissingDependencyError(f"tesseract could not be started: {exc}", _INSTALL) from exc
    parts = tuple(int(p) for p in str(version).split(".")[:2] if p.isdigit())
    if parts < MIN_VERSION:
        raise MissingDependencyError(f"tesseract {version} is too old (need {MIN_VERSION[0]}.{MIN_VERSION[1]} or "
                                     "newer)", _INSTALL)
    languages = pytesseract.get_languages(config="")
    if "eng" not in languages:
        raise MissingDependencyError("tesseract has no English language data", _INSTALL)
    return parts


def read_text(image: np.ndarray, *, psm: int = C.TESSERACT_PAGE_MODE, timeout_s: float = C.OCR_TIMEOUT_S) -> OcrText:
    """OCR a cleaned greyscale crop; returns the text with line breaks, each line's mean word confidence and
    the mean over all words."""
    import pytesseract

    check_tesseract()
    _environment()
    try:
        data = pytesseract.image_to_data(image, lang="eng", config=f"--psm {psm} --oem 1",
                                         output_type=pytesseract.Output.DICT, timeout=timeout_s)
    except RuntimeError as exc:  # pytesseract signals its timeout as RuntimeError
        raise ExternalProgramError(f"tesseract took longer than {timeout_s:.0f} s on one comment",
                                   "the comment is kept as an image for review; raise OCR_TIMEOUT_S if this "
                                   "happens often") from exc
    except pytesseract.TesseractError as exc:
        raise ExternalProgramError(f"tesseract failed: {exc.message}",
                                   "the comment is kept as an image for review") from exc
    lines: dict[tuple[int, int, int], list[tuple[str, float]]] = {}
    for i, word in enumerate(data["text"]):
        word = word.strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append((word, conf))
    read = tuple(OcrLine(" ".join(w for w, _ in words), float(np.mean([c for _, c in words])))
                 for _, words in sorted(lines.items()))
    confidences = [c for words in lines.values() for _, c in words]
    return OcrText("\n".join(line.text for line in read), float(np.mean(confidences)) if confidences else 0.0, read)
