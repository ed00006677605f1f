"""A person's hand assignment of an unrecognised page: check what they typed before anything is recorded."""

from __future__ import annotations

import re
from typing import Any

from pipeline.form.definition import Form, FormRegistry
from pipeline.form.identity import is_valid_serial
from pipeline.form.layout import STYLES, compute_layout
from pipeline.ledger.queries import copy_seen, issued_copy
from pipeline.ledger.store import Ledger

#: Where a person finds a copy number, in general words: forms PaperVoice printed carry it in the small print at
#: the foot of every page; an adopted form (printed elsewhere) carries none of ours, so its number is the one
#: the ledger gave the return's other pages when they were scanned.
SERIAL_WHERE = ("On a form PaperVoice printed, it is in the small print at the foot of every page, after the word "
                "\"copy\" (at the top when the page is upside down). A form printed elsewhere has none of its own: "
                "use the copy number that Review shows for the other pages of the same return.")

#: A number as a person types it: ASCII digits only ('²'.isdigit() is true, but int('²') fails), not absurdly long.
_NUMBER = re.compile(r"[0-9]{1,6}")


def form_pages(form: Form) -> int:
    """The most pages a copy of this form can have (its print styles may differ)."""
    if form.adopted is not None:
        return len(form.adopted.pages)
    return max(compute_layout(form, paper, style).page_count for style in STYLES for paper in ("a4", "letter"))


def parse_assignment(led: Ledger, forms: FormRegistry, data: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Check a hand assignment of a page; returns (decision value, None) or (None, what to fix)."""
    form_key = str(data.get("form", ""))
    serial = str(data.get("serial", "")).strip().upper().replace(" ", "")
    page_text = str(data.get("page", "")).strip()
    form_id, _, version_text = form_key.partition("@")
    form = forms.find(form_id, int(version_text)) if _NUMBER.fullmatch(version_text) else None
    if form is None:
        return None, "Choose which form this page belongs to."
    if not is_valid_serial(serial):
        return None, f"'{serial}' is not a copy number. It is six digits and a letter, e.g. 000012K. {SERIAL_WHERE}"
    if not _NUMBER.fullmatch(page_text):
        return None, "Enter the page number, e.g. 1."
    page_no = int(page_text)
    issued = issued_copy(led, serial)
    if issued is not None and issued.form_id != form.id:
        return None, f"Copy {serial} was printed as {issued.form_id}, not {form.id}. Check the copy number."
    if issued is None and not copy_seen(led, serial, form.id):
        # a page read under a copy nobody printed or returned would be a copy of one page, never counted
        return None, (f"This ledger has no copy {serial}: it was never printed here, and no page of it was scanned. "
                      "Check the copy number on the other pages of the same return.")
    most = issued.pages if issued is not None else form_pages(form)
    if not 1 <= page_no <= most:
        return None, (f"Page {page_no} does not exist: {form.title} has {most} page{'s' if most != 1 else ''}. "
                      "Enter the number of this page in the form.")
    return {"action": "assign", "form": form.id, "version": form.version, "serial": serial, "page": page_no}, None
