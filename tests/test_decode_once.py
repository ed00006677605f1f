"""Decoding once, at the resolution the reader needs (issue 24): a fine JPEG is decoded straight at a half or a
quarter of its size by libjpeg's scaling, and a PNG goes through OpenCV, with the same picture as before."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pipeline import constants as C
from pipeline.scan.loading import decode_page, open_pages


def _page(tmp_path: Path, name: str, dpi: int, mode: str = "L") -> Path:
    rng = np.random.default_rng(1)
    h, w = round(11.69 * dpi), round(8.27 * dpi)
    img = np.full((h, w), 235, np.uint8)
    cv2.rectangle(img, (w // 4, h // 4), (w // 2, h // 2), 20, max(1, dpi // 50))
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    path = tmp_path / name
    pil = Image.fromarray(img)
    if mode == "RGB":
        pil = Image.merge("RGB", (pil, pil.point(lambda v: max(0, v - 30)), pil))
    pil.save(path, dpi=(dpi, dpi), **({"quality": 85} if name.endswith(".jpg") else {}))
    return path


def _job(path: Path):  # type: ignore[no-untyped-def]
    _, jobs = open_pages(path)
    return next(jobs)


def test_a_fine_jpeg_is_decoded_at_the_size_that_is_read(tmp_path: Path) -> None:
    for dpi, factor in ((300, 2), (600, 4), (200, 1)):
        job = _job(_page(tmp_path, f"page{dpi}.jpg", dpi))
        full, full_dpi = decode_page(job)
        reduced, reduced_dpi = decode_page(job, min_dpi=C.READ_MAX_DPI)
        assert full_dpi == dpi
        assert reduced_dpi == dpi / factor and reduced_dpi >= C.READ_MAX_DPI
        assert reduced.shape == (-(-full.shape[0] // factor), -(-full.shape[1] // factor))
        if factor > 1:  # the same picture, smaller: libjpeg's scaling against reducing the full decode
            area = cv2.resize(full, (reduced.shape[1], reduced.shape[0]), interpolation=cv2.INTER_AREA)
            assert float(np.abs(area.astype(int) - reduced.astype(int)).mean()) < 2.0


def test_a_png_decoded_by_opencv_is_the_picture_pillow_gives(tmp_path: Path) -> None:
    for mode in ("L", "RGB"):
        path = _page(tmp_path, f"page-{mode}.png", 150, mode)
        grey, dpi = decode_page(_job(path), min_dpi=C.READ_MAX_DPI)
        expected = np.asarray(Image.open(path).convert("L"))
        assert abs(dpi - 150) < 0.1 and grey.shape == expected.shape  # PNG stores dots per metre
        assert int(np.abs(grey.astype(int) - expected.astype(int)).max()) <= 1


def test_a_jpeg_decoded_reduced_keeps_the_files_own_dpi(tmp_path: Path) -> None:
    """The page is recorded at the resolution it was scanned at, not the one it was decoded and read at."""
    from pipeline.scan.loading import decode_scaled
    from pipeline.scan.reader import ReaderConfig, read_job

    for dpi, factor in ((300, 2), (400, 2), (200, 1)):
        job = _job(_page(tmp_path, f"scan{dpi}.jpg", dpi))
        _, read_dpi, file_dpi = decode_scaled(job, min_dpi=C.READ_MAX_DPI)
        assert (read_dpi, file_dpi) == (dpi / factor, dpi)
        result = read_job(job, ReaderConfig())
        assert result.status in ("blank", "not_form")  # no code on it: nothing else is read
        assert result.dpi == dpi
