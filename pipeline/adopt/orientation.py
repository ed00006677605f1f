"""Does a blank's page look turned?  A blank adopted sideways or upside down gives a form no upright return
matches, so `adopt` says so before anyone scans against it.

Tesseract's orientation detection (OSD) reads the direction of the printed text; it is asked only when
tesseract and its `osd` data are installed, and only its confident answers count (a page of bare boxes has
too little text to say).  Without it, a page whose word blobs are mostly taller than wide reads sideways.
"""

from __future__ import annotations

import re
import shutil

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.adopt.detect import Found


def turned_by(image: np.ndarray, dpi: float, words: list[Found]) -> int | None:
    """Clockwise degrees the page's text is turned by (90, 180, 270), 0 when upright, None when unknown."""
    osd = _osd_rotation(image, dpi)
    if osd is not None:
        return osd
    if len(words) >= C.ADOPT_ORIENT_MIN_WORDS:
        tall = sum(1 for w in words if w.h > 1.5 * w.w)
        if tall > C.ADOPT_ORIENT_TALL_SHARE * len(words):
            return 90
    return None


def _osd_rotation(image: np.ndarray, dpi: float) -> int | None:
    if shutil.which("tesseract") is None:
        return None
    try:
        import pytesseract

        scale = min(1.0, C.ADOPT_ORIENT_DPI / max(dpi, 1.0))
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        text = pytesseract.image_to_osd(small, config=f"--psm 0 --dpi {round(dpi * scale)}",
                                        timeout=C.ADOPT_ORIENT_TIMEOUT_S)
    except Exception:  # no osd data, too little text, a timeout: no answer, never a failure of adopt
        return None
    rotate = re.search(r"Rotate:\s*(\d+)", text)
    confidence = re.search(r"Orientation confidence:\s*([\d.]+)", text)
    if rotate is None or confidence is None or float(confidence.group(1)) < C.ADOPT_ORIENT_MIN_CONFIDENCE:
        return None
    return int(rotate.group(1)) % 360
