"""The layout engine: one pure function from a form to the geometry of every page.

The generator draws exactly what this returns, and the scanner reads by it;
there is no second copy of the geometry anywhere.  Coordinates are points,
origin at the page's top-left corner, y growing downward (the public contract
printed by `papervoice layout --json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from pipeline import constants as C
from pipeline.constants import mm
from pipeline.errors import UsageError
from pipeline.form.definition import Form, Item
from pipeline.form.fonts import ascent_descent, text_width_pt, wrap
from pipeline.form.i18n import RTL_LANGUAGES, Translator, translator

Paper = Literal["a4", "letter"]
Style = Literal["standard", "large-print", "easy-read"]
STYLES: tuple[Style, ...] = ("standard", "large-print", "easy-read")
PAPERS: tuple[Paper, ...] = ("a4", "letter")


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Rect, tolerance: float = 0.01) -> bool:
        return (self.x < other.right - tolerance and other.x < self.right - tolerance
                and self.y < other.bottom - tolerance and other.y < self.bottom - tolerance)


@dataclass(frozen=True)
class Box(Rect):
    """The outer edge of one printed answer square."""

    item: str = ""
    value: int = 0


@dataclass(frozen=True)
class TextField(Rect):
    """A framed free-text area; `line_ys` are the grey writing lines."""

    item: str = ""
    line_ys: tuple[float, ...] = ()


@dataclass(frozen=True)
class TextBlock(Rect):
    """Text set left-aligned (or centred) from the top of the rectangle down."""

    lines: tuple[str, ...] = ()
    size_pt: float = 14.0
    bold: bool = False
    align: Literal["left", "center", "right"] = "left"
    kind: str = "body"
    regular_from: int | None = None  # bold text whose lines from here on are regular: a bilingual print's second

    def bold_at(self, line: int) -> bool:
        """Whether line `line` is set bold (in a bilingual print, the second language is set in regular)."""
        return self.bold and (self.regular_from is None or line < self.regular_from)

    @property
    def line_height(self) -> float:
        return self.size_pt * C.LINE_SPACING

    def baselines(self) -> list[float]:
        ascent, descent = ascent_descent(self.size_pt, self.bold)
        pad = (self.line_height - ascent - descent) / 2
        return [self.y + i * self.line_height + pad + ascent for i in range(len(self.lines))]


@dataclass(frozen=True)
class Example(Rect):
    """A worked example beside the instructions (never read by the scanner)."""

    kind: Literal["tick", "filled"] = "tick"


@dataclass(frozen=True)
class Picture(Rect):
    """A line picture (`pictures.PICTURES`) or, named 'face:<n>/<of>', a face of the Easy Read scale."""

    name: str = ""


@dataclass(frozen=True)
class ItemRow:
    """Where one item's statement and boxes sit: the scanner crops this for review."""

    item: str
    rect: Rect


@dataclass(frozen=True)
class PageLayout:
    page: int
    registration_marks: tuple[Rect, ...]
    codes: tuple[Rect, ...]
    boxes: tuple[Box, ...]
    text_fields: tuple[TextField, ...]
    text_blocks: tuple[TextBlock, ...]
    item_rows: tuple[ItemRow, ...]
    rules: tuple[Rect, ...] = field(default=())  # thin separator lines (h is the stroke width)
    examples: tuple[Example, ...] = field(default=())
    pictures: tuple[Picture, ...] = field(default=())

    @property
    def items(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for box in self.boxes:
            seen.setdefault(box.item, None)
        return tuple(seen)

    def boxes_of(self, item: str) -> tuple[Box, ...]:
        return tuple(b for b in self.boxes if b.item == item)


@dataclass(frozen=True)
class Layout:
    form: str
    version: int
    paper: Paper
    style: Style
    page_size: tuple[float, float]
    pages: tuple[PageLayout, ...]
    language: str = "en"
    direction: Literal["ltr", "rtl"] = "ltr"

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def to_json(self) -> dict[str, Any]:
        """The public contract: pt, top-left origin, y down; boxes are outer edges."""

        def rect(r: Rect) -> dict[str, float]:
            return {"x": round(r.x, 3), "y": round(r.y, 3), "w": round(r.w, 3), "h": round(r.h, 3)}

        return {
            "form": self.form, "version": self.version, "paper": self.paper, "style": self.style,
            "language": self.language, "direction": self.direction,
            "page_size": [round(self.page_size[0], 3), round(self.page_size[1], 3)],
            "pages": [
                {
                    "page": p.page,
                    "registration_marks": [rect(r) for r in p.registration_marks],
                    "codes": [rect(r) for r in p.codes],
                    "boxes": [{"item": b.item, "value": b.value, **rect(b)} for b in p.boxes],
                    "text_fields": [{"item": t.item, **rect(t)} for t in p.text_fields],
                    "text_blocks": [{"kind": t.kind, "text": "\n".join(t.lines), "size_pt": t.size_pt,
                                     "bold": t.bold, **rect(t)} for t in p.text_blocks],
                    "pictures": [{"name": pic.name, **rect(pic)} for pic in p.pictures],
                }
                for p in self.pages
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


@dataclass(frozen=True)
class StyleSpec:
    body_pt: float
    title_pt: float
    heading_pt: float
    label_pt: float
    bold: bool
    box_mm: float
    comment_line_mm: float


STYLE_SPECS: dict[Style, StyleSpec] = {
    "standard": StyleSpec(C.STANDARD_BODY_PT, C.STANDARD_TITLE_PT, C.STANDARD_HEADING_PT, C.STANDARD_LABEL_PT,
                          False, C.STANDARD_BOX_MM, C.COMMENT_LINE_SPACING_MM),
    "large-print": StyleSpec(C.LARGE_BODY_PT, C.LARGE_TITLE_PT, C.LARGE_HEADING_PT, C.LARGE_LABEL_PT,
                             True, C.LARGE_BOX_MM, C.LARGE_COMMENT_LINE_SPACING_MM),
    "easy-read": StyleSpec(C.EASY_READ_BODY_PT, C.EASY_READ_TITLE_PT, C.EASY_READ_HEADING_PT, C.EASY_READ_LABEL_PT,
                           False, C.EASY_READ_BOX_MM, C.EASY_READ_COMMENT_LINE_SPACING_MM),
}


def check_paper_style(paper: str, style: str) -> tuple[Paper, Style]:
    if paper not in PAPERS:
        raise UsageError(f"unknown paper size '{paper}'", "use --paper a4 or --paper letter")
    if style not in STYLES:
        raise UsageError(f"unknown style '{style}'", "use standard, --large-print or --style easy-read")
    return paper, style  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# Page furniture: marks and codes sit in the same place on every page of every form.


def registration_marks(page_w: float, page_h: float) -> tuple[Rect, ...]:
    inset, size = mm(C.REG_MARK_INSET_MM), mm(C.REG_MARK_SIZE_MM)
    return (
        Rect(inset, inset, size, size),
        Rect(page_w - inset - size, inset, size, size),
        Rect(page_w - inset - size, page_h - inset - size, size, size),
        Rect(inset, page_h - inset - size, size, size),
    )


def code_rects(page_w: float, page_h: float) -> tuple[Rect, Rect, Rect, Rect]:
    """QR codes (quiet zone included), inboard of the marks: top right and, opposite, bottom left; then top
    left and bottom right.  A skewed scan that cuts off one pair of opposite corners keeps the other pair,
    whichever way the page turned; a staple or a fold takes one corner at most."""
    inset, q = mm(C.QR_INSET_MM), mm(C.QR_SIZE_MM)
    beside = mm(C.REG_MARK_INSET_MM + C.REG_MARK_SIZE_MM + 2.0)
    top, bottom = inset - mm(1.5), page_h - inset + mm(1.5) - q
    return (
        Rect(page_w - beside - q, top, q, q),
        Rect(beside, bottom, q, q),
        Rect(beside, top, q, q),
        Rect(page_w - beside - q, bottom, q, q),
    )


# ----------------------------------------------------------------------------------------------
# Flowing content.


class _Flow:
    """Places keep-together blocks down the page, starting a new page when one does not fit."""

    def __init__(self, page_w: float, page_h: float) -> None:
        self.left = mm(C.PAGE_MARGIN_MM)
        self.width = page_w - 2 * mm(C.PAGE_MARGIN_MM)
        self.top = mm(C.HEADER_BAND_MM)
        # stop clear of the bottom-left code, with room for the grey rule drawn under the last item
        self.bottom = min(page_h - mm(C.FOOTER_BAND_MM), code_rects(page_w, page_h)[1].y - mm(C.ITEM_GAP_MM))
        self.pages: list[dict[str, list[Any]]] = []
        self.y = self.top
        self.new_page()

    def new_page(self) -> None:
        self.pages.append({"boxes": [], "fields": [], "blocks": [], "rows": [], "rules": [], "examples": [],
                           "pictures": []})
        self.y = self.top

    def place(self, height: float, gap_after: float) -> float:
        """Reserve `height`; returns the top y.  Moves to a fresh page if needed."""
        if self.y + height > self.bottom and self.y > self.top:
            self.new_page()
        if self.y + height > self.bottom:
            raise UsageError("a block of this form is taller than a page",
                             "shorten the text or reduce the number of comment lines")
        top = self.y
        self.y += height + gap_after
        return top

    @property
    def current(self) -> dict[str, list[Any]]:
        return self.pages[-1]


def _text(x: float, y: float, width: float, text: str, size: float, bold: bool, kind: str,
          align: Literal["left", "center"] = "left") -> TextBlock:
    """Wrapped text; a line break in `text` (the two languages of a bilingual print) starts a new line, and in
    bold text the second language is set in regular, so the eye tells the two apart."""
    if bold and "\n" in text:
        first, second = text.split("\n", 1)
        head = wrap(first, size, width, True)
        lines = (*head, *wrap(second, size, width, False))
        return TextBlock(x, y, width, len(lines) * size * C.LINE_SPACING, lines, size, bold, align, kind,
                         regular_from=len(head))
    lines = tuple(wrap(text, size, width, bold))
    return TextBlock(x, y, width, len(lines) * size * C.LINE_SPACING, lines, size, bold, align, kind)


def _shift(block: TextBlock, y: float) -> TextBlock:
    return replace(block, y=y)


def _item_unit(flow: _Flow, form: Form, spec: StyleSpec, item_id: str, text: str) -> None:
    """Statement across the full width; below it one slot per scale point: label above, number beside the box."""
    statement = _text(flow.left, 0, flow.width, text, spec.body_pt, True, "statement")
    slot_w = flow.width / len(form.scale)
    label_w = slot_w - mm(2)
    label_bold = spec.bold and all(text_width_pt(word, spec.label_pt, True) <= label_w
                                   for p in form.scale for word in p.label.split())
    labels = [_text(0, 0, label_w, p.label, spec.label_pt, label_bold, "label", "center") for p in form.scale]
    label_h = max(lbl.h for lbl in labels)
    box = mm(spec.box_mm)
    height = statement.h + mm(2) + label_h + mm(0.5) + box
    top = flow.place(height, mm(C.ITEM_GAP_MM + (2 if spec.bold else 0)))
    page = flow.current
    page["blocks"].append(_shift(statement, top))
    label_top = top + statement.h + mm(2)
    box_top = top + height - box
    number_size = spec.body_pt
    number_h = number_size * C.LINE_SPACING
    number_w = mm(8)
    for n, point in enumerate(form.scale):
        cx = flow.left + n * slot_w + slot_w / 2
        lbl = labels[n]
        page["blocks"].append(replace(lbl, x=cx - label_w / 2, y=label_top + label_h - lbl.h))
        page["boxes"].append(Box(cx - box / 2, box_top, box, box, item=item_id, value=point.value))
        page["blocks"].append(TextBlock(cx - box / 2 - mm(1.5) - number_w, box_top + (box - number_h) / 2, number_w,
                                        number_h, (str(point.value),), number_size, True, "right", "number"))
    page["rows"].append(ItemRow(item_id, Rect(flow.left, top, flow.width, height)))
    _rule_after(flow, top + height)


def _rule_after(flow: _Flow, bottom: float) -> None:
    """A faint rule between items helps the eye keep to one row."""
    rule_y = bottom + mm(C.ITEM_GAP_MM) / 2
    if rule_y < flow.bottom:
        flow.current["rules"].append(Rect(flow.left, rule_y, flow.width, 0.6))


def _easy_read_unit(flow: _Flow, form: Form, spec: StyleSpec, item: Item) -> None:
    """Easy Read: the statement in its own block with its picture beside it; below, a face above each box with
    the scale's words, so the answer can be given by the face alone."""
    pic = mm(C.EASY_READ_PICTURE_MM)
    gap = mm(5)
    statement = _text(flow.left + pic + gap, 0, flow.width - pic - gap, item.text, spec.body_pt, True, "statement")
    head_h = max(pic if item.picture else 0.0, statement.h)
    slot_w = flow.width / len(form.scale)
    label_w = slot_w - mm(2)
    labels = [_text(0, 0, label_w, p.label, spec.label_pt, False, "label", "center") for p in form.scale]
    label_h = max(lbl.h for lbl in labels)
    face = mm(C.EASY_READ_FACE_MM)
    box = mm(spec.box_mm)
    height = head_h + mm(4) + face + mm(1) + label_h + mm(1.5) + box
    top = flow.place(height, mm(C.ITEM_GAP_MM + 2))
    page = flow.current
    if item.picture:
        page["pictures"].append(Picture(flow.left, top, pic, pic, name=item.picture))
    page["blocks"].append(_shift(statement, top + (head_h - statement.h) / 2 if item.picture else top))
    face_top = top + head_h + mm(4)
    label_top = face_top + face + mm(1)
    box_top = top + height - box
    for n, point in enumerate(form.scale):
        cx = flow.left + n * slot_w + slot_w / 2
        lbl = labels[n]
        page["pictures"].append(Picture(cx - face / 2, face_top, face, face, name=f"face:{n}/{len(form.scale)}"))
        page["blocks"].append(replace(lbl, x=cx - label_w / 2, y=label_top))
        page["boxes"].append(Box(cx - box / 2, box_top, box, box, item=item.id, value=point.value))
    page["rows"].append(ItemRow(item.id, Rect(flow.left, top, flow.width, height)))
    _rule_after(flow, top + height)


def _free_text_unit(flow: _Flow, spec: StyleSpec, field_id: str, prompt: str, lines: int,
                    closing: str | None = None, after: tuple[TextBlock, ...] = ()) -> None:
    """Prompt, framed writing area, and (for the last field) the closing words kept with it, then `after`
    (the "other formats and languages" block).

    The last field stretches to use the rest of its page: writing space is what
    people with large handwriting run out of first.
    """
    prompt_block = _text(flow.left, 0, flow.width, prompt, spec.body_pt, True, "prompt")
    closing_block = _text(flow.left, 0, _reading_width(flow), closing, spec.body_pt, True, "closing") \
        if closing else None
    tail = mm(6) + closing_block.h if closing_block else 0.0
    after_h = sum(b.h for b in after) + mm(2) * max(len(after) - 1, 0)
    spacing = mm(spec.comment_line_mm)
    min_lines = max(3, lines - 2)

    def height(n: int) -> float:
        return prompt_block.h + mm(2) + spacing * n + mm(3) + tail

    separate = ()
    if after and height(min_lines) + mm(6) + after_h > flow.bottom - flow.top:
        after, separate = (), after  # too much to keep together on one page: it follows on the next
    elif after:
        tail += mm(6) + after_h

    if flow.y + height(min_lines) > flow.bottom:
        flow.new_page()
    room = flow.bottom - flow.y
    fit = int((room - height(0)) // spacing)
    n = max(min_lines, min(fit, lines + (C.COMMENT_STRETCH_MAX_LINES if closing else 0)))
    top = flow.place(height(n), mm(6))
    page = flow.current
    page["blocks"].append(_shift(prompt_block, top))
    frame_top = top + prompt_block.h + mm(2)
    frame_h = spacing * n + mm(3)
    line_ys = tuple(frame_top + spacing * (i + 1) for i in range(n))
    page["fields"].append(TextField(flow.left, frame_top, flow.width, frame_h, item=field_id, line_ys=line_ys))
    y = frame_top + frame_h
    if closing_block:
        page["blocks"].append(_shift(closing_block, y + mm(6)))
        y += mm(6) + closing_block.h
    y += mm(6) - mm(2)
    for block in after:
        page["blocks"].append(_shift(block, y + mm(2)))
        y += mm(2) + block.h
    if separate:
        _place_together(flow, separate)


def _place_together(flow: _Flow, blocks: tuple[TextBlock, ...]) -> None:
    top = flow.place(sum(b.h for b in blocks) + mm(2) * (len(blocks) - 1), mm(4))
    for block in blocks:
        flow.current["blocks"].append(_shift(block, top))
        top += block.h + mm(2)


def _reading_width(flow: _Flow) -> float:
    """Running text is kept to a comfortable line length; statements use the full width."""
    return min(flow.width, mm(C.READING_WIDTH_MM))


def _examples(flow: _Flow, spec: StyleSpec, tr: Translator) -> None:
    """A ticked box and a filled-in box with what each means: the rule shown, not only told."""
    box = mm(spec.box_mm)
    size = spec.body_pt
    texts = (tr("This is my answer"), tr("Filled in: I changed my mind, ignore this box"))
    gap = mm(4)
    col_w = flow.width / 2
    blocks = [_text(0, 0, col_w - box - gap - mm(4), t, size, spec.bold, "example") for t in texts]
    height = max(box, *(b.h for b in blocks))
    top = flow.place(height, mm(6))
    kinds: tuple[Literal["tick", "filled"], ...] = ("tick", "filled")
    for n, (kind, block) in enumerate(zip(kinds, blocks, strict=True)):
        x = flow.left + n * col_w
        flow.current["examples"].append(Example(x + mm(1), top + (height - box) / 2, box, box, kind=kind))
        flow.current["blocks"].append(replace(block, x=x + mm(1) + box + gap, y=top + (height - block.h) / 2))


def _paragraph(flow: _Flow, text: str, size: float, bold: bool, kind: str, gap_mm: float) -> None:
    block = _text(flow.left, 0, _reading_width(flow), text, size, bold, kind)
    top = flow.place(block.h, mm(gap_mm))  # first: place() may start a new page
    flow.current["blocks"].append(_shift(block, top))


def _bullets(flow: _Flow, spec: StyleSpec, lines: tuple[str, ...]) -> None:
    indent = mm(7)
    blocks = [_text(flow.left + indent, 0, _reading_width(flow) - indent, line, spec.body_pt, spec.bold,
                    "instruction")
              for line in lines]
    gap = mm(1.5)
    height = sum(b.h for b in blocks) + gap * (len(blocks) - 1)
    y = flow.place(height, mm(4))
    for block in blocks:
        flow.current["blocks"].append(_shift(block, y))
        flow.current["blocks"].append(TextBlock(flow.left + mm(1), y, indent - mm(2), block.line_height, ("•",),
                                                spec.body_pt, True, "left", "bullet"))
        y += block.h + gap


def _ellipsize(line: str, size: float, width: float, bold: bool) -> str:
    """Shorten a running header that does not fit, visibly (with an ellipsis) rather than silently."""
    words = line.split()
    while len(words) > 1 and text_width_pt(" ".join(words) + " …", size, bold) > width:
        words.pop()
    return " ".join(words) + " …"


def _other_formats(flow: _Flow, form: Form, spec: StyleSpec, tr: Translator) -> tuple[TextBlock, ...]:
    """The form says it comes in other formats and languages, and who to ask how the answers are used.

    Printed when the form file gives a `contact:` (or says `other_formats: true`): adding it to a form
    already printed would move its last writing field, so it comes with a new version of the form."""
    if not (form.contact or form.other_formats):
        return ()
    heading = _text(flow.left, 0, _reading_width(flow), tr("Other formats and languages"), spec.heading_pt, True,
                    "heading")
    if form.contact:
        words = tr("This form is available in other formats and languages, such as large print, Easy Read or "
                   "Welsh. To ask for one, or to ask how we use your answers, contact: {contact}",
                   contact=form.contact)
    else:
        words = tr("This form is available in other formats and languages, such as large print, Easy Read or "
                   "Welsh. To ask for one, or to ask how we use your answers, ask the person who gave you this form.")
    body = _text(flow.left, 0, _reading_width(flow), words, spec.body_pt, spec.bold, "other-formats")
    return heading, body


def _identity_blocks(layout_pages: int, page: int, form: Form, style: Style, page_w: float,
                     page_h: float, codes: tuple[Rect, Rect, Rect, Rect], spec: StyleSpec,
                     tr: Translator) -> list[TextBlock]:
    """Running header/footer a person reads: title and 'page n of N'."""
    blocks: list[TextBlock] = []
    top_right, bottom_left, top_left, bottom_right = codes
    left = top_left.right + mm(3)
    top_band = mm(C.REG_MARK_INSET_MM + C.REG_MARK_SIZE_MM + 1.5)
    header_w = top_right.x - mm(3) - left
    size = C.STANDARD_BODY_PT if style == "standard" else C.LARGE_LABEL_PT
    header = _text(left, top_band, header_w, form.title.split("\n")[0], size, spec.bold, "running-header")
    first = header.lines[0] if len(header.lines) == 1 else _ellipsize(header.lines[0], size, header_w, spec.bold)
    if page > 1:  # page 1 carries the full title already
        blocks.append(TextBlock(header.x, header.y, header.w, size * C.LINE_SPACING, (first,), size, spec.bold,
                                "left", "running-header"))
    footer_text = (tr("Page {page} of {pages} - continues on the next page", page=page, pages=layout_pages)
                   if page < layout_pages else tr("Page {page} of {pages}", page=page, pages=layout_pages))
    fx = bottom_left.right + mm(3)
    fw = bottom_right.x - mm(3) - fx
    footer = _text(fx, 0, fw, footer_text, size, True, "page-number", "center")
    # the copy's identity in small print; the generator fills in the text per copy
    ident_h = C.IDENT_TEXT_SIZE_PT * C.LINE_SPACING
    ident_y = page_h - mm(C.REG_MARK_INSET_MM) - ident_h
    blocks.append(_shift(footer, ident_y - mm(1) - footer.h))
    blocks.append(TextBlock(fx, ident_y, fw, ident_h, ("",), C.IDENT_TEXT_SIZE_PT, False, "center", "identity"))
    return blocks


@lru_cache(maxsize=64)
def compute_layout(form: Form, paper: str = "a4", style: str = "standard") -> Layout:
    """Lay out `form` on `paper` in `style`.  Pure and cached: the same inputs give the same geometry.

    An adopted form has one layout, measured from its blank: paper and style do not change it."""
    if form.adopted is not None:
        from pipeline.form.adopted_layout import adopted_layout

        return adopted_layout(form)
    paper_, style_ = check_paper_style(paper, style)
    page_w, page_h = C.PAPER_SIZES_PT[paper_]
    spec = STYLE_SPECS[style_]
    flow = _Flow(page_w, page_h)
    tr = translator(form.language)

    _paragraph(flow, form.title, spec.title_pt, True, "title", 4)
    _paragraph(flow, form.introduction, spec.body_pt, spec.bold, "introduction", 4)
    _paragraph(flow, tr("How to fill in this form"), spec.heading_pt, True, "heading", 2)
    _bullets(flow, spec, form.instructions)
    _examples(flow, spec, tr)
    for section in form.sections:
        if section.heading:
            heading = _text(flow.left, 0, flow.width, section.heading, spec.heading_pt, True, "heading")
            # keep a heading with the first item below it
            if flow.y + heading.h + mm(80 if style_ == "easy-read" else 45) > flow.bottom:
                flow.new_page()
            top = flow.place(heading.h, mm(2))  # first: place() may start a new page
            flow.current["blocks"].append(_shift(heading, top))
        if section.intro:
            _paragraph(flow, section.intro, spec.body_pt, spec.bold, "section-intro", 3)
        for item in section.items:
            if style_ == "easy-read":
                _easy_read_unit(flow, form, spec, item)
            else:
                _item_unit(flow, form, spec, item.id, item.text)
    other = _other_formats(flow, form, spec, tr)
    for n, ft in enumerate(form.free_text):
        last = n == len(form.free_text) - 1
        _free_text_unit(flow, spec, ft.id, ft.prompt, ft.lines, form.closing if last else None,
                        other if last else ())
    if form.closing and not form.free_text:
        _paragraph(flow, form.closing, spec.body_pt, True, "closing", 6)
    if other and not form.free_text:
        _place_together(flow, other)

    marks = registration_marks(page_w, page_h)
    codes = code_rects(page_w, page_h)
    total = len(flow.pages)
    pages = tuple(
        PageLayout(
            page=n + 1,
            registration_marks=marks,
            codes=codes,
            boxes=tuple(p["boxes"]),
            text_fields=tuple(p["fields"]),
            text_blocks=tuple(p["blocks"]) + tuple(_identity_blocks(total, n + 1, form, style_, page_w, page_h,
                                                                    codes, spec, tr)),
            item_rows=tuple(p["rows"]),
            rules=tuple(p["rules"]),
            examples=tuple(p["examples"]),
            pictures=tuple(p["pictures"]),
        )
        for n, p in enumerate(flow.pages)
    )
    rtl = form.language.split("+")[0] in RTL_LANGUAGES
    if rtl:
        pages = tuple(_mirrored(p, page_w) for p in pages)
    return Layout(form.id, form.version, paper_, style_, (page_w, page_h), pages, form.language,
                  "rtl" if rtl else "ltr")


def _mirrored(page: PageLayout, page_w: float) -> PageLayout:
    """A right-to-left form: everything but the marks and codes mirrored left to right, so text starts at the
    right, the scale runs from the right (its first point rightmost) and each number sits to the right of its
    box.  The scanner reads by this same geometry."""

    def flip(r: Any) -> Any:
        return replace(r, x=page_w - r.x - r.w)

    swap = {"left": "right", "right": "left", "center": "center"}
    blocks = tuple(replace(flip(b), align=swap[b.align]) if b.kind not in ("identity", "page-number") else b
                   for b in page.text_blocks)
    return replace(page, boxes=tuple(flip(b) for b in page.boxes), text_fields=tuple(flip(t) for t in page.text_fields),
                   text_blocks=blocks, item_rows=tuple(replace(r, rect=flip(r.rect)) for r in page.item_rows),
                   rules=tuple(flip(r) for r in page.rules), examples=tuple(flip(e) for e in page.examples),
                   pictures=tuple(flip(p) for p in page.pictures))


def text_fits(block: TextBlock) -> bool:
    """Every line of a block fits its width (used by the layout tests)."""
    return all(text_width_pt(line, block.size_pt, block.bold_at(n)) <= block.w + 0.5
               for n, line in enumerate(block.lines))
