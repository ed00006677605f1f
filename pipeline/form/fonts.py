"""The typefaces the forms are set in.

Layout depends on text metrics (line breaks move boxes), so the generator and
the scanner must measure text with the very same font files.  We use DejaVu
Sans from Debian's fonts-dejavu-core: a clear sans-serif with open shapes,
recommended for clear print, and free to embed in the PDF.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from pipeline.errors import MissingDependencyError

REGULAR = "PV-Sans"
BOLD = "PV-Sans-Bold"

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/dejavu"))
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}


def _find(filename: str) -> Path:
    for d in _FONT_DIRS:
        candidate = d / filename
        if candidate.exists():
            return candidate
    raise MissingDependencyError(
        f"the form typeface {filename} (DejaVu Sans) is not installed",
        "run 'make setup' as root, or 'sudo apt-get install fonts-dejavu-core'",
    )


@cache
def register_fonts() -> tuple[str, str]:
    """Register the two faces with reportlab once per process."""
    for name, filename in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(_find(filename))))
    return REGULAR, BOLD


def font_name(bold: bool) -> str:
    register_fonts()
    return BOLD if bold else REGULAR


def text_width_pt(text: str, size_pt: float, bold: bool = False) -> float:
    return float(pdfmetrics.stringWidth(text, font_name(bold), size_pt))


def ascent_descent(size_pt: float, bold: bool = False) -> tuple[float, float]:
    """Ascent above and descent below the baseline, both positive, in pt."""
    face = pdfmetrics.getFont(font_name(bold)).face
    return face.ascent * size_pt / 1000.0, -face.descent * size_pt / 1000.0


_BREAK_AFTER = "/-._?&=#,;:"  # where a web address or a file path can be broken across lines


def _pieces(word: str, size_pt: float, width_pt: float, bold: bool) -> list[str]:
    """A word wider than the line (a web address, say) in pieces that each fit: broken after a '/', '-', '.'
    and the like where one is near the end of the line, else between two letters (never before a combining
    mark).  Printing it whole would run past the page's margin."""
    pieces: list[str] = []
    rest = word
    while len(rest) > 1 and text_width_pt(rest, size_pt, bold) > width_pt:
        low, high = 1, len(rest) - 1  # the longest start of `rest` that fits
        while low < high:
            mid = (low + high + 1) // 2
            if text_width_pt(rest[:mid], size_pt, bold) <= width_pt:
                low = mid
            else:
                high = mid - 1
        cut = low
        soft = max(rest.rfind(ch, 0, cut) for ch in _BREAK_AFTER)
        if soft + 1 >= cut * 2 // 3:
            cut = soft + 1
        while cut > 1 and unicodedata.combining(rest[cut]):
            cut -= 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [*pieces, rest] if rest else pieces


def wrap(text: str, size_pt: float, width_pt: float, bold: bool = False) -> list[str]:
    """Greedy word wrap by real glyph widths (left-aligned, never hyphenated; a word longer than a line is
    broken, see `_pieces`)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if text_width_pt(word, size_pt, bold) > width_pt:
            *whole, word = _pieces(word, size_pt, width_pt, bold)
            if current:
                lines.append(current)
            lines.extend(whole)
            current = ""
        trial = f"{current} {word}" if current else word
        if current and text_width_pt(trial, size_pt, bold) > width_pt:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines or [""]
