"""Scanning a printed page badly, the junk pages that come with returns, and encoding as a scanner stores."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from pipeline.constants import mm
from pipeline.simulate.handwriting import _font
from pipeline.simulate.world import LETTER_TEXT, PRINT_DPI, PX_PER_PT, SHOW_THROUGH_MAX, DegradeParams


@dataclass(frozen=True)
class Degraded:
    image: np.ndarray
    dpi: int
    rotation_deg: float
    upside_down: bool
    bitonal: bool


def degrade(img: np.ndarray, rng: np.random.Generator, params: DegradeParams, *, src_dpi: int = PRINT_DPI,
            out_dpi: int | None = None, bitonal: bool = False) -> Degraded:
    """Scan a printed page: the result keeps the paper's size at the output resolution.

    Resampling happens first (area averaging, as a scanner's optics do), then a
    single perspective warp carries skew, shift, fit-to-page scaling and
    keystone, so the page is interpolated only once.
    """
    if out_dpi is None:
        weights = np.array(params.dpi_weights[:len(params.dpis)], dtype=float)
        out_dpi = int(rng.choice(params.dpis, p=weights / weights.sum()))
    h0, w0 = img.shape
    w, h = round(w0 * out_dpi / src_dpi), round(h0 * out_dpi / src_dpi)
    page = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) if (w, h) != (w0, h0) else img.copy()

    if params.max_rotation_deg and rng.random() < params.wild_rotation_rate:
        angle = rng.uniform(-params.max_rotation_deg, params.max_rotation_deg)
    else:
        angle = float(np.clip(rng.normal(0, params.rotation_sigma_deg) if params.rotation_sigma_deg else 0.0,
                              -params.max_rotation_deg, params.max_rotation_deg))
    scale = rng.uniform(*params.scale_range)
    shift = rng.uniform(-1, 1, 2) * mm(params.max_shift_mm) * out_dpi / 72.0
    tone = int(rng.integers(params.paper_tone[0], params.paper_tone[1] + 1))
    lid = int(rng.integers(min(255, tone + 5), 256)) if tone < 250 else 255

    # uint8 OpenCV operations throughout: this runs on every page and dominates the simulator's time
    page = cv2.convertScaleAbs(page, alpha=tone / 255.0)  # the paper's own tone
    if angle or scale != 1.0 or shift.any() or params.perspective:
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
        centre = np.array([w / 2, h / 2])
        a = math.radians(angle)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        moved = (corners - centre) @ rot.T * scale + centre + shift
        moved += rng.uniform(-1, 1, (4, 2)) * params.perspective * np.array([w, h])
        matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), moved.astype(np.float32))
        # outside the sheet the scanner sees its lid
        page = cv2.warpPerspective(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=lid)
    if params.uneven_light:
        # smooth light fall-off: a random bilinear field, brightest in one corner
        corner_gain = rng.uniform(1.0 - params.uneven_light, 1.0, (2, 2))
        corner_gain[rng.integers(0, 2), rng.integers(0, 2)] = 1.0
        gain = cv2.resize(np.round(corner_gain * 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        page = cv2.multiply(page, gain, scale=1 / 255.0)
    if params.blur_rate and rng.random() < params.blur_rate:
        sigma = rng.uniform(*params.blur_sigma_px) * out_dpi / 300.0
        page = cv2.GaussianBlur(page, (0, 0), max(0.25, sigma))
    sigma_n = rng.uniform(*params.noise_sigma)
    if sigma_n > 0:
        noise = np.empty((h, w), np.int16)
        cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))
        cv2.randn(noise, np.zeros(1), np.full(1, float(sigma_n)))
        page = np.clip(cv2.add(page.astype(np.int16), noise), 0, 255).astype(np.uint8)
    result = page
    if bitonal:
        cut = tone * rng.uniform(*params.bitonal_threshold)
        result = np.where(result > cut, 255, 0).astype(np.uint8)
    upside_down = bool(rng.random() < params.upside_down_rate)
    if upside_down:
        result = cv2.rotate(result, cv2.ROTATE_180)
    return Degraded(result, out_dpi, angle, upside_down, bitonal)


# ----------------------------------------------------------------------------------------------
# Junk pages.


def blank_page(size_px: tuple[int, int], rng: np.random.Generator, behind: np.ndarray | None = None) -> np.ndarray:
    """A blank sheet (the back of a page); with `behind`, the other side's print shows through faintly."""
    w, h = size_px
    img = np.full((h, w), 255, np.uint8)
    if behind is not None and rng.random() < 0.6:
        ghost = cv2.GaussianBlur(cv2.flip(cv2.resize(behind, (w, h), interpolation=cv2.INTER_AREA), 1), (0, 0), 2)
        contrast = rng.uniform(0.01, SHOW_THROUGH_MAX)
        img = (255 - (255 - ghost.astype(np.float32)) * contrast).astype(np.uint8)
    return img


def letter_page(size_px: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A typed covering letter: plenty of text, no boxes, no codes."""
    from pipeline.form.fonts import register_fonts  # noqa: F401  (makes sure DejaVu is installed)

    w, h = size_px
    canvas = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(canvas)
    font_file = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
    if not font_file.exists():
        font_file = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    size = round(11 * PX_PER_PT)
    font = _font(str(font_file), size)
    x, y = int(w * 0.12), int(h * 0.1)
    draw.text((int(w * 0.62), y), "12 " + rng.choice(["March", "June", "October"]) + " 2025", fill=20, font=font)
    y += int(size * 4)
    for line in LETTER_TEXT:
        draw.text((x, y), line, fill=20, font=font)
        y += int(size * 1.6)
    return np.asarray(canvas).copy()



def encode(img: np.ndarray, fmt: str, dpi: int, quality: int, bitonal: bool = False) -> bytes:
    """Encode a scanned page as the scanner would store it, with its resolution recorded."""
    pil = Image.fromarray(img)
    buf = io.BytesIO()
    if fmt == "jpeg":
        pil.save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    elif fmt == "png":
        (pil.convert("1") if bitonal else pil).save(buf, "PNG", dpi=(dpi, dpi), compress_level=1)
    elif fmt == "tiff":  # single-page G4; the packer joins them losslessly
        pil.convert("1").save(buf, "TIFF", compression="group4", dpi=(dpi, dpi))
    else:
        raise ValueError(fmt)
    return buf.getvalue()

