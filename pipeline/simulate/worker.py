"""Worker side: render, mark, write, scan and encode the pages of one copy (or one junk page)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from pipeline.constants import PAPER_SIZES_PT
from pipeline.form.definition import Form
from pipeline.form.generate import render_pdf
from pipeline.form.layout import PageLayout, compute_layout
from pipeline.simulate.handwriting import write_comment
from pipeline.simulate.marks import draw_mark
from pipeline.simulate.plan import CopyPlan, FilePlan, PagePlan
from pipeline.simulate.render import rect_px, render_pdf_pages
from pipeline.simulate.scanning import blank_page, degrade, encode, letter_page
from pipeline.simulate.world import PX_PER_PT, DegradeParams


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
            boxes = page.boxes_of(item)
            box = next(b for b in boxes if b.value == value)
            if kind == "between":  # one mark midway between this box and the next
                after = next(b for b in boxes if b.value == value + 1)
                box = replace(box, x=(box.x + after.x) / 2)
                kind = "wtick"
            draw_mark(img, rect_px(box), kind, rng, copy.pen)
    written: dict[str, str] = {}
    for tf in page.text_fields:
        text, hand = copy.comments.get(tf.item, ("", None))
        if text and hand is not None:
            written[tf.item] = write_comment(img, tf, text, hand, rng)
    return written



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
        pdf = render_pdf(task.form, layout, [task.copy.serial], survey=task.copy.survey)
        prints = render_pdf_pages(pdf, 1, layout.page_count)
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

