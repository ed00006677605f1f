"""What every printed page says about itself, in its QR codes and small print.

The payload is short and uses only QR "alphanumeric" characters (capitals,
digits, `/`, `-`), which pack more densely than bytes, so the symbol has fewer,
larger modules that survive a 150-dpi scan:
`P/<FORM-ID>/<version><style and paper: A-F>/<page>/<pages>/<serial><survey>`, then `/<LANGUAGE>` when the
copy is printed in another language than the form file's own (a translation, `CY`, or a bilingual print, `CY+EN`):
the scanner then reads it by that language's layout.

The survey id is the printing ledger's own random id: every ledger numbers its
copies from 000001, so the serial alone cannot tell a copy printed for another
survey from one of ours.  Style and paper share one letter, so the survey id
costs no length: the symbol keeps its size (and its module size) for every
bundled form.  Pages printed before survey ids existed carry the older
`PV/<FORM-ID>/<version>/<S or L>/<A or L>/<page>/<pages>/<serial>`; they still
scan (their survey is None).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from pipeline.form.i18n import N_

#: Written into every print file's metadata, so `scan` recognises (and refuses) the print file itself.
PRINT_FILE_KEYWORD = "PaperVoice print file: not a scan"

PREFIX = "PV"  # pages printed before survey ids
SURVEY_PREFIX = "P"  # pages that carry their survey id
_STYLE_PAPER_CODES = {("standard", "a4"): "A", ("standard", "letter"): "B", ("large-print", "a4"): "C",
                      ("large-print", "letter"): "D", ("easy-read", "a4"): "E", ("easy-read", "letter"): "F"}
_STYLE_CODES = {"standard": "S", "large-print": "L", "easy-read": "E"}
_STYLE_WORDS = {"standard": N_("standard"), "large-print": N_("large print"), "easy-read": N_("Easy Read")}
_SMALL_PRINT_WORDS = (N_("survey"), N_("page"), N_("copy"))  # translated where printed
_PAPER_CODES = {"a4": "A", "letter": "L"}
_SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read as 1 and 0
_SURVEY_ALPHABET = "0123456789" + _SERIAL_ALPHABET
SURVEY_ID_LENGTH = 4  # 34**4 = 1.3 million: two ledgers of one office drawing the same id is very unlikely
#: A number in a payload: ASCII digits only (not `str.isdigit`, which takes superscripts and other scripts'
#: digits) and short enough that it can never overflow a ledger integer, whatever a stray code carries.
_SMALL_NUMBER = re.compile(r"[0-9]{1,6}")
_SERIAL_NUMBER = re.compile(r"[0-9]{6,12}")


@dataclass(frozen=True)
class PageIdentity:
    form: str
    version: int
    style: str
    paper: str
    page: int
    pages: int
    serial: str
    survey: str | None = None  # the printing ledger's id; None on pages printed before survey ids existed
    language: str | None = None  # a translation ('cy') or bilingual print ('cy+en'); None: the form file's own

    def payload(self) -> str:
        if self.survey:
            return "/".join([SURVEY_PREFIX, self.form.upper(),
                             f"{self.version}{_STYLE_PAPER_CODES[(self.style, self.paper)]}", str(self.page),
                             str(self.pages), self.serial + self.survey,
                             *([self.language.upper()] if self.language else [])])
        return "/".join([PREFIX, self.form.upper(), str(self.version), _STYLE_CODES[self.style],
                         _PAPER_CODES[self.paper], str(self.page), str(self.pages), self.serial])

    def human(self, tr: Callable[..., str] | None = None) -> str:
        """The small print under the codes; `tr` gives its words in the print's language (the first of two)."""
        word = tr or (lambda text: text)
        style = word(_STYLE_WORDS.get(self.style, self.style))
        survey = f" · {word('survey')} {self.survey}" if self.survey else ""
        language = f" · {self.language}" if self.language else ""
        return (f"{self.form} v{self.version}{language} · {style} · {self.paper.upper()} · "
                f"{word('page')} {self.page}/{self.pages} · {word('copy')} {self.serial}{survey}")


def parse_payload(text: str) -> PageIdentity | None:
    """Decode a QR payload; anything that is not ours gives None."""
    parts = text.strip().split("/")
    survey = None
    language = None
    if len(parts) == 7 and parts[0] == SURVEY_PREFIX:
        language = parts.pop().lower()
        if not language or not all(p.isalpha() and len(p) in (2, 3) for p in language.split("+")):
            return None
    if len(parts) == 6 and parts[0] == SURVEY_PREFIX:
        _, form, version_code, page, pages, tail = parts
        version, code = version_code[:-1], version_code[-1:]
        combos = {v: k for k, v in _STYLE_PAPER_CODES.items()}
        if code not in combos or len(tail) <= SURVEY_ID_LENGTH:
            return None
        style, paper = _STYLE_CODES[combos[code][0]], _PAPER_CODES[combos[code][1]]
        serial, survey = tail[:-SURVEY_ID_LENGTH], tail[-SURVEY_ID_LENGTH:]
        if not is_valid_survey_id(survey):
            return None
    elif len(parts) == 8 and parts[0] == PREFIX:
        _, form, version, style, paper, page, pages, serial = parts
    else:
        return None
    form = form.lower()
    styles = {v: k for k, v in _STYLE_CODES.items()}
    papers = {v: k for k, v in _PAPER_CODES.items()}
    numbers_ok = all(_SMALL_NUMBER.fullmatch(n) for n in (version, page, pages))
    if style not in styles or paper not in papers or not numbers_ok:
        return None
    if not is_valid_serial(serial) or not 1 <= int(page) <= int(pages):
        return None
    return PageIdentity(form, int(version), styles[style], papers[paper], int(page), int(pages), serial, survey,
                        language)


def new_survey_id() -> str:
    """A fresh random survey id for a new ledger (QR alphanumeric characters, no I or O)."""
    return "".join(secrets.choice(_SURVEY_ALPHABET) for _ in range(SURVEY_ID_LENGTH))


def is_valid_survey_id(text: str) -> bool:
    return len(text) == SURVEY_ID_LENGTH and all(ch in _SURVEY_ALPHABET for ch in text)


def serial_for(number: int) -> str:
    """Six digits plus a check letter, so a mistyped serial is caught by hand entry too."""
    digits = f"{number:06d}"
    weights = sum((i + 1) * int(d) for i, d in enumerate(digits))
    return digits + _SERIAL_ALPHABET[weights % len(_SERIAL_ALPHABET)]


def is_valid_serial(serial: str) -> bool:
    return (_SERIAL_NUMBER.fullmatch(serial[:-1]) is not None and len(serial) >= 7
            and serial_for(int(serial[:-1])) == serial)


@lru_cache(maxsize=256)
def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules (without quiet zone): the smallest symbol, at level M when that costs no size.

    Fewer modules in the same printed square means larger modules, which is what
    a coarse scan needs most; four codes per page make up for level L's thinner margin.
    """
    # imported here: reportlab's barcode package pulls in its drawing toolkit (0.2 s of CPU), which the
    # scanner, needing only the symbol's size, never uses (see qr_module_count)
    from reportlab.graphics.barcode import qrencoder

    for version in range(1, 11):
        for level in (qrencoder.QRErrorCorrectLevel.M, qrencoder.QRErrorCorrectLevel.L):
            try:
                code = qrencoder.QRCode(version, level)
                code.addData(payload)
                code.make()
            except Exception:  # reportlab raises a bare Exception when the data does not fit
                continue
            n = code.getModuleCount()
            return [[bool(code.isDark(r, c)) for c in range(n)] for r in range(n)]
    raise ValueError(f"QR payload too long: {payload!r}")


#: Data codewords of QR versions 1-10 at error correction levels M and L (ISO/IEC 18004, table 7).
_QR_DATA_CODEWORDS_M = (16, 28, 44, 64, 86, 108, 124, 154, 182, 216)
_QR_DATA_CODEWORDS_L = (19, 34, 55, 80, 108, 136, 156, 194, 232, 274)


@lru_cache(maxsize=64)
def _module_count_for_length(length: int) -> int:
    """The size `qr_matrix` gives an alphanumeric payload of `length` characters, worked out from the standard's
    capacities (the same choice: the first version, level M before L, whose data codewords hold the bits)
    instead of encoding one: the scanner needs only the size, and the encoder's import is dear."""
    for version, (m_words, l_words) in enumerate(zip(_QR_DATA_CODEWORDS_M, _QR_DATA_CODEWORDS_L, strict=True), 1):
        # mode (4 bits), the character count (9 bits up to version 9, 11 from 10), 11 bits per pair, 6 for one
        bits = 4 + (9 if version < 10 else 11) + 11 * (length // 2) + 6 * (length % 2)
        if bits <= 8 * max(m_words, l_words):
            return 17 + 4 * version
    raise ValueError(f"QR payload too long: {length} characters")


def qr_module_count(payload: str) -> int:
    """The symbol's size in modules depends only on the payload's length (alphanumeric mode)."""
    return _module_count_for_length(len(payload))
