"""PDF pages drawn by PDFium (the pypdfium2 wheel): the path when poppler is not installed.

Poppler is a system program (Debian's poppler-utils, Homebrew on macOS, nothing ready-made on Windows);
pypdfium2 is a wheel for Linux, Windows and macOS, so `pip install papervoice` alone can read PDFs.
Same contract as `pipeline.tools.poppler.render_page`: one page of a PDF held in memory, to a grey uint8
array at `dpi`; failures become PaperVoice errors with advice.  PDFium is not thread-safe: one lock per
process guards every call.
"""

from __future__ import annotations

import threading

import numpy as np

from pipeline.errors import ExternalProgramError, MissingDependencyError

_lock = threading.Lock()
INSTALL_ADVICE = "pip install pypdfium2 (it comes with PaperVoice: reinstall it with 'pip install papervoice')"


def available() -> bool:
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        return False
    return True


def render_page(pdf_bytes: bytes, dpi: int, page: int = 1) -> np.ndarray:
    """Render one page (1-based) of a PDF held in memory to a greyscale uint8 array at `dpi`."""
    if page < 1:
        raise ValueError(f"page numbers start at 1, not {page}")
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:
        raise MissingDependencyError("pypdfium2 (needed to read PDF files without poppler) is not installed",
                                     INSTALL_ADVICE) from exc
    with _lock:
        try:
            doc = pdfium.PdfDocument(pdf_bytes)
        except pdfium.PdfiumError as exc:
            text = str(exc).lower()
            if "password" in text:
                raise ExternalProgramError("the PDF is protected by a password",
                                           "save an unprotected copy (for example print it to a new PDF) and scan "
                                           "that file") from exc
            raise ExternalProgramError("the PDF is damaged or incomplete",
                                       "copy the file again from the scanner, or scan the paper again") from exc
        try:
            if page > len(doc):
                raise ExternalProgramError("the PDF does not have that page", "check the file is complete")
            bitmap = doc[page - 1].render(scale=dpi / 72.0, grayscale=True, may_draw_forms=False)
            pixels = bitmap.to_numpy()
        except pdfium.PdfiumError as exc:
            raise ExternalProgramError(f"PDFium could not draw the page ({exc})",
                                       "open the file in a PDF viewer to check it; if it looks fine, scan the "
                                       "paper again as PDF or TIFF") from exc
        finally:
            doc.close()
    if pixels.ndim == 3:  # some builds hand back BGR(x) even when asked for grey: take the luminance
        pixels = (pixels[..., :3] @ np.array([0.114, 0.587, 0.299])).round().clip(0, 255)
    return np.ascontiguousarray(pixels, dtype=np.uint8)
