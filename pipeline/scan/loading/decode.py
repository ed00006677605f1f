"""Decoding a page (runs in the worker): bytes to a greyscale array at a resolution it can trust."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image

from pipeline import constants as C
from pipeline.errors import ExternalProgramError
from pipeline.scan.loading.jobs import (
    _A4_IN,
    _BIG_ADVICE,
    _LETTER_IN,
    _RESCAN,
    PageError,
    PageJob,
    _bomb_message,
    _too_big,
)
from pipeline.scan.loading.pdf import _page_geometry, _render_problem
from pipeline.scan.loading.pictures import _display_dpi, _exif_orientation


def estimate_dpi(width_px: int, height_px: int) -> float:
    """The resolution of a picture that states none (or an implausible one), from its shape.

    A scanned page is nearly always A4 or Letter: when the picture's aspect
    ratio is within PAGE_ASPECT_TOLERANCE of one of them, its long side is taken
    to be that paper's long side; a page-shaped picture that matches neither (a
    scanner's own crop) is taken to be A4 long.  The figure is then snapped to a
    scanner's usual setting when within 2 % of one (a 100-dpi A4 scan measures
    99.97 dpi, which must not count as "below 100").  Anything else (a strip, a
    square) gets DEFAULT_DPI; the scanner then finds the page by its marks anyway.
    """
    long_px, short_px = max(width_px, height_px), min(width_px, height_px)
    if short_px <= 0:
        return float(C.DEFAULT_DPI)
    ratio = long_px / short_px
    for short_in, long_in in (_A4_IN, _LETTER_IN):
        if abs(ratio - long_in / short_in) <= C.PAGE_ASPECT_TOLERANCE * long_in / short_in:
            return _snap(long_px / long_in)
    low, high = C.PAGE_LIKE_ASPECT
    if low <= ratio <= high:
        return _snap(long_px / _A4_IN[1])
    return float(C.DEFAULT_DPI)


def _snap(dpi: float) -> float:
    for usual in C.USUAL_SCAN_DPI:
        if abs(dpi - usual) <= 0.02 * usual:
            return float(usual)
    return round(dpi, 2)


def _plausible(dpi: float, long_px: int) -> bool:
    """A declared dpi is believed only if it makes the picture a paper-sized page (phones write 72 for anything)."""
    low, high = C.PLAUSIBLE_PAGE_INCHES
    return 30 <= dpi <= 4800 and low <= long_px / dpi <= high


#: libjpeg's DCT scaling: a JPEG decoded straight at 1/2, 1/4 or 1/8 of its size costs a fraction of a full decode
_JPEG_REDUCED = {2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
                 8: cv2.IMREAD_REDUCED_GRAYSCALE_8}


def _reduction(declared: tuple[float | None, float | None], size: tuple[int, int], min_dpi: float | None) -> int:
    """The largest JPEG scale-down (1, 2, 4, 8) that keeps the page at `min_dpi` at least: only for a believed,
    square-pixel resolution (anything else is settled on the full picture)."""
    dpi_x, dpi_y = declared
    if min_dpi is None or dpi_x is None or (dpi_y is not None and abs(dpi_x - dpi_y) > 0.01 * dpi_x):
        return 1
    if not _plausible(dpi_x, max(size)):
        return 1
    factor = 1
    while factor < 8 and dpi_x / (factor * 2) >= min_dpi:
        factor *= 2
    return factor


def decode_page(job: PageJob, min_dpi: float | None = None) -> tuple[np.ndarray, float]:
    """Decode one page to a greyscale uint8 array and the dpi actually used (see `decode_scaled`)."""
    grey, dpi, _ = decode_scaled(job, min_dpi)
    return grey, dpi


def decode_scaled(job: PageJob, min_dpi: float | None = None) -> tuple[np.ndarray, float, float]:
    """Decode one page to a greyscale uint8 array and the dpi actually used.

    Handles CMYK JPEG, 16-bit and alpha PNG (alpha composited on white, as the
    page would look printed), palette and 1-bit pictures, and orientation;
    "pdf" jobs are rendered by PDFium (the pypdfium2 wheel) at RENDER_DPI.  The pixel limit is
    enforced again here (the job may come from anywhere).  When the file states
    no usable resolution, see `estimate_dpi`.  Raises PageError (an
    InputFileError) for a damaged picture, MissingDependencyError when pypdfium2
    is absent.

    `min_dpi`: the finest resolution the reader needs; a JPEG finer than twice it is decoded straight at a
    half, quarter or eighth (decoding once, at the size that will be read, instead of decoding whole and
    reducing).  Without it every picture is decoded whole.  Returns the picture, the dpi it was decoded at, and
    the file's own dpi (the same, unless decoded reduced): the ledger records the page as scanned, not as read.
    """
    if job.kind == "pdf":
        return (*_render(job), float(C.RENDER_DPI))
    if job.kind != "image":
        raise ValueError(f"unknown page kind {job.kind!r}")
    name, index = job.source.path, job.source.index
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(job.data))
            problem = _too_big(*img.size)
            if problem:
                raise PageError(name, index, problem, _BIG_ADVICE)
            orientation = job.orientation if job.orientation is not None else _exif_orientation(img)
            declared = (job.dpi, job.dpi_y) if job.orientation is not None else _display_dpi(
                (job.dpi, job.dpi_y if job.dpi_y is not None else job.dpi), orientation)
            complete = job.data.rstrip(b"\x00\r\n ")[-2:] == b"\xff\xd9"  # OpenCV would fill a cut-off one in
            if img.format == "JPEG" and img.mode in ("L", "RGB", "YCbCr") and complete:
                # OpenCV's libjpeg-turbo decodes straight to grey about twice as fast as Pillow; the header
                # was read (and checked) by Pillow above, and orientation is applied below, not by OpenCV
                factor = _reduction(declared, img.size, min_dpi)
                flags = _JPEG_REDUCED.get(factor, cv2.IMREAD_GRAYSCALE) | cv2.IMREAD_IGNORE_ORIENTATION
                decoded = cv2.imdecode(np.frombuffer(job.data, np.uint8), flags)
                want = (-(-img.size[1] // factor), -(-img.size[0] // factor))
                if decoded is None or decoded.shape != want:
                    factor = 1
                    img.draft("L", img.size)
                    img.load()
                    decoded = _to_grey(img)
                grey = _orient(decoded, orientation)
                if factor > 1:  # the resolution was believed (see _reduction): scaled with the picture
                    return grey, float(declared[0] or 0) / factor, float(declared[0] or 0)
                return _same(_settle_dpi(grey, declared[0], declared[1], name, index))
            if img.format == "PNG" and img.mode in ("L", "RGB", "1") and "transparency" not in img.info:
                # libpng through OpenCV, straight to grey: faster than Pillow's decode and conversion
                decoded = cv2.imdecode(np.frombuffer(job.data, np.uint8), cv2.IMREAD_GRAYSCALE)
                if decoded is not None and decoded.shape == (img.size[1], img.size[0]):
                    grey = decoded
                else:
                    img.load()
                    grey = _to_grey(img)
            else:
                img.load()
                grey = _to_grey(img)
    except PageError:
        raise
    except MemoryError as exc:
        raise PageError(name, index, "the picture is too large for this computer's memory", _BIG_ADVICE) from exc
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, struct.error... on damaged data
        bomb = _bomb_message(exc)
        if bomb:
            raise PageError(name, index, bomb, _BIG_ADVICE) from exc
        raise PageError(name, index, f"the picture is damaged and cannot be decoded ({_short(exc)})", _RESCAN) from exc
    grey = _orient(grey, orientation)
    return _same(_settle_dpi(grey, declared[0], declared[1], name, index))


def _same(decoded: tuple[np.ndarray, float]) -> tuple[np.ndarray, float, float]:
    """A page decoded whole: its own dpi is the one it was decoded at."""
    return decoded[0], decoded[1], decoded[1]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _to_grey(img: Image.Image) -> np.ndarray:
    """Any PIL mode to 8-bit grey as printed paper would look: transparency is white paper."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(img, dtype=np.float32)
        top = 65535.0 if mode.startswith("I;16") or (mode == "I" and values.max(initial=0) > 255) else 255.0
        if mode == "F" and values.max(initial=0) <= 1.0:
            top = 1.0
        return np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
    has_alpha = mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in img.info
    if has_alpha:
        la = np.asarray(img.convert("RGBA").convert("LA"), dtype=np.uint16)
        grey, alpha = la[..., 0], la[..., 1]
        return ((grey * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    if mode == "CMYK":
        img = img.convert("RGB")
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _orient(grey: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation code (the same meanings PIL's exif_transpose uses)."""
    ops = {
        1: lambda a: a,
        2: np.fliplr,
        3: lambda a: np.rot90(a, 2),
        4: np.flipud,
        5: lambda a: a.T,
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).T,
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops.get(orientation, ops[1])(grey))


def _settle_dpi(grey: np.ndarray, dpi_x: float | None, dpi_y: float | None, name: str,
                index: int) -> tuple[np.ndarray, float]:
    """Believe the declared resolution if plausible, else estimate; make non-square pixels square."""
    height, width = grey.shape
    long_px = max(width, height)
    if dpi_y is None:
        dpi_y = dpi_x
    if dpi_x is None or dpi_y is None or not (_plausible(dpi_x, long_px) and _plausible(dpi_y, long_px)):
        return grey, estimate_dpi(width, height)
    if abs(dpi_x - dpi_y) <= 0.01 * max(dpi_x, dpi_y):
        return grey, float(dpi_x)
    import cv2

    dpi = max(dpi_x, dpi_y)  # stretch the coarser axis: never throw detail away
    new_w, new_h = round(width * dpi / dpi_x), round(height * dpi / dpi_y)
    problem = _too_big(new_w, new_h)
    if problem:
        raise PageError(name, index, problem, _BIG_ADVICE)
    return cv2.resize(grey, (new_w, new_h), interpolation=cv2.INTER_LINEAR), float(dpi)


def _render(job: PageJob) -> tuple[np.ndarray, float]:
    import pikepdf

    from pipeline.tools import pdfium

    name, index = job.source.path, job.source.index
    try:
        with pikepdf.open(io.BytesIO(job.data)) as pdf:
            if len(pdf.pages) != 1:
                raise PageError(name, index, "the page could not be separated from its file", _RESCAN)
            _, _, display_w, display_h = _page_geometry(pdf.pages[0].obj)
    except PageError:
        raise
    except Exception as exc:
        raise PageError(name, index, "this page of the PDF is damaged and cannot be read", _RESCAN) from exc
    problem = _render_problem(display_w, display_h)
    if problem:
        raise PageError(name, index, problem, "scan the paper again as A4 or Letter")
    try:
        grey = pdfium.render_page(job.data, C.RENDER_DPI)
    except ExternalProgramError as exc:
        raise PageError(name, index, exc.message, exc.advice) from exc
    return grey, float(C.RENDER_DPI)
