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



class LoginLimiter:
    """Sign-in attempts counted per client address and in total over a sliding window.

    A pause after each wrong token slows one guesser, but not fifty guessing in parallel: so every attempt
    is counted as it starts (before the token is compared), and once a client, or everyone together, has
    used up the window's allowance, sign-in is refused until the window has moved on.  A right token
    clears its client's count, never the total.
    """

    def __init__(self, per_client: int, total: int, window_s: float) -> None:
        import threading
        from collections import deque

        self.per_client, self.total, self.window_s = per_client, total, window_s
        self._lock = threading.Lock()
        self._all: deque[float] = deque()
        self._by_client: dict[str, deque[float]] = {}

    def attempt(self, client: str, now: float | None = None) -> float:
        """Count one attempt; returns 0 if it may go ahead, else the seconds until one may."""
        import time
        from collections import deque

        now = time.monotonic() if now is None else now
        with self._lock:
            cutoff = now - self.window_s
            while self._all and self._all[0] <= cutoff:
                self._all.popleft()
            mine = self._by_client.setdefault(client, deque())
            while mine and mine[0] <= cutoff:
                mine.popleft()
            for stamps, limit in ((mine, self.per_client), (self._all, self.total)):
                if len(stamps) >= limit:
                    return max(1.0, stamps[0] + self.window_s - now)
            mine.append(now)
            self._all.append(now)
            if len(self._by_client) > 10_000:  # never grow without bound under a flood of addresses
                self._by_client = {k: v for k, v in self._by_client.items() if v}
            return 0.0

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._by_client.pop(client, None)
