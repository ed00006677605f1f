"""Is a file in the watched folder finished?  Told by its content, so a scan is read as soon as it lands.

A network scanner writes a file over several seconds, and SMB shares send no change events, so the folder
is polled.  Waiting for the size to stay still for seconds made the app slower than `papervoice scan`; the
file's own structure says more, and says it at once:

- PDF: the last `startxref` near the end points inside the file at a cross-reference table or stream,
  followed by `%%EOF` (a writer puts these last; a part-written PDF has neither, or an older one that an
  incremental update has not yet finished is followed by more bytes, so its `%%EOF` is not at the end);
- PNG: the file ends with the IEND chunk;
- JPEG: the file ends with the EOI marker (FF D9), trailing padding allowed;
- TIFF: every page's directory and every strip or tile it names lie wholly inside the file.

A complete file is taken once it has also not changed for APP_WATCH_SETTLE_S (two looks).  A file that looks
cut short is left while its writer may still be pausing between pages, and read after APP_WATCH_INCOMPLETE_S
of no change, so a damaged scan gets its message ("could not be read") rather than waiting for ever.  A kind
of file with no check here (BigTIFF) is read after APP_WATCH_STABLE_S of no change, the old rule.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import BinaryIO

#: how much of a PDF's end is read for its trailer (writers put startxref and %%EOF in the last few bytes)
_PDF_TAIL_BYTES = 2048
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_AT = re.compile(rb"\s*(xref|\d+\s+\d+\s+obj)")
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_TIFF_STRIPS = {273: 279, 324: 325}  # offsets tag -> byte counts tag (strips, tiles)
_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TIFF_MAX_PAGES = 100_000  # a directory chain longer than this is a loop: not complete


def looks_complete(path: Path) -> bool | None:
    """True when the file's structure is whole, False when it is visibly cut short, None when the kind of
    file has no such check (then only the long stable-size wait applies)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            fh.seek(0, 2)
            size = fh.tell()
            if head.startswith(b"%PDF"):
                return _pdf_complete(fh, size)
            if head.startswith(b"\x89PNG"):
                fh.seek(max(0, size - len(_PNG_END)))
                return fh.read() == _PNG_END
            if head.startswith(b"\xff\xd8"):
                fh.seek(max(0, size - 64))
                return fh.read().rstrip(b"\x00").endswith(b"\xff\xd9")
            if head[:4] in (b"II*\x00", b"MM\x00*"):
                return _tiff_complete(fh, size, "<" if head[:2] == b"II" else ">")
            return None
    except OSError:
        return False


def _pdf_complete(f: BinaryIO, size: int) -> bool:
    f.seek(max(0, size - _PDF_TAIL_BYTES))
    found = _STARTXREF.search(f.read())
    if not found:
        return False
    offset = int(found.group(1))
    if not 0 < offset < size:
        return False
    f.seek(offset)
    return _XREF_AT.match(f.read(64)) is not None


def _tiff_complete(f: BinaryIO, size: int, order: str) -> bool:
    """Walk the chain of page directories: each directory, and the image data it names, inside the file."""

    def read(offset: int, n: int) -> bytes:
        if offset < 0 or offset + n > size:
            raise EOFError
        f.seek(offset)
        got = f.read(n)
        if len(got) != n:
            raise EOFError
        return got

    try:
        (ifd,) = struct.unpack(order + "I", read(4, 4))
        pages = 0
        while ifd:
            pages += 1
            if pages > _TIFF_MAX_PAGES:
                return False
            (count,) = struct.unpack(order + "H", read(ifd, 2))
            entries = read(ifd + 2, 12 * count)
            values: dict[int, list[int]] = {}
            for n in range(count):
                tag, kind, number = struct.unpack(order + "HHI", entries[12 * n: 12 * n + 8])
                width = _TIFF_SIZES.get(kind, 1) * number
                raw = entries[12 * n + 8: 12 * n + 12]
                if width > 4:  # the value lies elsewhere, and must be in the file
                    raw = read(struct.unpack(order + "I", raw)[0], width)
                if tag in (*_TIFF_STRIPS, *_TIFF_STRIPS.values()) and kind in (3, 4):
                    values[tag] = list(struct.unpack(order + ("H" if kind == 3 else "I") * number, raw[:width]))
            for offsets, counts in _TIFF_STRIPS.items():
                for start, length in zip(values.get(offsets, []), values.get(counts, []), strict=False):
                    read(start + max(0, length - 1), 1 if length else 0)
            (ifd,) = struct.unpack(order + "I", read(ifd + 2 + 12 * count, 4))
        return pages > 0
    except (EOFError, struct.error):
        return False


def ready(path: Path, unchanged_s: float, settle_s: float, stable_s: float, incomplete_s: float) -> bool:
    """The watched folder's rule for a file whose size and time have not changed for `unchanged_s`."""
    if unchanged_s < settle_s:
        return False
    whole = looks_complete(path)
    if whole is None:
        return unchanged_s >= stable_s
    return whole or unchanged_s >= incomplete_s
