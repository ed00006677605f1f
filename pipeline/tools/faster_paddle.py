"""The one place PaperVoice talks to faster-paddle (PP-OCRv6 *small*, run by the ONNX Runtime it links in).

Why these settings:
* model size "small": it ships inside the wheel.  "medium" does not: faster-paddle would download it on first
  use, which must never happen here, so no other size is ever asked for.
* one thread: the process pool already runs one reader per core; the engine's own threads would fight it.
* `det_min_side=0`: the library's default scales an image up until its short side is 736 px - a short, wide
  strip of handwriting then becomes enormous and whole lines vanish from detection.
* `det_max_side`: the text finder sees a strip at most this wide.  Its working memory grows with the largest
  image it has seen and ONNX Runtime keeps it (faster-paddle offers no session options to turn its arena off):
  768 px takes about 30 MB less per worker than 1024, reads as well, and real capitals better (README).
Failures inside the library become PaperVoice errors: the comment keeps its picture and goes to a person.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from pipeline import constants as C
from pipeline.errors import ExternalProgramError, MissingDependencyError
from pipeline.tools.installed import installed_version
from pipeline.tools.reading import OcrBox

PACKAGE = "faster-paddle"
VERSION = "1.0.4"  # pinned in pyproject.toml: the model files ride inside this wheel
MODEL_SIZE = "small"  # bundled in the wheel; never "medium" (downloaded at first use)
_INSTALL = "run 'make setup' (it installs faster-paddle), or use --ocr tesseract"


def check() -> None:
    """Fail early, with advice, if faster-paddle is missing or not the version whose models we measured."""
    if importlib.util.find_spec("faster_paddle") is None:
        raise MissingDependencyError("the faster-paddle handwriting engine is not installed", _INSTALL)
    version = installed_version(PACKAGE, "faster_paddle")
    if version != VERSION:
        raise MissingDependencyError(f"faster-paddle {version} is installed; PaperVoice was measured with {VERSION}",
                                     f"pip install '{PACKAGE}=={VERSION}' (or run 'make setup')")


def load() -> Any:
    """One engine, loaded once per worker process (its models take about 130 MB)."""
    check()
    try:
        import faster_paddle

        return faster_paddle.OcrEngine(model_size=MODEL_SIZE, threads=1, det_min_side=0,
                                       det_max_side=C.OCR_DET_MAX_SIDE_PX)
    except Exception as exc:  # the Rust extension raises plain RuntimeError/ValueError
        raise MissingDependencyError(f"faster-paddle could not start: {exc}", _INSTALL) from exc


def read_boxes(engine: Any, image: np.ndarray) -> list[OcrBox]:
    """The pieces of text found in a grey image, each with its confidence (0-100) and place."""
    import cv2  # here, not at the top: the registry imports this module for every command, most read no page

    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise ExternalProgramError("the comment could not be handed to faster-paddle",
                                   "the comment is kept as an image for review")
    try:
        found = engine.ocr(png.tobytes())
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a panic inside the Rust extension arrives as pyo3's PanicException
        # (a BaseException): one comment must not take the worker, and its page, down with it
        raise ExternalProgramError(f"faster-paddle failed: {exc}",
                                   "the comment is kept as an image for review") from exc
    return [OcrBox(str(b["text"]), 100.0 * float(b["confidence"]), float(b["topLeftCoord"][0]),
                   float(b["topLeftCoord"][1]), float(b["bottomRightCoord"][1]))
            for b in found.get("bounds", {}).values()]
