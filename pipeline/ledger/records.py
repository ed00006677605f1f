"""What the ledger is given to record, in the ledger's own terms.

The ledger does not import the scanner: it states here the shape of what it stores (a file, a page and its
readings), and anything with those attributes can be recorded -- the scanner's results, a copy from another
ledger, a test's hand-made page.  The rule for "the same page scanned twice with the same answers" is the
ledger's too, because only the ledger compares a new scan with the one it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

Fingerprint = tuple[tuple[str, int | None, str], ...]


class IdentityRecord(Protocol):
    """What a page's code says it is (`pipeline.form.identity.PageIdentity` has this shape)."""

    @property
    def form(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def style(self) -> str: ...
    @property
    def paper(self) -> str: ...
    @property
    def page(self) -> int: ...
    @property
    def pages(self) -> int: ...
    @property
    def serial(self) -> str: ...
    @property
    def survey(self) -> str | None: ...


class BoxRecord(Protocol):
    """One printed box's measures."""

    @property
    def item(self) -> str: ...
    @property
    def value(self) -> int: ...
    @property
    def coverage(self) -> float: ...
    @property
    def darkness(self) -> float: ...
    @property
    def spill(self) -> float: ...
    @property
    def dx_mm(self) -> float: ...
    @property
    def dy_mm(self) -> float: ...
    @property
    def state(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def faint(self) -> float: ...
    @property
    def solid(self) -> float: ...
    @property
    def match(self) -> float: ...


class ItemRecord(Protocol):
    """One rating as read."""

    @property
    def item(self) -> str: ...
    @property
    def value(self) -> int | None: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def detail(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def crop_png(self) -> bytes: ...


class CommentRecord(Protocol):
    """One free-text field as read."""

    @property
    def item(self) -> str: ...
    @property
    def written(self) -> bool: ...
    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def engine(self) -> str: ...
    @property
    def crop_png(self) -> bytes: ...


class SourceRecord(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def index(self) -> int: ...


class PageRecord(Protocol):
    """One page of an input file and what was read on it."""

    @property
    def source(self) -> SourceRecord: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def identity(self) -> IdentityRecord | None: ...
    @property
    def rotation_deg(self) -> float: ...
    @property
    def fit_residual_mm(self) -> float | None: ...
    @property
    def dpi(self) -> float | None: ...
    @property
    def boxes(self) -> Sequence[BoxRecord]: ...
    @property
    def items(self) -> Sequence[ItemRecord]: ...
    @property
    def comments(self) -> Sequence[CommentRecord]: ...
    @property
    def image_png(self) -> bytes: ...


class FileRecord(Protocol):
    """One input file, known by its content."""

    @property
    def path(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...


def fingerprint(answers: Iterable[tuple[str, int | None, str]], comments: Iterable[tuple[str, bool]]) -> Fingerprint:
    """The one rule for comparing two scans of a page: every answer (item, value, state) by item, and whether
    each comment field was written in."""
    return (tuple(sorted(answers, key=lambda a: a[0]))
            + tuple((item, None, "written" if written else "blank") for item, written in sorted(comments)))


def page_fingerprint(page: PageRecord) -> Fingerprint:
    """A new scan's fingerprint, by the same rule the ledger applies to the scan it holds."""
    return fingerprint([(i.item, i.value, str(i.state)) for i in page.items],
                       [(c.item, bool(c.written)) for c in page.comments])


def mime_of(data: bytes) -> str:
    """An image's type from its first bytes (the scanner keeps PNG, and JPEG for photographs of pages)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:2] == b"\xff\xd8":
        return "image/jpeg"
    return "application/octet-stream"


def line_confidences_text(values: Iterable[float]) -> str:
    """A comment's per-line confidences as the ledger keeps them: '91.5,42.0' (portable, one column)."""
    return ",".join(f"{float(v):.1f}" for v in values)


def parse_line_confidences(text: str | None) -> tuple[float, ...]:
    """The per-line confidences back from the ledger; '' (fields read before they were kept) gives none."""
    out = []
    for part in (text or "").split(","):
        try:
            out.append(float(part))
        except ValueError:
            continue
    return tuple(out)
