"""Crop images for the workbook: prepared (scaled to what is shown, in parallel processes) into a scratch folder.

Crop images dominate both the size of the workbook and the time it takes, so they are prepared first and
only read back while the zip file is written; the workbook object never holds image bytes in memory.
"""

from __future__ import annotations

import io
import math
import os
import struct
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from openpyxl.drawing.image import Image as XlImage
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import constants as C
from pipeline.export.cells import TOP, put
from pipeline.ledger.images import ImageReader
from pipeline.workers import limit_worker_threads

POINTS_PER_PIXEL = 0.75  # Excel row heights are in points, image sizes in 96-dpi pixels


@dataclass(frozen=True)
class ImageJob:
    image_id: int
    dest: str
    max_width_px: int
    max_height_px: int
    trim: bool = False  # cut to the writing (comment fields): a short "No." is not half a page of empty lines


@dataclass(frozen=True)
class Shown:
    """A prepared image file and the size it is shown at in the sheet."""

    path: Path
    width_px: int
    height_px: int
    fmt: str


_worker_images: ImageReader | None = None


def _open_images(ledger_url: str) -> None:
    """Pool initializer: each process reads image blobs itself, so only ids cross process boundaries."""
    global _worker_images
    _worker_images = ImageReader(ledger_url)


def _start_worker(ledger_url: str) -> None:
    """A pool process: one thread each, since the processes already use every core (measured faster)."""
    limit_worker_threads()
    _open_images(ledger_url)


def _prepare_image(job: ImageJob) -> tuple[int, int, str] | None:
    """Fit one crop to its cell: returns the shown size and format, or None if the image cannot be read.

    The file keeps up to EXPORT_IMAGE_STORED_SCALE times the shown pixels so handwriting stays sharp when
    zoomed or printed; larger scans are scaled down, smaller ones are copied unchanged (cheap).
    """
    import cv2
    import numpy as np
    from PIL import Image as PILImage

    assert _worker_images is not None
    data = _worker_images.read(job.image_id)
    if data is None:
        return None
    cut = _trim_to_writing(data) if job.trim else None  # decoded pixels of the writing, or None: the whole
    if cut is not None:
        height, width = cut.shape[:2]
        fmt = "png"
    elif data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":  # the scanner stores PNG: read the size only
        width, height = struct.unpack(">II", data[16:24])
        fmt = "png"
    else:
        try:
            with PILImage.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                fmt = (probe.format or "").lower()
        except Exception:  # PIL raises many kinds of error for a damaged image; any of them means "cannot show"
            return None
    if width < 1 or height < 1:
        return None
    scale = min(job.max_width_px / width, job.max_height_px / height, C.EXPORT_IMAGE_MAX_ENLARGE)
    shown_w, shown_h = max(1, round(width * scale)), max(1, round(height * scale))
    keep_w = round(shown_w * C.EXPORT_IMAGE_STORED_SCALE)
    if cut is None and fmt in ("png", "jpeg") and width <= keep_w * 1.1:
        out = data
    else:
        pixels = cut if cut is not None else cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if pixels is None:
            return None
        if width > keep_w:
            keep_h = max(1, round(height * keep_w / width))
            # area averaging only pays for strong reductions; for mild ones bilinear looks the same, 4x faster
            method = cv2.INTER_AREA if keep_w < width / 2 else cv2.INTER_LINEAR
            pixels = cv2.resize(pixels, (keep_w, keep_h), interpolation=method)
        pixels = _whiten_paper(pixels)
        # run-length coding suits a white page with ink on it: smaller and faster than the default here
        ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 3,
                                                    cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
        if not ok:
            return None
        out, fmt = encoded.tobytes(), "png"
    Path(job.dest).write_bytes(out)
    return shown_w, shown_h, fmt


def _trim_to_writing(data: bytes) -> Any | None:
    """The part of a comment field that holds writing, with a margin, as pixels; None to show the whole field
    (nothing written, writing all over, or an image that cannot be decoded).

    Ink is what is clearly darker than the paper and the printed guide lines (light grey by design); specks
    smaller than a pen stroke are ignored so scanner dust does not stretch the box.
    """
    import cv2
    import numpy as np

    full: Any = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if full is None or full.size == 0:
        return None
    pixels = full if full.ndim == 2 else cv2.cvtColor(full[..., :3], cv2.COLOR_BGR2GRAY)
    paper = float(np.median(pixels[::4, ::4]))
    ink = (pixels < paper * C.EXPORT_TRIM_INK_FRACTION).astype(np.uint8)
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = pixels.shape

    def writing(box: Any) -> bool:
        """A pen's mark, not the field's frame or a printed guide line (long and thin, or spanning the field)."""
        bw, bh = int(box[cv2.CC_STAT_WIDTH]), int(box[cv2.CC_STAT_HEIGHT])
        if box[cv2.CC_STAT_AREA] < C.EXPORT_TRIM_MIN_INK_PX or (bw > 0.9 * w and bh > 0.9 * h):
            return False
        flat = bw > 0.3 * w and bh <= max(4, 0.012 * h)
        upright = bh > 0.3 * h and bw <= max(4, 0.012 * w)
        return not (flat or upright)

    boxes = [stats[i] for i in range(1, count) if writing(stats[i])]
    if not boxes:
        return None
    pad = max(4, round(h * C.EXPORT_TRIM_MARGIN))
    x0 = max(0, min(int(b[0]) for b in boxes) - pad)
    y0 = max(0, min(int(b[1]) for b in boxes) - pad)
    x1 = min(w, max(int(b[0] + b[2]) for b in boxes) + pad)
    y1 = min(h, max(int(b[1] + b[3]) for b in boxes) + pad)
    if (x1 - x0) * (y1 - y0) > 0.85 * w * h:
        return None  # writing all over: nothing to gain
    return full[y0:y1, x0:x1]


def _whiten_paper(pixels: Any) -> Any:
    """Map the paper's own grey (and scanner noise on it) to white; ink keeps its shades.

    Only the display copy is changed, the ledger keeps the scan.  Noise on the paper is what makes a grey
    crop large: without it the PNG is about a fifth of the size and writes several times faster.  The cut
    sits EXPORT_PAPER_WHITEN below the paper's median, well above the faintest ink the scanner counts.
    """
    import cv2
    import numpy as np

    if pixels.dtype != np.uint8:
        return pixels
    sample = pixels[::4, ::4]
    paper = float(np.median(sample if sample.ndim == 2 else sample[..., :3].mean(axis=2)))
    cut = max(paper * (1 - C.EXPORT_PAPER_WHITEN), 1.0)
    lut = np.clip(np.arange(256) * (255.0 / cut), 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 4:  # leave transparency alone
        pixels = pixels.copy()
        pixels[..., :3] = cv2.LUT(np.ascontiguousarray(pixels[..., :3]), lut)
        return pixels
    return cv2.LUT(pixels, lut)


class CropPlan:
    """The crops the sheets will show: prepared in worker processes while the sheets are being built.

    Sheets say where each crop goes (`place`); the pictures are anchored once all are ready (`finish`),
    which also sets each row tall enough for its picture.
    """

    def __init__(self, ledger_url: str, scratch: Path, omit: bool = False) -> None:
        self.ledger_url, self.scratch = ledger_url, scratch
        self.omit = omit  # export --no-images: no picture of handwriting or pages leaves the ledger
        self.jobs: list[ImageJob] = []
        self._dest: dict[int, str] = {}
        self._places: list[tuple[Worksheet, int, int, int]] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pending: Iterator[tuple[int, int, str] | None] | None = None
        self._done: list[tuple[int, int, str] | None] | None = None

    def want(self, image_id: int | None, max_width_px: int, max_height_px: int, trim: bool = False) -> None:
        if image_id is None or image_id in self._dest:
            return
        dest = str(self.scratch / f"{image_id}.img")
        self._dest[image_id] = dest
        self.jobs.append(ImageJob(image_id, dest, max_width_px, max_height_px, trim))

    def start(self) -> None:
        """Begin preparing, in parallel when there are enough crops to repay starting processes."""
        workers = min(C.EXPORT_IMAGE_WORKERS_MAX, os.cpu_count() or 1,
                      math.ceil(len(self.jobs) / C.EXPORT_IMAGES_PER_WORKER))
        if workers <= 1:
            global _worker_images
            _open_images(self.ledger_url)
            try:
                self._done = [_prepare_image(job) for job in self.jobs]
            finally:
                if _worker_images is not None:
                    _worker_images.close()
                _worker_images = None
            return
        # spawn, not fork: the parent holds an open SQLite connection that must not be shared
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                         initializer=_start_worker, initargs=(self.ledger_url,))
        self._pending = self._pool.map(_prepare_image, self.jobs, chunksize=16)

    def place(self, ws: Worksheet, row: int, col: int, image_id: int | None) -> None:
        if self.omit:
            put(ws, row, col, "(pictures left out of this export)", TOP)
        elif image_id is None or image_id not in self._dest:
            put(ws, row, col, "(no image)", TOP)
        else:
            self._places.append((ws, row, col, image_id))

    def finish(self) -> None:
        """Wait for the crops and anchor each one in its cell."""
        if self._done is None:
            self._done = list(self._pending or ())
        self.close()
        shown: dict[int, Shown] = {}
        for job, outcome in zip(self.jobs, self._done, strict=True):
            if outcome is not None:
                shown[job.image_id] = Shown(Path(job.dest), *outcome)
        for ws, row, col, image_id in self._places:
            picture = shown.get(image_id)
            if picture is None:
                put(ws, row, col, "(image could not be read)", TOP)
                continue
            ws.add_image(_FileImage(picture), f"{get_column_letter(col)}{row}")
            needed = picture.height_px * POINTS_PER_PIXEL + 4
            ws.row_dimensions[row].height = max(ws.row_dimensions[row].height or 15.0, needed)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class _FileImage(XlImage):
    """An openpyxl image that stays on disk until the workbook is written.

    openpyxl's own Image decodes and keeps the picture from the start; with thousands of crops that
    would hold them all in memory.  Only the zip writer calls `_data`.
    """

    def __init__(self, shown: Shown) -> None:  # no super().__init__: it would open the image now
        self.ref = str(shown.path)
        self.width, self.height, self.format = shown.width_px, shown.height_px, shown.fmt

    def _data(self) -> bytes:
        return Path(self.ref).read_bytes()
