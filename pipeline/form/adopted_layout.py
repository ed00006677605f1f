"""An adopted form's `Layout`: its measured geometry in the same shape as a native form's.

So `layout --json`, the scanner's evidence crops and every reader of `Layout` see adopted forms exactly as
they see native ones (pt, origin top-left, boxes as outer edges).  There are no registration marks or codes:
returns are aligned by the anchors in the form file (`adopt.match`).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline import constants as C
from pipeline.form.definition import Form
from pipeline.form.layout import Box, ItemRow, Layout, PageLayout, Paper, Rect, TextField

ROW_MARGIN_PT = C.mm(4.0)  # around a question's boxes in the crop a person sees


def nearest_paper(page_size: tuple[float, float]) -> Paper:
    """The paper name closest to the blank's size (only a label: the geometry is the blank's own)."""
    w, h = sorted(page_size)
    a4 = abs(w - C.PAPER_SIZES_PT["a4"][0]) + abs(h - C.PAPER_SIZES_PT["a4"][1])
    letter = abs(w - C.PAPER_SIZES_PT["letter"][0]) + abs(h - C.PAPER_SIZES_PT["letter"][1])
    return "a4" if a4 <= letter else "letter"


def question_rect(boxes: Sequence[Rect], page_size: tuple[float, float]) -> Rect:
    """The boxes of a question with a margin, kept on the page."""
    x0 = max(0.0, min(b.x for b in boxes) - ROW_MARGIN_PT)
    y0 = max(0.0, min(b.y for b in boxes) - ROW_MARGIN_PT)
    x1 = min(page_size[0], max(b.right for b in boxes) + ROW_MARGIN_PT)
    y1 = min(page_size[1], max(b.bottom for b in boxes) + ROW_MARGIN_PT)
    return Rect(x0, y0, x1 - x0, y1 - y0)


def adopted_layout(form: Form) -> Layout:
    geo = form.adopted
    assert geo is not None
    pages = []
    for page in geo.pages:
        boxes: list[Box] = []
        rows: list[ItemRow] = []
        for q in geo.questions_on(page.page):
            qboxes = [Box(b.x, b.y, b.w, b.h, item=q.id, value=b.value) for b in q.boxes]
            boxes.extend(qboxes)
            rows.append(ItemRow(q.id, question_rect(qboxes, geo.page_size)))
        fields = tuple(TextField(f.x, f.y, f.w, f.h, item=f.id) for f in geo.fields_on(page.page))
        pages.append(PageLayout(page=page.page, registration_marks=(), codes=(), boxes=tuple(boxes),
                                text_fields=fields, text_blocks=(), item_rows=tuple(rows)))
    return Layout(form.id, form.version, nearest_paper(geo.page_size), "standard", geo.page_size, tuple(pages))
