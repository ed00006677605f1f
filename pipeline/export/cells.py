"""Cells of the workbook: every value written as inert, clean text, and the shared styles and sheet setup.

Everything that came off paper is treated as untrusted text: it is stored as text (never a formula), with
control characters removed (`pipeline.text.clean_text`, shared with the review page).
"""

from __future__ import annotations

import re
import textwrap
import weakref
from collections.abc import Sequence
from copy import copy as clone
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipeline import constants as C
from pipeline.text import clean_text

YES, NO = "yes", "no"
FORMULA_STARTS = ("=", "+", "-", "@")
_SHEET_NAME_BAD_RE = re.compile(r"[\[\]:*?/\\']")

HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
REVIEW_FILL = PatternFill("solid", fgColor="FFE066")  # highlighted: still needs a person
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
CENTRE_TOP = Alignment(horizontal="center", vertical="top")
LEFT_WRAP_TOP = Alignment(horizontal="left", wrap_text=True, vertical="top")


def put(ws: Worksheet, row: int, col: int, value: Any, style: Alignment | None = None) -> Any:
    """Write one cell; every string is stored as inert text, whatever it starts with.

    openpyxl turns a string starting with '=' into a formula and '#N/A' into an error; forcing the
    type to text stops both, and the quote prefix keeps it text when someone edits the cell in Excel.
    """
    if isinstance(value, str):
        value = clean_text(value)
    cell = ws.cell(row=row, column=col, value=value)
    quoted = False
    if isinstance(value, str):
        cell.data_type = "s"
        quoted = value.startswith(FORMULA_STARTS)
    if style is not None or quoted:
        _apply_style(ws, cell, style, quoted)
        if style is not None and style.wrap_text and isinstance(value, str) and len(value) > 8:
            _grow_row(ws, row, col, value)
    return cell


def _grow_row(ws: Worksheet, row: int, col: int, text: str) -> None:
    """Make a row tall enough for wrapped text: LibreOffice (and Excel, for files it did not write) keep
    the default height otherwise, and the lines run into the next row."""
    width = ws.column_dimensions[get_column_letter(col)].width or 13.0
    per_line = max(1.0, width * C.EXPORT_CHARS_PER_WIDTH_UNIT)
    if len(text) <= per_line and "\n" not in text:
        return
    lines = sum(len(textwrap.wrap(part, int(per_line), break_on_hyphens=False)) or 1 for part in text.split("\n"))
    if lines > 1:
        height = C.EXPORT_POINTS_PER_TEXT_LINE * min(lines, C.EXPORT_MAX_TEXT_LINES) + 3
        current = ws.row_dimensions[row].height
        if current is None or current < height:
            ws.row_dimensions[row].height = height


#: Style arrays already registered in a workbook, per (alignment, quote prefix).  Setting `cell.alignment`
#: hashes the style objects on every call, which was most of the time spent on 100,000 cells.
_STYLE_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[int, bool], Any]] = weakref.WeakKeyDictionary()


def _apply_style(ws: Worksheet, cell: Any, style: Alignment | None, quoted: bool) -> None:
    known = _STYLE_CACHE.setdefault(ws.parent, {})
    key = (id(style), quoted)
    array = known.get(key)
    if array is None:
        if style is not None:
            cell.alignment = style
        if quoted:
            cell.quotePrefix = True
        known[key] = clone(cell._style)
    else:
        cell._style = clone(array)


def put_row(ws: Worksheet, row: int, values: Sequence[Any], style: Alignment | None = None) -> None:
    for col, value in enumerate(values, 1):
        put(ws, row, col, value, style)


def header(ws: Worksheet, row: int, names: Sequence[str], widths: Sequence[float] | None = None) -> None:
    for col, width in enumerate(widths or (), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    for col, name in enumerate(names, 1):
        cell = put(ws, row, col, name, WRAP_TOP)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL


def table_sheet(ws: Worksheet, rows: int, cols: int) -> None:
    """Frozen header, autofilter, and pages that print the full width with the header on each page."""
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(cols, 1))}{max(rows, 1)}"
    ws.print_title_rows = "1:1"
    print_setup(ws)


def print_setup(ws: Worksheet) -> None:
    """Landscape A4, the full width on each page, and a header and footer saying what and where it is."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.oddHeader.left.text = "PaperVoice results"
    ws.oddHeader.right.text = "&A"  # the sheet's name
    ws.oddFooter.left.text = "Printed &D"
    ws.oddFooter.right.text = "Page &P of &N"


def image_width(width_px: int) -> float:
    """Column width (in Excel's character units, 7 px each in the default font) that holds a picture."""
    return width_px / 7 + 2


def sheet_title(prefix: str, form_ids: Sequence[str]) -> dict[str, str]:
    """Sheet names for per-form sheets, always starting with `prefix` (so people and scripts find every
    Responses sheet the same way); Excel allows 31 characters, so a long form id is cut short - the Form
    column in the sheet and the Codebook carry it in full."""
    names: dict[str, str] = {}
    for form_id in form_ids:
        base = _SHEET_NAME_BAD_RE.sub("_", f"{prefix} {form_id}")[:31]
        name, n = base, 2
        while name in names.values():
            name = f"{base[:28]}~{n}"
            n += 1
        names[form_id] = name
    return names
