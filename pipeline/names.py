"""File names as a terminal may show them.

A file name is data from outside: it can hold newlines or terminal escape
sequences (which could fake or hide output) and, on Linux, bytes that are not
valid UTF-8.  Every name PaperVoice prints goes through `shown`.
"""

from __future__ import annotations

import os
import unicodedata


def shown(name: str | os.PathLike[str]) -> str:
    """The name with control characters and undecodable bytes written as visible escapes (\\n, \\x1b, \\xff)."""
    text = os.fspath(name).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
