"""Visual debugging: draw what the scanner saw over the registered page.

Boxes are coloured by state (green marked, blue filled, red unclear, grey
empty), items by outcome, comment fields by written/blank, and the fit
residual is printed at the top.  Written with `scan --debug-dir DIR`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from pipeline.form.layout import PageLayout
from pipeline.scan.results import BoxReading, CommentReading, ItemReading

if TYPE_CHECKING:
    from pipeline.scan.register import Registration

STATE_COLOURS = {"marked": (0, 170, 0), "filled": (200, 80, 0), "uncertain": (0, 0, 230), "empty": (150, 150, 150)}
ITEM_COLOURS = {"answered": (0, 150, 0), "blank": (120, 120, 120), "flagged": (0, 0, 230)}


def draw_overlay(canon: np.ndarray, page: PageLayout, boxes: Sequence[BoxReading], items: Sequence[ItemReading],
                 comments: Sequence[CommentReading], reg: Registration, px_per_pt: float) -> np.ndarray:
    out = cv2.cvtColor(canon, cv2.COLOR_GRAY2BGR)

    def pt(x: float, y: float) -> tuple[int, int]:
        return round(x * px_per_pt), round(y * px_per_pt)

    for mark in page.registration_marks:
        cv2.rectangle(out, pt(mark.x - 3, mark.y - 3), pt(mark.right + 3, mark.bottom + 3), (255, 0, 255), 2)
    layout_boxes = {(b.item, b.value): b for b in page.boxes}
    mm_to_pt = 72 / 25.4
    for reading in boxes:
        box = layout_boxes[(reading.item, reading.value)]
        dx, dy = reading.dx_mm * mm_to_pt, reading.dy_mm * mm_to_pt
        colour = STATE_COLOURS[reading.state]
        cv2.rectangle(out, pt(box.x + dx, box.y + dy), pt(box.right + dx, box.bottom + dy), colour, 2)
        cv2.putText(out, f"{reading.coverage:.2f}", pt(box.x, box.bottom + 9), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    colour, 1, cv2.LINE_AA)
    for item in items:
        row = next(r for r in page.item_rows if r.item == item.item)
        colour = ITEM_COLOURS[item.state]
        label = f"{item.item}: {item.value if item.value is not None else '-'} {item.state}"
        if item.reason:
            label += f" ({item.reason})"
        origin = pt(row.rect.right - 150, row.rect.y + 10)
        (w, h), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
        # on a white patch, so the reading stays legible over the printed statement
        cv2.rectangle(out, (origin[0] - 2, origin[1] - h - 3), (origin[0] + w + 2, origin[1] + 4), (255, 255, 255),
                      -1)
        cv2.putText(out, label, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    for field, comment in zip(page.text_fields, comments, strict=False):
        colour = (0, 140, 255) if comment.written else (150, 150, 150)
        cv2.rectangle(out, pt(field.x, field.y), pt(field.right, field.bottom), colour, 2)
        cv2.putText(out, f"{field.item}: {'written' if comment.written else 'blank'} ink={comment.ink_fraction:.4f}",
                    pt(field.x + 4, field.y + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    summary = (f"fit {reg.residual_mm:.2f} mm, marks {reg.marks_found}/4, codes {reg.codes_found}/4, "
               f"rotation {reg.rotation_deg:.1f} deg")
    cv2.putText(out, summary, (10, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 230) if not reg.is_good() else
                (0, 120, 0), 1, cv2.LINE_AA)
    return out
