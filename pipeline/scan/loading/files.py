"""Finding input files: files and folders in, a sorted list of paths out; and each file's content hash."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import InputFileError
from pipeline.scan.loading.jobs import LEDGER_SUFFIXES, _os_error
from pipeline.scan.results import FileInfo


def _natural_key(path: Path) -> tuple[Any, ...]:
    """scan2.pdf before scan10.pdf: the order people expect from a scanner's numbered files."""
    parts = re.split(r"(\d+)", str(path).lower())
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts)


def _is_ledger_file(path: Path) -> bool:
    return path.name.lower().endswith(LEDGER_SUFFIXES)


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """Every file to read, from files and folders (recursively), in natural sorted order, without duplicates.

    Files of unsupported types are returned too, so the scanner reports them
    ("not a supported file type") rather than silently leaving a return unread.
    Skipped: hidden files and folders inside a folder (".DS_Store", ".git"),
    and ledger files (*.db, *.db-wal, *.db-shm) so scanning the folder that holds
    the ledger does not report it.  A path that does not exist, or a folder that
    cannot be listed, is returned as it is: `open_pages` then raises an
    InputFileError that says so, and the rest of the batch goes on.
    """
    found: list[Path] = []

    def walk_error(exc: OSError) -> None:
        found.append(Path(exc.filename) if exc.filename else Path("."))

    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, files in os.walk(path, onerror=walk_error, followlinks=False):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    candidate = Path(root) / name
                    if name.startswith(".") or _is_ledger_file(candidate):
                        continue
                    found.append(candidate)
        elif not _is_ledger_file(path):
            found.append(path)
    unique: dict[str, Path] = {}
    for path in found:
        try:
            key = str(path.resolve())
        except (OSError, RuntimeError):  # a symlink loop: Python 3.11 raises RuntimeError; opening it says why
            key = str(path.absolute())
        unique.setdefault(key, path)
    return sorted(unique.values(), key=_natural_key)


def file_info(path: Path) -> FileInfo:
    """Content hash (streamed: a 2 GB TIFF is never held in memory) and size; the ledger keys files by the hash."""
    digest = hashlib.sha256()
    size = 0
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _not_a_file(Path(path))
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise _os_error(Path(path), exc) from exc
    return FileInfo(str(path), digest.hexdigest(), size)


def _not_a_file(path: Path) -> InputFileError:
    """A FIFO, a device (a link to /dev/zero), a socket: reading it could hang or never end."""
    if path.is_dir():
        return InputFileError(str(path), "this folder could not be listed (permission denied?)",
                              "ask whoever manages the folder for access, or copy the scans somewhere you can read")
    return InputFileError(str(path), "this is not an ordinary file (a pipe, a device or a socket): not read",
                          "copy the scan to an ordinary folder first, or leave it out")

