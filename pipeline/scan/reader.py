"""The per-page reader: a pure function from one page image to a small result.

It runs in worker processes (or on Dask workers), touches no ledger and no
files, and returns a `PageResult` holding numbers, text and small PNG crops.
Only the coordinator (`scan.py`) writes the ledger.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from pipeline import constants as C
from pipeline.form.definition import Form, FormRegistry
from pipeline.form.identity import PageIdentity
from pipeline.form.layout import Layout, compute_layout
from pipeline.scan.comments import read_field
from pipeline.scan.debug import draw_overlay
from pipeline.scan.decide import boxes_confirm_fit, decide_page, possibly_lost
from pipeline.scan.images import encode_png, whiten
from pipeline.scan.loading import PageJob
from pipeline.scan.marks import evidence_crop, looks_bitonal, read_boxes, row_evidence_rect
from pipeline.scan.ocr import DEFAULT_ENGINE
from pipeline.scan.register import (
    Registration,
    find_qr,
    hits_for,
    paper_level,
    qr_settled,
    refine_with_boxes,
    register,
    registrations_by_marks,
    vote,
    warp_to_layout,
)
from pipeline.scan.results import BoxReading, CommentReading, PageResult, PageSource


@dataclass(frozen=True)
class ReaderConfig:
    """Everything a worker needs besides the page: small, picklable."""

    forms_dirs: tuple[str, ...] = ()
    ocr: str = DEFAULT_ENGINE
    debug: bool = False
    survey: str | None = None  # the ledger's survey id: a page printed for another survey is not read


def warm_up(forms_dirs: tuple[str, ...] = ()) -> None:
    """Do now, once, what every worker would otherwise do on its first page: parse the layout fonts (about
    0.3 s), load the form definitions, import the decoders a page needs (zxing-cpp, pikepdf, PDFium).  Worker
    processes forked after this inherit all of it."""
    import importlib
    from contextlib import suppress

    from pipeline.form.fonts import register_fonts

    register_fonts()
    _registry(forms_dirs)
    for name in ("zxingcpp", "pikepdf", "pypdfium2"):
        with suppress(ImportError):  # a missing one is said plainly where a page needs it, as without this
            importlib.import_module(name)


_SHARED: dict[tuple[str, ...], FormRegistry] = {}


@cache
def _registry(forms_dirs: tuple[str, ...]) -> FormRegistry:
    shared = _SHARED.get(forms_dirs)
    return shared if shared is not None else FormRegistry.from_dirs([Path(d) for d in forms_dirs])


def share_registry(forms_dirs: tuple[str, ...], registry: FormRegistry) -> None:
    """The forms the coordinator has just read for a scan, used by the pages it reads in its own process
    (`--jobs 1`, and pool workers forked after this): a folder of adopted forms is parsed once per scan, not
    twice (some 0.1 s per form file), and a form edited since an earlier scan in this process is seen."""
    _SHARED.clear()
    _SHARED[forms_dirs] = registry
    _registry.cache_clear()
    _adopted_forms.cache_clear()
    _strip_forms.cache_clear()


@cache
def _adopted_forms(forms_dirs: tuple[str, ...]) -> tuple[Form, ...]:
    return tuple(f for f in _registry(forms_dirs).all() if f.adopted is not None)


@cache
def _strip_forms(forms_dirs: tuple[str, ...]) -> bool:
    """Some adopted form here prints a page-id strip (AMC's exams)."""
    return any(page.strips for f in _adopted_forms(forms_dirs) if f.adopted for page in f.adopted.pages)


def _keep_image(image: np.ndarray, dpi: float) -> bytes:
    factor = min(1.0, C.PAGE_IMAGE_DPI / dpi)
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return encode_png(whiten(small, paper_level(small)))


def ink_fraction(image: np.ndarray, dpi: float, paper: float) -> float:
    """Share of the page that is clearly darker than paper, ignoring a scanner's dark edges."""
    factor = min(1.0, C.INK_CHECK_DPI / dpi)
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    edge_h, edge_w = h // C.INK_CHECK_EDGE_PARTS, w // C.INK_CHECK_EDGE_PARTS
    inner = small[edge_h: h - edge_h, edge_w: w - edge_w]
    return float((inner < paper * C.INK_DARKER_THAN_PAPER).mean())


class _Stages:
    """Where one page's time goes (register / marks / comments), for the bench: seconds per stage, on the clock
    and in the CPU time of the thread reading the page (what a machine other people load moves least; the
    thread's, not the process's, so pages read side by side in threads - a local Dask cluster - stay apart)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()

    def done(self, stage: str) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 5)
        self.cpu_seconds[stage] = round(self.cpu_seconds.get(stage, 0.0) + cpu - self._last_cpu, 5)
        self._last, self._last_cpu = now, cpu


def read_page(image: np.ndarray, dpi: float, source: PageSource, config: ReaderConfig,
              identity: PageIdentity | None = None, file_dpi: float | None = None) -> PageResult:
    """Read one page.  `identity` forces the form, serial and page (a person's assignment in review);
    `file_dpi`: the file's own resolution when the picture was decoded reduced (a JPEG at a half or less)."""
    started = time.perf_counter()
    stages = _Stages()
    result = _read(image, dpi, source, config, identity, stages)
    stages.done("other")
    result.stage_seconds = dict(stages.seconds)
    result.stage_cpu_seconds = dict(stages.cpu_seconds)
    # the page's own resolution, not the one it was read at (finer scans are reduced first); an adopted page's
    # resolution is the one its print was found at, which a wrong dpi in the file does not decide
    reduced = C.READ_MAX_DPI / dpi if dpi > C.READ_MAX_DPI * C.READ_DOWNSCALE_SLACK else 1.0
    decoded = (file_dpi / dpi) if file_dpi else 1.0  # a JPEG decoded at a half, a quarter or an eighth
    result.dpi = round(result.dpi * decoded / reduced, 1) if result.dpi else (file_dpi or dpi)
    result.seconds = round(time.perf_counter() - started, 4)
    return result


def _read(image: np.ndarray, dpi: float, source: PageSource, config: ReaderConfig,
          identity: PageIdentity | None, stages: _Stages) -> PageResult:
    if image.ndim != 2:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    height, width = image.shape
    if min(width, height) < C.MIN_PAGE_PX:  # an icon or a stray thumbnail: image routines would fail on it
        return PageResult(source, "unreadable", f"the picture is only {width} x {height} pixels, far too small to "
                          "be a scanned page (scan the whole paper page at 300 dpi)", dpi=dpi)
    if dpi < C.MIN_PAGE_DPI:
        return PageResult(source, "unreadable", f"scanned at {dpi:.0f} dpi, too coarse to read marks; "
                          f"scan again at 200 or 300 dpi", dpi=dpi, image_png=_keep_image(image, dpi))
    if dpi > C.READ_MAX_DPI * C.READ_DOWNSCALE_SLACK:
        # nothing on the page needs more: marks are read at WORK_DPI, handwriting at COMMENT_DPI
        factor = C.READ_MAX_DPI / dpi
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        dpi = C.READ_MAX_DPI
    paper = paper_level(image)
    blank = cache(lambda: ink_fraction(image, dpi, paper) < C.BLANK_PAGE_INK_FRACTION)  # asked twice at most
    unknown = None
    if identity is None and _strip_forms(config.forms_dirs):
        # adopted forms print a page-id strip: a page whose quick code searches find nothing of ours is first
        # asked whether its strip names one of their pages, before the slowest decoder looks at every corner
        # (some 0.14 s a page) for codes of ours too damaged for the others; only if not does it look
        from pipeline.adopt.read import UnknownPage

        hits = find_qr(image, dpi, give_up_if_blank=blank, slowest_decoder=False)
        if not hits and not blank():
            unknown = UnknownPage(image, dpi, source, _adopted_forms(config.forms_dirs), paper, config.ocr,
                                  config.debug)
            by_strip = unknown.by_strip()
            if by_strip is not None:
                return by_strip
        if not qr_settled(hits) and (hits or not blank()):  # a blank page with no code needs no closer look
            hits = find_qr(image, dpi, give_up_if_blank=blank)  # as without strips: every decoder, every corner
    else:
        hits = find_qr(image, dpi, give_up_if_blank=blank)
    if identity is not None and not hits:
        form = _registry(config.forms_dirs).find(identity.form, identity.version)
        if form is not None and form.adopted is not None:  # an adopted form's page, assigned by a person
            from pipeline.adopt.read import read_assigned_page

            return read_assigned_page(image, dpi, source, form, identity, paper, config.ocr, config.debug)
        return _read_by_marks(image, dpi, source, config, identity, paper)
    if not hits:
        if blank():
            return PageResult(source, "blank", "blank page", dpi=dpi)
        adopted = _adopted_forms(config.forms_dirs)
        if adopted:  # a return of a form PaperVoice did not print, recognised by its print
            from pipeline.adopt.read import UnknownPage

            unknown = unknown or UnknownPage(image, dpi, source, adopted, paper, config.ocr, config.debug)
            result = unknown.read()
            if result.status != "form":
                result.image_png = _keep_image(image, dpi)
            return result
        return PageResult(source, "not_form", "no PaperVoice code found: not one of our forms, or its codes are "
                          "damaged (a person can assign it in review)", dpi=dpi, image_png=_keep_image(image, dpi))
    if identity is not None:
        hits = hits_for(hits, identity)
    else:
        hits, disagreement = vote(hits)
        if disagreement:
            return PageResult(source, "not_form", disagreement, dpi=dpi, image_png=_keep_image(image, dpi))
    ident = hits[0].identity
    if identity is None and ident.survey is not None and config.survey is not None and ident.survey != config.survey:
        # its serial belongs to another ledger's numbering: never read it against ours (the ledger words it)
        return PageResult(source, "foreign", f"printed for another survey ({ident.survey})", identity=ident,
                          dpi=dpi, image_png=_keep_image(image, dpi))
    layout_or_problem = _layout_for(ident, config, source, image, dpi)
    if isinstance(layout_or_problem, PageResult):
        return layout_or_problem
    layout = layout_or_problem
    return _read_registered(image, dpi, source, config, ident, layout, register(image, dpi, layout, hits, paper), paper,
                            stages)


def _layout_for(ident: PageIdentity, config: ReaderConfig, source: PageSource, image: np.ndarray,
                dpi: float) -> Layout | PageResult:
    """The layout the page was printed from, or why there is none."""
    form = _registry(config.forms_dirs).find(ident.form, ident.version, ident.language)
    if form is None and ident.language:
        return PageResult(source, "not_form", f"form '{ident.form}' version {ident.version} in '{ident.language}' "
                          f"is not defined here; add its translation (forms/{ident.form}."
                          f"{ident.language.split('+')[0]}.yaml) and scan again", identity=ident, dpi=dpi,
                          image_png=_keep_image(image, dpi))
    if form is None:
        return PageResult(source, "not_form", f"form '{ident.form}' version {ident.version} is not defined here; add "
                          f"its definition to forms/ and scan again", identity=ident, dpi=dpi,
                          image_png=_keep_image(image, dpi))
    layout = compute_layout(form, ident.paper, ident.style)
    if layout.page_count != ident.pages:
        return PageResult(source, "not_form", f"the code says {ident.pages} pages but {form.id} v{form.version} "
                          f"has {layout.page_count}: the form file changed without a new version", identity=ident,
                          dpi=dpi, image_png=_keep_image(image, dpi))
    return layout


def _read_by_marks(image: np.ndarray, dpi: float, source: PageSource, config: ReaderConfig,
                   identity: PageIdentity, paper: float) -> PageResult:
    """A page a person assigned by hand whose codes are all lost: register it by its four corner marks alone,
    trying each quarter turn, and keep the turn whose printed squares are found where it puts them."""
    layout_or_problem = _layout_for(identity, config, source, image, dpi)
    if isinstance(layout_or_problem, PageResult):
        return layout_or_problem
    layout = layout_or_problem
    page = layout.pages[identity.page - 1]
    px_per_pt = C.WORK_DPI / C.PT_PER_INCH
    best: tuple[float, Registration] | None = None
    for reg in registrations_by_marks(image, dpi, layout, identity.page):
        canon = warp_to_layout(image, reg.homography, layout.page_size, C.WORK_DPI)
        boxes, _ = read_boxes(canon, page, px_per_pt)
        score = float(np.median([b.match for b in boxes])) if boxes else 0.0
        if boxes_confirm_fit(boxes) and (best is None or score > best[0]):
            best = (score, reg)
    if best is None:
        return PageResult(source, "unreadable", "assigned by hand, but neither its codes nor its four corner marks "
                          "can be found: enter its answers from the paper", dpi=dpi, identity=identity,
                          image_png=_keep_image(image, dpi))
    return _read_registered(image, dpi, source, config, identity, layout, best[1], paper)


def _read_registered(image: np.ndarray, dpi: float, source: PageSource, config: ReaderConfig,
                     ident: PageIdentity, layout: Layout, reg: Registration, paper: float,
                     stages: _Stages | None = None) -> PageResult:
    """Everything after registration: boxes, items, comments."""
    stages = stages or _Stages()
    page = layout.pages[ident.page - 1]
    px_per_pt = C.WORK_DPI / C.PT_PER_INCH
    canon: np.ndarray | None = None
    boxes: list[BoxReading] = []
    dark = np.zeros((0, 0), np.float32)
    if page.boxes or config.debug:  # a page of comment fields alone has no box to warp and measure for
        canon = warp_to_layout(image, reg.homography, layout.page_size, C.WORK_DPI)
    stages.done("register")
    if canon is not None:
        boxes, dark = read_boxes(canon, page, px_per_pt)
    if not reg.is_good() and page.boxes:
        # weakly anchored (corner marks cut off by a skewed scan): let the printed squares pin the fit down
        found = [(b, lb) for b, lb in zip(boxes, page.boxes, strict=True) if b.match >= C.BOX_CONFIRM_MIN_SCORE]
        predicted = np.array([[lb.cx, lb.cy] for _, lb in found]).reshape(-1, 2)
        actual = predicted + np.array([[b.dx_mm, b.dy_mm] for b, _ in found]).reshape(-1, 2) * C.PT_PER_MM
        refined = refine_with_boxes(reg, actual, predicted, dpi)
        if refined is not reg:
            reg = refined
            canon = warp_to_layout(image, reg.homography, layout.page_size, C.WORK_DPI)
            boxes, dark = read_boxes(canon, page, px_per_pt)
    # weakly anchored (corner marks cut off by a skewed scan)? the boxes themselves can vouch for the fit
    good_fit = reg.is_good() or (reg.residual_mm <= C.MAX_FIT_RESIDUAL_MM and boxes_confirm_fit(boxes))
    poor_fit = "" if good_fit else (f"the page fits its layout badly ({reg.residual_mm:.1f} mm; {reg.marks_found} "
                                     f"of 4 corner marks and {reg.codes_found} of 4 codes found): please check")
    rows = {r.item: row_evidence_rect(r.rect) for r in page.item_rows}
    bitonal = looks_bitonal(image)
    items, lost = decide_page(boxes, lambda item: encode_png(evidence_crop(dark, rows[item], px_per_pt)), poor_fit,
                              bitonal)
    stages.done("marks")
    keep_out = (*page.registration_marks, *page.codes)
    comments: list[CommentReading] = [read_field(image, reg.homography, layout.page_size, f, paper, config.ocr,
                                                 keep_out, layout.language) for f in page.text_fields]
    if lost:  # writing in the same light pen may have gone the same way: blank fields go to a person too
        comments = [possibly_lost(c) if not c.written else c for c in comments]
    stages.done("comments")
    result = PageResult(source, "form", "" if good_fit else "poor fit: every answer goes to a person",
                        identity=ident, rotation_deg=round(reg.rotation_deg, 2),
                        fit_residual_mm=round(reg.residual_mm, 3), dpi=dpi, boxes=boxes, items=items,
                        comments=comments, bitonal=bitonal)
    if config.debug and canon is not None:
        result.debug_png = encode_png(draw_overlay(canon, page, boxes, items, comments, reg, px_per_pt))
    return result


@dataclass(frozen=True)
class PathJob:
    """A page named by path and index, for workers that see the same files (`--shared-storage`)."""

    source: PageSource
    frame_offset: int | None = None  # a multi-page TIFF's page: where its directory is (found once, by the loader)


def read_job(job: PageJob | PathJob, config: ReaderConfig) -> PageResult:
    """Worker entry point: decode the page the loader packed (or open it by path), then read it."""
    from pipeline.errors import InputFileError
    from pipeline.scan.loading import decode_scaled, page_job

    started, started_cpu = time.perf_counter(), time.thread_time()
    try:
        if isinstance(job, PathJob):
            job = page_job(Path(job.source.path), job.source.index, job.frame_offset)
        image, dpi, file_dpi = decode_scaled(job, min_dpi=C.READ_MAX_DPI)  # once, at about the size that is read
    except InputFileError as exc:
        return PageResult(job.source, "unreadable", exc.reason + (f" ({exc.advice})" if exc.advice else ""))
    decoded, decoded_cpu = time.perf_counter() - started, time.thread_time() - started_cpu
    result = read_page(image, dpi, job.source, config, file_dpi=file_dpi)
    result.stage_seconds["decode"] = round(decoded, 5)
    result.stage_cpu_seconds["decode"] = round(decoded_cpu, 5)
    return result
