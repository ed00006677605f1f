"""What every printed page says about itself, in its QR codes and small print.

The payload is short and uses only QR "alphanumeric" characters (capitals,
digits, `/`, `-`), which pack more densely than bytes, so the symbol has fewer,
larger modules that survive a 150-dpi scan:
`PV/<FORM-ID>/<version>/<S or L>/<A or L>/<page>/<pages>/<serial>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from reportlab.graphics.barcode import qrencoder

PREFIX = "PV"
_STYLE_CODES = {"standard": "S", "large-print": "L"}
_PAPER_CODES = {"a4": "A", "letter": "L"}
_SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read as 1 and 0


@dataclass(frozen=True)
class PageIdentity:
    form: str
    version: int
    style: str
    paper: str
    page: int
    pages: int
    serial: str

    def payload(self) -> str:
        return "/".join([PREFIX, self.form.upper(), str(self.version), _STYLE_CODES[self.style],
                         _PAPER_CODES[self.paper], str(self.page), str(self.pages), self.serial])

    def human(self) -> str:
        style = "large print" if self.style == "large-print" else "standard"
        return (f"{self.form} v{self.version} · {style} · {self.paper.upper()} · "
                f"page {self.page}/{self.pages} · copy {self.serial}")


def parse_payload(text: str) -> PageIdentity | None:
    """Decode a QR payload; anything that is not ours gives None."""
    parts = text.strip().split("/")
    if len(parts) != 8 or parts[0] != PREFIX:
        return None
    _, form, version, style, paper, page, pages, serial = parts
    form = form.lower()
    styles = {v: k for k, v in _STYLE_CODES.items()}
    papers = {v: k for k, v in _PAPER_CODES.items()}
    if style not in styles or paper not in papers or not (version + page + pages).isdigit():
        return None
    if not is_valid_serial(serial) or not 1 <= int(page) <= int(pages):
        return None
    return PageIdentity(form, int(version), styles[style], papers[paper], int(page), int(pages), serial)


def serial_for(number: int) -> str:
    """Six digits plus a check letter, so a mistyped serial is caught by hand entry too."""
    digits = f"{number:06d}"
    weights = sum((i + 1) * int(d) for i, d in enumerate(digits))
    return digits + _SERIAL_ALPHABET[weights % len(_SERIAL_ALPHABET)]


def is_valid_serial(serial: str) -> bool:
    return len(serial) >= 7 and serial[:-1].isdigit() and serial_for(int(serial[:-1])) == serial


@lru_cache(maxsize=256)
def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules (without quiet zone): the smallest symbol, at level M when that costs no size.

    Fewer modules in the same printed square means larger modules, which is what
    a coarse scan needs most; four codes per page make up for level L's thinner margin.
    """
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


@lru_cache(maxsize=64)
def _module_count_for_length(length: int) -> int:
    return len(qr_matrix("X" * length))


def qr_module_count(payload: str) -> int:
    """The symbol's size in modules depends only on the payload's length (alphanumeric mode)."""
    return _module_count_for_length(len(payload))
