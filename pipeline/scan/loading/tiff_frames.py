"""A multi-page TIFF's frames found and taken out without decoding a pixel.

Pillow can only reach frame k of a file it has just opened by walking frames 0 to k-1, and counts frames by
walking them all; a worker that opened the file for each page made a 1,000-page stack quadratic.  Here the
directory (IFD) chain is walked once, with a few bytes read per frame, and each frame is copied out as a
small single-frame TIFF of its own: its tags and its compressed strips exactly as they are in the file
(a G4 page stays G4, tens of kB), with the offsets changed to point into the copy.  The worker decodes it as
any one-page TIFF.  Nothing is decoded or encoded to move a page.

Only what decoding needs is kept: sub-IFDs (EXIF, GPS, thumbnails) are left out, and a frame in the old
JPEG scheme (compression 6, whose data is found through other offsets) or a BigTIFF file is not handled
here: the caller falls back to Pillow for those.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from pipeline import constants as C

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_DATA_TAGS = ((273, 279), (324, 325))  # (strip offsets, strip byte counts), (tile offsets, tile byte counts)
_POINTER_TAGS = {330, 34665, 34853, 40965, 513, 514}  # sub-IFDs and old-JPEG pointers: not copied
_COMPRESSION = 259
_OLD_JPEG = 6


class FrameError(Exception):
    """The frame's directory or data is not where the file says (a cut-off or damaged file)."""


@dataclass(frozen=True)
class TiffChain:
    order: str  # "<" or ">"
    offsets: tuple[int, ...]  # each frame's IFD offset, in page order
    cut_off: bool = False  # the chain points past the file's end after the last frame found: pages are missing


def ifd_chain(fh: BinaryIO, size: int) -> TiffChain | None:
    """Every frame's IFD offset, reading 2 bytes and 4 bytes per frame; None for a BigTIFF (Pillow reads it).

    A loop in the chain ends it (the frames before it are the pages); a directory outside the file, or one
    cut short, ends it with `cut_off` set: the page there is reported as cut off, never silently dropped."""
    fh.seek(0)
    head = fh.read(8)
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        raise FrameError("the TIFF file is incomplete (it was cut off)")
    order = "<" if head[:2] == b"II" else ">"
    magic = struct.unpack(order + "H", head[2:4])[0]
    if magic == 43:
        return None
    (offset,) = struct.unpack(order + "I", head[4:8])
    offsets: list[int] = []
    seen: set[int] = set()
    while offset and offset not in seen and len(offsets) < C.TIFF_MAX_FRAMES:
        seen.add(offset)
        fh.seek(offset)
        raw = fh.read(2)
        if len(raw) < 2:
            return TiffChain(order, tuple(offsets), cut_off=True)
        (count,) = struct.unpack(order + "H", raw)
        end = offset + 2 + 12 * count
        if count == 0:
            break
        if end + 4 > size:
            return TiffChain(order, tuple(offsets), cut_off=True)
        offsets.append(offset)
        fh.seek(end)
        (offset,) = struct.unpack(order + "I", fh.read(4))
    return TiffChain(order, tuple(offsets))


def _values(order: str, kind: int, count: int, raw: bytes) -> list[int]:
    code = {3: "H", 4: "I", 13: "I", 16: "Q"}.get(kind)
    if code is None:
        raise FrameError("the TIFF page's strip list has an unexpected type")
    return list(struct.unpack(f"{order}{count}{code}", raw))


def frame_tiff(fh: BinaryIO, size: int, order: str, ifd: int) -> bytes | None:
    """The frame whose IFD is at `ifd`, as a standalone one-frame TIFF (bytes copied, nothing decoded).

    None when the frame is in a form this copy does not handle (old-style JPEG): decode it with Pillow."""
    fh.seek(ifd)
    (count,) = struct.unpack(order + "H", fh.read(2))
    table = fh.read(12 * count)
    if len(table) < 12 * count:
        raise FrameError("the TIFF file is incomplete (it was cut off)")
    entries: list[tuple[int, int, int, bytes]] = []  # tag, type, count, value bytes (inline or read)
    data_refs: dict[int, tuple[int, int, bytes]] = {}
    for n in range(count):
        tag, kind, number = struct.unpack(order + "HHI", table[12 * n: 12 * n + 8])
        field = table[12 * n + 8: 12 * n + 12]
        if tag == _COMPRESSION and struct.unpack(order + "H", field[:2])[0] == _OLD_JPEG:
            return None
        if tag in _POINTER_TAGS or kind not in _TYPE_SIZES:
            continue
        length = _TYPE_SIZES[kind] * number
        if length > C.TIFF_MAX_TAG_BYTES:
            raise FrameError("a TIFF page's directory is damaged (a value far too large)")
        if length <= 4:
            value = field[:length]
        else:
            (where,) = struct.unpack(order + "I", field)
            if where + length > size:
                raise FrameError("the TIFF picture is incomplete (it was cut off)")
            fh.seek(where)
            value = fh.read(length)
        if any(tag in pair for pair in _DATA_TAGS):
            data_refs[tag] = (kind, number, value)
        entries.append((tag, kind, number, value))
    pair = next(((o, c) for o, c in _DATA_TAGS if o in data_refs and c in data_refs), None)
    if pair is None:
        raise FrameError("the TIFF page has no picture data")
    offsets = _values(order, *data_refs[pair[0]])
    counts = _values(order, *data_refs[pair[1]])
    if len(offsets) != len(counts) or any(o + c > size for o, c in zip(offsets, counts, strict=True)):
        raise FrameError("the TIFF picture is incomplete (it was cut off)")
    if sum(counts) > C.TIFF_MAX_FRAME_BYTES:
        raise FrameError("the TIFF page's picture data is far too large")
    kept = [(t, k, n, v) for t, k, n, v in entries if t != pair[0]]
    kept.append((pair[0], 4, len(offsets), b"\0" * 4 * len(offsets)))  # rewritten below, as LONG
    kept.sort(key=lambda e: e[0])
    ifd_size = 2 + 12 * len(kept) + 4
    extra = bytearray()
    position = 8 + ifd_size
    fields: list[bytes] = []
    new_offsets_at: int | None = None
    for tag, kind, number, value in kept:
        if len(value) <= 4 and tag != pair[0]:
            fields.append(struct.pack(order + "HHI", tag, kind, number) + value.ljust(4, b"\0"))
            continue
        if tag == pair[0] and 4 * number <= 4:
            new_offsets_at = -(len(fields) + 1)  # inline: patched once the data's place is known
            fields.append(b"")
            continue
        if position % 2:
            extra += b"\0"
            position += 1
        if tag == pair[0]:
            new_offsets_at = position
        fields.append(struct.pack(order + "HHII", tag, kind, number, position))
        extra += value
        position += len(value)
    data_start = position + (position % 2)
    if position % 2:
        extra += b"\0"
    new_offsets, cursor = [], data_start
    for n in counts:
        new_offsets.append(cursor)
        cursor += n
    packed = struct.pack(f"{order}{len(new_offsets)}I", *new_offsets)
    if new_offsets_at is not None and new_offsets_at < 0:
        fields[-new_offsets_at - 1] = struct.pack(order + "HHI", pair[0], 4, len(new_offsets)) + packed
    elif new_offsets_at is not None:
        start = new_offsets_at - (8 + ifd_size)
        extra[start:start + len(packed)] = packed
    out = bytearray((b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8))
    out += struct.pack(order + "H", len(kept)) + b"".join(fields) + b"\0\0\0\0" + extra
    for o, n in zip(offsets, counts, strict=True):
        fh.seek(o)
        chunk = fh.read(n)
        if len(chunk) < n:
            raise FrameError("the TIFF picture is incomplete (it was cut off)")
        out += chunk
    return bytes(out)
