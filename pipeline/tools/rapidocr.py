"""The one place PaperVoice talks to RapidOCR (RapidAI's widely used runner of PaddleOCR models on ONNX Runtime).

RapidOCR 3.10 ships PP-OCRv6 *small* detection and recognition models inside its wheel; they are named
explicitly here, so RapidOCR never looks for (or downloads) any other model.  Settings differ from its
defaults on purpose: those are for photos of documents, and on a wide, short strip of handwriting they scale
the image up until its short side is 736 px (slow, and whole lines vanish), read anything wider than 8:1 as
one line, and run an angle classifier that comments do not need.  One thread: the process pool already runs
one reader per core.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import constants as C
from pipeline.errors import ExternalProgramError, MissingDependencyError
from pipeline.tools.installed import installed_version
from pipeline.tools.reading import OcrBox

PACKAGE = "rapidocr"
VERSION = "3.10.0"  # pinned in pyproject.toml: the model files ride inside this wheel
MODELS = {"Det.model_path": "PP-OCRv6_det_small.onnx", "Rec.model_path": "PP-OCRv6_rec_small.onnx"}
_INSTALL = "pip install 'papervoice[rapidocr]' (make setup installs it), or use the default engine"


def _models_dir() -> Path | None:
    spec = importlib.util.find_spec("rapidocr")
    for root in (spec.submodule_search_locations or []) if spec else []:
        models = Path(root) / "models"
        if all((models / name).is_file() for name in MODELS.values()):
            return models
    return None


def check() -> None:
    """Fail early, with advice, without loading anything: RapidOCR, its version, and its bundled models."""
    if importlib.util.find_spec("rapidocr") is None or importlib.util.find_spec("onnxruntime") is None:
        raise MissingDependencyError("the RapidOCR engine is not installed", _INSTALL)
    version = installed_version(PACKAGE, "rapidocr")
    if version != VERSION:
        raise MissingDependencyError(f"rapidocr {version} is installed; PaperVoice was measured with {VERSION}",
                                     f"pip install '{PACKAGE}=={VERSION}'")
    if _models_dir() is None:
        raise MissingDependencyError("RapidOCR's PP-OCRv6 models are missing from its installation", _INSTALL)


def load() -> Any:
    check()
    models = _models_dir()
    assert models is not None  # check() said so
    from rapidocr import RapidOCR

    params: dict[str, Any] = {
        "Global.use_cls": False, "Global.log_level": "error", "Global.width_height_ratio": -1,
        "Global.min_height": 0, "Global.use_preprocess_img": False,
        "Det.limit_type": "max", "Det.limit_side_len": C.OCR_DET_MAX_SIDE_PX, "Det.use_dilation": False,
        "EngineConfig.onnxruntime.intra_op_num_threads": 1, "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        **{key: str(models / name) for key, name in MODELS.items()}}
    try:
        return RapidOCR(params=params)
    except Exception as exc:
        raise MissingDependencyError(f"RapidOCR could not start: {exc}", _INSTALL) from exc


def read_boxes(engine: Any, image: np.ndarray) -> list[OcrBox]:
    """The pieces of text found in a grey image, each with its confidence (0-100) and place."""
    import cv2  # here, not at the top: the registry imports this module for every command, most read no page

    try:
        found = engine(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    except Exception as exc:
        raise ExternalProgramError(f"RapidOCR failed: {exc}", "the comment is kept as an image for review") from exc
    if found.txts is None or found.boxes is None:
        return []
    return [OcrBox(str(text), 100.0 * float(score), float(box[:, 0].min()), float(box[:, 1].min()),
                   float(box[:, 1].max()))
            for box, text, score in zip(found.boxes, found.txts, found.scores, strict=True)]
