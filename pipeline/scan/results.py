"""The small, picklable results the per-page reader returns to the coordinator.

They travel between processes (and Dask workers), so they hold numbers,
strings and PNG bytes only: never arrays or open files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from pipeline.form.identity import PageIdentity
from pipeline.vocab import BoxStateCode as BoxState
from pipeline.vocab import ItemStateCode as ItemState
from pipeline.vocab import PageStatusCode as PageStatus


@dataclass(frozen=True)
class BoxMeasures:
    """Every input of `decide.classify` for one box, unrounded and measured whatever the thresholds (which of
    them count is `decide.gated`): the ledger keeps them so a change of thresholds can re-decide every box
    without scanning again (`papervoice reclassify`)."""

    coverage: float  # share of the inner area that is ink
    faint: float  # share with light ink (pencil) at least
    solid: float  # share surviving an erosion wider than a pen stroke
    inner_mm2: float  # the inner area measured
    floor: float  # what this page's empty boxes show (median coverage): the scan's noise
    faint_floor: float  # ... and median light-ink share
    corners: int  # corners of the inner square holding ink
    dot_mm2: float  # solid core left after eroding stroke widths (a dot's)
    cells: int  # ninths holding light ink
    coherence: float  # one direction to the strokes (hatching) or many
    passes: float  # strokes a line across the box meets
    cut_mm2: float  # the inner area as cut in whole pixels (`inner_mm2` is the layout's)
    open_gap: float = 0.0  # widest open paper among the ink, as a share of the side (a cross leaves wide gaps)
    bridged_passes: float = 0.0  # passes with hollow strokes (a 1-bit scan's edges of a broad pen) closed
    bridged_solid: float = 0.0  # ... and how solid that closed ink is
    pieces: int = 0  # separate pieces of light ink (specks: one to three)
    largest_mm2: float = 0.0  # the biggest piece's area


def measure_columns() -> tuple[str, ...]:
    """`BoxMeasures`' fields, in order: the ledger's box_measures columns of the same names."""
    return tuple(f.name for f in fields(BoxMeasures))


@dataclass(frozen=True)
class BoxReading:
    item: str
    value: int
    coverage: float  # share of the inner area that is ink
    darkness: float  # mean darkness of the inked pixels, 0 paper .. 1 black
    spill: float  # share of the ring just outside the box that is ink
    dx_mm: float  # where the printed square was found, relative to where the layout put it
    dy_mm: float
    state: BoxState
    confidence: float
    faint: float = 0.0  # share of the inner area with light ink (pencil) at least
    solid: float = 0.0  # share still inked after eroding away pen strokes: high for a filled-in box
    match: float = 1.0  # how well the printed square was found (template score)
    corners: int = 4  # corners of the inner square holding ink (a fill reaches them; a dot does not)
    cells: int = 0  # ninths of the inner square holding light ink (counted when there is plenty): 9 for a fill
    coherence: float = 0.0  # strokes running one way (hatching, near 1) or crossing (scribbled out)
    beside_mm2: float = 0.0  # ink in the gap to the box's right, where nothing is printed
    beside_at: float = 0.0  # ... where across that gap it lies (0 at this box, 1 at the next box's number)
    left_mm2: float = 0.0  # ink between the box and its own number (a circle round the number crosses it)
    measures: BoxMeasures | None = None  # what `state` was decided from (None: an adopted form's box)


@dataclass(frozen=True)
class ItemReading:
    item: str
    value: int | None
    state: ItemState
    reason: str | None  # why flagged: a `vocab.FlagReason` code
    detail: str
    confidence: float
    crop_png: bytes = b""  # the item's row, paper flattened to white: evidence for a person


@dataclass(frozen=True)
class CommentReading:
    item: str
    written: bool
    text: str
    confidence: float  # 0-100, the OCR engine's own confidence (length-weighted over the lines read)
    engine: str  # the engine that read it; for a field that is only possibly written, why it goes to a person
    ink_fraction: float
    crop_png: bytes = b""
    line_confidences: tuple[float, ...] = ()  # 0-100 per line read, top to bottom: the weak line, not the average
    possible: bool = False  # possibly written: not transcribed, sent to a person with the crop (written is True)
    ink_mm2: float = 0.0  # writing's ink area after the printed lines and specks are taken out
    strokes: int = 0  # stroke-like pieces of ink
    extent_mm: float = 0.0  # how far the writing spreads (the longer side of its bounding box)


@dataclass(frozen=True)
class PageSource:
    path: str
    index: int  # 0-based page index inside the file


@dataclass
class PageResult:
    source: PageSource
    status: PageStatus
    reason: str = ""
    identity: PageIdentity | None = None
    rotation_deg: float = 0.0
    fit_residual_mm: float | None = None
    dpi: float | None = None
    boxes: list[BoxReading] = field(default_factory=list)
    items: list[ItemReading] = field(default_factory=list)
    comments: list[CommentReading] = field(default_factory=list)
    bitonal: bool = False  # scanned in black and white: a decision input of the lost-marks sign (reclassify)
    sheet_code: str = ""  # an adopted return's own per-sheet code (barcode/QR the blank lacks): its copy
    image_png: bytes = b""  # kept for pages a person must look at (not a form, unreadable)
    debug_png: bytes = b""
    seconds: float = 0.0  # (whether a second scan repeats a first is the ledger's rule: ledger.records)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # decode / register / marks / comments / other
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)  # the same stages in this thread's CPU time


@dataclass(frozen=True)
class FileInfo:
    path: str
    sha256: str
    size_bytes: int
