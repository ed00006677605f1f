"""Encoding the small images the ledger keeps, fast enough for the hot path.

PNG at a low compression level costs a fraction of the default's time for a
few percent more bytes; item-row crops, kept only as evidence for a person,
are JPEG.  `mime_of` tells the ledger which is which from the bytes.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import constants as C


def encode_png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, C.PNG_COMPRESSION_LEVEL])
    return bytes(buf) if ok else b""


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, C.EVIDENCE_JPEG_QUALITY])
    return bytes(buf) if ok else b""


def mime_of(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:2] == b"\xff\xd8":
        return "image/jpeg"
    return "application/octet-stream"
