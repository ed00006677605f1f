"""Pixel pictures (JPEG, PNG, TIFF): headers read and checked without decoding, TIFF frames one at a time."""

from __future__ import annotations

import io
import math
import os
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline.errors import InputFileError
from pipeline.scan.loading.jobs import (
    _BIG_ADVICE,
    _NAMES,
    _RESCAN,
    PageError,
    PageJob,
    _bomb_message,
    _os_error,
    _too_big,
)
from pipeline.scan.loading.tiff_frames import FrameError, TiffChain, frame_tiff, ifd_chain
from pipeline.scan.results import PageSource


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
        with open(path, "rb") as fh:
            chain = ifd_chain(fh, size)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    except (FrameError, struct.error) as exc:
        raise InputFileError(name, "the TIFF picture is damaged and cannot be opened", _RESCAN) from exc
    try:
        img = _pil_open(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # counting frames with Pillow walks every one; the chain above has them already (not BigTIFF)
            frames = (len(chain.offsets) + chain.cut_off) if chain is not None else int(getattr(img, "n_frames", 1))
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
    return frames, _TiffFrames(path, img, frames, size, chain)


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

    A frame is copied out as it is stored (`tiff_frames.frame_tiff`: its compressed strips and tags, nothing
    decoded or encoded); the worker decodes it.  Only BigTIFF files and old-style JPEG frames go through
    Pillow, decoded here and re-encoded (1-bit as Group 4, others uncompressed).
    """

    def __init__(self, path: Path, img: Image.Image, count: int, size: int, chain: TiffChain | None = None) -> None:
        self.path, self.img, self.count, self.size, self.chain = path, img, count, size, chain
        self.index = 0
        self._fh: Any = None

    @property
    def frame_offsets(self) -> tuple[int, ...] | None:
        """Each frame's directory offset, for workers that take their page out of the file themselves."""
        return self.chain.offsets if self.chain is not None else None

    def __next__(self) -> PageJob:
        if self.index >= self.count:
            self.close()
            raise StopIteration
        i = self.index
        self.index += 1
        name = str(self.path)
        try:
            if self.chain is not None and i >= len(self.chain.offsets):  # the chain points past the end
                raise PageError(name, i, "the TIFF file is incomplete (it was cut off): this page and any after "
                                "it are missing", _RESCAN)
            if self.chain is not None:
                if self._fh is None:
                    self._fh = open(self.path, "rb")  # noqa: SIM115 - closed by close()
                data = frame_tiff(self._fh, self.size, self.chain.order, self.chain.offsets[i])
                if data is not None:
                    return frame_job(name, i, data)
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
        except FrameError as exc:
            raise PageError(name, i, str(exc), _RESCAN) from exc
        except Exception as exc:  # PIL raises many types on damaged frames
            bomb = _bomb_message(exc)
            if bomb:
                raise PageError(name, i, bomb, _BIG_ADVICE) from exc
            raise PageError(name, i, "this page of the TIFF file is damaged and cannot be read", _RESCAN) from exc
        return PageJob(PageSource(name, i), data, "image", x, y, orientation)

    def close(self) -> None:
        self.img.close()
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def frame_job(name: str, index: int, data: bytes) -> PageJob:
    """A frame copied out of a TIFF, as a job: its size checked and its dpi and orientation read from its
    own tags (Pillow reads the one directory; no pixel is decoded)."""
    try:
        with _pil_open(data) as img:
            trouble = _frame_problem(img, len(data))
            orientation = _orientation_tag(img)
            x, y = _display_dpi(_declared_dpi(img), orientation)
    except Exception as exc:  # PIL raises many types on a hostile directory
        bomb = _bomb_message(exc)
        if bomb:
            raise PageError(name, index, bomb, _BIG_ADVICE) from exc
        raise PageError(name, index, "this page of the TIFF file is damaged and cannot be read", _RESCAN) from exc
    if trouble:
        raise PageError(name, index, trouble[0], trouble[1])
    return PageJob(PageSource(name, index), data, "image", x, y, orientation)


def tiff_frame_at(path: Path, index: int, ifd_offset: int) -> PageJob:
    """Page `index` of a multi-page TIFF whose directory the coordinator found at `ifd_offset`: a worker that
    sees the file takes just that frame out, without walking the frames before it."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(4)
            if head not in (b"II*\0", b"MM\0*") or not 8 <= ifd_offset < size:
                raise PageError(name, index, "the file changed since it was listed", "scan it again")
            data = frame_tiff(fh, size, "<" if head[:2] == b"II" else ">", ifd_offset)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    except (FrameError, struct.error) as exc:
        raise PageError(name, index, str(exc) if isinstance(exc, FrameError) else
                        "this page of the TIFF file is damaged and cannot be read", _RESCAN) from exc
    if data is None:  # a frame only Pillow can take out
        from pipeline.scan.loading.formats import page_job

        return page_job(path, index)
    return frame_job(name, index, data)


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

