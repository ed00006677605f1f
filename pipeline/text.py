"""Text that came off paper or out of a person's keyboard, made safe to keep and to show.

One rule for the review page (a person's correction of a transcription) and the workbook
(every cell): control characters go, line breaks are kept, and nothing grows past what a
spreadsheet cell can hold, so what review saves is exactly what export shows.
"""

from __future__ import annotations

import re

EXCEL_MAX_CELL_CHARS = 32_767
#: C0 controls except tab and newline, DEL and C1 controls, lone surrogates and the XML non-characters.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 copy', '2 copies': counts in messages read as a person would write them."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def clean_text(value: object) -> str:
    """Text from paper or from the ledger, made safe to store: no control characters, within Excel's limit.

    Tab and newline are kept (people write on several lines); a carriage return becomes a newline.
    """
    text = "" if value is None else str(value)
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > EXCEL_MAX_CELL_CHARS:
        marker = " … [cut: longer than an Excel cell can hold]"
        text = text[: EXCEL_MAX_CELL_CHARS - len(marker)] + marker
    return text
