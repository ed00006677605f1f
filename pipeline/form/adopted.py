"""The geometry of an adopted form: a paper form PaperVoice did not print.

`papervoice adopt` measures a blank copy and writes it into the form's YAML
(`adopted:`, `questions:`, `fields:`), in pt from the page's top-left corner
as in `layout --json`.  A person then checks and edits that file (merge or
split questions, write the wording, say "choose any"), so every value is
validated here with a message naming the field and the fix.

Two kinds of question, because paper forms use both:
- "one": choose one box (a scale, yes/no, multiple choice); any number of boxes; labels optional.
- "any": choose any; each box is its own yes/no answer, stored and exported as `<id>_<value>` = 1 or 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.errors import FormDefinitionError

QUESTION_ID_RE = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
QuestionKind = Literal["one", "any"]
BoxShape = Literal["square", "round"]
GLYPH_GRID = 16  # a box's printed letter is kept as this many cells a side
FILLED_BOX = ("ask", "answer", "cancel")  # what a box filled in solid means on this form
COPY_ARRIVALS = ("in-order", "one-file", "each-page")  # how a copy's pages arrive in the scans (see adopt.copies)
ANCHOR_KINDS = ("mark", "box", "field", "comb", "text", "line")


@dataclass(frozen=True)
class AdoptedBox:
    value: int
    x: float
    y: float
    w: float
    h: float
    shape: BoxShape = "square"
    label: str = ""
    line: float = 0.7  # the printed outline's width, pt: the measured area starts inside it
    printed: float = 0.0  # share of the box's inside the blank itself inks (a letter or digit printed in it)
    printed_faint: float = 0.0  # ... counting light ink too (a glyph's soft edges)
    glyph: str = ""  # where inside the box the blank prints (GLYPH_GRID x GLYPH_GRID cells, hex): not a mark there


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    text: str
    page: int
    boxes: tuple[AdoptedBox, ...]
    code: bool = False  # one digit of a code grid (a student number): left blank, the number is incomplete

    def item_of(self, box: AdoptedBox) -> str:
        """The ledger item a box's answer is stored under: the question, or `<id>_<value>` for "choose any"."""
        return self.id if self.kind == "one" else f"{self.id}_{box.value}"


@dataclass(frozen=True)
class AdoptedField:
    id: str
    prompt: str
    page: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Anchor:
    """Something printed on the blank that a return can be aligned by (centre and size matter)."""

    kind: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class IdStrip:
    """One row of a printed page-identification strip (AMC prints two at the top of every page): cells of one
    size side by side, each printed open or solid, in a pattern that differs from copy to copy and page to page.
    Read back on a return, it says which blank the page was printed from without fitting every near-alike one."""

    x: float  # pt, the row's outer edge
    y: float
    w: float
    h: float
    bits: str  # left to right, '1' a cell printed solid, '0' an open one

    def cell(self, n: int) -> tuple[float, float, float, float]:
        """Cell n (from the left) as x, y, w, h in pt."""
        pitch = self.w / len(self.bits)
        return self.x + n * pitch, self.y, pitch, self.h


@dataclass(frozen=True)
class AdoptedPage:
    page: int
    anchors: tuple[Anchor, ...]
    strips: tuple[IdStrip, ...] = ()  # its page-id strip, when the blank prints one

    @property
    def strip_bits(self) -> str:
        """The page's id as printed: every strip row's cells, top to bottom (empty when it prints none)."""
        return "".join(s.bits for s in self.strips)


@dataclass(frozen=True)
class AdoptedGeometry:
    page_size: tuple[float, float]
    pages: tuple[AdoptedPage, ...]
    questions: tuple[Question, ...]
    fields: tuple[AdoptedField, ...]
    fill_to_cancel: bool
    source: str = ""
    copies: str = "in-order"  # how a copy's pages arrive: "in-order" (one after another) or "one-file"
    fill_answers: bool = False  # filling a box in is how people answer (AMC, bubble sheets): 'filled_box: answer'
    blank_codes: tuple[str, ...] = ()  # codes printed on the blank itself ('FORMAT:text'): no copy's identity

    def questions_on(self, page: int) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.page == page)

    def fields_on(self, page: int) -> tuple[AdoptedField, ...]:
        return tuple(f for f in self.fields if f.page == page)

    def code_grids(self) -> tuple[tuple[Question, ...], ...]:
        """Each code grid (a student number) as its digit columns, left to right.

        The form file marks a digit column with `code: true`; the columns of one grid are those on one page
        whose top boxes share a row (a person may rename or reorder the questions, the print stays where it
        is).  Two grids printed side by side on one row are taken as one: rare, and the digit columns stay
        in the export beside the joined number."""
        grids: list[list[Question]] = []
        for q in sorted((q for q in self.questions if q.code and q.boxes), key=lambda q: (q.page, q.boxes[0].y)):
            top = q.boxes[0]
            grid = next((g for g in grids if g[0].page == q.page
                         and abs(g[0].boxes[0].y - top.y) <= max(top.h, g[0].boxes[0].h) / 2), None)
            if grid is None:
                grids.append([q])
            else:
                grid.append(q)
        return tuple(tuple(sorted(g, key=lambda q: q.boxes[0].x)) for g in grids)


def _fail(source: str, where: str, problem: str, fix: str) -> FormDefinitionError:
    return FormDefinitionError(f"{source}: field '{where}': {problem}", fix)


def _number(value: Any, source: str, where: str, low: float = 0.0, high: float = 5000.0) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= float(value) <= high:
        raise _fail(source, where, f"should be a number from {low:g} to {high:g} (pt), found {value!r}",
                    "copy the number from the file 'adopt' wrote, or run 'adopt' again")
    return float(value)


def _rect(entry: dict[str, Any], source: str, where: str, page_size: tuple[float, float]
          ) -> tuple[float, float, float, float]:
    x = _number(entry.get("x"), source, f"{where}.x", -50, page_size[0])
    y = _number(entry.get("y"), source, f"{where}.y", -50, page_size[1])
    w = _number(entry.get("w"), source, f"{where}.w", 1, page_size[0])
    h = _number(entry.get("h"), source, f"{where}.h", 1, page_size[1])
    return x, y, w, h


def _mapping(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, where, f"should be a set of 'key: value' lines, found {type(value).__name__}",
                    "check the indentation of this entry")
    return value


def _list(value: Any, source: str, where: str, empty_ok: bool = False) -> list[Any]:
    if value is None and empty_ok:
        return []
    if not isinstance(value, list) or (not value and not empty_ok):
        raise _fail(source, where, "should be a list (lines starting with '- ')",
                    "add the entries, each starting with '- '")
    return value


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None and not isinstance(value, dict | list) else ""


def parse_geometry(top: dict[str, Any], source: str) -> AdoptedGeometry:
    """The `adopted`, `questions` and `fields` sections of an adopted form."""
    adopted = _mapping(top.get("adopted"), source, "adopted")
    size = adopted.get("page_size")
    if not isinstance(size, list) or len(size) != 2:
        raise _fail(source, "adopted.page_size", f"should be [width, height] in pt, found {size!r}",
                    "e.g. 'page_size: [595.3, 841.9]' for A4")
    page_size = (_number(size[0], source, "adopted.page_size", 100, 5000),
                 _number(size[1], source, "adopted.page_size", 100, 5000))
    cancel = adopted.get("fill_to_cancel", False)
    if not isinstance(cancel, bool):
        raise _fail(source, "adopted.fill_to_cancel", f"should be true or false, found {cancel!r}",
                    "write 'true' if the form tells people to fill a box in to cancel it, else 'false'")
    filled = adopted.get("filled_box", "cancel" if cancel else "ask")
    if cancel and filled == "ask":
        filled = "cancel"  # 'fill_to_cancel: true' (older files) says the same as 'filled_box: cancel'
    if filled not in FILLED_BOX or (cancel and filled != "cancel"):
        raise _fail(source, "adopted.filled_box", f"should be one of {', '.join(FILLED_BOX)}"
                    + (" (fill_to_cancel: true says 'cancel')" if cancel else ""),
                    "'answer' when people fill a box in to answer (bubble sheets, exams), 'cancel' when the form "
                    "says filling a box in cancels it, 'ask' when the form does not say (a person decides)")
    cancel = filled == "cancel"
    copies = adopted.get("copies", "in-order")
    if copies not in COPY_ARRIVALS:
        raise _fail(source, "adopted.copies", f"should be one of {', '.join(COPY_ARRIVALS)}",
                    "'in-order' when each copy's pages come one after another in the scans (page 1, 2, ...), "
                    "'one-file' when each scanned file holds one copy, 'each-page' when every page is a return "
                    "of its own (its pages ask separate questions)")
    pages: list[AdoptedPage] = []
    for n, raw in enumerate(_list(adopted.get("pages"), source, "adopted.pages")):
        entry = _mapping(raw, source, f"adopted.pages[{n}]")
        anchors = []
        for a, raw_anchor in enumerate(_list(entry.get("anchors"), source, f"adopted.pages[{n}].anchors", True)):
            where = f"adopted.pages[{n}].anchors[{a}]"
            if isinstance(raw_anchor, list) and len(raw_anchor) == 5:
                kind, x, y, w, h = raw_anchor  # the compact form 'adopt' writes: [kind, x, y, w, h]
            else:
                d = _mapping(raw_anchor, source, where)
                kind, x, y, w, h = d.get("kind"), d.get("x"), d.get("y"), d.get("w"), d.get("h")
            if kind not in ANCHOR_KINDS:
                raise _fail(source, where, f"unknown kind {kind!r}", f"use one of {', '.join(ANCHOR_KINDS)}")
            anchors.append(Anchor(str(kind), *_rect({"x": x, "y": y, "w": w, "h": h}, source, where, page_size)))
        strips = []
        for a, raw_strip in enumerate(_list(entry.get("strips"), source, f"adopted.pages[{n}].strips", True)):
            where = f"adopted.pages[{n}].strips[{a}]"
            if not (isinstance(raw_strip, list) and len(raw_strip) == 5 and isinstance(raw_strip[4], str)
                    and raw_strip[4] and set(raw_strip[4]) <= {"0", "1"}):
                raise _fail(source, where, "should be [x, y, w, h, cells] with cells written as 0 (open) and 1 "
                            "(solid)", "put back the line 'adopt' wrote, or delete it (returns are then told "
                            "apart by their print alone)")
            x, y, w, h, bits = raw_strip
            strips.append(IdStrip(*_rect({"x": x, "y": y, "w": w, "h": h}, source, where, page_size), bits))
        pages.append(AdoptedPage(n + 1, tuple(anchors), tuple(strips)))
    seen: set[str] = set()
    if top.get("questions") == []:
        raise _fail(source, "questions", "is empty: an adopted form needs at least one question with its boxes",
                    "put back the questions 'adopt' wrote (or run 'adopt' again); to leave a question out, delete "
                    "only that one")
    questions = [_question(raw, n, source, page_size, len(pages), seen)
                 for n, raw in enumerate(_list(top.get("questions"), source, "questions"))]
    fields = []
    for n, raw in enumerate(_list(top.get("fields"), source, "fields", True)):
        entry = _mapping(raw, source, f"fields[{n}]")
        fid = _text(entry.get("id"))
        _check_id(fid, seen, source, f"fields[{n}].id")
        page = _page(entry, source, f"fields[{n}]", len(pages))
        fields.append(AdoptedField(fid, _text(entry.get("prompt")) or fid, page,
                                   *_rect(entry, source, f"fields[{n}]", page_size)))
    return AdoptedGeometry(page_size, tuple(pages), tuple(questions), tuple(fields), cancel,
                           _text(adopted.get("source")), str(copies), filled == "answer",
                           tuple(str(c) for c in _list(adopted.get("blank_codes"), source, "adopted.blank_codes",
                                                       True)))


def _check_id(qid: str, seen: set[str], source: str, where: str) -> None:
    if not QUESTION_ID_RE.match(qid):
        raise _fail(source, where, f"'{qid}' is not a valid id", "use a capital letter then up to 7 capitals or "
                    "digits, e.g. Q01 or C1")
    if qid in seen:
        raise _fail(source, where, f"'{qid}' is used twice", "give every question and field its own id")
    seen.add(qid)


def _page(entry: dict[str, Any], source: str, where: str, pages: int) -> int:
    page = entry.get("page")
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= pages:
        raise _fail(source, f"{where}.page", f"should be a page number from 1 to {pages}, found {page!r}",
                    "say which page of the blank it is on")
    return page


def _question(raw: Any, n: int, source: str, page_size: tuple[float, float], pages: int,
              seen: set[str]) -> Question:
    entry = _mapping(raw, source, f"questions[{n}]")
    qid = _text(entry.get("id"))
    _check_id(qid, seen, source, f"questions[{n}].id")
    kind = entry.get("kind", "one")
    if kind not in ("one", "any"):
        raise _fail(source, f"questions[{n}].kind", f"should be 'one' or 'any', found {kind!r}",
                    "'one' when a single box is the answer, 'any' when each box is its own yes/no")
    page = _page(entry, source, f"questions[{n}]", pages)
    boxes: list[AdoptedBox] = []
    for b, raw_box in enumerate(_list(entry.get("boxes"), source, f"questions[{n}].boxes")):
        where = f"questions[{n}].boxes[{b}]"
        box = _mapping(raw_box, source, where)
        value = box.get("value")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 99:
            raise _fail(source, f"{where}.value", f"should be a whole number from 0 to 99, found {value!r}",
                        "number the boxes of a question 1, 2, 3 ...")
        if any(other.value == value for other in boxes):
            raise _fail(source, f"{where}.value", f"value {value} is used twice in {qid}",
                        "give each box of a question its own value")
        shape = box.get("shape", "square")
        if shape not in ("square", "round"):
            raise _fail(source, f"{where}.shape", f"should be 'square' or 'round', found {shape!r}",
                        "write the shape of the printed box")
        line = _number(box.get("line", 0.7), source, f"{where}.line", 0.0, 10.0)
        printed = _number(box.get("printed", 0.0), source, f"{where}.printed", 0.0, 0.9)
        printed_faint = _number(box.get("printed_faint", printed), source, f"{where}.printed_faint", 0.0, 0.95)
        glyph = str(box.get("glyph", ""))
        if glyph and not re.fullmatch(f"[0-9a-f]{{{GLYPH_GRID * GLYPH_GRID // 4}}}", glyph):
            raise _fail(source, f"{where}.glyph", "is not what 'adopt' wrote", "delete the line, or run 'adopt' again")
        boxes.append(AdoptedBox(value, *_rect(box, source, where, page_size), shape=shape,
                                label=_text(box.get("label")), line=line, printed=printed,
                                printed_faint=printed_faint, glyph=glyph))
    if kind == "one" and len(boxes) < 2:
        raise _fail(source, f"questions[{n}]", f"{qid} is 'choose one' but has a single box",
                    "make it 'kind: any' (the box is a yes/no of its own), or merge it with its neighbours")
    code = entry.get("code", False)
    if not isinstance(code, bool):
        raise _fail(source, f"questions[{n}].code", f"should be true or false, found {code!r}",
                    "write 'code: true' for one digit column of a code grid (a student number), else delete it")
    return Question(qid, kind, _text(entry.get("text")) or qid, page, tuple(boxes), code=code)
