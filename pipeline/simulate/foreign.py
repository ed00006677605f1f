"""Synthetic foreign forms: paper forms PaperVoice did not print, and filled-in returns of them.

Real foreign returns are scarce, so tests and the bench draw their own, varied on purpose: square boxes or
round bubbles from 3.5 mm, thin or heavy outlines, with or without corner marks, 1-5 scales, grids,
multiple-choice lists, "tick all that apply", Yes/No pairs; returns with ticks, crosses, filled bubbles and
corrections, turned a little (or upside down, or a quarter turn), shifted, stamped, and some thresholded to
1-bit as office scanners do.  Everything is drawn with PIL at a known geometry, so the truth is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.form.fonts import _find

PX_PER_MM_BLANK = 300 / 25.4
PT_PER_MM = 72 / 25.4
A4_MM = (210.0, 297.0)
WORDS = ("How often do you use the library service in your area each month",
         "Which of these services have you used", "How satisfied are you with the opening hours",
         "Please rate the staff on helpfulness", "Would you recommend us to a friend or neighbour",
         "The building was easy to get into", "Information was clear and in plain words",
         "How did you hear about this service", "Your age group", "Tick all that apply to you")
LABELS = ("Never", "Rarely", "Sometimes", "Often", "Always", "Yes", "No", "Not sure", "Poor", "Fair", "Good",
          "Very good", "Under 25", "25 to 64", "65 or over", "Radio", "Leaflet", "Friend", "Website", "Other")


@dataclass(frozen=True)
class ForeignSpec:
    seed: int
    shape: str = "square"  # square | round
    box_mm: float = 5.0
    line_mm: float = 0.25
    corner_marks: bool = True
    pages: int = 2
    fill_to_cancel: bool = False


@dataclass
class TruthQuestion:
    id: str
    kind: str  # one | any
    page: int
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)  # pt, outer edge


def _font(size_pt: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_find("DejaVuSans.ttf")),
                              round(size_pt / 72 * 300))


class _Page:
    def __init__(self, spec: ForeignSpec, rng: np.random.Generator) -> None:
        w, h = (round(v * PX_PER_MM_BLANK) for v in A4_MM)
        self.img = Image.new("L", (w, h), 255)
        self.draw = ImageDraw.Draw(self.img)
        self.spec = spec
        self.rng = rng
        self.y = 28.0  # mm
        self.font = _font(float(rng.uniform(10, 12.5)))
        if spec.corner_marks:
            for cx, cy in ((12, 12), (198, 12), (12, 285), (198, 285)):
                self.rect_mm(cx - 3, cy - 3, 6, 6, fill=0)

    def px(self, mm: float) -> int:
        return round(mm * PX_PER_MM_BLANK)

    def rect_mm(self, x: float, y: float, w: float, h: float, fill: int | None = None) -> None:
        self.draw.rectangle([self.px(x), self.py(y), self.px(x + w), self.py(y + h)], fill=fill)

    def py(self, mm: float) -> int:
        return self.px(mm)

    def text(self, x: float, y: float, s: str) -> None:
        self.draw.text((self.px(x), self.py(y)), s, fill=0, font=self.font)

    def box(self, x: float, y: float) -> tuple[float, float, float, float]:
        s, lw = self.spec.box_mm, max(1, self.px(self.spec.line_mm))
        x0, y0, x1, y1 = self.px(x), self.py(y), self.px(x + s), self.py(y + s)
        if self.spec.shape == "round":
            self.draw.ellipse([x0, y0, x1, y1], outline=0, width=lw)
        else:
            self.draw.rectangle([x0, y0, x1, y1], outline=0, width=lw)
        return (x * PT_PER_MM, y * PT_PER_MM, s * PT_PER_MM, s * PT_PER_MM)


def _question(page: _Page, n: int, pn: int, rng: np.random.Generator) -> list[TruthQuestion]:
    s = page.spec.box_mm
    kind = rng.choice(["scale", "grid", "list", "yesno"])
    page.text(20, page.y, f"{n}. {WORDS[int(rng.integers(len(WORDS)))]}")
    page.y += 8
    out: list[TruthQuestion] = []
    if kind in ("scale", "grid"):
        cols = int(rng.integers(3, 6))
        step = float(rng.uniform(max(20, s * 2.5), 24))
        x0 = 190 - cols * step
        for c in range(cols):
            page.text(x0 + c * step - 2, page.y, LABELS[c % len(LABELS)][:9])
        page.y += 7
        rows = 1 if kind == "scale" else int(rng.integers(2, 4))
        for r in range(rows):
            q = TruthQuestion(f"T{n:02d}{r}", "one", pn)
            if kind == "grid":
                page.text(22, page.y, f"Row statement {r + 1}")
            q.boxes = [page.box(x0 + c * step, page.y) for c in range(cols)]
            out.append(q)
            page.y += max(9.0, s * 1.9)
    elif kind == "list":
        options = int(rng.integers(3, 6))
        q = TruthQuestion(f"T{n:02d}0", "any" if rng.random() < 0.5 else "one", pn)
        for _ in range(options):
            q.boxes.append(page.box(26, page.y))
            page.text(26 + s + 3, page.y, LABELS[int(rng.integers(len(LABELS)))])
            page.y += max(8.0, s * 1.7)
        out.append(q)
    else:
        q = TruthQuestion(f"T{n:02d}0", "one", pn)
        q.boxes = [page.box(120, page.y), page.box(150, page.y)]
        page.text(120 + s + 2, page.y, "Yes")
        page.text(150 + s + 2, page.y, "No")
        page.y += 10
        out.append(q)
    page.y += 6
    return out


def draw_blank(spec: ForeignSpec) -> tuple[list[Image.Image], list[TruthQuestion]]:
    """The blank's pages (300 dpi, greyscale) and its questions as drawn."""
    rng = np.random.default_rng(spec.seed)
    pages: list[Image.Image] = []
    questions: list[TruthQuestion] = []
    n = 1
    for pn in range(1, spec.pages + 1):
        page = _Page(spec, rng)
        page.text(20, 18, f"Community survey {spec.seed} - page {pn}")
        while page.y < 205:
            questions.extend(_question(page, n, pn, rng))
            n += 1
        if pn == spec.pages:  # the last page asks for comments: a framed area, or writing lines
            page.text(20, 236, "Any other comments?")
            if spec.seed % 2:
                page.draw.rectangle([page.px(20), page.px(243), page.px(190), page.px(266)], outline=0,
                                    width=max(1, page.px(spec.line_mm)))
            else:
                for n_line in range(3):
                    y = page.px(250 + n_line * 8)
                    page.draw.line([(page.px(20), y), (page.px(190), y)], fill=0, width=max(1, page.px(0.2)))
        page.text(20, 272, "Thank you. Please return this form in the envelope provided.")
        pages.append(page.img)
    return pages, questions


def _mark(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], style: str, px_per_pt: float,
          rng: np.random.Generator, shape: str) -> None:
    x, y, w, h = (v * px_per_pt for v in box)
    pen = max(2, round(float(rng.uniform(0.25, 0.5)) / 25.4 * 72 * px_per_pt))
    ink = int(rng.integers(0, 90))
    j = lambda: float(rng.uniform(-0.08, 0.08)) * w  # noqa: E731 - a little wobble per stroke end
    if style == "fill":
        inset = w * float(rng.uniform(0.02, 0.12))
        if shape == "round":
            draw.ellipse([x + inset, y + inset, x + w - inset, y + h - inset], fill=ink)
        else:
            draw.rectangle([x + inset, y + inset, x + w - inset, y + h - inset], fill=ink)
    elif style == "tick":
        draw.line([(x + 0.15 * w + j(), y + 0.55 * h + j()), (x + 0.4 * w + j(), y + 0.85 * h + j()),
                   (x + 0.95 * w + j(), y + 0.05 * h + j())], fill=ink, width=pen)
    else:
        for a, b in (((0.15, 0.15), (0.85, 0.85)), ((0.85, 0.15), (0.15, 0.85))):
            draw.line([(x + a[0] * w + j(), y + a[1] * h + j()), (x + b[0] * w + j(), y + b[1] * h + j())],
                      fill=ink, width=pen)


def fill_return(blank: list[Image.Image], questions: list[TruthQuestion], spec: ForeignSpec, seed: int,
                dpi: float = 200.0, one_sheet: bool = False, sheet_code: str = ""
                ) -> tuple[list[np.ndarray], dict[tuple[str, int], str], list[int]]:
    """A filled-in, scanned copy: page images at `dpi`, the truth per (question, value), each page's quarter
    turns.  `one_sheet`: the copy's pages go through the scanner together (the two sides of one sheet, or a
    stapled copy), so they share one turn; otherwise each page is turned on its own.  `sheet_code`: a QR code
    printed on every page of this copy only (as SDAPS and queXF stamp a questionnaire id per copy)."""
    rng = np.random.default_rng(seed)
    pages = [p.copy() for p in blank]
    draws = [ImageDraw.Draw(p) for p in pages]
    px_per_pt = 300 / 72
    truth: dict[tuple[str, int], str] = {}
    for q in questions:
        draw = draws[q.page - 1]
        states = ["empty"] * len(q.boxes)
        style = "fill" if spec.shape == "round" and rng.random() < 0.7 else str(rng.choice(["tick", "cross"]))
        if q.kind == "any":
            for i in range(len(q.boxes)):
                if rng.random() < 0.35:
                    states[i] = "marked"
        elif rng.random() < 0.9:
            states[int(rng.integers(len(q.boxes)))] = "marked"
            if spec.fill_to_cancel and rng.random() < 0.08:
                free = [i for i, s in enumerate(states) if s == "empty"]
                states[int(rng.choice(free))] = "filled-to-cancel"
        for i, (b, st) in enumerate(zip(q.boxes, states, strict=True)):
            truth[(q.id, i + 1)] = st
            if st == "marked":
                _mark(draw, b, style if style != "fill" or not spec.fill_to_cancel else "cross", px_per_pt, rng,
                      spec.shape)
            elif st == "filled-to-cancel":
                _mark(draw, b, "cross", px_per_pt, rng, spec.shape)
                _mark(draw, b, "fill", px_per_pt, rng, spec.shape)
    out: list[np.ndarray] = []
    turns: list[int] = []
    for n, page in enumerate(pages):
        if sheet_code:
            _stamp_code(page, sheet_code)
        if rng.random() < 0.5:  # a date stamp where the blank has nothing
            stamp = ImageDraw.Draw(page)
            x, y = int(rng.integers(1500, 2100)), int(rng.integers(60, 180))
            stamp.rectangle([x, y, x + 420, y + 110], outline=60, width=6)
            stamp.text((x + 20, y + 25), "RECEIVED 12 MAR", fill=60, font=_font(14))
        k = int(rng.choice([0, 0, 0, 2, 1, 3], p=[0.3, 0.3, 0.15, 0.15, 0.05, 0.05]))
        if one_sheet and turns:
            k = turns[0]
        out.append(_scan(np.asarray(page), rng, dpi, k))
        turns.append(k)
        del n
    return out, truth, turns


def _stamp_code(page: Image.Image, text: str) -> None:
    """A QR code in the page's bottom-right margin, where the blanks print nothing."""
    import zxingcpp

    code = np.asarray(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_image(scale=1,
                                                                                            add_quiet_zones=True))
    side = 170  # px at 300 dpi: about 14 mm
    symbol = Image.fromarray(code.astype(np.uint8)).resize((side, side), Image.Resampling.NEAREST)
    page.paste(symbol, (page.width - side - 90, page.height - side - 70))


def _scan(page: np.ndarray, rng: np.random.Generator, dpi: float, quarter_turns: int) -> np.ndarray:
    """Print and scan: a small turn, shift and scale, blur, noise; some pages 1-bit; some turned round."""
    h, w = page.shape
    m = cv2.getRotationMatrix2D((w / 2 + float(rng.uniform(-40, 40)), h / 2 + float(rng.uniform(-40, 40))),
                                float(rng.uniform(-2.0, 2.0)), float(rng.uniform(0.985, 1.015)))
    m = m + np.array([[0.0, 0.0, float(rng.uniform(-35, 35))], [0.0, 0.0, float(rng.uniform(-35, 35))]])
    img = cv2.warpAffine(page, m, (w, h), borderValue=int(rng.integers(235, 256)))
    img = cv2.resize(img, None, fx=dpi / 300, fy=dpi / 300, interpolation=cv2.INTER_AREA)
    img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 0.8)))
    img = np.clip(img.astype(np.float32) * float(rng.uniform(0.88, 1.0)) + rng.normal(0, 6, img.shape), 0, 255)
    if rng.random() < 0.4:
        img = np.where(img < float(rng.uniform(120, 170)), 0, 255)
    img = img.astype(np.uint8)
    for _ in range(quarter_turns):
        img = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    return img
