"""Deciding a page's boxes and answers from their measures: no pixels, no OpenCV.

`scan.marks` measures each box on the registered page; everything here decides from those measures alone -
a box's state (`classify`, through the thresholds `gated` applies), an item's answer or the reason it goes
to a person (`decide_item`), a page's signs that marks were lost (`suspect_lost_marks`).  The reader calls
these right after measuring, and `papervoice reclassify` calls the very same ones on the measures the
ledger keeps, so a change of thresholds re-decides every box as a new scan would, without decoding a page
(and without loading the image libraries: the command starts in a fraction of the scan's time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from itertools import groupby

import numpy as np

from pipeline import constants as C
from pipeline.scan.results import BoxMeasures, BoxReading, BoxState, CommentReading, ItemReading
from pipeline.vocab import POSSIBLY_WRITTEN, FlagReason


def classify(coverage: float, faint: float, solid: float, inner_area_mm2: float, floor: float = 0.0,
             corners: int = 4, dot_mm2: float = 0.0, cells: int = 0, coherence: float = 0.0,
             passes: float = 9.0, faint_floor: float = 0.0, open_gap: float = 0.0, bridged_passes: float = 9.0,
             pieces: int = 99, largest_mm2: float = 99.0, bridged_solid: float = 1.0, stroke_coherence: float = 1.0
             ) -> tuple[BoxState, float]:
    """State and confidence from the inner area's ink; shares are turned into mm² so a dot counts the same in
    a standard and a large-print box.  `floor` is what this page's empty boxes show (scan noise): ink clearly
    above it, however little, is never called empty - a pencil tick a black-and-white scan has all but erased
    leaves only a dotted trace.  `corners` (of the inner square, holding ink) tells a box filled in, which
    reaches them, from a dot or blob in the middle, which is an answer however dense.  `open_gap` (the widest
    paper among the ink) tells a heavy cross, which leaves open triangles between its arms, from a box filled
    in; `bridged_passes` tells a broad cross a black-and-white scan left hollow from pass-on-pass scribbling;
    `coherence` low (strokes running two ways) with few passes tells a looped or hollow cross from a box
    scribbled out (back and forth, one way); `pieces` and `largest_mm2` tell dust and toner specks from what is
    left of a light mark.  `stroke_coherence` is `coherence` however little ink there is (1, one direction, when
    not measured): with `largest_mm2` it tells a small light tick, one unbroken stroke running two ways, from a
    straight stray line (see `light_stroke`)."""
    area = coverage * inner_area_mm2
    heavy_cross = (passes < C.SCRIBBLE_FILL_MIN_PASSES and open_gap >= C.HEAVY_CROSS_MIN_OPEN_GAP
                   and solid < C.HEAVY_CROSS_MAX_SOLID and coverage < C.HEAVY_CROSS_MAX_COVERAGE)
    hollow = (coverage < C.HOLLOW_MAX_COVERAGE and bridged_passes < C.HOLLOW_MAX_BRIDGED_PASSES
              and pieces >= C.HOLLOW_MIN_PIECES and bridged_solid < C.HOLLOW_MAX_BRIDGED_SOLID)
    # a cross written with a loop, or left as the edges of its strokes, is crossed by more than two passes, yet
    # its strokes run two ways at once: scribbling a box out runs mostly one way, back and forth
    crossed = (coherence < C.CROSSED_MAX_COHERENCE and passes < C.CROSSED_MAX_PASSES
               and open_gap >= C.CROSSED_MIN_OPEN_GAP and solid < C.SOLID_STROKES_MAX
               and coverage < C.CROSSED_MAX_COVERAGE)
    # a broad cross a black-and-white scan kept only the edges of - cut into pieces by the inner square, or
    # edges that close up in pairs when bridged (a line across meets half as many) - crossed more often than
    # two strokes would be: still no one direction, still strokes
    paired = bridged_passes <= C.HOLLOW_EDGES_MAX_BRIDGED_SHARE * passes
    hollow_edges = ((pieces >= C.HOLLOW_MIN_PIECES or paired) and coherence < C.HOLLOW_EDGES_MAX_COHERENCE
                    and bridged_solid < C.HOLLOW_EDGES_MAX_BRIDGED_SOLID and coverage < C.HOLLOW_EDGES_MAX_COVERAGE
                    and open_gap >= C.CROSSED_MIN_OPEN_GAP and solid < C.SOLID_STROKES_MAX)
    faint_area = faint * inner_area_mm2
    compact = corners <= C.BLOB_MAX_CORNERS
    if compact and solid >= C.SOLID_STROKES_MAX:
        return "marked", C.BLOB_CONFIDENCE  # a solid dot or blob in the middle: an answer, however big
    if cells >= C.SCRIBBLE_FILL_MIN_CELLS and coverage >= C.SCRIBBLE_FILL_MIN_COVERAGE:
        if coherence >= C.HATCH_MIN_COHERENCE and coverage < C.FILLED_MIN_COVERAGE:
            return "marked", C.HATCH_CONFIDENCE  # hatching: parallel lines across the box, a way of marking it
        if passes < C.SCRIBBLE_FILL_MIN_PASSES and coverage < C.FILLED_MIN_COVERAGE:
            # a heavy cross or tick: two strokes at most across the box, not pass on pass
            return "marked", C.HEAVY_STROKES_CONFIDENCE
        if heavy_cross:  # a bold or looped cross over most of the box: strokes with open paper between arms
            return "marked", C.HEAVY_STROKES_CONFIDENCE
        if hollow:  # the two edges of each broad stroke, as a black-and-white scan keeps them
            return "marked", C.HOLLOW_CONFIDENCE
        if crossed:  # strokes crossing at about right angles, no one direction: a cross, not a scribble
            return "marked", C.CROSSED_CONFIDENCE
        if hollow_edges:
            return "marked", C.HOLLOW_CONFIDENCE
        # scribbled over from edge to edge: how people cancel a box, holes and all
        return "filled", C.SCRIBBLE_FILL_CONFIDENCE
    if (cells >= C.SCRIBBLE_PART_MIN_CELLS and coverage >= C.SCRIBBLE_FILL_MIN_COVERAGE
            and passes >= C.SCRIBBLE_FILL_MIN_PASSES and coherence < C.HATCH_MIN_COHERENCE and not hollow
            and not crossed and not hollow_edges):
        # scribbled pass on pass over most of the box: an answer, or crossed out?
        return "uncertain", C.SCRIBBLE_UNCLEAR_CONFIDENCE
    if cells == 9 and faint >= C.LIGHT_FILL_MIN_FAINT:
        # light ink all over the box: a fill scanned light or broken up, or shading?
        return "uncertain", C.LIGHT_FILL_UNCLEAR_CONFIDENCE
    if corners >= C.FILL_MIN_CORNERS and (coverage >= C.FILLED_MIN_COVERAGE
                        or (coverage >= C.FILLED_MIN_COVERAGE_SOLID and solid >= C.SOLID_FILLED)):
        return "filled", min(1.0, C.FILLED_BASE_CONFIDENCE + coverage * C.FILLED_CONFIDENCE_PER_COVERAGE)
    if compact and coverage >= C.MARK_MIN_COVERAGE:
        return "marked", C.BLOB_CONFIDENCE  # a dot or blob in the box: an answer, not a fill
    if (coverage > C.MARK_MAX_BELOW_FILLED and solid >= C.SOLID_STROKES_MAX and corners >= C.FILL_MIN_CORNERS
            and not heavy_cross):
        # dense, partly solid, reaching the corners: a heavy mark, or an unfinished fill?
        return "uncertain", C.HEAVY_UNCLEAR_CONFIDENCE
    if area >= C.MARK_MIN_AREA_MM2 or coverage >= C.MARK_MIN_COVERAGE:
        return "marked", min(1.0, C.MARK_BASE_CONFIDENCE + area / (C.MARK_SURE_AREA_MULTIPLE * C.MARK_MIN_AREA_MM2))
    if faint_area >= C.FAINT_MARK_MIN_AREA_MM2:
        return "marked", C.PENCIL_MARK_CONFIDENCE  # pencil: little reaches full darkness, but plenty of light strokes
    if dot_mm2 >= C.DOT_MIN_CORE_MM2:
        return "marked", C.DOT_MARK_CONFIDENCE  # a small dot: solid where a stray line or scanner noise is not
    if light_stroke(area, faint_area, largest_mm2, stroke_coherence):
        return "marked", C.LIGHT_STROKE_CONFIDENCE
    if trail(faint_area, pieces, largest_mm2):
        return "marked", C.TRAIL_CONFIDENCE
    if area <= C.EMPTY_MAX_AREA_MM2 and coverage <= C.EMPTY_MAX_COVERAGE and faint_area <= C.FAINT_EMPTY_MAX_AREA_MM2:
        specks = (pieces <= C.SPECK_MAX_PIECES and largest_mm2 <= C.SPECK_MAX_MM2
                  and faint_area <= C.SPECKS_MAX_TOTAL_MM2)  # dust or toner: a person sees an empty box
        if not specks and ((coverage - floor) * inner_area_mm2 >= C.TRACE_MIN_AREA_MM2
                           or (faint - faint_floor) * inner_area_mm2 >= C.TRACE_FAINT_MIN_AREA_MM2):
            return "uncertain", C.TRACE_UNCLEAR_CONFIDENCE
        return "empty", min(1.0, 1.0 - area / max(C.EMPTY_MAX_AREA_MM2, 1e-6) * C.EMPTY_CONFIDENCE_DROP)
    return "uncertain", C.UNCLEAR_CONFIDENCE


def light_stroke(area_mm2: float, faint_area_mm2: float, largest_mm2: float, stroke_coherence: float) -> bool:
    """A small light tick, too little ink for a pencil mark by area: a person reads it at a glance, since its
    light ink is one unbroken stroke (dust and toner are specks; a 1-bit scan's trail of dots is `trail`'s)
    with enough dark ink in it to show its strokes running two ways, as a tick's or a cross's do (a straight
    stray line runs one way and is asked about)."""
    return (faint_area_mm2 >= C.LIGHT_STROKE_MIN_FAINT_MM2 and largest_mm2 >= C.LIGHT_STROKE_MIN_PIECE_MM2
            and area_mm2 >= C.LIGHT_STROKE_MIN_INK_MM2 and stroke_coherence < C.LIGHT_STROKE_MAX_COHERENCE)


def trail(faint_area_mm2: float, pieces: int, largest_mm2: float) -> bool:
    """What a black-and-white scan leaves of a light tick: a trail of many small dots (dust and toner leave one
    to three), with enough light ink in all that a person sees the tick in them."""
    return (pieces >= C.TRAIL_MIN_PIECES and faint_area_mm2 >= C.TRAIL_MIN_FAINT_MM2
            and largest_mm2 <= C.TRAIL_MAX_DOT_MM2)


def _light_mark(box: BoxReading) -> bool:
    """Read as a mark only as a small light stroke (`light_stroke`) or a trail of dots (`trail`): beside a
    clear mark in the same row, a brush of the pencil or a mark rubbed out, as `_stray` judges, not a second
    answer; and still a page-level sign that lighter marks may have been lost (`suspect_lost_marks`)."""
    m = box.measures
    if box.state != "marked" or m is None or m.coverage >= C.MARK_MIN_COVERAGE:
        return False
    area, faint_area = m.coverage * m.inner_mm2, m.faint * m.inner_mm2
    return (area < C.MARK_MIN_AREA_MM2 and faint_area < C.FAINT_MARK_MIN_AREA_MM2 and m.dot_mm2 < C.DOT_MIN_CORE_MM2
            and (light_stroke(area, faint_area, m.largest_mm2, m.coherence)
                 or trail(faint_area, m.pieces, m.largest_mm2)))


def gated(m: BoxMeasures) -> BoxMeasures:
    """The measures that count under today's thresholds: corners and solidity only with enough ink for a
    mark, a dot's core only with too little, ninths only with plenty of light ink, stroke direction and
    passes only over most of the box.  (Measured always, counted here: see `measure_box`.)"""
    enough = m.coverage >= C.MARK_MIN_COVERAGE
    cells = m.cells if m.faint >= C.SCRIBBLE_FILL_MIN_COVERAGE else 0
    dense = cells >= C.SCRIBBLE_PART_MIN_CELLS
    dot = m.dot_mm2 if not enough and m.faint * m.cut_mm2 >= C.DOT_MIN_CORE_MM2 else 0.0
    return replace(m, corners=m.corners if enough else 0, solid=m.solid if m.coverage > C.MARK_MIN_COVERAGE else 0.0,
                   dot_mm2=dot, cells=cells, coherence=m.coherence if dense else 0.0,
                   passes=m.passes if dense else 0.0, bridged_passes=m.bridged_passes if dense else 0.0)


def classify_measures(m: BoxMeasures) -> tuple[BoxState, float]:
    """`classify` from a box's measures: what scanning does, and what `reclassify` does again."""
    g = gated(m)
    return classify(g.coverage, g.faint, g.solid, g.inner_mm2, g.floor, g.corners, g.dot_mm2, g.cells,
                    g.coherence, g.passes, g.faint_floor, g.open_gap, g.bridged_passes, g.pieces, g.largest_mm2,
                    g.bridged_solid, m.coherence)


def decision_margin(m: BoxMeasures) -> float:
    """How close a box came to another decision: the smallest distance, as a log ratio (0 = on the line,
    0.1 = about 10 % away), of its main measures from the thresholds that part one state from another.
    The gallery shows the closest calls first, which is where a threshold is judged by eye."""
    m = gated(m)
    area, faint_area = m.coverage * m.inner_mm2, m.faint * m.inner_mm2
    pairs = ((m.coverage, C.EMPTY_MAX_COVERAGE), (m.coverage, C.MARK_MIN_COVERAGE),
             (m.coverage, C.FILLED_MIN_COVERAGE), (area, C.MARK_MIN_AREA_MM2), (area, C.EMPTY_MAX_AREA_MM2),
             (faint_area, C.FAINT_MARK_MIN_AREA_MM2), (faint_area, C.FAINT_EMPTY_MAX_AREA_MM2),
             (m.solid, C.SOLID_STROKES_MAX), (m.dot_mm2, C.DOT_MIN_CORE_MM2),
             ((m.coverage - m.floor) * m.inner_mm2, C.TRACE_MIN_AREA_MM2),
             (faint_area, C.LIGHT_STROKE_MIN_FAINT_MM2), (m.largest_mm2, C.LIGHT_STROKE_MIN_PIECE_MM2),
             (faint_area, C.TRAIL_MIN_FAINT_MM2), (float(m.pieces), float(C.TRAIL_MIN_PIECES)))
    tiny = 1e-4
    return float(min(abs(np.log((max(v, 0.0) + tiny) / (t + tiny))) for v, t in pairs))


def reclassify_box(box: BoxReading) -> BoxReading:
    """The box decided again from its measures under today's thresholds (unchanged without measures)."""
    if box.measures is None:
        return box
    return decided(box, box.measures)


def decided(box: BoxReading, m: BoxMeasures) -> BoxReading:
    """`box` with its decision, and the gated figures `decide_item` reads, from its measures."""
    state, confidence = classify_measures(m)
    g = gated(m)
    return replace(box, state=state, confidence=round(confidence, 3), solid=round(g.solid, 4), corners=g.corners,
                   cells=g.cells, coherence=round(g.coherence, 2), measures=m)


def decide_page(boxes: Sequence[BoxReading], crop: Callable[[str], bytes], poor_fit: str, bitonal: bool
                ) -> tuple[list[ItemReading], bool]:
    """Every item of a page from its boxes (in layout order), and whether marks look lost in scanning.

    The one place a page's answers are decided: by the reader after measuring, and by `reclassify` from the
    ledger's stored measures, so both give the same answers.  `poor_fit` (the registration's misfit, in plain
    words; '' when the page fits) sends every answer to a person; `crop` gives an item's evidence PNG."""
    items: list[ItemReading] = []
    for item_id, group in groupby(boxes, key=lambda b: b.item):
        reading = decide_item(item_id, list(group), crop(item_id))
        if poor_fit:
            reading = ItemReading(item_id, reading.value, "flagged", FlagReason.POOR_FIT, poor_fit,
                                  C.POOR_FIT_CONFIDENCE, reading.crop_png)
        items.append(reading)
    return suspect_lost_marks(items, list(boxes), bitonal)


def boxes_confirm_fit(boxes: Sequence[BoxReading]) -> bool:
    """The printed squares were found where the fit put them: the fit is right where it matters."""
    if not boxes:
        return False
    found = [b for b in boxes if b.match >= C.BOX_CONFIRM_MIN_SCORE]
    if len(found) < C.BOX_CONFIRM_MIN_SHARE * len(boxes):
        return False
    offsets = sorted(float(np.hypot(b.dx_mm, b.dy_mm)) for b in found)
    return offsets[len(offsets) // 2] <= C.BOX_CONFIRM_MEDIAN_MM and offsets[-1] <= C.BOX_CONFIRM_MAX_MM


def outside_mark(boxes: Sequence[BoxReading], answer: BoxReading | None) -> str:
    """A mark outside every box that a person would not read as one answer, named in plain words; '' if none.

    With a clear answer, only ink beside *another* box counts (a big tick spills beside its own box); without
    one, any ink beside a box, between two boxes or round a number is a mark that missed the boxes."""
    for b in boxes:
        if (answer is not None and b.value == answer.value) or b.state == "filled" or _scribbled_over(b):
            continue  # a big mark, a fill or a scribble runs past its own box's edges (the last is asked about)
        if b.beside_mm2 >= C.BESIDE_MIN_MM2:
            nxt = next((o.value for o in boxes if o.value > b.value), None)
            if nxt is not None and b.beside_at > C.BETWEEN_AT[1]:
                return f"a mark round or beside the number {nxt} instead of in its box"
            if nxt is not None and b.beside_at >= C.BETWEEN_AT[0]:
                return f"a mark between boxes {b.value} and {nxt}, in neither box"
            return f"a mark beside box {b.value}, not in it"
        if b.left_mm2 >= C.NUMBER_CIRCLE_MIN_MM2:
            return f"a mark round or beside the number {b.value} instead of in its box"
    return ""


def _stray(box: BoxReading, mark: BoxReading) -> bool:
    """A brush of the pen in a neighbouring box, not a second answer: little ink beside a mark that is clear by
    itself.  Judged on light ink as well as dark, since pencil through a black-and-white scan keeps only broken
    traces of both marks: a faded mark beside another faded mark is as likely a second answer as a brush."""
    if mark.coverage < C.MARK_MIN_COVERAGE or box.coverage >= C.MARK_MIN_COVERAGE:
        return False
    return (box.coverage < C.STRAY_RATIO * mark.coverage
            and max(box.faint, box.coverage) < C.STRAY_RATIO * max(mark.faint, mark.coverage))


def _scribbled_over(box: BoxReading) -> bool:
    """Unclear because scribbled over most of the box (see `classify`): strokes reaching nearly every ninth."""
    return (box.state == "uncertain" and box.cells >= C.SCRIBBLE_PART_MIN_CELLS
            and box.coverage >= C.SCRIBBLE_FILL_MIN_COVERAGE and box.solid < C.SOLID_STROKES_MAX)


def _cancelled_beside(box: BoxReading, marked: Sequence[BoxReading]) -> bool:
    """A box scribbled over most of the way beside one clear mark in the row: crossed out to cancel, as people
    cancel a box and mark another (queXF's real returns).  Alone, the same scribble could be the answer and is
    asked about; beside a sure mark it is not a second answer a person reads."""
    return (len(marked) == 1 and marked[0].confidence >= C.CANCEL_BESIDE_MIN_MARK_CONFIDENCE
            and _scribbled_over(box))


def _unclear_detail(unclear: Sequence[BoxReading], summary: str) -> str:
    """Why a person is asked, in plain words: a box scribbled over most of the way is named as such."""
    values = ", ".join(str(b.value) for b in unclear)
    if all(_scribbled_over(b) for b in unclear):
        return f"box {values} scribbled over: an answer, or crossed out to cancel? ({summary})"
    return f"unclear mark in box {values} ({summary})"


def decide_item(item: str, boxes: Sequence[BoxReading], crop_png: bytes = b"") -> ItemReading:
    """One item's answer from its boxes: one mark is the answer, anything unclear goes to a person."""
    marked = [b for b in boxes if b.state == "marked"]
    clear = [b for b in marked if not _light_mark(b)]
    if len(clear) == 1 and len(marked) > 1 and all(_stray(b, clear[0]) for b in marked if b is not clear[0]):
        brushed = [b for b in marked if b is not clear[0]]
        marked = clear  # a light stroke beside a clear mark: a brush or a mark rubbed out, not a second answer
    else:
        brushed = []
    filled = [b for b in boxes if b.state == "filled"]
    unclear = [b for b in boxes if b.state == "uncertain"]
    if len(marked) == 1 and unclear and all(_stray(b, marked[0]) for b in unclear):
        unclear = []
    scribbled = [b for b in unclear if _cancelled_beside(b, marked)]
    if scribbled and len(scribbled) == len(unclear):
        unclear = []  # a clear mark, and a box scribbled out beside it: the person changed their mind
    summary = ", ".join(f"{b.value}:{b.state}" for b in boxes if b.state != "empty") or "all empty"
    if len(marked) >= 2:
        shown = [str(b.value) for b in marked]
        values = ", ".join(shown[:-1]) + " and " + shown[-1]
        both = "both" if len(shown) == 2 else "all"
        return ItemReading(item, None, "flagged", FlagReason.MULTIPLE, f"boxes {values} are {both} marked",
                           C.ITEM_MULTIPLE_CONFIDENCE, crop_png)
    outside = outside_mark(boxes, marked[0] if len(marked) == 1 else None)
    if outside:
        best = marked[0].value if marked else None
        also = f" (box {best} is marked too)" if best is not None else ""
        return ItemReading(item, best, "flagged", FlagReason.OUTSIDE, outside + also, C.ITEM_OUTSIDE_CONFIDENCE,
                           crop_png)
    if unclear:
        best = marked[0].value if marked else None
        return ItemReading(item, best, "flagged", FlagReason.UNCERTAIN, _unclear_detail(unclear, summary),
                           C.ITEM_UNCLEAR_CONFIDENCE, crop_png)
    if len(marked) == 1:
        note = f"box {filled[0].value} filled in to cancel" if filled else ""
        if scribbled:
            note = (f"box {', '.join(str(b.value) for b in scribbled)} scribbled over, taken as crossed out to "
                    f"cancel beside the clear mark in box {marked[0].value}")
        if brushed:
            note = (f"light ink in box {', '.join(str(b.value) for b in brushed)} taken as a brush of the pen "
                    f"(or a mark rubbed out) beside the clear mark in box {marked[0].value}")
        return ItemReading(item, marked[0].value, "answered", None, note, marked[0].confidence, crop_png)
    if filled:
        values = ", ".join(str(b.value) for b in filled)
        return ItemReading(item, None, "flagged", FlagReason.CANCELLED,
                           f"box {values} filled in (cancelled) and no other box marked", C.ITEM_CANCELLED_CONFIDENCE,
                           crop_png)
    return ItemReading(item, None, "blank", None, "", min(b.confidence for b in boxes) if boxes else 1.0, crop_png)


def suspect_lost_marks(items: list[ItemReading], boxes: list[BoxReading], bitonal: bool = False
                       ) -> tuple[list[ItemReading], bool]:
    """A blank row is flagged only on evidence in that row - or on a page-level sign that marks were lost:
    faint traces (or small light ticks read as marks, `_light_mark`) in several rows, or in any row of a 1-bit
    scan (which erases light pencil whole), or no answer anywhere on the page (on a grey scan with no trace at
    all that says 'left out', not 'lost', and the page's comments are not doubted for it).  Returns the items,
    blank rows flagged when the sign is there, and whether marks look lost."""
    # a small light tick or a trail of dots read as a mark is still a sign that light marks are on this page:
    # on a black-and-white scan a lighter one may have vanished whole, so blank rows stay asked about
    trace_rows = {b.item for b in boxes
                  if (b.state == "uncertain" and b.coverage < C.MARK_MIN_COVERAGE) or _light_mark(b)}
    if len(trace_rows) >= (1 if bitonal else C.LOST_MARKS_MIN_TRACE_ROWS):
        detail = ("nothing clear in this row, but other rows on this page show only faint traces"
                  + (" in a black-and-white scan" if bitonal else "")
                  + ": a light mark may have been lost in scanning - please check the paper form")
    elif items and all(i.state == "blank" for i in items) and bitonal:
        detail = ("no answer anywhere on this page: please check the paper form (faint pencil can vanish in a "
                  "black-and-white scan)")
    elif items and all(i.state == "blank" for i in items):
        # a grey scan keeps even light pencil as a trace, and there is none: most likely the person left this
        # page out (the last statements of a form, say).  Still asked, with that reason; the page's blank
        # comment fields are not, since nothing on the page suggests ink was lost
        detail = ("no answer anywhere on this page and no trace of a mark: the person may have left this page "
                  "out - please check the paper form")
        return [ItemReading(i.item, None, "flagged", FlagReason.PAGE_BLANK, detail, C.LOST_MARK_CONFIDENCE,
                            i.crop_png) for i in items], False
    else:
        return (thinned_rows(items, boxes) if bitonal else items), False
    return [ItemReading(i.item, None, "flagged", FlagReason.LOST_MARKS, detail, C.LOST_MARK_CONFIDENCE, i.crop_png)
            if i.state == "blank" else i for i in items], True


def _specks(box: BoxReading) -> int:
    """Separate pieces of light ink in a box that reads empty (0 without stored measures)."""
    return box.measures.pieces if box.state == "empty" and box.measures is not None else 0


def thinned_rows(items: list[ItemReading], boxes: list[BoxReading]) -> list[ItemReading]:
    """A black-and-white scan thins a light mark to a few dots that look like dust: a blank row is asked about
    when one of its boxes holds more specks than dust leaves (SPECK_MAX_PIECES), or when it is the page's only
    blank row among answered ones and holds any speck at all.  The page's comments are not doubted for it."""
    specks: dict[str, list[int]] = {}
    for b in boxes:
        specks.setdefault(b.item, []).append(_specks(b))
    blank = [i for i in items if i.state == "blank"]
    answered = sum(1 for i in items if i.state == "answered")
    alone = len(blank) == 1 and answered >= C.THINNED_MIN_ANSWERED_ROWS
    out = []
    for i in items:
        row = specks.get(i.item, [])
        if i.state == "blank" and row and (max(row) > C.SPECK_MAX_PIECES or (alone and any(row))):
            many = max(row) > C.SPECK_MAX_PIECES
            why = ("more specks in a box than dust leaves" if many
                   else "the only blank row on this page, with specks in it")
            detail = (f"nothing clear in this row, but {why} in a black-and-white scan: a light mark may have "
                      "been thinned away to dots - please check the paper form")
            i = ItemReading(i.item, None, "flagged", FlagReason.THINNED, detail, C.LOST_MARK_CONFIDENCE, i.crop_png)
        out.append(i)
    return out


def possibly_lost(reading: CommentReading) -> CommentReading:
    """A field read as blank on a page whose marks look lost in scanning: it goes to a person with its crop."""
    return replace(reading, written=True, possible=True,
                   engine=f"{POSSIBLY_WRITTEN}: marks on this page look faint or lost in scanning, and light writing "
                          "can vanish the same way - please check the paper form")
