"""The `generate` stage: print-ready PDF copies of a form, each with its own serial.

Draws exactly the geometry `compute_layout` returns (converting from the
layout's top-left origin to PDF's bottom-left), so what the scanner expects is
what was printed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.colors import Color, black, white
from reportlab.pdfgen.canvas import Canvas

from pipeline import constants as C
from pipeline.atomic import atomic_write
from pipeline.form.definition import Form
from pipeline.form.fonts import font_name, register_fonts
from pipeline.form.identity import PageIdentity, qr_matrix
from pipeline.form.layout import Layout, PageLayout, Rect, compute_layout
from pipeline.ledger.store import Ledger


@dataclass(frozen=True)
class GenerateResult:
    output: Path
    serials: list[str]
    pages: int
    manifest: Path | None


def generate(form: Form, copies: int, output: Path, *, ledger: Ledger, paper: str = "a4",
             style: str = "standard", manifest: Path | None = None) -> GenerateResult:
    """Issue `copies` serials in the ledger, then write the PDF (and manifest) atomically."""
    if form.adopted is not None:
        from pipeline.errors import UsageError

        raise UsageError(f"'{form.id}' is an adopted form: PaperVoice reads its returns but does not print it",
                         "print copies from the original form as before, then scan the returns with 'papervoice scan'")
    layout = compute_layout(form, paper, style)
    serials = ledger.issue_serials(form.id, form.version, layout.style, layout.paper, layout.page_count, copies,
                                   str(output))
    pdf = render_pdf(form, layout, serials)
    atomic_write(output, pdf)
    if manifest is not None:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["serial", "pdf_page", "form_page"])
        pdf_page = 0
        for serial in serials:
            for page in layout.pages:
                pdf_page += 1
                writer.writerow([serial, pdf_page, page.page])
        atomic_write(manifest, buf.getvalue().encode("utf-8"))
    return GenerateResult(output, serials, copies * layout.page_count, manifest)


def render_pdf(form: Form, layout: Layout, serials: list[str]) -> bytes:
    register_fonts()
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=layout.page_size, pageCompression=1, initialFontName=font_name(False))
    canvas.setTitle(form.title)
    canvas.setAuthor("PaperVoice")
    canvas.setSubject(f"{form.id} version {form.version}, {layout.style}, {layout.paper.upper()}")
    canvas.setCreator("PaperVoice")
    for serial in serials:
        for page in layout.pages:
            ident = PageIdentity(form.id, form.version, layout.style, layout.paper, page.page, layout.page_count,
                                 serial)
            draw_page(canvas, layout, page, ident)
            canvas.showPage()
    canvas.save()
    return buf.getvalue()


def draw_page(canvas: Canvas, layout: Layout, page: PageLayout, ident: PageIdentity) -> None:
    page_h = layout.page_size[1]

    def box(r: Rect, stroke: bool, fill: bool) -> None:
        canvas.rect(r.x, page_h - r.y - r.h, r.w, r.h, stroke=int(stroke), fill=int(fill))

    canvas.setFillColor(black)
    for mark in page.registration_marks:
        box(mark, False, True)
    payload = ident.payload()
    for code in page.codes:
        _draw_qr(canvas, code, page_h, payload)

    for block in page.text_blocks:
        lines = (ident.human(),) if block.kind == "identity" else block.lines
        canvas.setFont(font_name(block.bold), block.size_pt)
        for line, baseline in zip(lines, block.baselines(), strict=True):
            if block.align == "center":
                canvas.drawCentredString(block.cx, page_h - baseline, line)
            elif block.align == "right":
                canvas.drawRightString(block.right, page_h - baseline, line)
            else:
                canvas.drawString(block.x, page_h - baseline, line)

    grey = Color(C.COMMENT_LINE_GREY, C.COMMENT_LINE_GREY, C.COMMENT_LINE_GREY)
    canvas.setStrokeColor(grey)
    for rule in page.rules:
        canvas.setLineWidth(rule.h)
        canvas.line(rule.x, page_h - rule.y, rule.right, page_h - rule.y)

    canvas.setStrokeColor(black)
    canvas.setLineWidth(C.BOX_LINE_WIDTH_PT)
    for b in page.boxes:
        # stroke inside the outer edge, so the layout's rectangle is the printed outer edge
        half = C.BOX_LINE_WIDTH_PT / 2
        box(Rect(b.x + half, b.y + half, b.w - 2 * half, b.h - 2 * half), True, False)

    for example in page.examples:
        half = C.BOX_LINE_WIDTH_PT / 2
        box(Rect(example.x + half, example.y + half, example.w - 2 * half, example.h - 2 * half), True,
            example.kind == "filled")
        if example.kind == "tick":
            canvas.setLineWidth(2.2)
            x, y, w = example.x, page_h - example.bottom, example.w
            path = canvas.beginPath()
            path.moveTo(x + 0.2 * w, y + 0.5 * w)
            path.lineTo(x + 0.42 * w, y + 0.22 * w)
            path.lineTo(x + 0.85 * w, y + 0.85 * w)
            canvas.drawPath(path, stroke=1, fill=0)
            canvas.setLineWidth(C.BOX_LINE_WIDTH_PT)

    for field in page.text_fields:
        canvas.setStrokeColor(black)
        canvas.setLineWidth(C.COMMENT_FRAME_WIDTH_PT)
        half = C.COMMENT_FRAME_WIDTH_PT / 2
        box(Rect(field.x + half, field.y + half, field.w - 2 * half, field.h - 2 * half), True, False)
        canvas.setStrokeColor(grey)
        canvas.setLineWidth(0.8)
        for y in field.line_ys:
            canvas.line(field.x + C.mm(4), page_h - y, field.right - C.mm(4), page_h - y)
    canvas.setStrokeColor(black)


def _draw_qr(canvas: Canvas, rect: Rect, page_h: float, payload: str) -> None:
    modules = qr_matrix(payload)
    n = len(modules) + 2 * C.QR_QUIET_MODULES
    cell = rect.w / n
    canvas.setFillColor(white)
    canvas.rect(rect.x, page_h - rect.y - rect.h, rect.w, rect.h, stroke=0, fill=1)
    canvas.setFillColor(black)
    for r, row in enumerate(modules):
        run_start = None
        for c, dark in enumerate([*row, False]):
            if dark and run_start is None:
                run_start = c
            elif not dark and run_start is not None:
                x = rect.x + (run_start + C.QR_QUIET_MODULES) * cell
                y = rect.y + (r + C.QR_QUIET_MODULES) * cell
                canvas.rect(x, page_h - y - cell, cell * (c - run_start), cell, stroke=0, fill=1)
                run_start = None


def blank_form_pdf(form: Form, paper: str = "a4", style: str = "standard", serial: str = "000000A") -> bytes:
    """One unissued copy, for previews."""
    return render_pdf(form, compute_layout(form, paper, style), [serial])
