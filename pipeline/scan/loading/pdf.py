"""PDF input: a page's single scanned picture taken out as it is, or the page cut out to be rendered."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import constants as C
from pipeline.errors import InputFileError
from pipeline.form.identity import PRINT_FILE_KEYWORD
from pipeline.scan.loading.jobs import _BIG_ADVICE, _RESCAN, PageError, PageJob, _too_big
from pipeline.scan.loading.pdf_images import _image_bytes
from pipeline.scan.loading.pictures import _display_dpi
from pipeline.scan.results import PageSource


def _open_pdf(path: Path) -> tuple[int, Iterator[PageJob]]:
    import pikepdf

    name = str(path)
    try:
        # through a handle: pikepdf passes a path on to qpdf as text, and a name that is not valid UTF-8
        # (possible on Linux) made it fail as if the PDF were damaged
        handle = open(path, "rb")  # noqa: SIM115 - closed with the PDF
    except OSError as exc:
        raise InputFileError(name, f"cannot be opened ({exc.strerror})",
                             "check the file is there and readable") from exc
    try:
        pdf = _HandlePdf(pikepdf.open(handle), handle)
    except pikepdf.PasswordError as exc:
        handle.close()
        raise InputFileError(name, "the PDF is protected by a password",
                             "ask the sender for an unprotected copy, or open it with the password and save or "
                             "print it as a new PDF, then scan that file") from exc
    except Exception as exc:  # pikepdf.PdfError and friends: qpdf could not even repair the file
        handle.close()
        raise InputFileError(name, "the PDF is damaged or incomplete and cannot be opened", _RESCAN) from exc
    try:
        count = len(pdf.pages)
        problem = _pdf_damage(path, pdf, count)
    except Exception as exc:
        pdf.close()
        raise InputFileError(name, "the PDF's list of pages is damaged", _RESCAN) from exc
    if problem:
        pdf.close()
        raise InputFileError(name, problem, _RESCAN)
    if count == 0:
        pdf.close()
        raise InputFileError(name, "the PDF has no pages", "check you picked the right file; " + _RESCAN)
    if _is_print_file(pdf):
        pdf.close()
        raise InputFileError(name, "this is a PaperVoice print file (the blank copies made by 'generate'), not a "
                                   "scan of filled-in returns, so nothing in it was counted",
                             "print it, and scan the paper copies people send back; leave the print file out of "
                             "the scan folder")
    return count, _PdfPages(path, pdf, count)


class _HandlePdf:
    """A pikepdf.Pdf opened from a file handle, closing the handle with it (pikepdf leaves a handle open)."""

    def __init__(self, pdf: Any, handle: Any) -> None:
        self._pdf, self._handle = pdf, handle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pdf, name)

    def close(self) -> None:
        try:
            self._pdf.close()
        finally:
            self._handle.close()


def _is_print_file(pdf: Any) -> bool:
    """The print file itself (scanning it would count every copy as returned, blank): it says so in its
    metadata; older print files say only that PaperVoice made them, and their first page draws no picture."""
    try:
        info = pdf.docinfo
        if PRINT_FILE_KEYWORD in str(info.get("/Keywords", "")):
            return True
        if str(info.get("/Creator", "")) != "PaperVoice":
            return False
        return not _drawn_images(pdf.pages[0])
    except Exception:  # damaged metadata or content: not ours to judge here, the pages say what they are
        return False


def _pdf_damage(path: Path, pdf: Any, count: int) -> str | None:
    """qpdf silently rebuilds damaged files, and a rebuilt cut-off file simply has fewer pages.

    A file qpdf had to repair is refused when it also lacks its end marker (it
    was cut off) or when it finds fewer pages than the file says it has: either
    way pages would be lost without anyone noticing.  Files whose only flaw is
    a slightly wrong index (common from some scanners) are read normally.
    """
    warnings_seen = " ".join(str(w) for w in pdf.get_warnings()).lower() if hasattr(pdf, "get_warnings") else ""
    try:
        declared = int(pdf.Root.Pages.get("/Count", count))
    except Exception:
        declared = count
    if "damaged" in warnings_seen or "reconstruct" in warnings_seen:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            fh.seek(max(0, size - 2048))
            tail = fh.read()
        if b"%%EOF" not in tail:
            return "the PDF is incomplete (it was cut off)"
    if declared > count:  # more pages than it says is harmless; fewer means pages were lost
        return f"the PDF is damaged: it says it has {declared} pages but only {count} can be found"
    if "pages tree" in warnings_seen and "ignoring" in warnings_seen:
        return "the PDF's list of pages is damaged, so some pages may be missing"
    return None


class _PdfPages(Iterator[PageJob]):
    """PDF pages one at a time: the single scanned picture when there is one, else a one-page PDF to render."""

    def __init__(self, path: Path, pdf: Any, count: int) -> None:
        self.path, self.pdf, self.count = path, pdf, count
        self.index = 0

    def __next__(self) -> PageJob:
        if self.index >= self.count:
            self.close()
            raise StopIteration
        i = self.index
        self.index += 1
        try:
            return _pdf_page_job(self.path, self.pdf, i)
        except PageError:
            raise
        except Exception as exc:  # pikepdf/qpdf raise their own types on damaged objects
            raise PageError(str(self.path), i, "this page of the PDF is damaged and cannot be read", _RESCAN) from exc

    def close(self) -> None:
        self.pdf.close()


def _inherited(page: Any, key: str) -> Any:
    """A page attribute that may be set on the page or any ancestor in the page tree (PDF 7.7.3.4)."""
    node, seen = page, 0
    while node is not None and seen < 64:
        value = node.get(key)
        if value is not None:
            return value
        node = node.get("/Parent")
        seen += 1
    return None


def _page_box(page: Any) -> tuple[float, float, float, float]:
    """The visible area (CropBox, else MediaBox), normalised to x0 < x1, y0 < y1, in pt."""
    box = _inherited(page, "/CropBox") or _inherited(page, "/MediaBox")
    if box is None or len(box) != 4:
        return (0.0, 0.0, *C.PAPER_SIZES_PT["letter"])  # what viewers assume when a page states no size
    a, b, c, d = (float(v) for v in box)
    return min(a, c), min(b, d), max(a, c), max(b, d)


def _page_rotation(page: Any) -> int:
    value = _inherited(page, "/Rotate")
    try:
        rotation = int(value) % 360 if value is not None else 0
    except (TypeError, ValueError):
        return 0
    return rotation if rotation in (0, 90, 180, 270) else 0


def _page_geometry(page: Any) -> tuple[tuple[float, float, float, float], int, float, float]:
    box = _page_box(page)
    rotation = _page_rotation(page)
    w, h = box[2] - box[0], box[3] - box[1]
    return box, rotation, (h if rotation in (90, 270) else w), (w if rotation in (90, 270) else h)


def _render_problem(display_w: float, display_h: float) -> str | None:
    if display_w < 1 or display_h < 1:
        return "the page has no size"
    pixels = (display_w / 72 * C.RENDER_DPI) * (display_h / 72 * C.RENDER_DPI)
    if pixels > C.MAX_IMAGE_PIXELS:
        return (f"the page is {display_w / C.PT_PER_MM:.0f} x {display_h / C.PT_PER_MM:.0f} mm, far larger than any "
                "paper form")
    return None


def _pdf_page_job(path: Path, pdf: Any, index: int) -> PageJob:
    import pikepdf

    name = str(path)
    page = pdf.pages[index]
    box, rotation, display_w, display_h = _page_geometry(page.obj)
    job = _single_image_job(name, index, page, box, rotation, display_w, display_h)
    if job is not None:
        return job
    problem = _render_problem(display_w, display_h)
    if problem:
        raise PageError(name, index, problem, "scan the paper again as A4 or Letter")
    single = pikepdf.new()
    single.pages.append(page)
    copied = single.pages[0].obj
    for key in ("/Rotate", "/MediaBox", "/CropBox", "/Resources"):  # keep what the page inherited from its tree
        if key not in copied:
            value = _inherited(page.obj, key)
            if value is not None:
                copied[key] = single.copy_foreign(value) if key == "/Resources" else value
    buf = io.BytesIO()
    single.save(buf, compress_streams=True)
    return PageJob(PageSource(name, index), buf.getvalue(), "pdf", None, None, 1)


# Operators that put visible marks on the page: any of them means "more than one picture", so render.
_PAINTING = frozenset({"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "d0", "d1", "BI", "ID", "EI"})
_SHOW_TEXT = frozenset({"Tj", "TJ", "'", '"'})


def _content_length(page: Any) -> int:
    import pikepdf

    contents = page.obj.get("/Contents")
    if contents is None:
        return 0
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    return sum(int(s.get("/Length", 0)) for s in streams)


class _MissingPart(Exception):
    """Something the page draws is not in the file: rendering would silently show a blank page."""


def _drawn_images(page: Any) -> list[tuple[Any, np.ndarray]] | None:
    """The images a page draws with their placement matrices; None when it draws anything else visible.

    Invisible text (render mode 3, the OCR layer of "searchable" scanner PDFs)
    and clipping paths do not count as drawing.
    """
    import pikepdf

    if _content_length(page) > C.MAX_INSPECTED_CONTENT_BYTES:
        return None
    resources = _inherited(page.obj, "/Resources")
    xobjects = resources.get("/XObject") if resources is not None else None
    ctm = np.eye(3)
    text_mode = 0
    stack: list[tuple[np.ndarray, int]] = []
    drawn: list[tuple[Any, np.ndarray]] = []
    for instruction in pikepdf.parse_content_stream(page):
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            return None
        op = str(instruction.operator)
        operands = instruction.operands
        if op == "q":
            stack.append((ctm, text_mode))
        elif op == "Q":
            if stack:
                ctm, text_mode = stack.pop()
        elif op == "cm" and len(operands) == 6:
            a, b, c, d, e, f = (float(v) for v in operands)
            ctm = np.array([[a, b, 0.0], [c, d, 0.0], [e, f, 1.0]]) @ ctm
        elif op == "Tr" and operands:
            text_mode = int(operands[0])
        elif op in _SHOW_TEXT:
            if text_mode != 3:
                return None
        elif op in _PAINTING:
            return None
        elif op == "Do":
            xobject = xobjects.get(operands[0]) if xobjects is not None and operands else None
            if xobject is None or not isinstance(xobject, pikepdf.Stream):
                raise _MissingPart(f"the picture '{operands[0] if operands else ''}' it should show is missing")
            if xobject.get("/Subtype") != "/Image":
                return None
            drawn.append((xobject, ctm))
    return drawn


def _orientation_from_placement(du: np.ndarray, dv: np.ndarray) -> tuple[int, bool] | None:
    """EXIF orientation that turns the stored picture upright, from where its column (u) and row (v) axes land
    on the displayed page; and whether the axes are swapped.  None for skewed placements (render those)."""
    tol = 1e-3
    if abs(du[1]) <= tol * abs(du[0]) and abs(dv[0]) <= tol * abs(dv[1]):
        return {(1, 1): 1, (-1, 1): 2, (-1, -1): 3, (1, -1): 4}[(int(np.sign(du[0])), int(np.sign(dv[1])))], False
    if abs(du[0]) <= tol * abs(du[1]) and abs(dv[1]) <= tol * abs(dv[0]):
        return {(1, 1): 5, (1, -1): 6, (-1, -1): 7, (-1, 1): 8}[(int(np.sign(du[1])), int(np.sign(dv[0])))], True
    return None


def _single_image_job(name: str, index: int, page: Any, box: tuple[float, float, float, float], rotation: int,
                      display_w: float, display_h: float) -> PageJob | None:
    """The page's one scanned picture as a PageJob at its own resolution, or None when the page must be rendered."""
    import pikepdf

    try:
        drawn = _drawn_images(page)
    except _MissingPart as exc:
        raise PageError(name, index, f"the page is damaged: {exc}", _RESCAN) from exc
    except (pikepdf.PdfError, ValueError, TypeError, AttributeError, KeyError):
        return None  # content we cannot follow: PDFium will draw it (or say why not)
    if not drawn or len(drawn) != 1:
        return None
    image, ctm = drawn[0]
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    problem = _too_big(width, height)
    if problem:
        raise PageError(name, index, problem, _BIG_ADVICE)
    if image.get("/ImageMask") or image.get("/SMask") is not None or image.get("/Mask") is not None:
        return None
    if image.get("/Decode") is not None:
        return None  # inverted or remapped samples: let PDFium apply the mapping

    x0, y0, x1, y1 = box
    pw, ph = x1 - x0, y1 - y0

    def display(u: float, v: float) -> np.ndarray:
        x, y, _ = np.array([u, 1.0 - v, 1.0]) @ ctm  # image row 0 is the top of the unit square
        px, py = x - x0, y1 - y
        turned = {0: (px, py), 90: (ph - py, px), 180: (pw - px, ph - py), 270: (py, pw - px)}[rotation]
        return np.array(turned)

    origin = display(0, 0)
    du, dv = display(1, 0) - origin, display(0, 1) - origin
    placed = _orientation_from_placement(du, dv)
    if placed is None:
        return None
    orientation, swapped = placed
    corners = np.array([origin, origin + du, origin + dv, origin + du + dv])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    inter = max(0.0, min(hi[0], display_w) - max(lo[0], 0)) * max(0.0, min(hi[1], display_h) - max(lo[1], 0))
    page_area, image_area = display_w * display_h, float(np.prod(hi - lo))
    cover = C.SINGLE_IMAGE_MIN_COVER
    if page_area <= 0 or inter < cover * page_area or image_area > page_area / cover:
        return None
    across_pt, down_pt = (abs(dv[0]), abs(du[1])) if swapped else (abs(du[0]), abs(dv[1]))
    across_px, down_px = (height, width) if swapped else (width, height)
    dpi_x, dpi_y = round(across_px / across_pt * 72, 2), round(down_px / down_pt * 72, 2)
    data = _image_bytes(image)
    if data is None:
        return None
    x, y = _display_dpi((dpi_x, dpi_y), 1)
    return PageJob(PageSource(name, index), data, "image", x, y, orientation)
