"""One validated options object per command, shared by the CLI, the web page and the Python API.

The CLI only turns arguments into these; every check lives here so the API
and the review server get the same validation and the same messages.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import constants as C
from pipeline.errors import UsageError
from pipeline.ledger.url import DEFAULT_LEDGER, default_ledger, local_path, parse_url
from pipeline.scan.ocr import DEFAULT_ENGINE, ENGINE_NAMES

DEFAULT_DB = DEFAULT_LEDGER  # the ledger when neither --db nor PAPERVOICE_DB names one
OCR_ENGINES = ENGINE_NAMES  # from the engine registry (pipeline/scan/ocr.py)


def _ledger_address(options: object) -> None:
    """`db` is the ledger's address as a string (a path, sqlite:///..., postgresql://...), checked here so a
    mistyped address stops the command before anything is read; a Path given by the Python API is accepted."""
    db = str(getattr(options, "db"))  # noqa: B009 (the dataclasses below all have it)
    parse_url(db)
    object.__setattr__(options, "db", db)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


#: A Dask scheduler PaperVoice can reach: TCP (or TLS), host and port; other protocols (inproc, ucx) are not ours.
_SCHEDULER_RE = re.compile(r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(?P<port>[0-9]+))?")


def check_scheduler_address(address: str) -> None:
    """`--dask-scheduler`: 'local', or tcp://host:port (tls:// too; the scheme may be left out)."""
    if address == "local":
        return
    advice = "write it as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (8786 is Dask's usual port), or use 'local'"
    found = _SCHEDULER_RE.fullmatch(address.strip())
    if found is None:
        raise UsageError(f"--dask-scheduler {address!r} is not a scheduler address", advice)
    if found["scheme"] not in (None, "tcp", "tls"):
        raise UsageError(f"--dask-scheduler {address}: the '{found['scheme']}://' protocol is not supported", advice)
    if found["port"] is None:
        raise UsageError(f"--dask-scheduler {address}: the port number is missing", advice)
    if not 1 <= int(found["port"]) <= 65535:
        raise UsageError(f"--dask-scheduler {address}: the port must be from 1 to 65535", advice)


@dataclass(frozen=True)
class ScanOptions:
    db: str = field(default_factory=default_ledger)
    jobs: int = field(default_factory=default_jobs)
    ocr: str = DEFAULT_ENGINE
    debug_dir: Path | None = None
    quiet: bool = False
    dask_scheduler: str | None = None  # an address, or "local" for a LocalCluster
    shared_storage: bool = False  # Dask workers can open the input paths themselves
    forms_dirs: tuple[Path, ...] = ()
    retry: bool = False  # also re-read kept pages of files the ledger names (their form is now defined)
    stop_after_pages: int | None = None  # tests only: behave as if interrupted after this many pages

    def __post_init__(self) -> None:
        _ledger_address(self)
        if not 1 <= self.jobs <= 256:
            raise UsageError(f"--jobs must be from 1 to 256, not {self.jobs}", "use e.g. --jobs 2")
        if self.ocr not in OCR_ENGINES:
            raise UsageError(f"unknown OCR engine '{self.ocr}'", f"use one of: {', '.join(OCR_ENGINES)}")
        if self.dask_scheduler is not None:
            check_scheduler_address(self.dask_scheduler)
        if self.shared_storage and not self.dask_scheduler:
            raise UsageError("--shared-storage only makes sense with --dask-scheduler",
                             "add --dask-scheduler ADDRESS (or local), or drop --shared-storage")


@dataclass(frozen=True)
class ExportOptions:
    """What to export: the workbook (`output`) and/or CSV, SPSS, Stata and R files; at least one of them."""

    output: Path | None = None
    db: str = field(default_factory=default_ledger)
    form: str | None = None
    csv_dir: Path | None = None
    sav: Path | None = None  # SPSS; with several forms, one file each (the form id added to the name)
    dta: Path | None = None  # Stata; the same naming
    r_dir: Path | None = None  # an R-ready CSV and a script applying the labels, per form
    no_images: bool = False  # leave every picture of handwriting and pages out (for sharing)

    def __post_init__(self) -> None:
        _ledger_address(self)
        if self.output is None and not (self.csv_dir or self.sav or self.dta or self.r_dir):
            raise UsageError("export needs something to write",
                             "give -o results.xlsx, and/or --csv DIR, --sav FILE.sav, --dta FILE.dta, --r DIR")
        for path, suffix, flag in ((self.output, ".xlsx", "-o"), (self.sav, ".sav", "--sav"),
                                   (self.dta, ".dta", "--dta")):
            if path is not None and path.suffix.lower() != suffix:
                raise UsageError(f"the file name {path} should end in {suffix}", f"use e.g. {flag} results{suffix}")
        if self.csv_dir is not None and self.r_dir is not None \
                and Path(self.csv_dir).resolve() == Path(self.r_dir).resolve():
            # both write <form>.csv (the Responses columns; the R-ready codes): one would replace the other
            raise UsageError(f"--csv and --r both name the folder {self.csv_dir}: each writes <form>.csv there, "
                             "so one file would replace the other",
                             "give them different folders, e.g. --csv csv/ --r R/")


@dataclass(frozen=True)
class ReportOptions:
    """What `papervoice report` writes (the printed summary); shared by the command and the office app."""

    output: Path
    db: str = field(default_factory=default_ledger)
    form: str | None = None
    large_print: bool = False
    title: str | None = None  # the heading on the first page (default: the form's title)

    def __post_init__(self) -> None:
        _ledger_address(self)
        if Path(self.output).suffix.lower() != ".pdf":
            raise UsageError(f"the summary's name {self.output} should end in .pdf", "use e.g. -o summary.pdf")


@dataclass(frozen=True)
class ReviewOptions:
    db: str = field(default_factory=default_ledger)
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    open_browser: bool = True
    forms_dirs: tuple[Path, ...] = ()
    ocr: str = DEFAULT_ENGINE  # the engine that reads a page again once a person has said which copy it is

    @property
    def is_local(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1")

    def __post_init__(self) -> None:
        _ledger_address(self)
        if not (self.port == 0 or 1024 <= self.port <= 65535):  # 0: any free port (tests, scripts)
            raise UsageError(f"--port {self.port} is not a port the review page can use (ports below 1024 are "
                             "kept for system services)", "use a number from 1024 to 65535, e.g. --port 8000")
        if not self.is_local and not self.token:
            raise UsageError(
                f"refusing to serve the review page on {self.host} without an access token",
                f"add --token {secrets.token_urlsafe(16)} (a new random one: give it to the people reviewing; "
                "they will be asked for it), or leave --host at 127.0.0.1")
        if self.ocr not in OCR_ENGINES:
            raise UsageError(f"unknown OCR engine '{self.ocr}'", f"use one of: {', '.join(OCR_ENGINES)}")
        if self.token is not None:
            problem = weak_token(self.token)
            if problem:
                raise UsageError(problem, f"use a long random one, e.g. --token {secrets.token_urlsafe(16)}")


def token_bits(token: str) -> float:
    """A rough measure of how hard a token is to guess: its length times the entropy of its characters.

    Twelve spaces or 'aaaaaaaaaaaa' measure 0; a random 16-character token about 60; a passphrase of
    words more.  It is deliberately simple: it only has to refuse the obviously weak.
    """
    if not token:
        return 0.0
    counts = Counter(token)
    per_char = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return per_char * len(token)


def weak_token(token: str) -> str | None:
    """Why a token is too weak to guard a review page other computers can reach, or None if it will do."""
    if len(token) < C.REVIEW_TOKEN_MIN_CHARS:
        return f"the access token is too short to be safe (at least {C.REVIEW_TOKEN_MIN_CHARS} characters)"
    if token != token.strip():
        return "the access token starts or ends with a space, which people cannot see when they type it"
    if token_bits(token) < C.REVIEW_TOKEN_MIN_BITS:
        return "the access token is too easy to guess (too few different characters)"
    if dictionary_bits(token) < C.REVIEW_TOKEN_MIN_BITS:
        return "the access token is too easy to guess (it is made of common words)"
    return None


def dictionary_bits(token: str) -> float:
    """The token's strength when each common word in it counts as one guess from a word list.

    The text is split into the cheapest pieces, each a common word or a single character; a word costs
    log2(WORD_GUESSES) bits, a character what guessing it from its kind costs (a digit 3.3, a separator
    such as '-' 2, a letter 4.7, a capital or a sign more).
    """
    from pipeline.common_words import WORD_GUESSES, WORDS

    def char_bits(ch: str) -> float:
        if ch.isdigit():
            return math.log2(10)
        if ch in " -_.,:;/+":
            return 2.0
        if ch.isalpha():
            return math.log2(26) + (1.0 if ch.isupper() else 0.0)
        return 5.0

    text = token.lower()
    word_bits = math.log2(WORD_GUESSES)
    best = [0.0] + [math.inf] * len(text)
    for end in range(1, len(text) + 1):
        best[end] = best[end - 1] + char_bits(token[end - 1])
        for start in range(max(0, end - 16), end - 2):
            if text[start:end] in WORDS:
                best[end] = min(best[end], best[start] + word_bits)
    return best[-1]


@dataclass(frozen=True)
class AppOptions(ReviewOptions):
    """`papervoice app`: the review page's options, plus the scanner's folder and how uploads are kept.

    A subclass, so every check of the review page (local bind, strong token) holds for the office app too.
    """

    watch: Path | None = None  # the folder the office scanner saves into; None until set (here or in the page)
    jobs: int = field(default_factory=default_jobs)
    upload_dir: Path | None = None  # where uploaded files are kept; default: beside the ledger
    max_upload_bytes: int = C.APP_MAX_UPLOAD_BYTES

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.jobs <= 256:
            raise UsageError(f"--jobs must be from 1 to 256, not {self.jobs}", "use e.g. --jobs 2")
        if self.watch is not None and self.watch.exists() and not self.watch.is_dir():
            raise UsageError(f"--watch {self.watch} is a file, not a folder",
                             "give the folder your scanner saves into")
        if self.max_upload_bytes < 1:
            raise UsageError("the upload size limit must be positive", "use e.g. 500 MB")

    @property
    def uploads(self) -> Path:
        """Uploaded files are stored here, under names the app makes up (never the browser's)."""
        home = local_path(self.db)
        return self.upload_dir or home.with_name(home.stem + "-uploads")

    def scan_options(self) -> ScanOptions:
        """The options `papervoice scan` would get: the app reads through the same coordinator."""
        return ScanOptions(db=self.db, jobs=self.jobs, ocr=self.ocr, quiet=True, forms_dirs=self.forms_dirs)
