"""Realistic filled-in returns, with the ground truth, for tests, `make demo` and the benchmark.

The scanner is only as good as the worst pile of paper it is shown, so this
simulates the pile: real printed copies (the generator's own PDF, rendered by
poppler as a printer would), marked by hand the way people really mark boxes
(ticks, crosses, dots, marks that run over the edge, a box filled in to cancel
it, faint pencil, two boxes at once), comments handwritten in real handwriting
typefaces on the writing lines, and then scanned badly: skewed, shifted,
shrunk to fit, slightly keystoned, on toned paper under uneven light, noisy,
blurred, JPEG-compressed, sometimes thresholded to black and white, at 150,
200 or 300 dpi, now and then upside down, packed the ways scanners pack pages
(multi-page PDFs of JPEGs, multi-page TIFFs, loose JPEG/PNG files), with blank
backs and a covering letter mixed in.

Everything is deterministic for a seed, and independent of how many worker
processes render it: each copy and each page draws from its own seeded stream.
The values here describe the simulated world, not the scanner, so they live in
this module rather than in `constants.py`.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.atomic import atomic_write
from pipeline.constants import PAPER_SIZES_PT, mm
from pipeline.errors import MissingDependencyError
from pipeline.form.definition import Form, FormRegistry
from pipeline.form.generate import render_pdf
from pipeline.form.layout import Layout, PageLayout, Rect, TextField, compute_layout
from pipeline.ledger.store import Ledger

# ----------------------------------------------------------------------------------------------
# The simulated world.

PRINT_DPI = 300  # the "printed" page is rendered at this resolution and marked on it
PX_PER_PT = PRINT_DPI / 72.0

# How people answer (per item, except where stated)
BLANK_ITEM_RATE = 0.04  # left the statement blank
MULTIPLE_RATE = 0.015  # marked two boxes
CANCEL_RATE = 0.03  # filled a box in to cancel it, then marked the right one
SPILL_RATE = 0.05  # a mark that runs well past the box edge
PENCIL_COPY_RATE = 0.05  # the whole copy filled in with a faint pencil
COMMENT_RATE = 0.6  # share of comment fields written in (the rest stay blank)
HABIT_KEEP_RATE = 0.8  # how often a person uses their usual mark (tick or cross) on an item

# Handwriting tiers: how hard the hand is for OCR (tier, share of writers, font files)
HANDWRITING_TIERS: dict[str, tuple[float, tuple[str, ...]]] = {
    "easy": (0.4, ("opentype/comic-neue/ComicNeue-Regular.otf", "truetype/humor-sans/Humor-Sans.ttf")),
    "middle": (0.4, ("truetype/fifthhorseman/dkg.ttf", "truetype/femkeklaver/femkeklaver.ttf",
                     "truetype/breip/Breip.ttf")),
    "hard": (0.2, ("truetype/kristi/Kristi.ttf", "opentype/dancingscript/DancingScript-Regular.otf")),
}
CAPS_ONLY_FONTS = ("Humor-Sans.ttf",)  # lower-case glyphs are small capitals: the writing reads as capitals
X_HEIGHT_RANGE = (0.2, 0.3)  # small letters' height as a share of the writing-line spacing
FONT_ROOTS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
FONT_PACKAGES = ("fonts-comic-neue fonts-humor-sans fonts-dkg-handwriting fonts-femkeklaver fonts-breip "
                 "fonts-kristi fonts-dancingscript")

# Packing: what a scanning session produces
COPIES_PER_FILE = (1, 5)  # a scanned stack holds this many copies (inclusive range)
CONTAINER_WEIGHTS = {"pdf": 0.5, "tiff": 0.25, "images": 0.25}
G4_TIFF_RATE = 0.5  # TIFF stacks scanned in black-and-white mode (CCITT G4)
BITONAL_PNG_RATE = 0.3  # loose PNG stacks scanned in black-and-white mode
PNG_RATE = 0.3  # loose image stacks saved as PNG rather than JPEG
PNG_MAX_DPI = 200  # grey PNG stacks are scanned at no more than this
LETTER_RATE = 0.25  # a stack starts with a typed covering letter
DUPLEX_RATE = 0.2  # a stack scanned double-sided: odd-length copies bring a blank back page
STRAY_BLANK_RATE = 0.08  # a stray blank sheet somewhere in a stack
PAGE_SWAP_RATE = 0.03  # two pages of a copy in the wrong order

SHOW_THROUGH_MAX = 0.06  # blank backs show the other side's print at up to this contrast

# Answer states recorded in the truth
ItemTruth = int | None
MarkKind = Literal["tick", "cross", "dot", "slash", "fill", "faint", "spill"]
MARK_KINDS: tuple[MarkKind, ...] = ("tick", "cross", "dot", "slash", "fill", "faint", "spill")


@dataclass(frozen=True)
class Pen:
    """A writing instrument as the scanner sees it: grey level of its ink (0 black .. 255 paper) and width."""

    name: str
    grey: int
    width_mm: float
    pencil: bool = False


def luminance(rgb: tuple[int, int, int]) -> int:
    """Grey value a scanner's colour-to-grey conversion gives an ink (ITU-R BT.601 luma)."""
    r, g, b = rgb
    return round(0.299 * r + 0.587 * g + 0.114 * b)


PENS: tuple[tuple[float, Pen], ...] = (
    (0.30, Pen("black ballpoint", 40, 0.45)),
    (0.12, Pen("black felt-tip", 25, 0.8)),
    (0.05, Pen("black marker", 20, 1.2)),
    (0.28, Pen("blue ballpoint", luminance((30, 50, 150)), 0.45)),
    (0.15, Pen("blue gel", luminance((20, 40, 170)), 0.65)),
    (0.10, Pen("dark grey fineliner", 60, 0.35)),
)
PENCIL = Pen("pencil", 150, 0.4, pencil=True)


@dataclass(frozen=True)
class DegradeParams:
    """How badly pages are scanned.  `none()` gives a clean, straight, 300-dpi copy of the print."""

    max_rotation_deg: float = 7.0
    rotation_sigma_deg: float = 1.5  # most skew is small; `wild_rotation_rate` of pages go up to the max
    wild_rotation_rate: float = 0.1
    max_shift_mm: float = 5.0
    scale_range: tuple[float, float] = (0.95, 1.03)  # "fit to page" and feeder stretch
    perspective: float = 0.004  # corner displacement as a share of the page size
    paper_tone: tuple[int, int] = (212, 250)
    uneven_light: float = 0.12  # the darkest corner of a page loses up to this share of brightness
    noise_sigma: tuple[float, float] = (1.5, 6.0)
    blur_rate: float = 0.5
    blur_sigma_px: tuple[float, float] = (0.3, 1.0)
    jpeg_quality: tuple[int, int] = (50, 90)
    dpis: tuple[int, ...] = (150, 200, 300)
    dpi_weights: tuple[float, ...] = (0.25, 0.35, 0.4)
    upside_down_rate: float = 0.05
    bitonal_threshold: tuple[float, float] = (0.62, 0.72)  # share of the paper tone a B/W scanner cuts at

    @classmethod
    def none(cls) -> DegradeParams:
        return cls(max_rotation_deg=0.0, rotation_sigma_deg=0.0, wild_rotation_rate=0.0, max_shift_mm=0.0,
                   scale_range=(1.0, 1.0), perspective=0.0, paper_tone=(255, 255), uneven_light=0.0,
                   noise_sigma=(0.0, 0.0), blur_rate=0.0, jpeg_quality=(95, 95), dpis=(300,), dpi_weights=(1.0,),
                   upside_down_rate=0.0)


@dataclass(frozen=True)
class AnswerMix:
    """How often the hard cases occur.  `clean()` makes every item a single clear mark."""

    blank: float = BLANK_ITEM_RATE
    multiple: float = MULTIPLE_RATE
    cancel: float = CANCEL_RATE
    spill: float = SPILL_RATE
    pencil: float = PENCIL_COPY_RATE

    @classmethod
    def clean(cls) -> AnswerMix:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SimulationSpec:
    forms: tuple[str, ...]
    copies: int  # per form, per style, per paper
    seed: int
    db: Path
    output_dir: Path
    blank_comments: bool = False
    styles: tuple[str, ...] = ("standard", "large-print")
    papers: tuple[str, ...] = ("a4",)
    junk: bool = True
    comment_rate: float = COMMENT_RATE
    degrade: DegradeParams = field(default_factory=DegradeParams)
    answers: AnswerMix = field(default_factory=AnswerMix)
    containers: dict[str, float] = field(default_factory=lambda: dict(CONTAINER_WEIGHTS))
    jobs: int | None = None  # worker processes; None = all cores


@dataclass(frozen=True)
class SimulationTruth:
    pages: int
    files: list[Path]
    truth_path: Path
    copies: int = 0
    seconds: float = 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


# ----------------------------------------------------------------------------------------------
# Comments people write.  Plain English, the kind of thing returned on care-planning forms.

COMMENTS: tuple[str, ...] = (
    "My social worker listened to me and wrote down what I said.",
    "It took too long. I waited four months for my review.",
    "I did not know I could ask for my daughter to come to the meeting.",
    "The plan was written for me, not with me.",
    "Nobody explained what a personal budget was until the end.",
    "Staff were kind but they kept changing so I had to repeat my story.",
    "I liked that we talked about my garden and my dog, not just my care.",
    "I still have not had a copy of my plan.",
    "The forms were too long and the print was too small for me.",
    "My husband helped me fill this in.",
    "They came to my home which made it much easier.",
    "I felt rushed in the meeting and did not get to say everything.",
    "It was good to have an advocate with me.",
    "I wanted to go back to swimming and now I go every Tuesday.",
    "The phone was never answered when I rang the office.",
    "I was told one thing and then something different happened.",
    "Please send letters in large print.",
    "My carer had a say too and that really helped.",
    "I did not understand some of the words they used.",
    "We made the plan together over two visits, which was right for me.",
    "I was worried about money and nobody could tell me what I would pay.",
    "Very happy with the support I get now.",
    "I would like more help to get out and see my friends.",
    "The review date was moved three times.",
    "They asked what a good day looks like for me. Nobody had asked that before.",
    "I felt listened to for the first time in years.",
    "It would help to have an easy read version.",
    "My son lives far away so a video call would have been better.",
    "The meeting was at a bad time because of my medication.",
    "I know who to call if things change.",
    "Some of the information about local groups was out of date.",
    "I was allowed to try the day centre first before deciding.",
    "Too many people in the room. I felt nervous.",
    "Thank you to Sam who was very patient with me.",
    "I want to stay in my own home and the plan helps me do that.",
    "The plan does not say anything about my mental health.",
    "I had to chase them to get anything done.",
    "Good experience overall but it could be quicker.",
    "I did not feel able to take risks because my family worry.",
    "They wrote my plan in my own words which I liked.",
    "I could not read the letter they sent so my neighbour read it to me.",
    "The support workers are lovely but often late.",
)

LETTER_TEXT: tuple[str, ...] = (
    "Dear Sir or Madam,",
    "",
    "Please find enclosed the completed feedback forms from our residents' meeting on Tuesday.",
    "Some residents needed help to fill them in and a member of staff read the statements aloud.",
    "Two residents asked for large print copies, which are included.",
    "",
    "If you need anything further please contact the home manager on the usual number.",
    "",
    "Yours faithfully,",
    "",
    "The Care Home Office",
)


# ----------------------------------------------------------------------------------------------
# Rendering the print.


def render_pdf_pages(pdf: Path | bytes, first: int, last: int, dpi: int = PRINT_DPI) -> list[np.ndarray]:
    """Pages `first`..`last` (1-based, inclusive) of a PDF as grey arrays, rendered by poppler's pdftoppm.

    One pdftoppm call per range: its start-up and PDF parse cost more than a page.
    """
    with tempfile.TemporaryDirectory(prefix="pv-render-") as tmp:
        if isinstance(pdf, bytes):
            path = Path(tmp) / "in.pdf"
            path.write_bytes(pdf)
        else:
            path = pdf
        try:
            subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", str(first), "-l", str(last), str(path),
                            str(Path(tmp) / "p")], check=True, capture_output=True)
        except FileNotFoundError as exc:
            raise MissingDependencyError("pdftoppm (poppler-utils) is not installed",
                                         "run 'make setup' as root, or 'sudo apt-get install poppler-utils'") from exc
        outputs = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        pages = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in outputs]
    return [p for p in pages if p is not None]


def render_form_page(pdf_bytes: bytes, page_no: int, dpi: int = PRINT_DPI) -> np.ndarray:
    """One page (1-based) of a generated PDF as a grey array (255 = paper)."""
    pages = render_pdf_pages(pdf_bytes, page_no, page_no, dpi)
    if not pages:
        raise ValueError(f"the PDF has no page {page_no}")
    return pages[0]


def rect_px(rect: Rect, dpi: int = PRINT_DPI) -> tuple[float, float, float, float]:
    """A layout rectangle (pt, top-left origin) in pixels at `dpi`: x, y, w, h."""
    k = dpi / 72.0
    return rect.x * k, rect.y * k, rect.w * k, rect.h * k


# ----------------------------------------------------------------------------------------------
# Marks.


def _ink(img: np.ndarray, x0: int, y0: int, mask: np.ndarray, pen: Pen, rng: np.random.Generator) -> None:
    """Lay `mask` (0..255 ink coverage) on `img` at (x0, y0) with the pen's ink, darkening only."""
    h, w = mask.shape
    x1, y1 = max(0, x0), max(0, y0)
    x2, y2 = min(img.shape[1], x0 + w), min(img.shape[0], y0 + h)
    if x2 <= x1 or y2 <= y1:
        return
    m = mask[y1 - y0:y2 - y0, x1 - x0:x2 - x0].astype(np.float32) / 255.0
    if pen.pencil:
        # graphite is grainy and uneven: the paper's tooth shows through
        m *= rng.uniform(0.55, 1.0, size=m.shape).astype(np.float32)
    region = img[y1:y2, x1:x2].astype(np.float32)
    ink = np.minimum(region, float(pen.grey))
    img[y1:y2, x1:x2] = np.clip(region + (ink - region) * m, 0, 255).astype(np.uint8)


def _jitter_path(points: np.ndarray, rng: np.random.Generator, wobble: float, steps: int = 8) -> np.ndarray:
    """Turn straight segments into a hand-drawn stroke: subdivide and wander a little."""
    out = [points[0]]
    for a, b in itertools.pairwise(points):
        for t in np.linspace(0, 1, steps + 1)[1:]:
            out.append(a + (b - a) * t)
    path = np.array(out, dtype=np.float64)
    drift = np.cumsum(rng.normal(0, wobble, size=path.shape), axis=0)
    drift -= np.linspace(0, 1, len(path))[:, None] * drift[-1]  # keep the ends where the hand aimed
    return path + drift


def _stroke(mask: np.ndarray, pts: np.ndarray, width_px: float, shift: int = 4) -> None:
    scale = 1 << shift
    poly = np.round(pts * scale).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(mask, [poly], False, 255, max(1, round(width_px)), cv2.LINE_AA, shift)


def draw_mark(img: np.ndarray, box_px: tuple[float, float, float, float], kind: str, rng: np.random.Generator,
              pen: Pen, dpi: int = PRINT_DPI) -> None:
    """Draw one hand-made mark of `kind` in the box at `box_px` (x, y, w, h in pixels of `img`).

    Shapes are drawn in the box's own unit square, then scaled, nudged and
    wobbled, so no two marks are alike.  A `faint` mark is a tick or cross in
    pencil whatever `pen` is; a `spill` is a tick or cross far larger than the box.
    """
    if kind == "faint":
        pen = PENCIL
        kind = "tick" if rng.random() < 0.6 else "cross"
    bx, by, bw, bh = box_px
    px_per_mm = mm(1) * dpi / 72.0
    # work in a patch with room for spills
    margin = bw * 1.2
    x0, y0 = int(bx - margin), int(by - margin)
    mask = np.zeros((int(bh + 2 * margin) + 1, int(bw + 2 * margin) + 1), np.uint8)
    ox, oy = bx - x0, by - y0
    width = pen.width_mm * px_per_mm * rng.uniform(0.85, 1.15)

    def place(unit: Sequence[tuple[float, float]], size: float, spread: float) -> np.ndarray:
        pts = np.array(unit, dtype=np.float64) - 0.5
        angle = rng.normal(0, 0.12)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        pts = pts @ rot.T * size * np.array([bw, bh])
        centre = np.array([ox + bw / 2, oy + bh / 2]) + rng.normal(0, spread, 2) * np.array([bw, bh])
        return pts + centre

    if kind == "spill":
        kind = "tick" if rng.random() < 0.6 else "cross"
        size, spread = rng.uniform(1.45, 2.0), 0.12
    else:
        size, spread = rng.uniform(0.6, 1.0), 0.05

    if kind == "tick":
        unit = [(0.1 + rng.uniform(-0.05, 0.05), 0.5 + rng.uniform(-0.1, 0.1)),
                (0.38 + rng.uniform(-0.05, 0.05), 0.85 + rng.uniform(-0.05, 0.05)),
                (0.92 + rng.uniform(-0.05, 0.05), 0.05 + rng.uniform(-0.05, 0.1))]
        _stroke(mask, _jitter_path(place(unit, size, spread), rng, width * 0.08), width)
    elif kind == "cross":
        for unit in ([(0.08, 0.08), (0.92, 0.92)], [(0.9, 0.1), (0.1, 0.9)]):
            u = [(x + rng.uniform(-0.06, 0.06), y + rng.uniform(-0.06, 0.06)) for x, y in unit]
            _stroke(mask, _jitter_path(place(u, size, spread), rng, width * 0.08), width)
    elif kind == "slash":
        unit = [(0.85 + rng.uniform(-0.08, 0.08), 0.08), (0.15 + rng.uniform(-0.08, 0.08), 0.92)]
        _stroke(mask, _jitter_path(place(unit, size, spread), rng, width * 0.08), width * 1.2)
    elif kind == "dot":
        r = rng.uniform(1.1, 1.9) * px_per_mm
        cx = ox + bw / 2 + rng.normal(0, 0.08) * bw
        cy = oy + bh / 2 + rng.normal(0, 0.08) * bh
        cv2.ellipse(mask, (round(cx * 16), round(cy * 16)), (round(r * 16), round(r * rng.uniform(0.75, 1.0) * 16)),
                    rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, 4)
    elif kind == "fill":
        _draw_fill(mask, (ox, oy, bw, bh), rng, width, px_per_mm)
    else:
        raise ValueError(f"unknown mark kind {kind!r}; use one of {', '.join(MARK_KINDS)}")
    _ink(img, x0, y0, mask, pen, rng)


def _draw_fill(mask: np.ndarray, box: tuple[float, float, float, float], rng: np.random.Generator, width: float,
               px_per_mm: float) -> None:
    """Fill-to-cancel: the box blacked in, solid or with a dense scribble, often past its edges."""
    bx, by, bw, bh = box
    grow = rng.uniform(-0.2, 0.8) * px_per_mm
    x1, y1, x2, y2 = bx - grow, by - grow, bx + bw + grow, by + bh + grow
    if rng.random() < 0.4:
        quad = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]]) + rng.normal(0, 0.3 * px_per_mm, (4, 2))
        cv2.fillPoly(mask, [np.round(quad * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    pen_w = max(width, 0.5 * px_per_mm)
    step = pen_w * rng.uniform(0.55, 0.85)
    ys = np.arange(y1 + pen_w / 3, y2, step)
    pts = []
    for i, y in enumerate(ys):
        left = x1 + rng.uniform(-0.3, 0.5) * px_per_mm
        right = x2 + rng.uniform(-0.5, 0.3) * px_per_mm
        pts.extend([(left, y), (right, y + step / 2)] if i % 2 == 0 else [(right, y), (left, y + step / 2)])
    _stroke(mask, np.array(pts) + rng.normal(0, 0.15 * px_per_mm, (len(pts), 2)), pen_w)


# ----------------------------------------------------------------------------------------------
# Handwriting.


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


def write_comment(img: np.ndarray, text_field: TextField, text: str, hand: Hand, rng: np.random.Generator) -> str:
    """Write `text` on the field's lines, word by word; returns what actually fitted on the lines."""
    k = PX_PER_PT
    spacing = (text_field.line_ys[1] - text_field.line_ys[0]) * k if len(text_field.line_ys) > 1 else mm(10) * k
    left = (text_field.x + mm(4)) * k + rng.uniform(0, mm(6) * k)
    right = (text_field.right - mm(5)) * k
    base_size = max(8, round(spacing * hand.x_height / _x_height_per_em(hand.font)))
    if Path(hand.font).name in CAPS_ONLY_FONTS:
        text = text.upper()  # this hand writes in block capitals whatever the case: the truth says so too
    words = text.split()
    written: list[str] = []
    wi = 0
    for line_y in text_field.line_ys:
        if wi >= len(words):
            break
        height = int(spacing * 1.6)
        width = int(right - left + spacing)
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        baseline = spacing * 1.15  # line canvas top sits above the writing line
        lift = rng.uniform(0.05, 0.18) * spacing  # people write a little above the line
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


# ----------------------------------------------------------------------------------------------
# Scanning.


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


# ----------------------------------------------------------------------------------------------
# Planning: every random decision about answers and packing, made up front from the seed.


def _choice(rng: np.random.Generator, weighted: Mapping[Any, float] | Sequence[tuple[float, Any]]) -> Any:
    items = list(weighted.items()) if isinstance(weighted, Mapping) else [(v, w) for w, v in weighted]
    weights = np.array([w for _, w in items], dtype=float)
    return items[int(rng.choice(len(items), p=weights / weights.sum()))][0]


@dataclass
class CopyPlan:
    ordinal: int
    serial: str
    form: Form
    style: str
    paper: str
    answers: dict[str, ItemTruth]
    multiple: list[str]
    marks: dict[str, list[tuple[int, str]]]  # item -> [(value, kind)] in the order drawn
    pen: Pen
    comments: dict[str, tuple[str, Hand | None]]

    def truth(self, page_count: int, written: dict[str, str]) -> dict[str, Any]:
        return {
            "serial": self.serial, "form": self.form.id, "version": self.form.version, "style": self.style,
            "paper": self.paper, "pages": page_count, "answers": dict(self.answers), "multiple": list(self.multiple),
            "pen": self.pen.name,
            "marks": {item: [kind for _, kind in marks] for item, marks in self.marks.items()},
            "comments": {fid: {"text": written.get(fid, ""), "tier": hand.tier if hand and written.get(fid) else None,
                               "font": Path(hand.font).name if hand and written.get(fid) else None}
                         for fid, (_, hand) in self.comments.items()},
        }


def plan_copy(rng: np.random.Generator, form: Form, mix: AnswerMix, comment_rate: float,
              tiers: dict[str, tuple[Path, ...]]) -> tuple[dict[str, ItemTruth], list[str],
                                                           dict[str, list[tuple[int, str]]], Pen,
                                                           dict[str, tuple[str, Hand | None]]]:
    """Decide one person's answers, marks, pen and comments."""
    pen = PENCIL if rng.random() < mix.pencil else _choice(rng, PENS)
    habit = "tick" if rng.random() < 0.6 else "cross"
    values = form.scale_values
    answers: dict[str, ItemTruth] = {}
    multiple: list[str] = []
    marks: dict[str, list[tuple[int, str]]] = {}

    def kind() -> str:
        if rng.random() < mix.spill:
            return "spill"
        if rng.random() < HABIT_KEEP_RATE:
            return habit
        return str(_choice(rng, {"tick": 0.35, "cross": 0.35, "slash": 0.15, "dot": 0.15}))

    # a person's answers lean one way: draw around a personal centre
    centre = rng.uniform(1.5, 4.8)
    for item in form.items:
        roll = rng.random()
        value = int(np.clip(round(rng.normal(centre, 1.0)), values[0], values[-1]))
        if roll < mix.blank:
            answers[item.id], marks[item.id] = None, []
        elif roll < mix.blank + mix.multiple:
            other = int(rng.choice([v for v in values if v != value]))
            answers[item.id] = None
            multiple.append(item.id)
            marks[item.id] = [(value, kind()), (other, kind())]
        elif roll < mix.blank + mix.multiple + mix.cancel:
            wrong = int(rng.choice([v for v in values if v != value]))
            answers[item.id] = value
            marks[item.id] = [(wrong, "fill"), (value, kind())]
        else:
            answers[item.id] = value
            marks[item.id] = [(value, kind())]

    comments: dict[str, tuple[str, Hand | None]] = {}
    tier_weights = {t: HANDWRITING_TIERS[t][0] for t in tiers}
    for ft in form.free_text:
        if rng.random() >= comment_rate:
            comments[ft.id] = ("", None)
            continue
        n = int(_choice(rng, {1: 0.45, 2: 0.4, 3: 0.15}))
        text = " ".join(COMMENTS[int(i)] for i in rng.choice(len(COMMENTS), size=n, replace=False))
        tier = str(_choice(rng, tier_weights))
        font = tiers[tier][int(rng.integers(0, len(tiers[tier])))]
        hand = Hand(str(font), tier, float(rng.uniform(*X_HEIGHT_RANGE)), float(rng.uniform(-0.12, 0.28)),
                    pen, int(rng.random() < 0.3 and tier == "easy"))
        comments[ft.id] = (text, hand)
    return answers, multiple, marks, pen, comments


@dataclass(frozen=True)
class PagePlan:
    """One scanned page: which file it goes in and how it was scanned."""

    file: int
    index: int
    kind: Literal["form", "blank", "letter"]
    copy: int | None  # ordinal of the copy (for forms, and for blank backs: the page it is behind)
    form_page: int | None
    seed: int


@dataclass(frozen=True)
class FilePlan:
    number: int
    container: Literal["pdf", "tiff", "jpg", "png"]
    bitonal: bool
    dpi: int
    jpeg_quality: int
    name: str


# ----------------------------------------------------------------------------------------------
# Worker side: render, mark, write, scan and encode the pages of one copy (or one junk page).


@dataclass(frozen=True)
class PageTask:
    form: Form | None  # None for junk pages
    style: str
    paper: str
    copy: CopyPlan | None
    pages: tuple[PagePlan, ...]  # in the order they are returned
    files: tuple[FilePlan, ...]
    degrade: DegradeParams


@dataclass(frozen=True)
class EncodedPage:
    plan: PagePlan
    data: bytes
    fmt: Literal["jpeg", "png", "tiff"]
    dpi: int
    size_px: tuple[int, int]
    rotation_deg: float
    upside_down: bool
    bitonal: bool


def fill_page(img: np.ndarray, page: PageLayout, copy: CopyPlan, rng: np.random.Generator) -> dict[str, str]:
    """Mark the boxes and write the comments of one page of `copy` on its print; returns the comments written."""
    for item in page.items:
        for value, kind in copy.marks.get(item, []):
            box = next(b for b in page.boxes_of(item) if b.value == value)
            draw_mark(img, rect_px(box), kind, rng, copy.pen)
    written: dict[str, str] = {}
    for tf in page.text_fields:
        text, hand = copy.comments.get(tf.item, ("", None))
        if text and hand is not None:
            written[tf.item] = write_comment(img, tf, text, hand, rng)
    return written


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


def _format_for(file: FilePlan) -> Literal["jpeg", "png", "tiff"]:
    if file.container == "png":
        return "png"
    if file.container == "tiff" and file.bitonal:
        return "tiff"
    return "jpeg"


def _worker_init() -> None:
    """One OpenCV thread per worker: the pool already keeps every core busy."""
    cv2.setNumThreads(1)


def run_task(task: PageTask) -> tuple[list[EncodedPage], dict[str, str]]:
    """Produce every page of one task.  Runs in a worker process; pure apart from calling pdftoppm."""
    written: dict[str, str] = {}
    rendered: dict[int, np.ndarray] = {}
    if task.copy is not None and task.form is not None:
        layout = compute_layout(task.form, task.paper, task.style)
        # each worker prints its own copy: the generator's QR encoding is pure Python and costs as much as a render
        prints = render_pdf_pages(render_pdf(task.form, layout, [task.copy.serial]), 1, layout.page_count)
        for page, img in zip(layout.pages, prints, strict=True):
            rng = np.random.default_rng([task.copy.ordinal, page.page, 17])
            written.update(fill_page(img, page, task.copy, rng))
            rendered[page.page] = img
        size = prints[0].shape[1], prints[0].shape[0]
    else:
        w_pt, h_pt = PAPER_SIZES_PT[task.paper]
        size = round(w_pt * PX_PER_PT), round(h_pt * PX_PER_PT)
    out: list[EncodedPage] = []
    for plan in task.pages:
        rng = np.random.default_rng(plan.seed)
        file = task.files[plan.file]
        if plan.kind == "form":
            assert plan.form_page is not None
            img = rendered[plan.form_page]
        elif plan.kind == "blank":
            img = blank_page(size, rng, rendered.get(plan.form_page or 0))
        else:
            img = letter_page(size, rng)
        params = task.degrade if plan.kind != "letter" else replace(task.degrade, upside_down_rate=0.0)
        d = degrade(img, rng, params, out_dpi=file.dpi, bitonal=file.bitonal)
        fmt = _format_for(file)
        out.append(EncodedPage(plan, encode(d.image, fmt, d.dpi, file.jpeg_quality, d.bitonal), fmt, d.dpi,
                               (d.image.shape[1], d.image.shape[0]), round(d.rotation_deg, 2), d.upside_down,
                               d.bitonal))
    return out, written


# ----------------------------------------------------------------------------------------------
# Packing.


def pdf_of_images(pages: Sequence[EncodedPage]) -> bytes:
    """A multi-page PDF with one full-page JPEG per page, embedded unchanged (as scanners write them).

    The page size is the image size at its resolution, so a reader can derive the dpi.
    """
    import pikepdf

    pdf = pikepdf.Pdf.new()
    for p in pages:
        if p.fmt != "jpeg":
            raise ValueError("scanner PDFs here hold JPEG pages only")
        w, h = p.size_px
        w_pt, h_pt = w * 72.0 / p.dpi, h * 72.0 / p.dpi
        image = pikepdf.Stream(pdf, p.data)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height = w, h
        image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
        image.Filter = pikepdf.Name.DCTDecode
        content = pikepdf.Stream(pdf, f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, round(w_pt, 4), round(h_pt, 4)], Contents=content,
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)))
        pdf.pages.append(pikepdf.Page(page))
    pdf.docinfo["/Producer"] = "PaperVoice simulated scanner"
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True)
    return buf.getvalue()


def tiff_of_images(pages: Sequence[EncodedPage]) -> bytes:
    """A multi-page TIFF: G4 for black-and-white stacks, JPEG-in-TIFF for grey ones."""
    images = [Image.open(io.BytesIO(p.data)) for p in pages]
    buf = io.BytesIO()
    first = images[0]
    if all(p.fmt == "tiff" for p in pages):
        frames = [im.convert("1") for im in images]
        frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], compression="group4",
                       dpi=(pages[0].dpi, pages[0].dpi))
    else:
        frames = [im.convert("L") for im in images]
        frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_adobe_deflate",
                       dpi=(pages[0].dpi, pages[0].dpi))
    first.close()
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# The whole simulation.


def _copy_seed(seed: int, ordinal: int) -> np.random.Generator:
    return np.random.default_rng([seed, ordinal, 1])


def simulate_returns(spec: SimulationSpec, registry: FormRegistry) -> SimulationTruth:
    """Issue copies in the ledger, fill them in, scan them badly, pack them; write the truth JSON."""
    started = time.perf_counter()
    # the scans go in their own folder, so `papervoice scan OUTPUT/scans` sees only what a scanner made
    out_dir = Path(spec.output_dir) / "scans"
    out_dir.mkdir(parents=True, exist_ok=True)
    tiers = available_tiers() if not spec.blank_comments else {}
    comment_rate = 0.0 if spec.blank_comments else spec.comment_rate

    # 1. issue serials and decide what every person answers
    copies: list[CopyPlan] = []
    layouts: dict[int, Layout] = {}
    ordinal = 0
    with Ledger(spec.db) as ledger:
        for form_id in spec.forms:
            form = registry.get(form_id)
            for paper in spec.papers:
                for style in spec.styles:
                    layout = compute_layout(form, paper, style)
                    serials = ledger.issue_serials(form.id, form.version, layout.style, layout.paper,
                                                   layout.page_count, spec.copies, str(out_dir))
                    for serial in serials:
                        rng = _copy_seed(spec.seed, ordinal)
                        answers, multiple, marks, pen, comments = plan_copy(rng, form, spec.answers, comment_rate,
                                                                           tiers)
                        copies.append(CopyPlan(ordinal, serial, form, layout.style, layout.paper, answers, multiple,
                                               marks, pen, comments))
                        layouts[ordinal] = layout
                        ordinal += 1

    # 2. plan the stacks: returns come back in any order, a few copies per scan
    rng = np.random.default_rng([spec.seed, 0, 2])
    order = [copies[int(i)] for i in rng.permutation(len(copies))]
    files: list[FilePlan] = []
    tasks: list[PageTask] = []
    file_pages: dict[int, int] = {}
    seeds = np.random.default_rng([spec.seed, 0, 3])
    i = 0
    while i < len(order):
        stack = order[i:i + int(rng.integers(COPIES_PER_FILE[0], COPIES_PER_FILE[1] + 1))]
        i += len(stack)
        file = _plan_file(rng, len(files), spec)
        files.append(file)
        duplex = spec.junk and rng.random() < DUPLEX_RATE
        if spec.junk and rng.random() < LETTER_RATE:
            tasks.append(_junk_task(file, files, "letter", stack[0].paper, spec, file_pages, seeds))
        for copy in stack:
            layout = layouts[copy.ordinal]
            order_in_copy = list(range(1, layout.page_count + 1))
            if layout.page_count > 1 and rng.random() < PAGE_SWAP_RATE:
                j = int(rng.integers(0, layout.page_count - 1))
                order_in_copy[j], order_in_copy[j + 1] = order_in_copy[j + 1], order_in_copy[j]
            plans: list[PagePlan] = []
            for form_page in order_in_copy:
                plans.append(_page(file, "form", copy.ordinal, form_page, file_pages, seeds))
                if spec.junk and rng.random() < STRAY_BLANK_RATE / max(1, layout.page_count):
                    plans.append(_page(file, "blank", copy.ordinal, None, file_pages, seeds))
            if duplex and layout.page_count % 2:
                plans.append(_page(file, "blank", copy.ordinal, order_in_copy[-1], file_pages, seeds))
            tasks.append(PageTask(copy.form, copy.style, copy.paper, copy, tuple(plans), (), spec.degrade))
    tasks = [replace(t, files=tuple(files)) for t in tasks]

    # 3. render in parallel; results come back in task order, so output is the same for any --jobs
    jobs = spec.jobs or len(os.sched_getaffinity(0))
    results: list[tuple[list[EncodedPage], dict[str, str]]]
    if jobs > 1 and len(tasks) > 1:
        # not fork: a forked child inherits OpenCV's thread pool mid-state and can deadlock in it
        # (a calling script therefore needs the usual `if __name__ == "__main__":` guard)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("forkserver"),
                                 initializer=_worker_init) as pool:
            results = list(pool.map(run_task, tasks, chunksize=1))
    else:
        results = [run_task(t) for t in tasks]

    # 4. pack and write the truth
    by_file: dict[int, list[EncodedPage]] = {}
    written_by_copy: dict[int, dict[str, str]] = {}
    for task, (pages, written) in zip(tasks, results, strict=True):
        for p in pages:
            by_file.setdefault(p.plan.file, []).append(p)
        if task.copy is not None:
            written_by_copy[task.copy.ordinal] = written
    out_files: list[Path] = []
    page_truth: list[dict[str, Any]] = []
    for file in files:
        pages = sorted(by_file.get(file.number, []), key=lambda p: p.plan.index)
        names = _write_file(out_dir, file, pages)
        out_files.extend(dict.fromkeys(names))
        for p, name in zip(pages, names, strict=True):
            owner = copies[p.plan.copy] if p.plan.copy is not None else None
            page_truth.append({
                "file": f"scans/{name.name}", "index": 0 if file.container in ("jpg", "png") else p.plan.index,
                "kind": p.plan.kind, "serial": owner.serial if owner and p.plan.kind == "form" else None,
                "form_page": p.plan.form_page if p.plan.kind == "form" else None, "upside_down": p.upside_down,
                "dpi": p.dpi, "rotation_deg": p.rotation_deg, "bitonal": p.bitonal, "container": file.container,
            })
    truth = {
        "seed": spec.seed,
        "spec": {"forms": list(spec.forms), "copies": spec.copies, "styles": list(spec.styles),
                 "papers": list(spec.papers), "junk": spec.junk, "blank_comments": spec.blank_comments,
                 "comment_rate": comment_rate, "degrade": asdict(spec.degrade), "answers": asdict(spec.answers)},
        "copies": [c.truth(layouts[c.ordinal].page_count, written_by_copy.get(c.ordinal, {})) for c in copies],
        "pages": page_truth,
    }
    truth_path = Path(spec.output_dir) / "truth.json"
    atomic_write(truth_path, json.dumps(truth, indent=1).encode("utf-8"))
    return SimulationTruth(len(page_truth), out_files, truth_path, len(copies), time.perf_counter() - started)


def _plan_file(rng: np.random.Generator, number: int, spec: SimulationSpec) -> FilePlan:
    container = str(_choice(rng, spec.containers))
    bitonal = False
    if container == "tiff":
        bitonal = rng.random() < G4_TIFF_RATE
    elif container == "images":
        container = "png" if rng.random() < PNG_RATE else "jpg"
        bitonal = container == "png" and rng.random() < BITONAL_PNG_RATE
    p = spec.degrade
    weights = np.array(p.dpi_weights[:len(p.dpis)], dtype=float)
    dpi = int(rng.choice(p.dpis, p=weights / weights.sum()))
    if container == "png" and not bitonal:
        dpi = min(dpi, PNG_MAX_DPI)  # lossless grey scans are huge; people pick a lower resolution
    quality = int(rng.integers(p.jpeg_quality[0], p.jpeg_quality[1] + 1))
    ext = {"pdf": "pdf", "tiff": "tif", "jpg": "jpg", "png": "png"}[container]
    name = f"scan-{number + 1:03d}.{ext}"
    return FilePlan(number, container, bitonal, dpi, quality, name)  # type: ignore[arg-type]


def _page(file: FilePlan, kind: str, copy: int | None, form_page: int | None, counters: dict[int, int],
          seeds: np.random.Generator) -> PagePlan:
    index = counters.get(file.number, 0)
    counters[file.number] = index + 1
    return PagePlan(file.number, index, kind, copy, form_page, int(seeds.integers(0, 2**62)))  # type: ignore[arg-type]


def _junk_task(file: FilePlan, files: list[FilePlan], kind: str, paper: str, spec: SimulationSpec,
               counters: dict[int, int], seeds: np.random.Generator) -> PageTask:
    plan = _page(file, kind, None, None, counters, seeds)
    return PageTask(None, "standard", paper, None, (plan,), (), spec.degrade)


def _write_file(out_dir: Path, file: FilePlan, pages: list[EncodedPage]) -> list[Path]:
    """Write one stack; returns the path holding each page (loose images: one file per page)."""
    if not pages:
        return []
    if file.container == "pdf":
        path = out_dir / file.name
        atomic_write(path, pdf_of_images(pages))
        return [path] * len(pages)
    if file.container == "tiff":
        path = out_dir / file.name
        atomic_write(path, tiff_of_images(pages))
        return [path] * len(pages)
    stem, ext = file.name.rsplit(".", 1)
    paths = []
    for p in pages:
        path = out_dir / f"{stem}-p{p.plan.index + 1:02d}.{ext}"
        atomic_write(path, p.data)
        paths.append(path)
    return paths
