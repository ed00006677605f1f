"""The review page's small safety rules: where it may redirect, which host names it answers, token checks.

Kept apart from the views so each rule is one function with one test, and so `create_app`'s guard and
the views agree on them.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

LOCAL_HOST_NAMES = ("127.0.0.1", "localhost", "::1")


def host_name(host: str) -> str:
    """The name part of a Host header ('[::1]:8000' -> '::1', 'localhost:8000' -> 'localhost')."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def local_path(target: str | None) -> str | None:
    """Only ever redirect within this site: a path, never another host; None for anything else.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so '/\t/evil.example'
    would become '//evil.example' (another site); a line break in a Location header is an error.  So a
    target with any control character, space or backslash is refused outright, not cleaned.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target.rstrip("?") or "/"


def token_matches(given: str, token: str) -> bool:
    """Compare in constant time, so the answer's timing says nothing about how much of the token was right."""
    return hmac.compare_digest(given.encode(), token.encode())

