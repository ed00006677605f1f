"""Codes printed on a sheet (barcodes, QR, Data Matrix): what tells one returned copy from another.

SDAPS and queXF print a code on every page.  A code the blank itself carries (the form's id, a page number)
is the same on every return and says nothing about which copy a page is; a code the returns carry and the
blank lacks (a questionnaire id stamped per copy) is the copy's identity.  `adopt` records the blank's own
codes, and a returned page's codes not among them are its sheet code (`adopt.copies` uses it).
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline import constants as C


def read_codes(image: np.ndarray, dpi: float) -> list[str]:
    """Every code zxing-cpp finds on the page, as 'FORMAT:text', sorted; nothing when it fails."""
    import zxingcpp

    factor = min(1.0, C.ADOPT_CODE_DPI / max(dpi, 1.0))
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA) if factor < 1 else image
    try:
        found = zxingcpp.read_barcodes(small)
    except Exception:  # a decoder failure on an odd picture is no reason to lose the page
        return []
    return sorted({f"{code.format.name}:{code.text}" for code in found if code.text})


def sheet_code(codes: list[str], blank_codes: tuple[str, ...]) -> str:
    """The codes a return carries that its blank does not, joined: '' when there are none."""
    own = [c for c in codes if c not in blank_codes]
    return "+".join(own)[:C.ADOPT_CODE_MAX_CHARS]
