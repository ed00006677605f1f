"""Rendering the print: the generator's own PDF, rasterised by poppler as a printer would."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from pipeline.errors import MissingDependencyError
from pipeline.form.layout import Rect
from pipeline.simulate.world import PRINT_DPI


def render_pdf_pages(pdf: Path | bytes, first: int, last: int, dpi: int = PRINT_DPI) -> list[np.ndarray]:
    """Pages `first`..`last` (1-based, inclusive) of a PDF as grey arrays, rendered by poppler's pdftoppm.

    One pdftoppm call per range: its start-up and PDF parse cost more than a page.  Without poppler (a
    machine set up with pip alone) PDFium draws them: the figures in the README were made with poppler.
    """
    if shutil.which("pdftoppm") is None:
        from pipeline.tools import pdfium

        data = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
        return [pdfium.render_page(data, dpi, n) for n in range(first, last + 1)]
    with tempfile.TemporaryDirectory(prefix="pv-render-") as tmp:
        if isinstance(pdf, bytes):
            path = Path(tmp) / "in.pdf"
            path.write_bytes(pdf)
        else:
            path = pdf
        try:
            subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", str(first), "-l", str(last), str(path),
                            str(Path(tmp) / "p")], check=True, capture_output=True)
        except FileNotFoundError as exc:
            raise MissingDependencyError("pdftoppm (poppler-utils) is not installed",
                                         "run 'make setup' as root, or 'sudo apt-get install poppler-utils'") from exc
        outputs = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        pages = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in outputs]
    return [p for p in pages if p is not None]


def render_form_page(pdf_bytes: bytes, page_no: int, dpi: int = PRINT_DPI) -> np.ndarray:
    """One page (1-based) of a generated PDF as a grey array (255 = paper)."""
    pages = render_pdf_pages(pdf_bytes, page_no, page_no, dpi)
    if not pages:
        raise ValueError(f"the PDF has no page {page_no}")
    return pages[0]


def rect_px(rect: Rect, dpi: int = PRINT_DPI) -> tuple[float, float, float, float]:
    """A layout rectangle (pt, top-left origin) in pixels at `dpi`: x, y, w, h."""
    k = dpi / 72.0
    return rect.x * k, rect.y * k, rect.w * k, rect.h * k

