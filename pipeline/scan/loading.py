"""The input loader: files and folders in, one small picklable `PageJob` per page out.

The coordinator calls `expand_inputs`, `file_info` and `open_pages`; the
workers call `decode_page`.  The split keeps the coordinator cheap (it only
splits files into pages and never decodes pixels it can avoid) and keeps
memory flat (pages are produced lazily, one at a time).

Scanner PDFs usually hold one picture per page (a JPEG, a CCITT Group 4 fax
image or a Flate bitmap drawn over the whole page).  That picture is used as it
is, at its own resolution: rendering it again would only resample it.  Every
other PDF page (a freshly generated form, a page with several pictures) is
rendered by poppler at RENDER_DPI in the worker.

Everything that can go wrong with an input becomes an `InputFileError` (or its
subclass `PageError` for one page of a file) whose message names the file and
whose advice says what an office can do about it.  The batch always goes on.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

from pipeline import constants as C
from pipeline.errors import ExternalProgramError, InputFileError
from pipeline.scan.results import FileInfo, PageSource

SUPPORTED_SUFFIXES = frozenset({".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"})
LEDGER_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")
SUPPORTED_WORDS = "PDF, TIFF, JPEG and PNG"

# PIL's own guard warns at this size and refuses at twice it; ours (below) refuses first, before decoding.
Image.MAX_IMAGE_PIXELS = C.MAX_IMAGE_PIXELS

PageKind = Literal["image", "pdf"]

_RESCAN = "scan the paper again, or copy the file again from the scanner (it may have been cut off while saving)"
_A4_IN = (8.2677, 11.6929)
_LETTER_IN = (8.5, 11.0)


@dataclass(frozen=True)
class PageJob:
    """One page, packed to travel to a worker process (or Dask worker): bytes and numbers only.

    `dpi`/`dpi_y` are what the file declares for the page as it is displayed
    (after `orientation`), or None when it declares nothing; `decode_page`
    decides what to trust.  `orientation` is an EXIF orientation code (1-8)
    applied after decoding; None means "use the image's own EXIF tag".  The
    loader always fills it in: for pictures taken out of a PDF, the PDF's page
    rotation and placement win and any EXIF tag inside the JPEG is ignored, as
    PDF viewers do.
    """

    source: PageSource
    data: bytes
    kind: PageKind
    dpi: float | None
    dpi_y: float | None = None  # only when it differs from dpi (fax-style TIFFs: 204 x 98 dpi)
    orientation: int | None = None


class PageError(InputFileError):
    """One page of a file cannot be read; the other pages of the file may still be fine."""

    def __init__(self, path: str, page_index: int, message: str, advice: str | None = None) -> None:
        super().__init__(path, f"page {page_index + 1}: {message}", advice)
        self.page_index = page_index
        self._args = (path, page_index, message, advice)

    def __reduce__(self) -> tuple[Any, ...]:
        # exceptions pickle through their args; ours has a different signature, so say how to rebuild it
        return (PageError, self._args)


# --- finding input files --------------------------------------------------------------------------------------


def _natural_key(path: Path) -> tuple[Any, ...]:
    """scan2.pdf before scan10.pdf: the order people expect from a scanner's numbered files."""
    parts = re.split(r"(\d+)", str(path).lower())
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts)


def _is_ledger_file(path: Path) -> bool:
    return path.name.lower().endswith(LEDGER_SUFFIXES)


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """Every file to read, from files and folders (recursively), in natural sorted order, without duplicates.

    Files of unsupported types are returned too, so the scanner reports them
    ("not a supported file type") rather than silently leaving a return unread.
    Skipped: hidden files and folders inside a folder (".DS_Store", ".git"),
    and ledger files (*.db, *.db-wal, *.db-shm) so scanning the folder that holds
    the ledger does not report it.  A path that does not exist, or a folder that
    cannot be listed, is returned as it is: `open_pages` then raises an
    InputFileError that says so, and the rest of the batch goes on.
    """
    found: list[Path] = []

    def walk_error(exc: OSError) -> None:
        found.append(Path(exc.filename) if exc.filename else Path("."))

    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path, onerror=walk_error, followlinks=False):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    candidate = Path(root) / name
                    if name.startswith(".") or _is_ledger_file(candidate):
                        continue
                    found.append(candidate)
        elif not _is_ledger_file(path):
            found.append(path)
    unique: dict[str, Path] = {}
    for path in found:
        try:
            key = str(path.resolve())
        except OSError:
            key = str(path.absolute())
        unique.setdefault(key, path)
    return sorted(unique.values(), key=_natural_key)


def file_info(path: Path) -> FileInfo:
    """Content hash (streamed: a 2 GB TIFF is never held in memory) and size; the ledger keys files by the hash."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise _os_error(Path(path), exc) from exc
    return FileInfo(str(path), digest.hexdigest(), size)


def _os_error(path: Path, exc: OSError) -> InputFileError:
    if isinstance(exc, FileNotFoundError):
        return InputFileError(str(path), "the file was not found",
                              "check the name; the file may have been moved or deleted")
    if isinstance(exc, PermissionError):
        return InputFileError(str(path), "you do not have permission to read this file",
                              "ask whoever manages the folder for read access, or copy the file somewhere you can")
    if isinstance(exc, IsADirectoryError):
        return InputFileError(str(path), "this is a folder, not a file", "give the folder to scan as an input")
    return InputFileError(str(path), f"the file could not be read ({exc.strerror or exc})",
                          "check the disk or network share, then run the scan again")


# --- recognising files ----------------------------------------------------------------------------------------


def _sniff(head: bytes) -> str | None:
    """The format by content, not by name: renamed files are common, and the name can lie."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


def _describe_other(head: bytes) -> str | None:
    """Name the common things people drop into a scan folder by mistake, so the message can say what it is."""
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive or an Office document"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old-style Office document"
    if head.startswith(b"GIF8"):
        return "a GIF picture"
    if head.startswith(b"BM"):
        return "a BMP picture"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP picture"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return "an HEIC/AVIF photo (as iPhones save them)"
    if head.startswith(b"%!PS"):
        return "a PostScript file"
    if head.startswith(b"{\\rtf"):
        return "a Rich Text document"
    return None


_NAMES = {"pdf": "PDF", "tiff": "TIFF", "jpeg": "JPEG", "png": "PNG"}
_BY_SUFFIX = {".pdf": "pdf", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}


def open_pages(path: Path) -> tuple[int, Iterator[PageJob]]:
    """The page count and a lazy iterator of PageJobs for one input file.

    Cheap checks happen here, before any page is produced: the file exists, is
    not empty, is of a supported type, its contents match a supported format,
    its header is intact, a PDF is not password-protected and has pages, a TIFF
    has frames, and the first picture is not a decompression bomb (declared
    size over MAX_IMAGE_PIXELS, checked before anything is decoded).  Each
    raises InputFileError naming the file, with advice.

    Problems that only show on a particular page are raised lazily by the
    iterator as PageError (an InputFileError with `page_index`).  The iterator
    is not a generator: after it raises for page k, calling next() again goes on
    with page k+1, so one bad page does not lose the rest of the file.  Deeper
    damage (a picture's compressed data) is found only when the worker decodes
    it: `decode_page` raises PageError too.  The iterator holds the file open
    until it is exhausted or its close() is called.
    """
    path = Path(path)
    name = str(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if path.is_dir():
        raise InputFileError(name, "this folder could not be listed (permission denied?)",
                             "ask whoever manages the folder for access, or copy the scans somewhere you can read")
    if not path.is_file():
        raise InputFileError(name, "this is not an ordinary file", "copy the scan to an ordinary folder first")
    if st.st_size == 0:
        raise InputFileError(name, "the file is empty (0 bytes)",
                             "the scanner or the copy probably stopped before saving; " + _RESCAN)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    suffix = path.suffix.lower()
    fmt = _sniff(head)
    if suffix not in SUPPORTED_SUFFIXES:
        what = _describe_other(head)
        shown = f"'{path.suffix}' files" if path.suffix else "files without an extension"
        raise InputFileError(
            name, f"not a supported file type ({what or shown})",
            f"PaperVoice reads {SUPPORTED_WORDS} scans; save or export the scan as PDF or TIFF"
            + (", or leave this file out" if what is None else ""))
    if fmt is None:
        expected = _NAMES[_BY_SUFFIX[suffix]]
        what = _describe_other(head)
        raise InputFileError(
            name, f"the name ends in {path.suffix} but the contents are not a {expected} file"
                  + (f" (it looks like {what})" if what else " (damaged, or not a picture at all)"),
            f"open it to check; save it again as {SUPPORTED_WORDS} and scan that, or " + _RESCAN)
    if fmt == "pdf":
        return _open_pdf(path)
    if fmt == "tiff":
        return _open_tiff(path, st.st_size)
    return _open_single(path, fmt, st.st_size)


def page_job(path: Path, index: int) -> PageJob:
    """One page of a file by its 0-based number, without producing the pages before it.

    For workers that open the input files themselves (`--shared-storage`):
    skipping through `open_pages` would build every earlier page (and stop at
    the first bad one).  Raises InputFileError as `open_pages` does, and
    PageError when that page is bad or no longer in the file.
    """
    count, pages = open_pages(path)
    try:
        if not 0 <= index < count:
            raise PageError(str(path), index, f"the file now has only {count} pages",
                            "the file changed since it was listed; scan it again")
        if isinstance(pages, _PdfPages | _TiffFrames):
            pages.index = index
        return next(pages)
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()


# --- pixel pictures (JPEG, PNG, TIFF) -------------------------------------------------------------------------


def _too_big(width: int, height: int) -> str | None:
    if width <= 0 or height <= 0:
        return f"the picture says it is {width} x {height} pixels, which is impossible"
    if width * height > C.MAX_IMAGE_PIXELS:
        return (f"the picture is {width} x {height} pixels ({width * height / 1e6:.0f} million), more than the "
                f"{C.MAX_IMAGE_PIXELS / 1e6:.0f} million PaperVoice will open (a damaged or deliberately huge file?)")
    return None


_BIG_ADVICE = "scan the paper again at 300 dpi (200 to 600 dpi all work)"


def _bomb_message(exc: BaseException) -> str | None:
    """PIL refuses pictures over twice its limit while reading the header; say so in our words."""
    if not isinstance(exc, Image.DecompressionBombError):
        return None
    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f" ({int(found.group(1)) / 1e6:.0f} million pixels)" if found else ""
    return (f"the picture is larger{size} than the {C.MAX_IMAGE_PIXELS / 1e6:.0f} million pixels PaperVoice will "
            "open (a damaged or deliberately huge file?)")


def _pil_open(source: str | Path | bytes) -> Image.Image:
    """Open without decoding pixels; PIL reads only the header here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)


def _declared_dpi(img: Image.Image) -> tuple[float | None, float | None]:
    dpi = img.info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None, None
    if not (math.isfinite(x) and math.isfinite(y) and x > 1 and y > 1):
        return None, None
    return round(x, 2), round(y, 2)


def _exif_orientation(img: Image.Image) -> int:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = int(img.getexif().get(0x0112, 1))
    except Exception:  # a damaged EXIF block is common and harmless: the picture is simply not rotated
        return 1
    return value if 1 <= value <= 8 else 1


def _display_dpi(dpi: tuple[float | None, float | None], orientation: int) -> tuple[float | None, float | None]:
    x, y = dpi
    if orientation >= 5:  # the picture is turned a quarter: its x resolution becomes the page's y
        x, y = y, x
    if x is not None and y is not None and abs(x - y) <= 0.01 * max(x, y):
        y = None
    return x, y


def _structure_problem(path: Path, fmt: str, size: int) -> str | None:
    """Cheap end-of-file checks that catch the commonest damage (a cut-off copy) without decoding."""
    tail_len = min(size, 65536)
    with open(path, "rb") as fh:
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
    if fmt == "jpeg" and b"\xff\xd9" not in tail:
        return "the JPEG picture is incomplete (it was cut off)"
    if fmt == "png" and b"IEND" not in tail[-4096:]:
        return "the PNG picture is incomplete (it was cut off)"
    return None


def _open_single(path: Path, fmt: str, size: int) -> tuple[int, Iterator[PageJob]]:
    name = str(path)
    try:
        structure = _structure_problem(path, fmt, size)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    try:
        img = _pil_open(path)
        with img:
            width, height = img.size
            dpi = _declared_dpi(img)
            orientation = _exif_orientation(img) if fmt == "jpeg" else 1
            problem = _too_big(width, height)
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, struct.error... on hostile headers
        bomb = _bomb_message(exc)
        if bomb:
            raise InputFileError(name, bomb, _BIG_ADVICE) from exc
        raise InputFileError(name, structure or f"the {_NAMES[fmt]} picture is damaged and cannot be opened",
                             _RESCAN) from exc
    if problem:
        raise InputFileError(name, problem, _BIG_ADVICE)
    if structure:
        raise InputFileError(name, structure, _RESCAN)
    x, y = _display_dpi(dpi, orientation)

    def jobs() -> Iterator[PageJob]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _os_error(path, exc) from exc
        yield PageJob(PageSource(name, 0), data, "image", x, y, orientation)

    return 1, jobs()


def _tiff_ifd_problem(path: Path) -> str | None:
    """Tell 'no pages at all' apart from other damage: PIL only says it cannot identify the file."""
    with open(path, "rb") as fh:
        head = fh.read(16)
        order = "<" if head[:2] == b"II" else ">"
        if head[2:4] in (b"+\x00", b"\x00+"):  # BigTIFF: let PIL judge
            return None
        if len(head) < 8:
            return "the TIFF file is incomplete (it was cut off)"
        (offset,) = struct.unpack(order + "I", head[4:8])
        if offset == 0:
            return "the TIFF file contains no pages"
        fh.seek(offset)
        count = fh.read(2)
        if len(count) < 2:
            return "the TIFF file is incomplete (it was cut off)"
        if struct.unpack(order + "H", count)[0] == 0:
            return "the TIFF file contains no pages"
    return None


def _open_tiff(path: Path, size: int) -> tuple[int, Iterator[PageJob]]:
    name = str(path)
    problem = _tiff_ifd_problem(path)
    if problem:
        raise InputFileError(name, problem, _RESCAN)
    try:
        img = _pil_open(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frames = int(getattr(img, "n_frames", 1))
            img.seek(0)
        trouble = _frame_problem(img, size)
    except Exception as exc:  # PIL raises many types on hostile TIFF structures
        bomb = _bomb_message(exc)
        if bomb:
            raise InputFileError(name, bomb, _BIG_ADVICE) from exc
        raise InputFileError(name, "the TIFF picture is damaged and cannot be opened", _RESCAN) from exc
    if frames < 1:
        img.close()
        raise InputFileError(name, "the TIFF file contains no pages", _RESCAN)
    if trouble:
        img.close()
        raise InputFileError(name, trouble[0], trouble[1])
    if frames == 1:
        img.close()
        return _open_single_tiff(path)
    return frames, _TiffFrames(path, img, frames, size)


def _frame_problem(img: Image.Image, size: int) -> tuple[str, str] | None:
    """Size guard and a check that the frame's data lies inside the file, both before decoding."""
    width, height = img.size
    problem = _too_big(width, height)
    if problem:
        return problem, _BIG_ADVICE
    tags = getattr(img, "tag_v2", {})
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        if any(int(o) + int(n) > size for o, n in zip(offsets, counts, strict=False)):
            return "the TIFF picture is incomplete (it was cut off)", _RESCAN
    return None


def _open_single_tiff(path: Path) -> tuple[int, Iterator[PageJob]]:
    name = str(path)

    def jobs() -> Iterator[PageJob]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _os_error(path, exc) from exc
        img = _pil_open(data)
        with img:
            orientation = _orientation_tag(img)
            x, y = _display_dpi(_declared_dpi(img), orientation)
        yield PageJob(PageSource(name, 0), data, "image", x, y, orientation)

    return 1, jobs()


def _orientation_tag(img: Image.Image) -> int:
    try:
        value = int(getattr(img, "tag_v2", {}).get(274, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


class _TiffFrames(Iterator[PageJob]):
    """Each frame of a multi-page TIFF as its own small single-frame picture, one at a time.

    1-bit frames are re-encoded as Group 4 (a page stays a few tens of kB);
    others as fast-compressed PNG.  Only the frame in hand is ever decoded.
    """

    def __init__(self, path: Path, img: Image.Image, count: int, size: int) -> None:
        self.path, self.img, self.count, self.size = path, img, count, size
        self.index = 0

    def __next__(self) -> PageJob:
        if self.index >= self.count:
            self.close()
            raise StopIteration
        i = self.index
        self.index += 1
        name = str(self.path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.img.seek(i)
                trouble = _frame_problem(self.img, self.size)
                if trouble:
                    raise PageError(name, i, trouble[0], trouble[1])
                orientation = _orientation_tag(self.img)
                x, y = _display_dpi(_declared_dpi(self.img), orientation)
                data = _encode_frame(self.img, x or y)
        except PageError:
            raise
        except Exception as exc:  # PIL raises many types on damaged frames
            bomb = _bomb_message(exc)
            if bomb:
                raise PageError(name, i, bomb, _BIG_ADVICE) from exc
            raise PageError(name, i, "this page of the TIFF file is damaged and cannot be read", _RESCAN) from exc
        return PageJob(PageSource(name, i), data, "image", x, y, orientation)

    def close(self) -> None:
        self.img.close()


def _encode_frame(img: Image.Image, dpi: float | None) -> bytes:
    frame = img.copy()
    buf = io.BytesIO()
    extra: dict[str, Any] = {"dpi": (dpi, dpi)} if dpi else {}
    if frame.mode not in ("1", "L", "LA", "RGB", "RGBA", "P", "I;16", "I"):
        frame = frame.convert("RGB")
    # this runs in the coordinator, where deflate (a seventh of a second for a noisy page) would starve the
    # workers: grey frames travel uncompressed (the bytes only go to a worker and are dropped), black-and-white
    # ones as G4, which is as quick.  Say so explicitly: Pillow would otherwise reuse the source's compression.
    frame.save(buf, format="TIFF", compression="group4" if frame.mode == "1" else "raw", **extra)
    return buf.getvalue()


# --- PDF ------------------------------------------------------------------------------------------------------


def _open_pdf(path: Path) -> tuple[int, Iterator[PageJob]]:
    import pikepdf

    name = str(path)
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise InputFileError(name, "the PDF is protected by a password",
                             "ask the sender for an unprotected copy, or open it with the password and save or "
                             "print it as a new PDF, then scan that file") from exc
    except Exception as exc:  # pikepdf.PdfError and friends: qpdf could not even repair the file
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
    return count, _PdfPages(path, pdf, count)


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
_GREY_SPACES = frozenset({"/DeviceGray", "/CalGray", "/G"})
_RGB_SPACES = frozenset({"/DeviceRGB", "/CalRGB", "/RGB"})


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


def _components(image: Any) -> int | None:
    """Colour components of an image's colour space, for the spaces we can hand over untouched (gray, RGB)."""
    import pikepdf

    space = image.get("/ColorSpace")
    if space is None:
        return None
    if isinstance(space, pikepdf.Array):
        items = list(space)
        if not items:
            return None
        family = str(items[0])
        if family == "/ICCBased" and len(items) > 1:
            n = int(items[1].get("/N", 0))
            return n if n in (1, 3) else None
        space = items[0] if family in ("/CalGray", "/CalRGB") else None
        if space is None:
            return None
    text = str(space)
    return 1 if text in _GREY_SPACES else 3 if text in _RGB_SPACES else None


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
        return None  # content we cannot follow: poppler will draw it (or say why not)
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
        return None  # inverted or remapped samples: let poppler apply the mapping

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


def _filter(image: Any) -> str | None:
    import pikepdf

    filters = image.get("/Filter")
    if filters is None:
        return None
    if isinstance(filters, pikepdf.Array):
        items = list(filters)
        return str(items[0]) if len(items) == 1 else None
    return str(filters)


def _image_bytes(image: Any) -> bytes | None:
    """Encoded bytes of a PDF image a decoder understands on its own: the JPEG as is, CCITT wrapped as a TIFF,
    Flate bitmaps as PNG.  None for anything unusual, which is then rendered instead."""
    import pikepdf

    kind = _filter(image)
    components = _components(image)
    bpc = int(image.get("/BitsPerComponent", 8 if kind == "/DCTDecode" else 1))
    try:
        if kind == "/DCTDecode" and components in (1, 3) and bpc == 8:
            parms = image.get("/DecodeParms")
            if parms is not None and parms.get("/ColorTransform") is not None:
                return None
            data = bytes(image.read_raw_bytes())
            return data if data.startswith(b"\xff\xd8") else None
        if kind == "/CCITTFaxDecode" and bpc == 1 and components in (1, None):
            buf = io.BytesIO()
            extension = pikepdf.PdfImage(image).extract_to(stream=buf)
            return buf.getvalue() if extension == ".tif" else None
        if kind == "/FlateDecode" and components in (1, 3) and bpc in (1, 8):
            direct = _flate_as_file(image, components, bpc)
            if direct is not None:
                return direct
            pil = pikepdf.PdfImage(image).as_pil_image()
            buf = io.BytesIO()
            if pil.mode == "1":
                pil.save(buf, format="TIFF", compression="group4")
            else:
                pil.save(buf, format="PNG", compress_level=1)
            return buf.getvalue()
    except Exception:  # a picture pikepdf cannot unpack is still worth a try by poppler
        return None
    return None


def _flate_as_file(image: Any, components: int, bpc: int) -> bytes | None:
    """Wrap a Flate image's compressed bytes, untouched, as a TIFF (Deflate) or PNG file.

    PDF Flate data is a zlib stream of packed rows: exactly a TIFF Deflate
    strip, or with PNG predictors exactly a PNG's IDAT.  So the coordinator
    never decompresses a page; the worker does, once.
    """
    width, height = int(image.Width), int(image.Height)
    parms = image.get("/DecodeParms")
    if isinstance(parms, list) or (parms is not None and not hasattr(parms, "get")):
        return None
    predictor = int(parms.get("/Predictor", 1)) if parms is not None else 1
    if parms is not None and predictor > 1 and (
            int(parms.get("/Colors", 1)) != components or int(parms.get("/BitsPerComponent", 8)) != bpc
            or int(parms.get("/Columns", 1)) != width):
        return None
    data = bytes(image.read_raw_bytes())
    if predictor >= 10:
        return _png_from_idat(width, height, bpc, components, data)
    if predictor not in (1, 2) or (predictor == 2 and bpc != 8):
        return None
    return _tiff_deflate(width, height, bpc, components, data, predictor)


def _png_from_idat(width: int, height: int, bpc: int, components: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bpc, 0 if components == 1 else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _tiff_deflate(width: int, height: int, bpc: int, components: int, strip: bytes, predictor: int) -> bytes:
    """A minimal little-endian single-strip TIFF around Deflate-compressed rows."""
    entries: list[tuple[int, int, int, int]] = []  # tag, type (3 SHORT, 4 LONG), count, value or offset
    n_tags = 10 + (predictor == 2)
    extra_at = 8 + 2 + 12 * n_tags + 4
    bits = struct.pack("<3H", bpc, bpc, bpc) if components == 3 else b""
    data_at = extra_at + len(bits)
    entries += [(256, 4, 1, width), (257, 4, 1, height),
                (258, 3, components, extra_at if components == 3 else bpc), (259, 3, 1, 8),
                (262, 3, 1, 1 if components == 1 else 2), (273, 4, 1, data_at), (277, 3, 1, components),
                (278, 4, 1, height), (279, 4, 1, len(strip)), (284, 3, 1, 1)]
    if predictor == 2:
        entries.append((317, 3, 1, 2))
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 and count == 1
                                                 else struct.pack("<I", value))
        for tag, kind, count, value in entries) + b"\x00\x00\x00\x00"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bits + strip


# --- decoding (runs in the worker) ----------------------------------------------------------------------------


def estimate_dpi(width_px: int, height_px: int) -> float:
    """The resolution of a picture that states none (or an implausible one), from its shape.

    A scanned page is nearly always A4 or Letter: when the picture's aspect
    ratio is within PAGE_ASPECT_TOLERANCE of one of them, its long side is taken
    to be that paper's long side.  Anything else (a cropped photo, a strip)
    gets DEFAULT_DPI; the scanner then finds the page by its marks anyway.
    """
    long_px, short_px = max(width_px, height_px), min(width_px, height_px)
    if short_px <= 0:
        return float(C.DEFAULT_DPI)
    ratio = long_px / short_px
    for short_in, long_in in (_A4_IN, _LETTER_IN):
        if abs(ratio - long_in / short_in) <= C.PAGE_ASPECT_TOLERANCE * long_in / short_in:
            return round(long_px / long_in, 2)
    return float(C.DEFAULT_DPI)


def _plausible(dpi: float, long_px: int) -> bool:
    """A declared dpi is believed only if it makes the picture a paper-sized page (phones write 72 for anything)."""
    low, high = C.PLAUSIBLE_PAGE_INCHES
    return 30 <= dpi <= 4800 and low <= long_px / dpi <= high


def decode_page(job: PageJob) -> tuple[np.ndarray, float]:
    """Decode one page to a greyscale uint8 array and the dpi actually used.

    Handles CMYK JPEG, 16-bit and alpha PNG (alpha composited on white, as the
    page would look printed), palette and 1-bit pictures, and orientation;
    "pdf" jobs are rendered by poppler at RENDER_DPI.  The pixel limit is
    enforced again here (the job may come from anywhere).  When the file states
    no usable resolution, see `estimate_dpi`.  Raises PageError (an
    InputFileError) for a damaged picture, MissingDependencyError when poppler
    is absent.
    """
    if job.kind == "pdf":
        return _render(job)
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
                flags = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION
                decoded = cv2.imdecode(np.frombuffer(job.data, np.uint8), flags)
                if decoded is None or decoded.shape != (img.size[1], img.size[0]):
                    img.draft("L", img.size)
                    img.load()
                    decoded = _to_grey(img)
                grey = decoded
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
    return _settle_dpi(grey, declared[0], declared[1], name, index)


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

    from pipeline.tools import poppler

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
        grey = poppler.render_page(job.data, C.RENDER_DPI)
    except ExternalProgramError as exc:
        raise PageError(name, index, exc.message, exc.advice) from exc
    return grey, float(C.RENDER_DPI)
