"""A person's hand assignment of an unrecognised page: check what they typed before anything is recorded."""

from __future__ import annotations

import re
from typing import Any

from pipeline import constants as C
from pipeline.form.definition import FormRegistry
from pipeline.form.identity import is_valid_serial
from pipeline.ledger.queries import issued_copy
from pipeline.ledger.store import Ledger

#: A number as a person types it: ASCII digits only ('²'.isdigit() is true, but int('²') fails), not absurdly long.
_NUMBER = re.compile(r"[0-9]{1,6}")


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
        return None, (f"'{serial}' is not a copy number. It is six digits and a letter, printed at the top of "
                      "each page, e.g. 000012K.")
    if not _NUMBER.fullmatch(page_text):
        return None, "Enter the page number, e.g. 1."
    page_no = int(page_text)
    issued = issued_copy(led, serial)
    if issued is not None and issued.form_id != form.id:
        return None, f"Copy {serial} was printed as {issued.form_id}, not {form.id}. Check the copy number."
    most = issued.pages if issued is not None else C.REVIEW_ASSIGN_MAX_PAGES
    if not 1 <= page_no <= most:
        return None, f"Page {page_no} does not exist: this copy has {most} pages."
    return {"action": "assign", "form": form.id, "version": form.version, "serial": serial, "page": page_no}, None
