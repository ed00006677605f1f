"""The typefaces the forms are set in, and how text in any script is measured, shaped and checked.

Layout depends on text metrics (line breaks move boxes), so the generator and
the scanner must measure text with the very same font files.  Latin, Greek and
Cyrillic text is set in DejaVu Sans (Debian's fonts-dejavu-core): a clear
sans-serif with open shapes, free to embed.  Scripts DejaVu cannot draw, or
cannot draw joined, are set in the Noto face made for them (Debian's
fonts-noto-core): Arabic script (Urdu, Arabic, Farsi) in Noto Naskh Arabic,
Bengali and Gurmukhi (Punjabi) in Noto Sans.  Text in those scripts is shaped
by HarfBuzz (ReportLab's shaping, through uharfbuzz), and right-to-left words
are ordered from the right.

Text is measured and drawn word by word: each word in the face of its script.
A word no face can draw, or that needs shaping when HarfBuzz is missing, is
refused before anything is printed (`unprintable`), never printed as boxes or
unjoined letters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from pipeline.errors import MissingDependencyError

REGULAR = "PV-Sans"
BOLD = "PV-Sans-Bold"

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts/dejavu"))
_NOTO_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/local/share/fonts/noto"))
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}

#: Scripts set in a Noto face: (first, last code point), script name, regular and bold file names.
_SCRIPT_FACES: tuple[tuple[tuple[tuple[int, int], ...], str, str, str], ...] = (
    (((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)), "arabic",
     "NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"),
    (((0x0980, 0x09FF),), "bengali", "NotoSansBengali-Regular.ttf", "NotoSansBengali-Bold.ttf"),
    (((0x0A00, 0x0A7F),), "gurmukhi", "NotoSansGurmukhi-Regular.ttf", "NotoSansGurmukhi-Bold.ttf"),
    (((0x0900, 0x097F),), "devanagari", "NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf"),
    (((0x0A80, 0x0AFF),), "gujarati", "NotoSansGujarati-Regular.ttf", "NotoSansGujarati-Bold.ttf"),
    (((0x0B80, 0x0BFF),), "tamil", "NotoSansTamil-Regular.ttf", "NotoSansTamil-Bold.ttf"),
)

#: Characters whose glyphs join or reorder: they are printed only when shaped (HarfBuzz).
_NEEDS_SHAPING = ((0x0590, 0x08FF), (0x0900, 0x0DFF), (0x0E00, 0x0FFF), (0x1000, 0x109F), (0x1780, 0x17FF),
                  (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF))
#: Characters written right to left.
_RTL = ((0x0590, 0x08FF), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF))
#: Invisible joiners a shaper uses; they need no glyph of their own.
_FORMAT_OK = {0x200C, 0x200D, 0x200E, 0x200F}



def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(a <= cp <= b for a, b in ranges)


def _find(filename: str) -> Path:
    for d in _FONT_DIRS:
        candidate = d / filename
        if candidate.exists():
            return candidate
    raise MissingDependencyError(
        f"the form typeface {filename} (DejaVu Sans) is not installed",
        "run 'make setup' as root, or 'sudo apt-get install fonts-dejavu-core'",
    )


def _find_noto(filename: str) -> Path | None:
    return next((d / filename for d in _NOTO_DIRS if (d / filename).exists()), None)


@cache
def register_fonts() -> tuple[str, str]:
    """Register the two faces with reportlab once per process."""
    for name, filename in _FILES.items():
        pdfmetrics.registerFont(TTFont(name, str(_find(filename))))
    return REGULAR, BOLD


def font_name(bold: bool) -> str:
    register_fonts()
    return BOLD if bold else REGULAR


@cache
def _script_font(script: str, bold: bool) -> str | None:
    """The registered name of a script's Noto face, or None when the face is not installed."""
    for _, name, regular, bold_file in _SCRIPT_FACES:
        if name == script:
            path = _find_noto(bold_file if bold else regular) or _find_noto(regular)
            if path is None:
                return None
            registered = f"PV-{name}{'-Bold' if bold else ''}"
            pdfmetrics.registerFont(TTFont(registered, str(path)))
            return registered
    return None


def shaping_available() -> bool:
    try:
        import uharfbuzz  # noqa: F401
    except ImportError:
        return False
    return True


def _script_of(word: str) -> str | None:
    for ch in word:
        cp = ord(ch)
        for ranges, name, _, _ in _SCRIPT_FACES:
            if _in(cp, ranges):
                return name
    return None


def is_rtl(text: str) -> bool:
    """The first letter with a direction is written right to left."""
    for ch in text:
        cp = ord(ch)
        if _in(cp, _RTL):
            return True
        if unicodedata.bidirectional(ch) == "L":
            return False
    return False


def _has_ltr(word: str) -> bool:
    return any(unicodedata.bidirectional(ch) in ("L", "EN", "AN") for ch in word) and not is_rtl(word)


def _needs_shaping(word: str) -> bool:
    return any(_in(ord(ch), _NEEDS_SHAPING) for ch in word)


@dataclass(frozen=True)
class Run:
    """One word as it is printed: the face, whether HarfBuzz shapes it, whether it reads right to left."""

    text: str
    font: str
    shaped: bool
    rtl: bool


@lru_cache(maxsize=20000)
def _run(word: str, bold: bool) -> Run:
    script = _script_of(word)
    font = (_script_font(script, bold) if script else None) or font_name(bold)
    return Run(word, font, _needs_shaping(word), is_rtl(word))


@lru_cache(maxsize=20000)
def _word_width(word: str, bold: bool, size_pt: float) -> float:
    run = _run(word, bold)
    if run.shaped and shaping_available():
        return float(_shaped(word, run.font, size_pt)[1])
    return float(pdfmetrics.stringWidth(word, run.font, size_pt))


def _shaped(word: str, font: str, size_pt: float) -> tuple[Any, float]:
    from reportlab.pdfbase.ttfonts import shapeStr

    shaped = shapeStr(word, font, size_pt, force=True)
    width = sum(sd.x_advance for sd in shaped.__shapeData__) * size_pt / 1000.0
    return shaped, width


def text_width_pt(text: str, size_pt: float, bold: bool = False) -> float:
    words = text.split(" ")
    if all(_run(w, bold).font == font_name(bold) and not _run(w, bold).shaped for w in words if w):
        return float(pdfmetrics.stringWidth(text, font_name(bold), size_pt))
    space = pdfmetrics.stringWidth(" ", font_name(bold), size_pt)
    return sum(_word_width(w, bold, size_pt) for w in words if w) + space * (len(words) - 1)


def needs_runs(line: str, bold: bool) -> bool:
    """The line has a word in another face, a shaped word or a right-to-left word: drawn word by word."""
    return any(_run(w, bold).font != font_name(bold) or _run(w, bold).shaped for w in line.split())


def placed_words(line: str, size_pt: float, bold: bool) -> Iterator[tuple[float, Any, str]]:
    """(x offset from the line's left end, text to draw, face) for each word, in visual order.

    A right-to-left line puts its first word at the right; a run of left-to-right words inside it (a
    name, a number) keeps its own order."""
    words = [w for w in line.split(" ") if w]
    rtl = is_rtl(line)
    order = list(range(len(words)))
    if rtl:
        # words with a left-to-right letter or a digit (a name, a number, a web address) keep their order in a
        # run; a word of punctuation only (a dash) takes the line's direction and stands alone
        ltr = [_has_ltr(w) for w in words]
        groups: list[list[int]] = []
        for i in range(len(words)):
            if groups and ltr[i] and ltr[groups[-1][-1]]:
                groups[-1].append(i)
            else:
                groups.append([i])
        order = [i for g in reversed(groups) for i in g]
    space = pdfmetrics.stringWidth(" ", font_name(bold), size_pt)
    x = 0.0
    for n, i in enumerate(order):
        run = _run(words[i], bold)
        if run.shaped and shaping_available():
            drawn, width = _shaped(words[i], run.font, size_pt)
        else:
            drawn, width = words[i], float(pdfmetrics.stringWidth(words[i], run.font, size_pt))
        yield x, drawn, run.font
        x += width + (space if n < len(order) - 1 else 0.0)


def unprintable(text: str) -> tuple[str, str] | None:
    """Why `text` cannot be printed right: (the characters, the reason), or None when it can."""
    missing: dict[str, None] = {}
    unshaped: dict[str, None] = {}
    for bold in (False, True):
        for word in text.split():
            run = _run(word, bold)
            face = pdfmetrics.getFont(run.font).face
            for ch in word:
                cp = ord(ch)
                if cp in _FORMAT_OK or ch.isspace():
                    continue
                if cp not in face.charToGlyph:
                    missing[ch] = None
            if run.shaped and not shaping_available():
                unshaped.update((ch, None) for ch in word if _in(ord(ch), _NEEDS_SHAPING))
    if missing:
        chars = "".join(missing)
        names = ", ".join(f"U+{ord(c):04X}" for c in list(missing)[:6])
        return chars, f"no installed typeface can draw them ({names})"
    if unshaped:
        return "".join(unshaped), "they must be joined (shaped) and the shaping library uharfbuzz is not installed"
    return None


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
    """Greedy word wrap by real glyph widths (never hyphenated); a line break in the text starts a new line,
    and a word wider than the line is broken (`_pieces`)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            if text_width_pt(word, size_pt, bold) <= width_pt:
                trial = f"{current} {word}" if current else word
                if current and text_width_pt(trial, size_pt, bold) > width_pt:
                    lines.append(current)
                    current = word
                else:
                    current = trial
                continue
            # too wide for any line: start it on a line of its own, in pieces, and go on after the last piece
            if current:
                lines.append(current)
            *whole, current = _pieces(word, size_pt, width_pt, bold)
            lines.extend(whole)
        if current or not lines:
            lines.append(current)
    return lines or [""]
