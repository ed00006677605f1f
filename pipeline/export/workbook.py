"""Export: the ledger becomes one Excel workbook (and optionally CSV files) for evaluators.

The workbook is built from a single read-only snapshot of the ledger, so it is
internally consistent even while a scan is writing, and exporting can never
change what was scanned or decided.  Everything that came off paper is treated
as untrusted text: it is stored as text (never a formula), with control
characters removed.  The file is written under a temporary name and moved
into place, so a half-written workbook never exists under the real name.

Crop images dominate both the size of the workbook and the time it takes, so
they are prepared (scaled to what is shown, in parallel processes) into a
scratch folder first and only read back while the zip file is written; the
workbook object never holds image bytes in memory.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import sqlite3
import statistics
import struct
import tempfile
import textwrap
import weakref
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from copy import copy as clone
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from zipfile import ZIP_DEFLATED, ZIP_STORED, ZipFile

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image as XlImage
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook as WorkbookType
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from pipeline import constants as C
from pipeline.atomic import OutputError, atomic_write, document_mode
from pipeline.errors import LedgerError, UnknownFormError
from pipeline.form.definition import Form, FormRegistry, ScalePoint
from pipeline.ledger.store import Ledger, describe_page_decision, parse_page_decision
from pipeline.options import ExportOptions

# --- Coding rules, shared by the sheets, the CSV files and the Codebook -----------------------

#: Pairs of forms that ask the same statements of two audiences; compared side by side when both have returns.
COMPARISON_PAIRS: tuple[tuple[str, str], ...] = (("care-planning-person", "care-planning-practitioner"),)
DEFAULT_SCALE = tuple(ScalePoint(v, "") for v in range(1, 6))

#: Why the scanner asked a person, in words an evaluator understands (the ledger stores a short code).
REASON_WORDS = {
    "multiple": "more than one box is marked",
    "uncertain": "a mark is too faint or unclear to be sure of",
    "poor_fit": "the page did not line up well with the printed layout",
    "conflict": "two scans of this page disagree",
}
COMMENT_REASON = "handwriting not yet checked by a person"

#: What became of a page, when the ledger gives no reason of its own.
PAGE_STATUS_WORDS = {
    "form": "read into the ledger",
    "blank": "no writing or marks on the page",
    "not_form": "not a PaperVoice page (no readable code)",
    "unreadable": "the page could not be read",
    "foreign": "printed for another survey (another ledger): not counted here",
    "duplicate": "the same page was scanned before",
    "conflict": "scanned before with different answers",
    "failed": "the file could not be opened",
}

YES, NO = "yes", "no"
EXCEL_MAX_CELL_CHARS = 32_767
FORMULA_STARTS = ("=", "+", "-", "@")
#: C0 controls except tab and newline, DEL and C1 controls, lone surrogates and the XML non-characters.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SHEET_NAME_BAD_RE = re.compile(r"[\[\]:*?/\\']")

HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
REVIEW_FILL = PatternFill("solid", fgColor="FFE066")  # highlighted: still needs a person
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
CENTRE_TOP = Alignment(horizontal="center", vertical="top")
LEFT_WRAP_TOP = Alignment(horizontal="left", wrap_text=True, vertical="top")
#: One colour per scale point, low to high (ColorBrewer RdBu, readable with the common colour-vision deficiencies).
RATING_COLOURS = ("B2182B", "EF8A62", "BDBDBD", "67A9CF", "2166AC")
COMPARISON_COLOURS = ("2166AC", "EF8A62")
POINTS_PER_PIXEL = 0.75  # Excel row heights are in points, image sizes in 96-dpi pixels
CM_PER_DEFAULT_ROW = 0.53  # a 15 pt row, used to leave room under a chart


def clean_text(value: object) -> str:
    """Text from paper or from the ledger, made safe to store: no control characters, within Excel's limit.

    Tab and newline are kept (people write on several lines); a carriage return becomes a newline.
    """
    text = "" if value is None else str(value)
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > EXCEL_MAX_CELL_CHARS:
        marker = " … [cut: longer than an Excel cell can hold]"
        text = text[: EXCEL_MAX_CELL_CHARS - len(marker)] + marker
    return text


def put(ws: Worksheet, row: int, col: int, value: Any, style: Alignment | None = None) -> Any:
    """Write one cell; every string is stored as inert text, whatever it starts with.

    openpyxl turns a string starting with '=' into a formula and '#N/A' into an error; forcing the
    type to text stops both, and the quote prefix keeps it text when someone edits the cell in Excel.
    """
    if isinstance(value, str):
        value = clean_text(value)
    cell = ws.cell(row=row, column=col, value=value)
    quoted = False
    if isinstance(value, str):
        cell.data_type = "s"
        quoted = value.startswith(FORMULA_STARTS)
    if style is not None or quoted:
        _apply_style(ws, cell, style, quoted)
        if style is not None and style.wrap_text and isinstance(value, str) and len(value) > 8:
            _grow_row(ws, row, col, value)
    return cell


def _grow_row(ws: Worksheet, row: int, col: int, text: str) -> None:
    """Make a row tall enough for wrapped text: LibreOffice (and Excel, for files it did not write) keep
    the default height otherwise, and the lines run into the next row."""
    width = ws.column_dimensions[get_column_letter(col)].width or 13.0
    per_line = max(1.0, width * C.EXPORT_CHARS_PER_WIDTH_UNIT)
    if len(text) <= per_line and "\n" not in text:
        return
    lines = sum(len(textwrap.wrap(part, int(per_line), break_on_hyphens=False)) or 1 for part in text.split("\n"))
    if lines > 1:
        height = C.EXPORT_POINTS_PER_TEXT_LINE * min(lines, C.EXPORT_MAX_TEXT_LINES) + 3
        current = ws.row_dimensions[row].height
        if current is None or current < height:
            ws.row_dimensions[row].height = height


#: Style arrays already registered in a workbook, per (alignment, quote prefix).  Setting `cell.alignment`
#: hashes the style objects on every call, which was most of the time spent on 100,000 cells.
_STYLE_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[int, bool], Any]] = weakref.WeakKeyDictionary()


def _apply_style(ws: Worksheet, cell: Any, style: Alignment | None, quoted: bool) -> None:
    known = _STYLE_CACHE.setdefault(ws.parent, {})
    key = (id(style), quoted)
    array = known.get(key)
    if array is None:
        if style is not None:
            cell.alignment = style
        if quoted:
            cell.quotePrefix = True
        known[key] = clone(cell._style)
    else:
        cell._style = clone(array)


def put_row(ws: Worksheet, row: int, values: Sequence[Any], style: Alignment | None = None) -> None:
    for col, value in enumerate(values, 1):
        put(ws, row, col, value, style)


# --- What the ledger says -----------------------------------------------------------------------


@dataclass
class Answer:
    """One rating as it stands after review."""

    item: str
    value: int | None  # settled value, or the machine's reading while `open`
    open: bool  # still needs a person: shown highlighted and left out of the statistics
    reason: str
    read: str  # what the machine saw, for the Review sheet
    crop_id: int | None
    page_id: int


@dataclass
class Written:
    """One free-text field as it stands after review."""

    field: str
    text: str
    confidence: float
    crop_id: int | None
    checked: bool  # a person confirmed or corrected the transcription
    written: bool  # the scanner found handwriting in the field

    @property
    def open(self) -> bool:
        """A written comment needs a person until someone has confirmed or corrected it (OCR is only a draft)."""
        return self.written and not self.checked

    @property
    def present(self) -> bool:
        return self.written or bool(self.text.strip())


@dataclass
class ReturnedCopy:
    serial: str
    form_id: str
    versions: set[int] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    pages: set[int] = field(default_factory=set)
    page_count: int = 0
    issued: bool = True
    answers: dict[str, Answer] = field(default_factory=dict)
    comments: dict[str, Written] = field(default_factory=dict)
    first_page_id: int = 0  # the review page records "pages missing, acknowledged" on this page
    missing_acknowledged: bool = False

    @property
    def missing_pages(self) -> list[int]:
        return [p for p in range(1, self.page_count + 1) if p not in self.pages]

    @property
    def complete(self) -> bool:
        return self.page_count > 0 and all(p in self.pages for p in range(1, self.page_count + 1))

    @property
    def needs_review(self) -> bool:
        return any(a.open for a in self.answers.values()) or any(c.open for c in self.comments.values())

    @property
    def version_text(self) -> int | str:
        versions = sorted(self.versions)
        return versions[0] if len(versions) == 1 else "; ".join(map(str, versions))


@dataclass
class FormReport:
    form_id: str
    definitions: dict[int, Form | None]  # every version seen in the ledger
    item_ids: list[str]
    field_ids: list[str]
    scale: tuple[ScalePoint, ...]
    issued: int
    copies: list[ReturnedCopy]

    @property
    def definition(self) -> Form | None:
        """The newest version we have a definition for: its wording labels the sheets."""
        known = [f for _, f in sorted(self.definitions.items()) if f is not None]
        return known[-1] if known else None

    def statement(self, item_id: str) -> str:
        for _, form in sorted(self.definitions.items(), reverse=True):
            if form is not None:
                try:
                    return form.item(item_id).text
                except KeyError:
                    continue
        return ""

    def scale_label(self, value: int) -> str:
        return next((p.label for p in self.scale if p.value == value), "")

    def settled(self, item_id: str) -> list[int]:
        values = (c.answers.get(item_id) for c in self.copies)
        return [a.value for a in values if a is not None and not a.open and a.value is not None]


@dataclass
class PageRow:
    file: str
    page: int | None
    status: str
    reason: str
    serial: str | None
    form_id: str | None
    version: int | None
    form_page: int | None
    scanned_at: str
    decision: str  # a person's decision about the page, in words
    page_id: int | None = None
    image_id: int | None = None

    @property
    def open(self) -> bool:
        """An unrecognised page is a question for a person until they assign it or confirm it is not a form."""
        return self.status in ("not_form", "unreadable", "foreign") and not self.decision


@dataclass
class Snapshot:
    forms: list[FormReport]
    pages: list[PageRow]


def _read_snapshot(ledger: Ledger, registry: FormRegistry, only: str | None) -> Snapshot:
    """Everything the workbook shows, read inside one transaction so it is one consistent moment."""
    row = ledger.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        raise LedgerError(f"{ledger.path} is not a PaperVoice ledger", "pass the right --db")
    form_ids = sorted({r[0] for r in ledger.execute(
        "SELECT form_id FROM serials UNION SELECT form_id FROM pages WHERE form_id IS NOT NULL")})
    if only is not None:
        if only not in form_ids:
            raise UnknownFormError(f"the ledger {ledger.path} holds nothing for form '{only}'",
                                   f"use one of: {', '.join(form_ids) or '(the ledger is empty)'}")
        form_ids = [only]
    forms = [_read_form(ledger, registry, form_id) for form_id in form_ids]
    return Snapshot(forms, _read_pages(ledger, only))


def _read_form(ledger: Ledger, registry: FormRegistry, form_id: str) -> FormReport:
    versions = sorted({int(r[0]) for r in ledger.execute(
        "SELECT form_version FROM serials WHERE form_id = ? UNION "
        "SELECT form_version FROM pages WHERE form_id = ? AND form_version IS NOT NULL", (form_id, form_id))})
    definitions = {v: registry.find(form_id, v) for v in versions}
    issued = int(ledger.execute("SELECT COUNT(*) FROM serials WHERE form_id = ?", (form_id,)).fetchone()[0])

    copies: dict[str, ReturnedCopy] = {}
    for r in ledger.execute(
            "SELECT p.serial, p.form_version, p.form_page, p.page_count, p.serial_issued, f.path, p.id FROM pages p "
            "JOIN files f ON f.id = p.file_id WHERE p.status = 'form' AND p.form_id = ? AND p.serial IS NOT NULL "
            "ORDER BY p.serial, p.form_page, p.id", (form_id,)):
        copy = copies.setdefault(r["serial"], ReturnedCopy(r["serial"], form_id, first_page_id=int(r["id"])))
        copy.first_page_id = min(copy.first_page_id, int(r["id"]))
        copy.versions.add(int(r["form_version"]))
        copy.pages.add(int(r["form_page"]))
        copy.page_count = max(copy.page_count, int(r["page_count"] or 0))
        copy.issued = bool(r["serial_issued"])
        if r["path"] not in copy.files:
            copy.files.append(r["path"])

    acknowledged = {int(r[0]) for r in ledger.execute(
        "SELECT page_id, value FROM active_decisions WHERE kind = 'page' AND item = ''")
        if (parse_page_decision(r[1]) or {}).get("action") == "acknowledge_missing"}
    for copy in copies.values():
        copy.missing_acknowledged = copy.first_page_id in acknowledged

    labels = {p.value: p.label for f in definitions.values() if f is not None for p in f.scale}
    boxes = _boxes_seen(ledger, form_id)
    seen_items: list[str] = []
    for r in ledger.execute(
            "SELECT serial, page_id, item, machine_value, reason, detail, crop_id, value, state "
            "FROM effective_answers WHERE form_id = ? ORDER BY serial, form_page, item", (form_id,)):
        owner = copies.get(r["serial"])
        if owner is None:
            continue
        is_open = r["state"] == "flagged"
        reason = read = ""
        if is_open:
            reason = REASON_WORDS.get(r["reason"] or "", r["reason"] or "unclear")
            if r["detail"]:
                reason += f" ({r['detail']})"
            machine = r["machine_value"]
            read = (f"{machine}" + (f" ({labels[machine]})" if machine in labels else "")
                    if machine is not None else "no single answer")
            seen = boxes.get((r["page_id"], r["item"]))
            if seen:
                read += "; boxes: " + ", ".join(f"{value} {state}" for value, state in seen)
        owner.answers[r["item"]] = Answer(r["item"], r["value"], is_open, reason, read, r["crop_id"],
                                         int(r["page_id"]))
        seen_items.append(r["item"])

    seen_fields: list[str] = []
    for r in ledger.execute(
            "SELECT serial, item, written, confidence, crop_id, text, decision_id FROM effective_comments "
            "WHERE form_id = ? ORDER BY serial, form_page, item", (form_id,)):
        holder = copies.get(r["serial"])
        if holder is None:
            continue
        holder.comments[r["item"]] = Written(r["item"], clean_text(r["text"]), float(r["confidence"]), r["crop_id"],
                                           r["decision_id"] is not None, bool(r["written"]))
        seen_fields.append(r["item"])

    defined = [f for _, f in sorted(definitions.items(), reverse=True) if f is not None]
    item_ids = _ordered([i.id for f in defined for i in f.items], seen_items)
    field_ids = _ordered([t.id for f in defined for t in f.free_text], seen_fields)
    scale = defined[0].scale if defined else DEFAULT_SCALE
    return FormReport(form_id, definitions, item_ids, field_ids, scale, issued,
                      [copies[s] for s in sorted(copies)])


def _ordered(defined: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Ids in the order the form prints them; ids only the ledger knows (no definition) follow, sorted."""
    out = list(dict.fromkeys(defined))
    return out + sorted(set(seen) - set(out))


def _boxes_seen(ledger: Ledger, form_id: str) -> dict[tuple[int, str], list[tuple[int, str]]]:
    """The non-empty boxes of every flagged item, so the Review sheet can say what the scanner saw."""
    out: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for r in ledger.execute(
            "SELECT b.page_id, b.item, b.value, b.state FROM box_measurements b "
            "JOIN answers a ON a.page_id = b.page_id AND a.item = b.item JOIN pages p ON p.id = b.page_id "
            "WHERE a.state = 'flagged' AND b.state != 'empty' AND p.form_id = ? AND p.status = 'form' "
            "ORDER BY b.page_id, b.item, b.value", (form_id,)):
        out.setdefault((int(r[0]), r[1]), []).append((int(r[2]), r[3]))
    return out


def _read_pages(ledger: Ledger, only: str | None) -> list[PageRow]:
    """Every page of every file, and files that could not be opened at all."""
    rows: list[PageRow] = []
    where = "" if only is None else "WHERE p.form_id IS NULL OR p.form_id = ?"
    params: Sequence[Any] = () if only is None else (only,)
    for r in ledger.execute(
            "SELECT f.path, p.page_index, p.status, p.reason, p.serial, p.form_id, p.form_version, p.form_page, "
            "p.scanned_at, (SELECT d.value FROM active_decisions d WHERE d.kind = 'page' AND d.page_id = p.id "
            "AND d.item = '') AS decision, p.id, p.image_id "
            f"FROM pages p JOIN files f ON f.id = p.file_id {where} ORDER BY f.path, f.id, p.page_index", params):
        rows.append(PageRow(r[0], int(r[1]) + 1, r[2], r[3] or PAGE_STATUS_WORDS.get(r[2], ""), r[4], r[5], r[6],
                            r[7], r[8], describe_page_decision(r[9]), int(r[10]), r[11]))
    for r in ledger.execute("SELECT path, error, scanned_at FROM files WHERE outcome = 'failed' AND "
                            "NOT EXISTS (SELECT 1 FROM pages p WHERE p.file_id = files.id) ORDER BY path"):
        rows.append(PageRow(r[0], None, "failed", r[1] or PAGE_STATUS_WORDS["failed"], None, None, None, None,
                            r[2], ""))
    return rows


# --- Crop images ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageJob:
    image_id: int
    dest: str
    max_width_px: int
    max_height_px: int


@dataclass(frozen=True)
class Shown:
    """A prepared image file and the size it is shown at in the sheet."""

    path: Path
    width_px: int
    height_px: int
    fmt: str


_worker_db: sqlite3.Connection | None = None


def _open_images(db_path: str) -> None:
    """Pool initializer: each process reads image blobs itself, so only ids cross process boundaries."""
    global _worker_db
    _worker_db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=C.SQLITE_BUSY_TIMEOUT_MS / 1000)


def _start_worker(db_path: str) -> None:
    """A pool process: one OpenCV thread each, since the processes already use every core (measured faster)."""
    import cv2

    cv2.setNumThreads(1)
    _open_images(db_path)


def _prepare_image(job: ImageJob) -> tuple[int, int, str] | None:
    """Fit one crop to its cell: returns the shown size and format, or None if the image cannot be read.

    The file keeps up to EXPORT_IMAGE_STORED_SCALE times the shown pixels so handwriting stays sharp when
    zoomed or printed; larger scans are scaled down, smaller ones are copied unchanged (cheap).
    """
    import cv2
    import numpy as np
    from PIL import Image as PILImage

    assert _worker_db is not None
    row = _worker_db.execute("SELECT data FROM images WHERE id = ?", (job.image_id,)).fetchone()
    if row is None:
        return None
    data = bytes(row[0])
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":  # what the scanner stores: read the size only
        width, height = struct.unpack(">II", data[16:24])
        fmt = "png"
    else:
        try:
            with PILImage.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                fmt = (probe.format or "").lower()
        except Exception:  # PIL raises many kinds of error for a damaged image; any of them means "cannot show"
            return None
    if width < 1 or height < 1:
        return None
    scale = min(job.max_width_px / width, job.max_height_px / height, C.EXPORT_IMAGE_MAX_ENLARGE)
    shown_w, shown_h = max(1, round(width * scale)), max(1, round(height * scale))
    keep_w = round(shown_w * C.EXPORT_IMAGE_STORED_SCALE)
    if fmt in ("png", "jpeg") and width <= keep_w * 1.1:
        out = data
    else:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if pixels is None:
            return None
        if width > keep_w:
            keep_h = max(1, round(height * keep_w / width))
            # area averaging only pays for strong reductions; for mild ones bilinear looks the same, 4x faster
            method = cv2.INTER_AREA if keep_w < width / 2 else cv2.INTER_LINEAR
            pixels = cv2.resize(pixels, (keep_w, keep_h), interpolation=method)
        pixels = _whiten_paper(pixels)
        # run-length coding suits a white page with ink on it: smaller and faster than the default here
        ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 3,
                                                    cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
        if not ok:
            return None
        out, fmt = encoded.tobytes(), "png"
    Path(job.dest).write_bytes(out)
    return shown_w, shown_h, fmt


def _whiten_paper(pixels: Any) -> Any:
    """Map the paper's own grey (and scanner noise on it) to white; ink keeps its shades.

    Only the display copy is changed, the ledger keeps the scan.  Noise on the paper is what makes a grey
    crop large: without it the PNG is about a fifth of the size and writes several times faster.  The cut
    sits EXPORT_PAPER_WHITEN below the paper's median, well above the faintest ink the scanner counts.
    """
    import cv2
    import numpy as np

    if pixels.dtype != np.uint8:
        return pixels
    sample = pixels[::4, ::4]
    paper = float(np.median(sample if sample.ndim == 2 else sample[..., :3].mean(axis=2)))
    cut = max(paper * (1 - C.EXPORT_PAPER_WHITEN), 1.0)
    lut = np.clip(np.arange(256) * (255.0 / cut), 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 4:  # leave transparency alone
        pixels = pixels.copy()
        pixels[..., :3] = cv2.LUT(np.ascontiguousarray(pixels[..., :3]), lut)
        return pixels
    return cv2.LUT(pixels, lut)


class CropPlan:
    """The crops the sheets will show: prepared in worker processes while the sheets are being built.

    Sheets say where each crop goes (`place`); the pictures are anchored once all are ready (`finish`),
    which also sets each row tall enough for its picture.
    """

    def __init__(self, db_path: Path, scratch: Path) -> None:
        self.db_path, self.scratch = db_path, scratch
        self.jobs: list[ImageJob] = []
        self._dest: dict[int, str] = {}
        self._places: list[tuple[Worksheet, int, int, int]] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pending: Iterator[tuple[int, int, str] | None] | None = None
        self._done: list[tuple[int, int, str] | None] | None = None

    def want(self, image_id: int | None, max_width_px: int, max_height_px: int) -> None:
        if image_id is None or image_id in self._dest:
            return
        dest = str(self.scratch / f"{image_id}.img")
        self._dest[image_id] = dest
        self.jobs.append(ImageJob(image_id, dest, max_width_px, max_height_px))

    def start(self) -> None:
        """Begin preparing, in parallel when there are enough crops to repay starting processes."""
        workers = min(C.EXPORT_IMAGE_WORKERS_MAX, os.cpu_count() or 1,
                      math.ceil(len(self.jobs) / C.EXPORT_IMAGES_PER_WORKER))
        if workers <= 1:
            global _worker_db
            _open_images(str(self.db_path))
            try:
                self._done = [_prepare_image(job) for job in self.jobs]
            finally:
                if _worker_db is not None:
                    _worker_db.close()
                _worker_db = None
            return
        # spawn, not fork: the parent holds an open SQLite connection that must not be shared
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                         initializer=_start_worker, initargs=(str(self.db_path),))
        self._pending = self._pool.map(_prepare_image, self.jobs, chunksize=16)

    def place(self, ws: Worksheet, row: int, col: int, image_id: int | None) -> None:
        if image_id is None or image_id not in self._dest:
            put(ws, row, col, "(no image)", TOP)
        else:
            self._places.append((ws, row, col, image_id))

    def finish(self) -> None:
        """Wait for the crops and anchor each one in its cell."""
        if self._done is None:
            self._done = list(self._pending or ())
        self.close()
        shown: dict[int, Shown] = {}
        for job, outcome in zip(self.jobs, self._done, strict=True):
            if outcome is not None:
                shown[job.image_id] = Shown(Path(job.dest), *outcome)
        for ws, row, col, image_id in self._places:
            picture = shown.get(image_id)
            if picture is None:
                put(ws, row, col, "(image could not be read)", TOP)
                continue
            ws.add_image(_FileImage(picture), f"{get_column_letter(col)}{row}")
            needed = picture.height_px * POINTS_PER_PIXEL + 4
            ws.row_dimensions[row].height = max(ws.row_dimensions[row].height or 15.0, needed)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class _FileImage(XlImage):
    """An openpyxl image that stays on disk until the workbook is written.

    openpyxl's own Image decodes and keeps the picture from the start; with thousands of crops that
    would hold them all in memory.  Only the zip writer calls `_data`.
    """

    def __init__(self, shown: Shown) -> None:  # no super().__init__: it would open the image now
        self.ref = str(shown.path)
        self.width, self.height, self.format = shown.width_px, shown.height_px, shown.fmt

    def _data(self) -> bytes:
        return Path(self.ref).read_bytes()


class _Writer(ExcelWriter):
    """Stores images uncompressed: PNG and JPEG are compressed already, deflating them again only costs time."""

    def _write_images(self) -> None:
        for img in self._images:
            self._archive.writestr(img.path[1:], img._data(), compress_type=ZIP_STORED)


def _save(wb: WorkbookType, output: Path) -> None:
    """Write under a temporary name in the same folder, flush, then rename over the real name."""
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.fchmod(fd, document_mode())
    os.close(fd)
    try:
        with ZipFile(tmp, "w", ZIP_DEFLATED, allowZip64=True) as archive:
            _Writer(wb, archive).write_data()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, output)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}",
                          "check the folder exists, there is free space, and the file is not open in Excel") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)


# --- The sheets -----------------------------------------------------------------------------------


def _header(ws: Worksheet, row: int, names: Sequence[str], widths: Sequence[float] | None = None) -> None:
    for col, width in enumerate(widths or (), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    for col, name in enumerate(names, 1):
        cell = put(ws, row, col, name, WRAP_TOP)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL


def _table_sheet(ws: Worksheet, rows: int, cols: int) -> None:
    """Frozen header, autofilter, and pages that print the full width with the header on each page."""
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(cols, 1))}{max(rows, 1)}"
    ws.print_title_rows = "1:1"
    _print_setup(ws)


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def _image_width(width_px: int) -> float:
    """Column width (in Excel's character units, 7 px each in the default font) that holds a picture."""
    return width_px / 7 + 2


def sheet_title(prefix: str, form_ids: Sequence[str]) -> dict[str, str]:
    """Sheet names for per-form sheets, always starting with `prefix` (so people and scripts find every
    Responses sheet the same way); Excel allows 31 characters, so a long form id is cut short - the Form
    column in the sheet and the Codebook carry it in full."""
    names: dict[str, str] = {}
    for form_id in form_ids:
        base = _SHEET_NAME_BAD_RE.sub("_", f"{prefix} {form_id}")[:31]
        name, n = base, 2
        while name in names.values():
            name = f"{base[:28]}~{n}"
            n += 1
        names[form_id] = name
    return names


def write_summary(ws: Worksheet, forms: list[FormReport]) -> None:
    """Per form: copies issued/returned/complete, a distribution table per statement, and a stacked bar chart."""
    ws.title = "Summary"
    _print_setup(ws)
    n_points = max((len(r.scale) for r in forms), default=5)
    for col, width in enumerate([9.0, 58.0, 10.0] + [11.0] * (2 * n_points) + [9.0, 9.0, 9.0, 9.0], 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    row = 1
    put(ws, row, 1, "Summary of returns").font = TITLE_FONT
    row += 1
    put(ws, row, 1, "Percentages are of the settled answers to each statement; answers still waiting for "
                    "review are counted separately and left out. See the Codebook sheet.")
    row += 2
    if not forms:
        put(ws, row, 1, "The ledger holds no forms yet.")
    for n, report in enumerate(forms):
        if n:
            ws.row_breaks.append(Break(id=row - 1))  # each form's table and chart on a page of its own
        row = _summary_block(ws, report, row) + 2


def _summary_block(ws: Worksheet, report: FormReport, row: int) -> int:
    form = report.definition
    title = f"{report.form_id}" + (f": {form.title}" if form else " (no form definition found)")
    put(ws, row, 1, title).font = TITLE_FONT
    row += 1
    returned = len(report.copies)
    returned_issued = sum(1 for c in report.copies if c.issued)
    facts: list[tuple[str, Any, str | None]] = [
        ("Form versions", "; ".join(str(v) for v in sorted(report.definitions)), None),
        ("Copies issued", report.issued, None),
        ("Copies returned", returned, None),
        ("Returned complete (all pages)", sum(1 for c in report.copies if c.complete), None),
        ("Response rate (returned ÷ issued)", returned_issued / report.issued if report.issued else None, "0.0%"),
    ]
    if returned != returned_issued:
        facts.append(("Returned with a serial this ledger did not issue", returned - returned_issued, None))
    for label, value, fmt in facts:
        put(ws, row, 1, label)
        cell = put(ws, row, 3, value if value is not None else "n/a")
        if fmt and value is not None:
            cell.number_format = fmt
        row += 1
    row += 1
    points = report.scale
    head = (["Item", "Statement", "n answered"]
            + [f"{p.value} {p.label}".strip() for p in points] + [f"% {p.value}" for p in points]
            + ["Blank", "Needs review", "Mean", "Median"])
    _header(ws, row, head)
    header_row = row
    for item_id in report.item_ids:
        row += 1
        values = report.settled(item_id)
        in_scale = [v for v in values if any(p.value == v for p in points)]
        n = len(in_scale)
        waiting = sum(1 for c in report.copies if (a := c.answers.get(item_id)) is not None and a.open)
        put(ws, row, 1, item_id, TOP)
        put(ws, row, 2, report.statement(item_id), WRAP_TOP)
        put(ws, row, 3, n, TOP)
        for k, p in enumerate(points):
            count = sum(1 for v in in_scale if v == p.value)
            put(ws, row, 4 + k, count, TOP)
            pct = put(ws, row, 4 + len(points) + k, count / n if n else None, TOP)
            pct.number_format = "0%"
        col = 4 + 2 * len(points)
        put(ws, row, col, len(report.copies) - n - waiting, TOP)
        put(ws, row, col + 1, waiting, TOP)
        put(ws, row, col + 2, statistics.fmean(in_scale) if in_scale else None, TOP).number_format = "0.00"
        put(ws, row, col + 3, float(statistics.median(in_scale)) if in_scale else None, TOP).number_format = "0.0"
    last = row
    row += 2
    if not report.copies or not report.item_ids:
        put(ws, row, 1, "No returns yet: nothing to chart.")
        return row
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap, chart.gapWidth = "bar", "percentStacked", 100, 40
    chart.title = f"{report.form_id}: how people answered each statement"
    chart.add_data(Reference(ws, min_col=4, max_col=3 + len(points), min_row=header_row, max_row=last),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last))
    for series, colour in zip(chart.series, _colours(len(points)), strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = "FFFFFF"
    chart.x_axis.scaling.orientation = "maxMin"  # first statement at the top, as on the form
    chart.x_axis.title = "Statement"
    chart.y_axis.title = "Share of settled answers"
    chart.y_axis.number_format = "0%"
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl >= 3.1.4 hides axes unless told
    chart.legend.position = "b"
    chart.width = C.EXPORT_CHART_WIDTH_CM
    chart.height = C.EXPORT_CHART_BASE_HEIGHT_CM + C.EXPORT_CHART_CM_PER_ITEM * len(report.item_ids)
    ws.add_chart(chart, f"A{row}")
    return row + math.ceil(chart.height / CM_PER_DEFAULT_ROW)


def _colours(n: int) -> list[str]:
    if n == len(RATING_COLOURS):
        return list(RATING_COLOURS)
    return [RATING_COLOURS[round(i * (len(RATING_COLOURS) - 1) / max(n - 1, 1))] for i in range(n)]


def responses_header(report: FormReport) -> list[str]:
    return ["Serial", "Form", "Version", "Scanned file", "Pages", *report.item_ids, *report.field_ids,
            "Needs review"]


def response_values(report: FormReport, copy: ReturnedCopy) -> list[Any]:
    """One copy as a row of plain values: the same in the sheet and the CSV file."""
    values: list[Any] = [copy.serial, copy.form_id, copy.version_text, "; ".join(copy.files),
                         f"{len(copy.pages)} of {copy.page_count}"]
    values += [a.value if (a := copy.answers.get(i)) is not None else None for i in report.item_ids]
    values += [c.text if (c := copy.comments.get(f)) is not None else "" for f in report.field_ids]
    values.append(YES if copy.needs_review else NO)
    return values


def write_responses(ws: Worksheet, report: FormReport) -> None:
    head = responses_header(report)
    _header(ws, 1, head, [10, 26, 8, 30, 9] + [6.5] * len(report.item_ids) + [50] * len(report.field_ids) + [9])
    first_item = 6
    first_field = first_item + len(report.item_ids)
    for r, copy in enumerate(report.copies, 2):
        for c, value in enumerate(response_values(report, copy), 1):
            if first_field <= c < first_field + len(report.field_ids):
                style = WRAP_TOP
            elif c == 3 or first_item <= c < first_field:
                style = CENTRE_TOP
            else:
                style = TOP
            put(ws, r, c, value, style)
        for k, item_id in enumerate(report.item_ids):
            answer = copy.answers.get(item_id)
            if answer is not None and answer.open:
                cell = ws.cell(row=r, column=first_item + k)
                cell.fill = REVIEW_FILL
                cell.comment = Comment(clean_text(f"Needs review: {answer.reason}. Read: {answer.read}."),
                                       "PaperVoice", width=300, height=110)
    _table_sheet(ws, len(report.copies) + 1, len(head))


def write_comments(ws: Worksheet, forms: list[FormReport], crops: CropPlan,
                   place: dict[tuple[str, str, str], int]) -> None:
    head = ["Serial", "Form", "Field", "Transcription", "OCR confidence", "Handwriting", "Checked by a person"]
    _header(ws, 1, head, [10, 26, 7, 50, 11, _image_width(C.EXPORT_COMMENT_IMAGE_WIDTH_PX), 11])
    row = 1
    for report in forms:
        for copy in report.copies:
            for field_id in report.field_ids:
                note = copy.comments.get(field_id)
                if note is None or not note.present:
                    continue
                row += 1
                place[(report.form_id, copy.serial, field_id)] = row
                put(ws, row, 1, copy.serial, TOP)
                put(ws, row, 2, report.form_id, TOP)
                put(ws, row, 3, field_id, TOP)
                put(ws, row, 4, note.text, WRAP_TOP)
                put(ws, row, 5, round(note.confidence, 1), TOP)
                put(ws, row, 7, YES if note.checked else NO, TOP)
                crops.place(ws, row, 6, note.crop_id)
    _table_sheet(ws, row, len(head))


def write_review(ws: Worksheet, forms: list[FormReport], pages: list[PageRow], crops: CropPlan,
                 comment_rows: dict[tuple[str, str, str], int]) -> None:
    """Open questions only, the same four kinds the review page asks: unsettled answers, unchecked
    handwriting, copies with pages missing (until acknowledged) and unrecognised pages."""
    head = ["Serial", "Form", "Item", "Reason", "What was read", "Crop"]
    _header(ws, 1, head, [10, 26, 7, 45, 34, _image_width(C.EXPORT_ITEM_IMAGE_WIDTH_PX)])
    row = 1
    for report in forms:
        for copy in report.copies:
            for item_id in report.item_ids:
                answer = copy.answers.get(item_id)
                if answer is None or not answer.open:
                    continue
                row += 1
                for c, value in enumerate((copy.serial, report.form_id, item_id, answer.reason, answer.read), 1):
                    put(ws, row, c, value, WRAP_TOP)
                crops.place(ws, row, 6, answer.crop_id)
            for field_id in report.field_ids:
                note = copy.comments.get(field_id)
                if note is None or not note.open:
                    continue
                row += 1
                read = note.text or "(the handwriting engine read nothing)"
                for c, value in enumerate((copy.serial, report.form_id, field_id, COMMENT_REASON, read), 1):
                    put(ws, row, c, value, WRAP_TOP)
                target = comment_rows.get((report.form_id, copy.serial, field_id))
                if target is not None:
                    cell = put(ws, row, 6, "see the handwriting", TOP)
                    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'Comments'!F{target}")
                    cell.font = Font(color="0563C1", underline="single")
            if not copy.complete and not copy.missing_acknowledged:
                row += 1
                missing = ", ".join(map(str, copy.missing_pages))
                put_row(ws, row, (copy.serial, report.form_id, "(pages)", f"page {missing} of {copy.page_count} "
                                  "not returned", f"pages received: {', '.join(map(str, sorted(copy.pages)))}"),
                        WRAP_TOP)
    for page in pages:
        if page.open:
            row += 1
            put_row(ws, row, ("", "", "(page)", f"{PAGE_STATUS_WORDS[page.status]}: {page.reason}",
                              f"{page.file}, page {page.page}"), WRAP_TOP)
            crops.place(ws, row, 6, page.image_id)
    _table_sheet(ws, row, len(head))


def write_codebook(ws: Worksheet, forms: list[FormReport], response_sheets: dict[str, str]) -> None:
    """Enough for an evaluator to analyse the data without PaperVoice: every id, label and coding rule."""
    _print_setup(ws)
    for col, width in enumerate((28, 9, 12, 30, 90), 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    row = 1
    put(ws, row, 1, "Codebook").font = TITLE_FONT
    row += 2
    put(ws, row, 1, "How the data are coded").font = HEADER_FONT
    for rule in CODING_RULES:
        row += 1
        put(ws, row, 1, rule, LEFT_WRAP_TOP)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=5)
        ws.row_dimensions[row].height = C.EXPORT_POINTS_PER_TEXT_LINE * math.ceil(len(rule) / 140) + 3
    row += 2
    put(ws, row, 1, "Forms").font = HEADER_FONT
    row += 1
    _header(ws, row, ["Form", "Version", "Copies issued", "Responses sheet", "Title / definition"])
    for report in forms:
        for version, form in sorted(report.definitions.items()):
            row += 1
            note = (f"{form.title} (definition: {form.path.name if form.path else 'bundled'})" if form else
                    "No form definition found for this version: item and field ids only, no wording or labels.")
            for c, value in enumerate((report.form_id, version, report.issued, response_sheets.get(report.form_id),
                                       note), 1):
                put(ws, row, c, value, LEFT_WRAP_TOP)
    row += 2
    put(ws, row, 1, "Statements (rated) and free-text fields").font = HEADER_FONT
    row += 1
    _header(ws, row, ["Form", "Version", "Id", "Kind", "Full text"])
    for report in forms:
        for version, form in sorted(report.definitions.items()):
            entries: list[tuple[str, str, str]]
            if form is not None:
                entries = ([(i.id, "rating", i.text) for i in form.items]
                           + [(t.id, "free text", t.prompt) for t in form.free_text])
            else:
                entries = ([(i, "rating", "(wording unknown)") for i in report.item_ids]
                           + [(f, "free text", "(wording unknown)") for f in report.field_ids])
            for item_id, kind, text in entries:
                row += 1
                put_row(ws, row, (report.form_id, version, item_id, kind, text), LEFT_WRAP_TOP)
    row += 2
    put(ws, row, 1, "Rating scale").font = HEADER_FONT
    row += 1
    _header(ws, row, ["Form", "Version", "Value", "Label", "Meaning in the data"])
    for report in forms:
        for version, form in sorted(report.definitions.items()):
            points = form.scale if form is not None else DEFAULT_SCALE
            for p in points:
                row += 1
                meaning = "the box ticked" + ("" if form is not None else " (labels unknown: no definition)")
                put_row(ws, row, (report.form_id, version, p.value, p.label, meaning), LEFT_WRAP_TOP)


CODING_RULES = (
    "Responses sheets: one row per returned copy (a serial with at least one page read as a form). Each serial "
    "appears once. Rating columns are headed by the item id exactly as in the form file and hold the whole number "
    "ticked (1 to 5 on the bundled forms).",
    "Blank: an empty rating cell means no answer - the statement was left blank, the person reviewing decided "
    "there is no answer, or the page holding it was not returned (see Pages: 'n of m').",
    "Flags: a highlighted rating cell with a cell comment still needs review. It shows the scanner's best reading "
    "(empty when it could not choose); the comment says why. Such answers are left out of Summary and "
    "Comparison until a person settles them. Once settled, the person's decision is shown and the highlight goes.",
    "Free-text columns (C1 ...) hold the transcription: the person's correction when there is one, otherwise the "
    "handwriting engine's reading. Text is always stored as text: a transcription starting with =, +, - or @ is "
    "never a formula. Control characters are removed; tabs and line breaks are kept.",
    "Comments needing review: a comment where handwriting was found needs review until a person has confirmed or "
    "corrected its transcription, because machine reading of handwriting is only a draft. Such comments are "
    "highlighted, counted in 'Needs review' and listed on the Review sheet.",
    "Needs review = yes when any rating or comment of the copy still needs review; no otherwise (missing pages "
    "are shown in Pages, 'n of m', not here).",
    "Review sheet: every open question, as the review page asks them - unsettled ratings (with the scanned row), "
    "unchecked handwriting (linked to its crop on Comments), copies with pages missing until a person "
    "acknowledges it, and pages not recognised as a form until a person assigns them or confirms they are not.",
    "Summary: n answered counts settled answers on the scale; % columns are shares of n answered; Blank counts "
    "returned copies with no answer; Needs review counts answers waiting for a person. n answered + Blank + Needs "
    "review = copies returned. Mean and median are of the settled answers.",
    "Copies issued = serials printed by this ledger; complete = every page of the copy was read; response rate = "
    "returned copies with a serial issued here, divided by copies issued.",
    "Comparison: mean of settled answers from people receiving support beside practitioners' self-ratings; "
    "gap = people's mean minus practitioners' mean (negative: people rate it lower than practitioners do).",
    "Pages: every scanned page (page numbers count from 1 within each file) and what became of it; files that "
    "could not be opened at all are listed with status 'failed'.",
    "CSV files (export --csv): the Responses columns plus 'Items to review' (ids still needing review), UTF-8 "
    "without byte-order mark; an empty field is a blank. Text is exactly as transcribed.",
)


def write_pages(ws: Worksheet, pages: list[PageRow]) -> None:
    head = ["File", "Page", "Status", "Reason", "Serial", "Form", "Version", "Form page", "Scanned at",
            "Person's decision"]
    _header(ws, 1, head, [40, 6, 11, 50, 10, 26, 8, 9, 21, 16])
    for r, p in enumerate(pages, 2):
        for c, value in enumerate((p.file, p.page, p.status, p.reason, p.serial, p.form_id, p.version, p.form_page,
                                   p.scanned_at, p.decision), 1):
            put(ws, r, c, value, WRAP_TOP if c in (1, 4) else CENTRE_TOP if c in (2, 7, 8) else TOP)
    _table_sheet(ws, len(pages) + 1, len(head))


def comparison_pair(forms: list[FormReport]) -> tuple[FormReport, FormReport] | None:
    by_id = {f.form_id: f for f in forms}
    for people, practitioners in COMPARISON_PAIRS:
        a, b = by_id.get(people), by_id.get(practitioners)
        if a is not None and b is not None and a.copies and b.copies:
            return a, b
    return None


def write_comparison(ws: Worksheet, people: FormReport, practitioners: FormReport) -> None:
    """Mean rating per statement from people receiving support beside practitioners' self-ratings, and the gap."""
    _print_setup(ws)
    ws.page_setup.fitToHeight = 1  # table and chart read together: keep them on one page
    put(ws, 1, 1, "People receiving support and practitioners, statement by statement").font = TITLE_FONT
    put(ws, 2, 1, f"Means of settled answers: {people.form_id} ({len(people.copies)} returns) and "
                  f"{practitioners.form_id} ({len(practitioners.copies)} returns). "
                  "Gap = people's mean minus practitioners' mean.")
    head = ["Item", "Statement (person)", "Statement (practitioner)", "Mean: people receiving support", "n people",
            "Mean: practitioners", "n practitioners", "Gap"]
    _header(ws, 4, head, [9, 45, 45, 16, 10, 16, 15, 9])
    items = [i for i in people.item_ids if i in practitioners.item_ids]
    row = 4
    for item_id in items:
        row += 1
        mine, theirs = people.settled(item_id), practitioners.settled(item_id)
        a = statistics.fmean(mine) if mine else None
        b = statistics.fmean(theirs) if theirs else None
        values = (item_id, people.statement(item_id), practitioners.statement(item_id), a, len(mine), b,
                  len(theirs), a - b if a is not None and b is not None else None)
        for c, value in enumerate(values, 1):
            cell = put(ws, row, c, value, WRAP_TOP)
            if c in (4, 6, 8):
                cell.number_format = "0.00"
    if not items:
        return
    chart = BarChart()
    chart.type, chart.grouping, chart.gapWidth = "bar", "clustered", 60
    chart.title = "Mean rating per statement"
    for col in (4, 6):
        chart.add_data(Reference(ws, min_col=col, min_row=4, max_row=row), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=5, max_row=row))
    for series, colour in zip(chart.series, COMPARISON_COLOURS, strict=True):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                     showPercent=False, numFmt="0.0")
    chart.x_axis.scaling.orientation = "maxMin"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 1, 5
    chart.y_axis.majorUnit = 1
    chart.y_axis.title = "Mean rating (1 = not at all, 5 = completely)"
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.width = C.EXPORT_CHART_WIDTH_CM
    chart.height = C.EXPORT_CHART_BASE_HEIGHT_CM + 1.4 * C.EXPORT_CHART_CM_PER_ITEM * len(items)
    ws.add_chart(chart, f"A{row + 2}")


# --- CSV ------------------------------------------------------------------------------------------


def write_csv(directory: Path, report: FormReport) -> Path:
    """One form's responses for statistics packages: UTF-8, a header row, empty = blank, written atomically."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*responses_header(report), "Items to review"])
    for copy in report.copies:
        values = ["" if v is None else clean_text(v) if isinstance(v, str) else v
                  for v in response_values(report, copy)]
        waiting = [i for i in report.item_ids if (a := copy.answers.get(i)) is not None and a.open]
        waiting += [f for f in report.field_ids if (c := copy.comments.get(f)) is not None and c.open]
        writer.writerow([*values, " ".join(waiting)])
    path = directory / f"{re.sub(r'[^A-Za-z0-9._-]', '_', report.form_id)}.csv"
    atomic_write(path, buffer.getvalue().encode("utf-8"))
    return path


# --- The command ----------------------------------------------------------------------------------


def export_workbook(options: ExportOptions, registry: FormRegistry | None = None) -> Path:
    """Write the workbook (and CSV files if asked) from a read-only snapshot of the ledger; returns the path."""
    output = Path(options.output)
    registry = registry if registry is not None else FormRegistry.from_dirs()
    with Ledger(options.db, readonly=True) as ledger:
        ledger.execute("BEGIN")  # one snapshot: a scan writing meanwhile cannot tear the workbook
        try:
            snapshot = _read_snapshot(ledger, registry, options.form)
        finally:
            ledger.execute("ROLLBACK")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{output.name}.images.", dir=output.parent))
    except OSError as exc:
        raise OutputError(f"cannot write in the folder of {output}: {exc.strerror}",
                          "check the path and that you may write there, or write the workbook elsewhere") from exc
    crops = CropPlan(Path(options.db), scratch)
    try:
        _want_crops(crops, snapshot)
        crops.start()
        wb = _build(snapshot, crops)
        crops.finish()
        _save(wb, output)
        if options.csv_dir is not None:
            for report in snapshot.forms:
                write_csv(Path(options.csv_dir), report)
    finally:
        crops.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return output


def _want_crops(crops: CropPlan, snapshot: Snapshot) -> None:
    """Every crop the sheets will show: written comments, the row of each open question, unrecognised pages."""
    for page in snapshot.pages:
        if page.open:
            crops.want(page.image_id, C.EXPORT_ITEM_IMAGE_WIDTH_PX, C.EXPORT_PAGE_IMAGE_MAX_HEIGHT_PX)
    for report in snapshot.forms:
        for copy in report.copies:
            for note in copy.comments.values():
                if note.present:
                    crops.want(note.crop_id, C.EXPORT_COMMENT_IMAGE_WIDTH_PX, C.EXPORT_COMMENT_IMAGE_MAX_HEIGHT_PX)
            for answer in copy.answers.values():
                if answer.open:
                    crops.want(answer.crop_id, C.EXPORT_ITEM_IMAGE_WIDTH_PX, C.EXPORT_ITEM_IMAGE_MAX_HEIGHT_PX)


def _build(snapshot: Snapshot, crops: CropPlan) -> WorkbookType:
    forms = snapshot.forms
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    write_summary(summary, forms)
    pair = comparison_pair(forms)
    if pair is not None:
        write_comparison(wb.create_sheet("Comparison"), *pair)
    names = sheet_title("Responses", [f.form_id for f in forms])
    for report in forms:
        write_responses(wb.create_sheet(names[report.form_id]), report)
    comment_rows: dict[tuple[str, str, str], int] = {}
    write_comments(wb.create_sheet("Comments"), forms, crops, comment_rows)
    write_review(wb.create_sheet("Review"), forms, snapshot.pages, crops, comment_rows)
    write_codebook(wb.create_sheet("Codebook"), forms, names)
    write_pages(wb.create_sheet("Pages"), snapshot.pages)
    return wb
