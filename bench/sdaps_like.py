"""An SDAPS-like questionnaire, drawn in code with its truth: the printed grouping and every box's state.

SDAPS (the free survey tool) prints questionnaires that people meet in the wild: sections with headings,
numbered questions ("1.1", "Q3", "3)"), choose-one and choose-any lists laid out in two or three columns,
yes/no pairs, a rating matrix (a header row of scale words over five box columns, one statement per row),
"from ... to ..." ranges, framed comment areas, corner marks, and a code128 barcode per page: the survey and
page (the same on every copy, and on the blank) beside the questionnaire id (one per copy).  This draws 18
questions over two sheets printed both sides, varied by seed (fonts, sizes, spacing, numbering, columns,
the order of the blocks), and fills copies with the simulator's pens; `scan_stack` prints and scans them as
an office does: 300 dpi, 1-bit, some sheets upside down, some fed back side first.

Seeds below 100 are for building and tuning; the bench measures on HELD_OUT_SEEDS.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.simulate.foreign import TruthQuestion
from pipeline.simulate.marks import draw_mark
from pipeline.simulate.scanning import degrade
from pipeline.simulate.world import PENS, DegradeParams

PX_PER_MM = 300 / 25.4
PT_PER_MM = 72 / 25.4
A4_MM = (210.0, 297.0)
QUESTIONS = 18
TUNING_SEEDS = (1, 2, 3, 4)
HELD_OUT_SEEDS = (101, 102, 103)
FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
              "/usr/share/fonts/truetype/lato/Lato-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
SCALE = ("very poor", "poor", "fair", "good", "very good")
AGREE = ("disagree", "rather no", "neutral", "rather yes", "agree")
OPTIONS = ("Newspaper", "Radio", "Leaflet", "A friend", "Website", "Social media", "Doctor", "Library",
           "Notice board", "Other")
AGES = ("under 18", "18 to 29", "30 to 44", "45 to 64", "65 to 79", "80 or over")
STATEMENTS = ("The staff were friendly", "Waiting times were short", "The rooms were clean",
              "Information was clear", "I felt listened to", "Opening hours suit me", "Signs were easy to follow",
              "The website was useful")


@dataclass
class Questionnaire:
    pages: list[Image.Image]
    truth: list[TruthQuestion]
    fields: list[tuple[int, tuple[float, float, float, float]]]  # (page, rect in pt): comment areas
    survey: str


def _font_file(rng: np.random.Generator) -> str:
    present = [f for f in FONT_FILES if Path(f).exists()]
    return present[int(rng.integers(len(present)))]


class _Sheet:
    """One page being drawn: a cursor down the page in mm, text and boxes at known places."""

    def __init__(self, style: dict[str, object], rng: np.random.Generator) -> None:
        self.img = Image.new("L", tuple(round(v * PX_PER_MM) for v in A4_MM), 255)  # type: ignore[arg-type]
        self.draw = ImageDraw.Draw(self.img)
        self.style = style
        self.rng = rng
        self.y = 30.0
        size = float(style["size"])  # type: ignore[arg-type]
        self.font = ImageFont.truetype(str(style["font"]), round(size / 72 * 300))
        self.bold = ImageFont.truetype(str(style["font"]), round((size + 2.5) / 72 * 300))
        for x, y, dx, dy in ((10, 10, 1, 1), (200, 10, -1, 1), (10, 287, 1, -1), (200, 287, -1, -1)):
            self.line(x, y, x + 8 * dx, y)  # SDAPS's corner marks: an L in each corner
            self.line(x, y, x, y + 8 * dy)

    def px(self, mm: float) -> int:
        return round(mm * PX_PER_MM)

    def line(self, x0: float, y0: float, x1: float, y1: float, width_mm: float = 0.5) -> None:
        self.draw.line([(self.px(x0), self.px(y0)), (self.px(x1), self.px(y1))], fill=0, width=self.px(width_mm))

    def text(self, x: float, y: float, s: str, bold: bool = False, centre: bool = False) -> float:
        font = self.bold if bold else self.font
        width = self.draw.textlength(s, font=font) / PX_PER_MM
        if centre:
            x -= width / 2
        self.draw.text((self.px(x), self.px(y)), s, fill=0, font=font)
        return width

    @property
    def line_mm(self) -> float:
        return float(self.style["size"]) * 0.3528 * 1.45  # type: ignore[arg-type]

    def box(self, x: float, y: float) -> tuple[float, float, float, float]:
        s = float(self.style["box"])  # type: ignore[arg-type]
        lw = max(2, self.px(0.2))
        self.draw.rectangle([self.px(x), self.px(y), self.px(x + s), self.px(y + s)], outline=0, width=lw)
        return (x * PT_PER_MM, y * PT_PER_MM, s * PT_PER_MM, s * PT_PER_MM)


def _number(style: dict[str, object], section: int, n: int) -> str:
    how = style["numbering"]
    return {"dotted": f"{section}.{n}", "q": f"Q{n}", "paren": f"{n})", "point": f"{n}."}[str(how)]


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        r = self.rng
        self.style: dict[str, object] = {
            "font": _font_file(r), "size": float(r.uniform(9.5, 11.5)), "box": float(r.uniform(3.5, 4.5)),
            "numbering": str(r.choice(["dotted", "q", "paren", "point"])), "gap": float(r.uniform(4.0, 7.0)),
            "cols": int(r.choice([2, 2, 3])), "matrix_x": float(r.uniform(100, 115))}
        self.truth: list[TruthQuestion] = []
        self.fields: list[tuple[int, tuple[float, float, float, float]]] = []
        self.n = 0  # questions numbered so far (the printed number)
        self.section = 0
        self.pages: list[_Sheet] = []

    @property
    def page(self) -> _Sheet:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(_Sheet(self.style, self.rng))

    def heading(self, title: str) -> None:
        self.section += 1
        self.page.text(15, self.page.y, f"{self.section} {title}", bold=True)
        self.page.y += self.page.line_mm * 1.8

    def question_line(self, text: str) -> str:
        self.n += 1
        label = _number(self.style, self.section, self.n)
        self.page.text(15, self.page.y, f"{label}  {text}")
        self.page.y += self.page.line_mm * 1.3
        return label

    def _truth(self, kind: str) -> TruthQuestion:
        q = TruthQuestion(f"T{len(self.truth) + 1:02d}", kind, len(self.pages))
        self.truth.append(q)
        return q

    def choice(self, text: str, options: tuple[str, ...], kind: str, cols: int | None = None,
               x0: float = 20.0, width: float = 175.0) -> None:
        """A list of options, row by row across `cols` columns (as SDAPS lays out a choice question)."""
        cols = cols or int(self.style["cols"])  # type: ignore[arg-type]
        self.question_line(text + (" (tick all that apply)" if kind == "any" else ""))
        q = self._truth(kind)
        step = width / cols
        box = float(self.style["box"])  # type: ignore[arg-type]
        pitch = max(box * 1.6, self.page.line_mm * 1.25)
        for i, option in enumerate(options):
            x, y = x0 + (i % cols) * step, self.page.y + (i // cols) * pitch
            q.boxes.append(self.page.box(x, y))
            self.page.text(x + box + 2, y + box / 2 - self.page.line_mm * 0.4, option)
        self.page.y += ((len(options) + cols - 1) // cols) * pitch + float(self.style["gap"])  # type: ignore[arg-type]

    def yes_no(self, text: str) -> None:
        """A yes/no pair: on the question's own line, right of it, or on the line below."""
        box = float(self.style["box"])  # type: ignore[arg-type]
        inline = bool(self.rng.random() < 0.5)
        self.question_line(text)
        q = self._truth("one")
        y = self.page.y - self.page.line_mm * 1.3 if inline else self.page.y
        x0 = 150.0 if inline else 20.0
        for i, word in enumerate(("yes", "no")):
            q.boxes.append(self.page.box(x0 + i * 22, y))
            self.page.text(x0 + i * 22 + box + 2, y + box / 2 - self.page.line_mm * 0.4, word)
        self.page.y = y + max(box, self.page.line_mm) + float(self.style["gap"])  # type: ignore[arg-type]

    def range_(self, text: str, low: str, high: str) -> None:
        """'From low to high': five boxes in a row, a word at each end."""
        box = float(self.style["box"])  # type: ignore[arg-type]
        self.question_line(text)
        q = self._truth("one")
        y = self.page.y
        width = self.page.text(30, y + box / 2 - self.page.line_mm * 0.4, low)
        x0 = 30 + width + 4
        for i in range(5):
            q.boxes.append(self.page.box(x0 + i * (box + 5), y))
        self.page.text(x0 + 5 * (box + 5) + 1, y + box / 2 - self.page.line_mm * 0.4, high)
        self.page.y += box + float(self.style["gap"]) + 2  # type: ignore[arg-type]

    def matrix(self, text: str, rows: int, scale: tuple[str, ...]) -> None:
        """A rating grid: a lead line, a header of scale words over the box columns, a statement per row."""
        box = float(self.style["box"])  # type: ignore[arg-type]
        self.page.text(15, self.page.y, text)
        self.page.y += self.page.line_mm * 1.5
        x0 = float(self.style["matrix_x"])  # type: ignore[arg-type]
        step = (195 - x0) / len(scale)
        for c, word in enumerate(scale):
            self.page.text(x0 + c * step + box / 2, self.page.y, word, centre=True)
        self.page.y += self.page.line_mm * 1.3
        pitch = max(box * 1.9, self.page.line_mm * 1.5)
        statements = list(STATEMENTS)
        self.rng.shuffle(statements)
        for r in range(rows):
            self.n += 1
            label = _number(self.style, self.section, self.n)
            y = self.page.y
            self.page.text(15, y + box / 2 - self.page.line_mm * 0.4, f"{label}  {statements[r]}")
            q = self._truth("one")
            q.boxes = [self.page.box(x0 + c * step, y) for c in range(len(scale))]
            if r < rows - 1:
                self.page.line(15, y + pitch * 0.78, 195, y + pitch * 0.78, 0.15)  # SDAPS rules off its rows
            self.page.y += pitch
        self.page.y += float(self.style["gap"])  # type: ignore[arg-type]

    def side_by_side(self) -> None:
        """Two short questions side by side, each in its own half of the page, each with its own number."""
        box = float(self.style["box"])  # type: ignore[arg-type]
        top = self.page.y
        bottoms = []
        for half, (text, options) in enumerate((("Do you live alone?", ("yes", "no", "rather not say")),
                                                ("How did you travel here?", ("on foot", "by bus", "by car",
                                                                              "other")))):
            self.n += 1
            label = _number(self.style, self.section, self.n)
            x = 15 + half * 95
            self.page.text(x, top, f"{label}  {text}")
            q = self._truth("one")
            y = top + self.page.line_mm * 1.3
            for option in options:
                q.boxes.append(self.page.box(x + 5, y))
                self.page.text(x + 5 + box + 2, y + box / 2 - self.page.line_mm * 0.4, option)
                y += max(box * 1.6, self.page.line_mm * 1.25)
            bottoms.append(y)
        self.page.y = max(bottoms) + float(self.style["gap"])  # type: ignore[arg-type]

    def comment(self, text: str, height_mm: float) -> None:
        self.page.text(15, self.page.y, text)
        self.page.y += self.page.line_mm * 1.3
        self.page.draw.rectangle([self.page.px(15), self.page.px(self.page.y), self.page.px(195),
                                  self.page.px(self.page.y + height_mm)], outline=0, width=self.page.px(0.25))
        self.fields.append((len(self.pages), (15 * PT_PER_MM, self.page.y * PT_PER_MM, 180 * PT_PER_MM,
                                              height_mm * PT_PER_MM)))
        self.page.y += height_mm + float(self.style["gap"])  # type: ignore[arg-type]


def questionnaire(seed: int) -> Questionnaire:
    """Four pages (two sheets printed both sides) and the truth of their 18 questions as printed."""
    b = _Builder(seed)
    r = b.rng
    b.new_page()
    b.page.text(15, 16, "Questionnaire on our services", bold=True)
    b.page.text(15, 23, "Please mark your answers with a cross. To correct, fill the box in and mark again.")
    b.page.y = 34
    b.heading("About you")
    blocks = [lambda: b.choice("How old are you?", AGES, "one"),
              lambda: b.yes_no("Have you used our services before?"),
              lambda: b.choice("How did you hear about us?", OPTIONS[:int(r.integers(5, 9))], "any")]
    for k in r.permutation(len(blocks)):
        blocks[int(k)]()
    b.range_("Overall, how satisfied are you?", "not at all", "completely")  # 4 questions
    b.new_page()
    b.heading("Your last visit")
    b.matrix("How do you rate the following?", 5, SCALE)  # 9
    b.yes_no("Did you get what you came for?")  # 10
    b.comment("What could we do better?", float(r.uniform(30, 45)))
    b.new_page()
    b.heading("Opening hours and access")
    if r.random() < 0.5:
        b.choice("When would you like us to be open?", ("mornings", "afternoons", "evenings", "weekends"), "any")
        b.matrix("How far do you agree?", 3, AGREE)
    else:
        b.matrix("How far do you agree?", 3, AGREE)
        b.choice("When would you like us to be open?", ("mornings", "afternoons", "evenings", "weekends"), "any")
    b.range_("How easy was it to find us?", "very hard", "very easy")  # 15
    b.comment("Anything else about access?", float(r.uniform(20, 30)))
    b.new_page()
    b.heading("Finally")
    b.side_by_side()  # 17
    b.choice("Would you recommend us?", ("yes, certainly", "probably", "probably not", "no"), "one", cols=1)  # 18
    b.comment("Your comments", float(r.uniform(25, 40)))
    b.comment("Suggestions for next year", float(r.uniform(15, 25)))
    survey = f"{int(r.integers(1000000, 9999999))}"
    for n, page in enumerate(b.pages, start=1):
        _code(page.img, f"{survey}-{n}", 15)  # the survey and page, the same on every copy
        page.text(100, 283, f"page {n} of {len(b.pages)}", centre=True)
        assert page.y < 270, f"seed {seed}: page {n} runs over ({page.y:.0f} mm)"
    assert len(b.truth) == QUESTIONS, len(b.truth)
    return Questionnaire([p.img for p in b.pages], b.truth, b.fields, survey)


def _code(page: Image.Image, text: str, x_mm: float) -> None:
    """A code128 barcode at the foot of the page (SDAPS's style), bars wide enough for a 150 dpi look."""
    import zxingcpp

    code = np.asarray(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128).to_image(scale=1,
                                                                                            add_quiet_zones=True))
    row = code[code.shape[0] // 2]
    module = round(0.42 * PX_PER_MM)
    bars = np.repeat(row[None, :], round(9 * PX_PER_MM), axis=0).repeat(module, axis=1).astype(np.uint8)
    page.paste(Image.fromarray(bars), (round(x_mm * PX_PER_MM), round(276 * PX_PER_MM)))


def fill(q: Questionnaire, seed: int, questionnaire_id: str) -> tuple[list[np.ndarray], dict[tuple[str, int], str]]:
    """A filled-in copy (300 dpi greyscale pages, before scanning): crosses and ticks in the simulator's pens,
    now and then a box filled in to cancel it (as SDAPS tells people), and the copy's id on every page."""
    rng = np.random.default_rng(seed)
    weights = np.array([w for w, _ in PENS])
    pen = PENS[int(rng.choice(len(PENS), p=weights / weights.sum()))][1]  # as often as people use them
    pages = [np.asarray(p).copy() for p in q.pages]
    states: dict[tuple[str, int], str] = {}
    k = 300 / 72
    for tq in q.truth:
        chosen = set()
        if tq.kind == "any":
            chosen = {i for i in range(len(tq.boxes)) if rng.random() < 0.35}
        elif rng.random() < 0.93:
            chosen = {int(rng.integers(len(tq.boxes)))}
        cancel = -1
        if tq.kind == "one" and chosen and rng.random() < 0.05:
            cancel = int(rng.choice([i for i in range(len(tq.boxes)) if i not in chosen] or [-1]))
        for i, (x, y, w, h) in enumerate(tq.boxes):
            box = (x * k, y * k, w * k, h * k)
            if i in chosen:
                states[(tq.id, i + 1)] = "marked"
                draw_mark(pages[tq.page - 1], box, str(rng.choice(["cross", "cross", "cross", "tick"])), rng, pen,
                          dpi=300)
            elif i == cancel:
                states[(tq.id, i + 1)] = "filled-to-cancel"
                draw_mark(pages[tq.page - 1], box, "cross", rng, pen, dpi=300)
                draw_mark(pages[tq.page - 1], box, "fill", rng, pen, dpi=300)
            else:
                states[(tq.id, i + 1)] = "empty"
    out = []
    for page in pages:
        img = Image.fromarray(page)
        _code(img, questionnaire_id, 120)  # the questionnaire id: this copy's, on each of its pages
        out.append(np.asarray(img))
    return out, states


def scan_stack(copies: list[list[np.ndarray]], seed: int) -> list[tuple[int, int, np.ndarray]]:
    """The copies' pages as an office scans them, in scan order: (copy, form page, 300 dpi 1-bit image).
    Each sheet goes through on its own: about one in six upside down (both its sides), one in five fed back
    side first."""
    rng = np.random.default_rng(seed)
    params = replace(DegradeParams(), upside_down_rate=0.0, max_rotation_deg=3.0)
    out = []
    for c, pages in enumerate(copies):
        for sheet in range(0, len(pages), 2):
            sides = [sheet, sheet + 1] if sheet + 1 < len(pages) else [sheet]
            if rng.random() < 0.2:
                sides.reverse()
            turned = rng.random() < 0.17
            for p in sides:
                d = degrade(pages[p], rng, params, src_dpi=300, out_dpi=300, bitonal=True)
                image = d.image[::-1, ::-1].copy() if turned else d.image
                out.append((c, p + 1, image))
    return out
