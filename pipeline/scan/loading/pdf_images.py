"""A PDF image's encoded bytes as a file a decoder understands on its own (JPEG, TIFF, PNG), untouched."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

_GREY_SPACES = frozenset({"/DeviceGray", "/CalGray", "/G"})
_RGB_SPACES = frozenset({"/DeviceRGB", "/CalRGB", "/RGB"})


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
    except Exception:  # a picture pikepdf cannot unpack is still worth a try by PDFium
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

