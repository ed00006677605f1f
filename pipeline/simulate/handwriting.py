"""Handwriting: comments written in handwriting typefaces on (and across) the writing lines."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.constants import mm
from pipeline.errors import MissingDependencyError
from pipeline.form.layout import TextField
from pipeline.simulate.marks import _ink
from pipeline.simulate.world import CAPS_ONLY_FONTS, FONT_PACKAGES, FONT_ROOTS, HANDWRITING_TIERS, PX_PER_PT, Pen


@cache
def _font_path(relative: str) -> Path | None:
    for root in FONT_ROOTS:
        if (root / relative).exists():
            return root / relative
    return None


def available_tiers() -> dict[str, tuple[Path, ...]]:
    """The handwriting fonts installed here, by tier; a tier with no font installed is left out."""
    tiers: dict[str, tuple[Path, ...]] = {}
    for tier, (_, files) in HANDWRITING_TIERS.items():
        found = tuple(p for p in (_font_path(f) for f in files) if p is not None)
        if found:
            tiers[tier] = found
    if not tiers:
        raise MissingDependencyError("no handwriting fonts are installed, so comments cannot be simulated",
                                     f"run 'make setup' as root, or 'sudo apt-get install {FONT_PACKAGES}'")
    return tiers


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@cache
def _x_height_per_em(path: str) -> float:
    """Fonts differ a lot in how big their small letters are at one size; writing is sized by x-height."""
    _, top, _, bottom = _font(path, 200).getbbox("x", anchor="ls")
    return max(0.2, (bottom - top) / 200)


@dataclass(frozen=True)
class Hand:
    """One writer's handwriting: typeface, size, slant and pen."""

    font: str
    tier: str
    x_height: float  # height of small letters as a share of the line spacing
    slant: float  # horizontal shear (positive leans right)
    pen: Pen
    bold: int  # extra stroke width in pixels
    lift: tuple[float, float] = (0.05, 0.18)  # writing's height over its rule, in line spacings
    first_line: int = 0  # the writing starts on this line (a short comment may sit anywhere)
    far_end: bool = False  # a short comment written at the far end of its line
    past_frame: bool = False  # the lines run on past the frame's right side


def write_comment(img: np.ndarray, text_field: TextField, text: str, hand: Hand, rng: np.random.Generator) -> str:
    """Write `text` on the field's lines, word by word; returns what actually fitted on the lines."""
    k = PX_PER_PT
    spacing = (text_field.line_ys[1] - text_field.line_ys[0]) * k if len(text_field.line_ys) > 1 else mm(10) * k
    left = (text_field.x + mm(4)) * k + rng.uniform(0, mm(6) * k)
    right = (text_field.right + (mm(rng.uniform(3, 10)) if hand.past_frame else -mm(5))) * k
    base_size = max(8, round(spacing * hand.x_height / _x_height_per_em(hand.font)))
    if Path(hand.font).name in CAPS_ONLY_FONTS:
        text = text.upper()  # this hand writes in block capitals whatever the case: the truth says so too
    words = text.split()
    written: list[str] = []
    wi = 0
    line_ys = text_field.line_ys[min(hand.first_line, len(text_field.line_ys) - 1):]
    if hand.far_end:
        size = max(8, round(base_size * 1.07))
        left = max(left, right - _font(hand.font, size).getlength(" ".join(words)) - spacing * 0.7)
    for line_y in line_ys:
        if wi >= len(words):
            break
        height = int(spacing * 1.6)
        width = int(right - left + spacing)
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        baseline = spacing * 1.15  # line canvas top sits above the writing line
        lift = rng.uniform(*hand.lift) * spacing  # people write a little above the line, some on or across it
        drift = rng.normal(0, 0.012)  # the line slopes
        x = rng.uniform(0, 0.4) * spacing
        wobble = 0.0
        while wi < len(words):
            size = max(8, round(base_size * rng.uniform(0.93, 1.07)))
            font = _font(hand.font, size)
            word = words[wi]
            w = font.getlength(word)
            if x + w > width - spacing * 0.6 and x > spacing:
                break
            wobble = float(np.clip(wobble + rng.normal(0, 0.025 * size), -0.12 * size, 0.12 * size))
            y = baseline - lift + wobble + drift * x
            draw.text((x, y), word, fill=255, font=font, anchor="ls", stroke_width=hand.bold, stroke_fill=255)
            written.append(word)
            wi += 1
            x += w + font.getlength(" ") * rng.uniform(0.9, 1.6)
        if hand.slant:
            shear = np.array([[1, -hand.slant, hand.slant * baseline], [0, 1, 0]], dtype=np.float32)
            mask = cv2.warpAffine(np.asarray(canvas), shear, (width, height), flags=cv2.INTER_LINEAR)
        else:
            mask = np.asarray(canvas)
        _ink(img, int(left), int(line_y * k - baseline), mask, hand.pen, rng)
    return " ".join(written)

