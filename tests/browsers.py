"""Where the browser tests find Chromium: one place, so every browser test looks the same way.

Order: `PAPERVOICE_CHROMIUM` (a path to the executable, for a Chromium installed anywhere), then Debian's
`/usr/bin/chromium`, then `chromium`, `chromium-browser` and `google-chrome` on PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome")
DEBIAN = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MISSING = ("no Chromium found (looked at $PAPERVOICE_CHROMIUM, /usr/bin/chromium, and chromium, chromium-browser, "
           "google-chrome on PATH): apt-get install chromium, make setup-browser, or set PAPERVOICE_CHROMIUM")


def find_chromium() -> Path | None:
    """The Chromium executable to drive, or None when there is none."""
    chosen = os.environ.get("PAPERVOICE_CHROMIUM")
    if chosen:
        path = Path(chosen)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    if DEBIAN.is_file():
        return DEBIAN
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None
