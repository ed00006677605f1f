"""What every printed page says about itself, in its QR codes and small print.

The payload is short so the QR symbol stays coarse (large modules survive a
150-dpi scan): `PV1|<form id>|<version>|<S or L>|<A or L>|<page>|<pages>|<serial>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.graphics.barcode import qrencoder

PREFIX = "PV1"
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
        return "|".join([PREFIX, self.form, str(self.version), _STYLE_CODES[self.style],
                         _PAPER_CODES[self.paper], str(self.page), str(self.pages), self.serial])

    def human(self) -> str:
        style = "large print" if self.style == "large-print" else "standard"
        return (f"{self.form} v{self.version} · {style} · {self.paper.upper()} · "
                f"page {self.page}/{self.pages} · copy {self.serial}")


def parse_payload(text: str) -> PageIdentity | None:
    """Decode a QR payload; anything that is not ours gives None."""
    parts = text.strip().split("|")
    if len(parts) != 8 or parts[0] != PREFIX:
        return None
    _, form, version, style, paper, page, pages, serial = parts
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


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules (without quiet zone), smallest symbol at error-correction level M or L."""
    for level in (qrencoder.QRErrorCorrectLevel.M, qrencoder.QRErrorCorrectLevel.L):
        for version in range(2, 11):
            try:
                code = qrencoder.QRCode(version, level)
                code.addData(payload)
                code.make()
            except Exception:  # reportlab raises a bare Exception when the data does not fit
                continue
            if version <= 3 or level == qrencoder.QRErrorCorrectLevel.L:
                n = code.getModuleCount()
                return [[bool(code.isDark(r, c)) for c in range(n)] for r in range(n)]
            break
    raise ValueError(f"QR payload too long: {payload!r}")
