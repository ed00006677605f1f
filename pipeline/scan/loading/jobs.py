"""What the loader hands on: `PageJob` (one page, picklable), `PageError`, and the words shared by
every part of the loader (supported types, the advice to scan again, the size guard)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from pipeline import constants as C
from pipeline.errors import InputFileError
from pipeline.scan.results import PageSource

SUPPORTED_SUFFIXES = frozenset({".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"})
LEDGER_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")
SUPPORTED_WORDS = "PDF, TIFF, JPEG and PNG"
SUPPORTED_CHOICES = "PDF, TIFF, JPEG or PNG"  # "save it again as one of these"

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
        self.reason = message  # the page is named by whoever reports it
        self.page_index = page_index
        self._args = (path, page_index, message, advice)

    def __reduce__(self) -> tuple[Any, ...]:
        # exceptions pickle through their args; ours has a different signature, so say how to rebuild it
        return (PageError, self._args)



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


_NAMES = {"pdf": "PDF", "tiff": "TIFF", "jpeg": "JPEG", "png": "PNG"}
_BY_SUFFIX = {".pdf": "pdf", ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}
