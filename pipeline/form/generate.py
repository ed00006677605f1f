"""The `generate` stage: print-ready PDF copies of a form, each with its own serial.

Draws exactly the geometry `compute_layout` returns (converting from the
layout's top-left origin to PDF's bottom-left), so what the scanner expects is
what was printed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.colors import Color, black, white
from reportlab.pdfgen.canvas import Canvas

from pipeline import constants as C
from pipeline.atomic import atomic_write
from pipeline.errors import UsageError
from pipeline.form.definition import Form
from pipeline.form.fonts import font_name, needs_runs, placed_words, register_fonts, text_width_pt
from pipeline.form.i18n import translator
from pipeline.form.identity import PRINT_FILE_KEYWORD, PageIdentity, qr_matrix, serial_for
from pipeline.form.layout import Layout, PageLayout, Rect, TextBlock, compute_layout
from pipeline.form.pictures import PICTURES, Stroke, face
from pipeline.form.printable import check_printable
from pipeline.ledger.store import Ledger, SerialsMoved
from pipeline.text import clean_text

#: Called with (copies drawn, copies in all) while a long print file is drawn.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerateResult:
    output: Path
    serials: list[str]
    pages: int
    manifest: Path | None
    label: str | None = None


def generate(form: Form, copies: int, output: Path, *, ledger: Ledger, paper: str = "a4",
             style: str = "standard", manifest: Path | None = None, progress: Progress | None = None,
             label: str | None = None) -> GenerateResult:
    """Draw `copies` copies with the next serials, then record the serials and write the PDF (and manifest)
    in one step: issued means printed.  Interrupted or failed anywhere before the PDF is in place, nothing
    is recorded, and running the same command again issues the same serials.  `label` names a team, site or
    batch for these copies (kept in the ledger, not printed): every export carries it, so results can be split."""
    if form.adopted is not None:
        raise UsageError(f"'{form.id}' is an adopted form: PaperVoice reads its returns but does not print it",
                         "print copies from the original form as before, then scan the returns with 'papervoice scan'")
    output, manifest = Path(output), Path(manifest) if manifest is not None else None
    for path, what in ((output, "-o"), (manifest, "--manifest")):
        if path is not None and path.is_dir():
            raise UsageError(f"{path} is a folder; {what} needs a file name",
                             f"give a file name, e.g. {what} {path / ('copies.pdf' if what == '-o' else 'copies.csv')}")
    check_printable(form, style)
    layout = compute_layout(form, paper, style)
    label = clean_label(label)
    for _ in range(5):
        start = ledger.next_serial_number()
        serials = [serial_for(n) for n in range(start, start + copies)]
        pdf = render_pdf(form, layout, serials, survey=ledger.survey_id, progress=progress)
        written: list[Path] = []

        def write(pdf: bytes = pdf, serials: list[str] = serials, written: list[Path] = written) -> None:
            atomic_write(output, pdf)
            written.append(output)
            if manifest is not None:
                atomic_write(manifest, _manifest(layout, serials))
                written.append(manifest)

        try:
            ledger.issue_serials(form.id, form.version, layout.style, layout.paper, layout.page_count, copies,
                                 str(output), start=start, then=write, survey_printed=ledger.survey_id is not None,
                                 language=print_language(form), label=label)
        except SerialsMoved:
            continue  # another PaperVoice issued serials meanwhile: number again
        except BaseException:
            for path in written:  # the ledger did not record them: a PDF of unissued serials must not stay
                path.unlink(missing_ok=True)
            raise
        return GenerateResult(output, serials, copies * layout.page_count, manifest, label)
    raise UsageError("other PaperVoice commands kept issuing serials in this ledger at the same time",
                     "run generate again when the others have finished")


def print_language(form: Form) -> str | None:
    """The language a print of `form` carries in its codes and its batch: None for the form file's own."""
    return form.language if form.translated or "+" in form.language else None


def clean_label(label: str | None) -> str | None:
    """A print label as stored: one line of plain text, at most LABEL_MAX_CHARS; empty means none."""
    if label is None:
        return None
    text = " ".join(clean_text(label).split())
    if len(text) > C.LABEL_MAX_CHARS:
        raise UsageError(f"the label is {len(text)} characters long; at most {C.LABEL_MAX_CHARS} are kept",
                         'use a short name for the team, site or batch, e.g. --label "North team"')
    return text or None


def _manifest(layout: Layout, serials: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["serial", "pdf_page", "form_page"])
    pdf_page = 0
    for serial in serials:
        for page in layout.pages:
            pdf_page += 1
            writer.writerow([serial, pdf_page, page.page])
    return buf.getvalue().encode("utf-8")


def render_pdf(form: Form, layout: Layout, serials: list[str], survey: str | None = None,
               progress: Progress | None = None) -> bytes:
    """The print file.  `survey` is the issuing ledger's id, printed in the codes and the small print."""
    register_fonts()
    buf = io.BytesIO()
    # the document's language, for screen readers reading the PDF aloud (the first of a bilingual print)
    canvas = Canvas(buf, pagesize=layout.page_size, pageCompression=1, initialFontName=font_name(False),
                    lang=form.language.split("+")[0])
    canvas.setTitle(form.title)
    canvas.setAuthor("PaperVoice")
    canvas.setSubject(f"{form.id} version {form.version}, {layout.style}, {layout.paper.upper()}")
    canvas.setCreator("PaperVoice")
    canvas.setKeywords(PRINT_FILE_KEYWORD)
    for done, serial in enumerate(serials):
        for page in layout.pages:
            ident = PageIdentity(form.id, form.version, layout.style, layout.paper, page.page, layout.page_count,
                                 serial, survey, print_language(form))
            draw_page(canvas, layout, page, ident)
            canvas.showPage()
        if progress is not None:
            progress(done + 1, len(serials))
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

    tr = translator(layout.language.split("+")[0])
    for block in page.text_blocks:
        lines = (ident.human(tr),) if block.kind == "identity" else block.lines
        for n, (line, baseline) in enumerate(zip(lines, block.baselines(), strict=True)):
            bold = block.bold_at(n)
            canvas.setFont(font_name(bold), block.size_pt)
            _draw_line(canvas, block, line, page_h - baseline, bold)

    _draw_pictures(canvas, page, page_h)

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


def _draw_line(canvas: Canvas, block: TextBlock, line: str, y: float, bold: bool) -> None:
    """One line of a block.  Lines of one face and no shaping are drawn whole; others word by word, each in the
    face of its script, shaped, right-to-left lines ordered from the right (`fonts.placed_words`)."""
    if not needs_runs(line, bold):
        if block.align == "center":
            canvas.drawCentredString(block.cx, y, line)
        elif block.align == "right":
            canvas.drawRightString(block.right, y, line)
        else:
            canvas.drawString(block.x, y, line)
        return
    width = text_width_pt(line, block.size_pt, bold)
    x0 = {"center": block.cx - width / 2, "right": block.right - width}.get(block.align, block.x)
    for dx, drawn, face_name in placed_words(line, block.size_pt, bold):
        canvas.setFont(face_name, block.size_pt)
        canvas.drawString(x0 + dx, y, drawn)
    canvas.setFont(font_name(bold), block.size_pt)


def _draw_pictures(canvas: Canvas, page: PageLayout, page_h: float) -> None:
    """Easy Read pictures and faces: strokes in a 100-unit square scaled into each picture's rectangle."""
    canvas.setStrokeColor(black)
    canvas.setFillColor(black)
    canvas.setLineCap(1)
    canvas.setLineJoin(1)
    for pic in page.pictures:
        if pic.name.startswith("face:"):
            n, of = (int(v) for v in pic.name[5:].split("/"))
            strokes: tuple[Stroke, ...] = face(n, of)
        else:
            strokes = PICTURES[pic.name]
        k = pic.w / 100.0
        canvas.setLineWidth(C.PICTURE_LINE_WIDTH_PT * (0.75 if pic.name.startswith("face:") else 1.0))

        def pt(x: float, y: float, pic: Rect = pic, k: float = k) -> tuple[float, float]:
            return pic.x + x * k, page_h - (pic.y + y * k)

        for stroke in strokes:
            kind = stroke[0]
            if kind in ("circle", "dot"):
                cx, cy = pt(stroke[1], stroke[2])
                canvas.circle(cx, cy, stroke[3] * k, stroke=1, fill=int(kind == "dot"))
            elif kind == "line":
                (x1, y1), (x2, y2) = pt(stroke[1], stroke[2]), pt(stroke[3], stroke[4])
                canvas.line(x1, y1, x2, y2)
            elif kind == "rect":
                x, y = pt(stroke[1], stroke[2] + stroke[4])
                canvas.rect(x, y, stroke[3] * k, stroke[4] * k, stroke=1, fill=0)
            elif kind == "arc":
                cx, cy = pt(stroke[1], stroke[2])
                r = stroke[3] * k
                canvas.arc(cx - r, cy - r, cx + r, cy + r, stroke[4], stroke[5])
            else:  # poly
                path = canvas.beginPath()
                points = [pt(x, y) for x, y in stroke[1]]
                path.moveTo(*points[0])
                for p in points[1:]:
                    path.lineTo(*p)
                if stroke[2]:
                    path.close()
                canvas.drawPath(path, stroke=1, fill=0)
    canvas.setLineCap(0)
    canvas.setLineJoin(0)


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
