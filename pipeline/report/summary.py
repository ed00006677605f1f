"""`papervoice report`: a printed summary to hand back to the people who answered, and for the group to discuss.

Per statement, how people answered: one bar per answer on the scale, labelled with the scale's own words
and the number of people, so it can be followed with little reading.  People receiving support and
practitioners stand side by side, each with how many answered, and a plain caution when fewer than
REPORT_SMALL_N did.  Only comments a person marked in review as fine to share are printed (default: none).

Drawn with reportlab (already what prints the forms): its graphics for the charts, its page layout for
the flow, so a chart is never split across pages; DejaVu Sans is embedded; clear print is 14 pt and up,
large print 18 pt bold.  Colours are the Okabe-Ito blue and orange, told apart with every common
colour-vision deficiency, and every bar also carries its number and words, so nothing depends on colour.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.colors import Color, HexColor, black
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from pipeline import constants as C
from pipeline.atomic import atomic_write
from pipeline.export.sheets import comparison_pair
from pipeline.export.snapshot import FormReport, Snapshot, read_snapshot
from pipeline.form.definition import FormRegistry
from pipeline.form.fonts import font_name, register_fonts, text_width_pt
from pipeline.ledger import open_ledger
from pipeline.options import ReportOptions
from pipeline.text import clean_text, plural

#: Okabe & Ito (2008): distinguishable with protanopia, deuteranopia and tritanopia, and in grey.
PEOPLE_COLOUR = HexColor("#0072B2")
PRACTITIONER_COLOUR = HexColor("#E69F00")
TRACK_COLOUR = Color(0.93, 0.93, 0.93)
MARGIN = 16 * mm


@dataclass(frozen=True)
class Look:
    """Type sizes and weights for one print style."""

    size: float
    bold: bool

    @property
    def font(self) -> str:
        return font_name(self.bold)

    @property
    def heading(self) -> float:
        return self.size * 1.25

    @property
    def title(self) -> float:
        return self.size * 1.6

    @property
    def leading(self) -> float:
        return self.size * 1.3


def look_for(large_print: bool) -> Look:
    return Look(C.REPORT_LARGE_FONT_PT, True) if large_print else Look(C.REPORT_FONT_PT, False)


@dataclass(frozen=True)
class Group:
    """One audience's answers to one statement."""

    name: str
    colour: Color
    counts: list[tuple[int, str, int]]  # (value, words, how many)
    no_answer: int

    @property
    def n(self) -> int:
        return sum(c for _, _, c in self.counts)


def group_for(report: FormReport, item_id: str, name: str, colour: Color) -> Group:
    values = report.settled(item_id)
    counts = [(p.value, p.label or str(p.value), sum(1 for v in values if v == p.value)) for p in report.scale]
    answered = sum(c for _, _, c in counts)
    return Group(name, colour, counts, len(report.copies) - answered)


def audience_name(report: FormReport) -> str:
    form = report.definition
    audience = form.audience if form is not None else ""
    return {"person": "People who get support", "practitioner": "Practitioners"}.get(audience, report.form_id)


class BarChart(Flowable):
    """Horizontal bars, one per answer: the answer's words, a bar as long as its share, and the number."""

    def __init__(self, group: Group, width: float, look: Look) -> None:
        super().__init__()
        self.group, self.width, self.look = group, width, look
        self.row = look.size * 1.9
        self.height = self.row * len(group.counts) + look.size * 0.6

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        # drawn with the canvas itself: reportlab's Drawing renderer sets an (unembedded) Helvetica first
        look, group, canvas = self.look, self.group, self.canv
        words_w = max(text_width_pt(w, look.size, look.bold) for _, w, _ in group.counts) + look.size * 0.6
        number_w = text_width_pt("000", look.size, True) + look.size * 0.4
        bar_w = max(self.width - words_w - number_w, 20.0)
        bar_h = self.row * 0.62
        for k, (_, words, count) in enumerate(reversed(group.counts)):  # the scale top to bottom, as on the form
            y = k * self.row + look.size * 0.3
            baseline = y + (bar_h - look.size * 0.72) / 2
            canvas.setFillColor(black)
            canvas.setFont(look.font, look.size)
            canvas.drawString(0, baseline, words)
            canvas.setFillColor(TRACK_COLOUR)
            canvas.rect(words_w, y, bar_w, bar_h, stroke=0, fill=1)
            share = count / group.n if group.n else 0.0
            if count:
                canvas.setFillColor(group.colour)
                canvas.rect(words_w, y, max(bar_w * share, 2.0), bar_h, stroke=0, fill=1)
            canvas.setFillColor(black)
            canvas.setFont(font_name(True), look.size)
            canvas.drawString(words_w + bar_w * share + look.size * 0.3, baseline, str(count))
        canvas.setStrokeColor(black)
        canvas.setLineWidth(0.8)
        canvas.line(words_w, look.size * 0.1, words_w, (len(group.counts) - 1) * self.row + look.size * 0.5 + bar_h)


def _styles(look: Look) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=look.font, fontSize=look.size, leading=look.leading, spaceAfter=4,
                          bulletFontName=look.font)
    bold = font_name(True)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=look.title, leading=look.title * 1.2,
                                spaceAfter=8),
        "heading": ParagraphStyle("heading", parent=base, fontName=bold, fontSize=look.heading,
                                  leading=look.heading * 1.25, spaceBefore=6, spaceAfter=6),
        "statement": ParagraphStyle("statement", parent=base, fontName=bold, leading=look.leading, spaceAfter=6),
        "panel": ParagraphStyle("panel", parent=base, fontName=bold, spaceAfter=2),
        "caution": ParagraphStyle("caution", parent=base, spaceBefore=2),
        "quote": ParagraphStyle("quote", parent=base, leftIndent=8 * mm, spaceBefore=4, spaceAfter=8),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(clean_text(text)).replace("\n", "<br/>"), style)


def _panel(group: Group, width: float, look: Look, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    cells: list[Flowable] = [_p(group.name, styles["panel"]), _p(f"{plural(group.n, 'answer')}", styles["body"])]
    if group.n:
        cells.append(BarChart(group, width, look))
    else:
        cells.append(_p("No answers yet.", styles["body"]))
    notes = []
    if 0 < group.n < C.REPORT_SMALL_N:
        notes.append(f"Only {group.n} answered: read with care.")
    if group.no_answer:
        notes.append(f"No answer from {group.no_answer}.")
    if notes:
        cells.append(_p(" ".join(notes), styles["caution"]))
    return cells


def _statement_block(number: int, item_id: str, forms: list[tuple[FormReport, Color]], width: float, look: Look,
                     styles: dict[str, ParagraphStyle]) -> Flowable:
    first = forms[0][0]
    text = first.statement(item_id) or item_id
    groups = [group_for(report, item_id, audience_name(report), colour) for report, colour in forms]
    parts: list[Flowable] = [_p(f"{number}. {text}", styles["statement"])]
    gap = 6 * mm
    if len(groups) == 1:
        parts += _panel(groups[0], min(width, 120 * mm), look, styles)
    else:
        panel_w = (width - gap) / 2
        table = Table([[_panel(g, panel_w, look, styles) for g in groups]], colWidths=[panel_w + gap / 2] * 2)
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), look.font),
                                   ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                   ("RIGHTPADDING", (0, 0), (-1, -1), gap / 2)]))
        table.hAlign = "LEFT"
        parts.append(table)
    parts.append(Spacer(1, look.size * 1.2))
    return KeepTogether(parts)


def _story(snapshot: Snapshot, look: Look, width: float, title: str | None) -> list[Flowable]:
    styles = _styles(look)
    forms = [f for f in snapshot.forms if f.copies]
    pair = comparison_pair(forms)
    sets: list[list[tuple[FormReport, Color]]] = []
    if pair is not None:
        sets.append([(pair[0], PEOPLE_COLOUR), (pair[1], PRACTITIONER_COLOUR)])
    sets += [[(f, PEOPLE_COLOUR)] for f in forms if pair is None or f not in pair]
    story: list[Flowable] = []
    if not sets:
        return [_p(title or "Results", styles["title"]), _p("No answers have been returned yet.", styles["body"])]
    for n, group in enumerate(sets):
        if n:
            story.append(PageBreak())
        head = group[0][0]
        form = head.definition
        story.append(_p(title or (form.title if form else head.form_id), styles["title"]))
        who = " and ".join(f"{plural(len(r.copies), 'form')} from {audience_name(r).lower()}" for r, _ in group)
        story.append(_p(f"Thank you. This is what you told us: {who}, returned on paper.", styles["body"]))
        story.append(_p("Each bar shows how many gave that answer. The longer the bar, the more people.",
                        styles["body"]))
        story.append(_p(f"Made on {datetime.now(UTC):%d %B %Y}.", styles["body"]))
        story.append(Spacer(1, look.size))
        items = [i for i in head.item_ids if all(i in r.item_ids for r, _ in group)]
        for k, item_id in enumerate(items, 1):
            story.append(_statement_block(k, item_id, group, width, look, styles))
        story += _comments(group, snapshot.shared, styles, look)
    return story


def _comments(group: list[tuple[FormReport, Color]], shared: set[tuple[int, str]],
              styles: dict[str, ParagraphStyle], look: Look) -> list[Flowable]:
    """Only what a person marked as fine to share; nothing at all otherwise."""
    out: list[Flowable] = []
    for report, _ in group:
        quotes = [c.text for copy in report.copies for c in copy.comments.values()
                  if (c.page_id, c.item) in shared and c.text.strip() and c.settled]
        if not quotes:
            continue
        out.append(CondPageBreak(look.size * 8))
        out.append(_p(f"What {audience_name(report).lower()} wrote", styles["heading"]))
        out.append(_p("Shared with care: only comments checked and marked as fine to share.", styles["body"]))
        out += [_p(f"“{q.strip()}”", styles["quote"]) for q in quotes]
    return out


def _page_footer(look: Look, page_width: float):  # type: ignore[no-untyped-def]
    def draw(canvas, doc) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(look.font, look.size)
        canvas.drawRightString(page_width - MARGIN, MARGIN / 2, f"Page {doc.page}")
        canvas.restoreState()
    return draw


def render_report(snapshot: Snapshot, large_print: bool = False, title: str | None = None) -> bytes:
    """The summary as PDF bytes."""
    register_fonts()
    look = look_for(large_print)
    buffer = io.BytesIO()
    page = landscape(A4) if large_print else A4  # large print: wide enough for two groups' bars side by side
    doc = SimpleDocTemplate(buffer, pagesize=page, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + look.size, title=title or "Results", author="PaperVoice",
                            subject="Summary of results" + (", large print" if large_print else ""),
                            creator="PaperVoice", initialFontName=look.font,  # no unembedded Helvetica
                            initialFontSize=look.size)
    footer = _page_footer(look, page[0])
    doc.build(_story(snapshot, look, doc.width, title), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def write_report(options: ReportOptions, registry: FormRegistry | None = None) -> Path:
    """Read one snapshot of the ledger and write the summary PDF atomically; returns its path."""
    registry = registry if registry is not None else FormRegistry.from_dirs()
    with open_ledger(options.db, readonly=True) as ledger, ledger.consistent_read():
        snapshot = read_snapshot(ledger, registry, options.form)
    output = Path(options.output)
    atomic_write(output, render_report(snapshot, options.large_print, options.title))
    return output
