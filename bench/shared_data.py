"""Where the shared data lives: `<repository>/../shared`, or the folder named by `PAPERVOICE_SHARED`.

The real scans of other projects (GPL test data) are never copied into this repository; the bench and the
`realdata` tests find them here, and say so when they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = "PAPERVOICE_SHARED"


def shared_dir() -> Path:
    """The shared folder (which may not exist): $PAPERVOICE_SHARED when set, else the one beside the repository."""
    chosen = os.environ.get(ENV)
    return Path(chosen) if chosen else ROOT.parent / "shared"


def quexf_dir() -> Path | None:
    """queXF's real hand-filled returns with their truth, or None when they are not there."""
    path = shared_dir() / "real" / "quexf"
    return path if (path / "truth.json").is_file() else None


def where_looked() -> str:
    return f"{shared_dir() / 'real' / 'quexf'} (set {ENV} to the shared folder, or put it beside the repository)"
