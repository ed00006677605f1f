"""Recognising a file by its contents and opening it as a lazy run of pages (the coordinator side)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import InputFileError
from pipeline.scan.loading.jobs import (
    _BY_SUFFIX,
    _NAMES,
    _RESCAN,
    SUPPORTED_CHOICES,
    SUPPORTED_SUFFIXES,
    SUPPORTED_WORDS,
    PageError,
    PageJob,
    _os_error,
)
from pipeline.scan.loading.pdf import _open_pdf, _PdfPages
from pipeline.scan.loading.pictures import _open_single, _open_tiff, _TiffFrames, tiff_frame_at


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


def open_pages(path: Path, first: int = 0) -> tuple[int, Iterator[PageJob]]:
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

    `first` starts the iterator at that page (a resumed scan), without
    producing the pages before it; the count is still the whole file's.
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
            f"open it to check; save it again as {SUPPORTED_CHOICES} and scan that, or " + _RESCAN)
    if fmt == "pdf":
        count, pages = _open_pdf(path)
    elif fmt == "tiff":
        count, pages = _open_tiff(path, st.st_size)
    else:
        count, pages = _open_single(path, fmt, st.st_size)
    if first > 0:
        if isinstance(pages, _PdfPages | _TiffFrames):
            pages.index = first
        elif first >= count:
            getattr(pages, "close", lambda: None)()
            pages = iter(())
    return count, pages


def page_job(path: Path, index: int, frame_offset: int | None = None) -> PageJob:
    """One page of a file by its 0-based number, without producing the pages before it.

    For workers that open the input files themselves (`--shared-storage`):
    skipping through `open_pages` would build every earlier page (and stop at
    the first bad one).  Raises InputFileError as `open_pages` does, and
    PageError when that page is bad or no longer in the file.  `frame_offset`: where the coordinator found
    this page's directory in a multi-page TIFF, so the frame is taken out directly (`tiff_frame_at`).
    """
    if frame_offset is not None:
        return tiff_frame_at(Path(path), index, frame_offset)
    count, pages = open_pages(path, first=index)
    try:
        if not 0 <= index < count:
            raise PageError(str(path), index, f"the file now has only {count} pages",
                            "the file changed since it was listed; scan it again")
        return next(pages)
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()
