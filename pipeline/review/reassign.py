"""Reading a kept page again once a person has said which form, copy and page it is.

A page whose codes were all lost (torn, scribbled over, cut off by the scanner)
is kept in the ledger as a picture.  When a person assigns it in review, this
reads its boxes and comments under that identity, registering it by its corner
marks, so its answers join the copy's instead of being typed in by hand.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.definition import FormRegistry
from pipeline.form.identity import PageIdentity
from pipeline.form.layout import STYLES, compute_layout
from pipeline.ledger.queries import issued_copy, kept_page
from pipeline.ledger.store import Ledger
from pipeline.scan.ocr import DEFAULT_ENGINE
from pipeline.scan.reader import ReaderConfig, read_page
from pipeline.scan.results import PageResult, PageSource


def read_assigned_page(ledger: Ledger, page_id: int, form_id: str, version: int, serial: str, page_no: int,
                       registry: FormRegistry, ocr: str = DEFAULT_ENGINE) -> PageResult | None:
    """Read the kept picture of `page_id` as page `page_no` of copy `serial`; record and return the result.

    Returns None when no reading fits (the page stays assigned, for its answers to be entered by hand).
    """
    result = read_assigned(ledger, page_id, form_id, version, serial, page_no, registry, ocr)
    if result is not None:
        ledger.record_reread(page_id, result)
    return result


def read_assigned(ledger: Ledger, page_id: int, form_id: str, version: int, serial: str, page_no: int,
                  registry: FormRegistry, ocr: str = DEFAULT_ENGINE) -> PageResult | None:
    """The reading of the kept picture of `page_id` as page `page_no` of copy `serial`, recorded nowhere
    (review records it with the person's decision, in one transaction: `Ledger.assign_page`).

    The copy's style and paper come from the ledger when it issued the serial; otherwise each is tried.
    Returns None when no reading fits."""
    page = kept_page(ledger, page_id)
    if page is None or page.image_id is None:
        return None
    kept = ledger.image(page.image_id)
    if kept is None:
        return None
    image = cv2.imdecode(np.frombuffer(kept[1], np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    language = ledger.batch_language(serial)  # a translation or bilingual print is read by its own layout
    form = registry.find(form_id, version, language)
    if form is None:
        return None
    issued = issued_copy(ledger, serial)
    options = [(issued.style, issued.paper)] if issued else [(s, p) for s in STYLES for p in ("a4", "letter")]
    source = PageSource(page.file_path, page.page_index)
    config = ReaderConfig(tuple(str(p) for p in registry.dirs), ocr)
    for style, paper in options:
        layout = compute_layout(form, paper, style)
        if not 1 <= page_no <= layout.page_count:
            continue
        identity = PageIdentity(form.id, form.version, style, paper, page_no, layout.page_count, serial,
                                language=language)
        result = read_page(image, float(C.PAGE_IMAGE_DPI), source, config, identity=identity)
        if result.status == "form" and not result.reason:
            return result
    return None
