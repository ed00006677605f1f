"""The one place PaperVoice talks to poppler (`pdftoppm`).

Poppler renders PDF pages that are not simply one scanned picture (freshly
generated forms, vector drawings, pages with several images).  Like the other
tool wrappers this module owns the version check, a timeout per call, an
explicit environment (no user locale or config can change the output) and the
translation of poppler's failures into PaperVoice errors with advice.

The PDF goes in on stdin and one grey PGM comes back on stdout, so no temporary
files are left behind when a worker is killed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache

import numpy as np

from pipeline import constants as C
from pipeline.errors import ExternalProgramError, MissingDependencyError

INSTALL_ADVICE = "run 'make setup' as root, or 'sudo apt-get install poppler-utils' (macOS: 'brew install poppler')"
_VERSION_RE = re.compile(r"version\s+(\d+)\.(\d+)(?:\.(\d+))?")


def _environment() -> dict[str, str]:
    """A minimal, explicit environment: C locale for stable messages, nothing else inherited but PATH/HOME/TMPDIR."""
    env = {"LC_ALL": "C", "LANG": "C"}
    for key in ("PATH", "HOME", "TMPDIR", "SYSTEMROOT"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MissingDependencyError(f"poppler's '{name}' (needed to read PDF files) is not installed",
                                     INSTALL_ADVICE)
    return found


@cache
def check_poppler() -> tuple[int, ...]:
    """Fail early, with advice, if pdftoppm is missing or too old; returns its version.

    Cached: the scanner calls this once before starting workers, and each
    worker calls it again (cheaply) before its first render.
    """
    exe = _program("pdftoppm")
    try:
        proc = subprocess.run([exe, "-v"], capture_output=True, env=_environment(), timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingDependencyError(f"poppler's pdftoppm could not be started: {exc}", INSTALL_ADVICE) from exc
    text = (proc.stderr + proc.stdout).decode("utf-8", "replace")
    match = _VERSION_RE.search(text)
    if match is None:
        raise MissingDependencyError(f"could not tell which poppler version is installed ({text.strip()[:80]!r})",
                                     INSTALL_ADVICE)
    version = tuple(int(g) for g in match.groups() if g is not None)
    if version[:2] < C.POPPLER_MIN_VERSION:
        need = ".".join(str(v) for v in C.POPPLER_MIN_VERSION)
        raise MissingDependencyError(f"poppler {'.'.join(map(str, version))} is too old (need {need} or newer)",
                                     INSTALL_ADVICE)
    return version


def _translate(stderr: str) -> tuple[str, str]:
    """Poppler's stderr in words an office can act on: (what happened, what to do)."""
    low = stderr.lower()
    if "incorrect password" in low or "encrypted" in low:
        return ("the PDF is protected by a password",
                "save an unprotected copy (for example print it to a new PDF) and scan that file")
    if "may not be a pdf" in low or "couldn't find trailer" in low or "couldn't read xref" in low:
        return ("the PDF is damaged or incomplete", "copy the file again from the scanner, or scan the paper again")
    if "wrong page range" in low or "first page" in low:
        return ("the PDF does not have that page", "check the file is complete")
    detail = stderr.strip().splitlines()[-1][:200] if stderr.strip() else "no message"
    return (f"poppler could not draw the page ({detail})",
            "open the file in a PDF viewer to check it; if it looks fine, scan the paper again as PDF or TIFF")


def _parse_pgm(data: bytes) -> np.ndarray:
    """Read the binary PGM (P5) pdftoppm writes with -gray; small and strict, so garbage cannot slip through."""
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            end = data.find(b"\n", pos)
            pos = len(data) if end < 0 else end + 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            raise ExternalProgramError("pdftoppm returned an incomplete picture", "try again; if it repeats, re-scan")
        fields.append(data[start:pos])
    pos += 1  # exactly one whitespace byte after maxval
    if fields[0] != b"P5" or not all(f.isdigit() for f in fields[1:]):
        raise ExternalProgramError("pdftoppm returned something that is not a grey picture",
                                   "check that poppler-utils is installed correctly")
    width, height, maxval = (int(f) for f in fields[1:])
    if maxval != 255 or len(data) - pos < width * height:
        raise ExternalProgramError("pdftoppm returned an incomplete picture", "try again; if it repeats, re-scan")
    return np.frombuffer(data, dtype=np.uint8, count=width * height, offset=pos).reshape(height, width).copy()


def render_page(pdf_bytes: bytes, dpi: int, page: int = 1) -> np.ndarray:
    """Render one page (1-based) of a PDF held in memory to a greyscale uint8 array at `dpi`.

    The caller is responsible for the size guard (page size x dpi) before calling:
    poppler would happily allocate whatever the page asks for.  Raises
    MissingDependencyError when poppler is absent or too old, ExternalProgramError
    when it fails or takes longer than POPPLER_TIMEOUT_S.
    """
    if page < 1:
        raise ValueError(f"page numbers start at 1, not {page}")
    check_poppler()
    args = [_program("pdftoppm"), "-r", str(int(dpi)), "-gray", "-f", str(page), "-l", str(page), "-singlefile",
            "-aa", "yes", "-aaVector", "yes", "-"]
    try:
        proc = subprocess.run(args, input=pdf_bytes, capture_output=True, env=_environment(),
                              timeout=C.POPPLER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ExternalProgramError(f"poppler took longer than {C.POPPLER_TIMEOUT_S:.0f} s to draw the page",
                                   "the page is unusually complex; scan the paper again as PDF or TIFF") from exc
    except OSError as exc:
        raise MissingDependencyError(f"poppler's pdftoppm could not be started: {exc.strerror}",
                                     INSTALL_ADVICE) from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0 or not proc.stdout:
        message, advice = _translate(stderr)
        raise ExternalProgramError(message, advice)
    return _parse_pgm(proc.stdout)
