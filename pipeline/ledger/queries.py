"""The one read model of the ledger: returned copies, open questions, effective answers and comments.

Status, review and export all read the ledger through these functions, so "returned",
"incomplete", "needs a person" and "the answer as it stands" mean the same in the status
report, on the review page and in the workbook.  They only read; every write still goes
through `Ledger.decide` / `Ledger.revert` so the audit trail has a single entrance.  All
SQL lives in `pipeline/ledger/`; another database would go in behind these functions.

A *returned copy* is a serial of which at least one page was read as a form; it is
*complete* when every one of its pages was.  The questions for a person:

* answers the scanner flagged (more than one mark, an unclear mark, a page that
  did not line up, two scans that disagree) and no person has settled;
* handwritten comments whose OCR text no person has checked;
* pages that were not recognised as a form (or could not be read at all);
* incomplete copies.  These are informational: the person can only acknowledge
  them.  The acknowledgement is a ``page`` decision on the copy's first received
  page, item ``""``, value ``{"action": "acknowledge_missing", "serial": ..., "missing": [...]}``.

Pages assigned by hand get a ``page`` decision with value
``{"action": "assign", "form", "version", "serial", "page"}``; a page confirmed
not to be a form gets ``{"action": "not_form"}``.  Either settles the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.ledger.adopted import adopted_copy_marks, copy_seen  # noqa: F401 (the read model's API)
from pipeline.ledger.decisions import parse_page_decision
from pipeline.ledger.doubt import DoubtfulLine, doubt_reason, doubtful_lines, kept_line_confidences
from pipeline.ledger.history import (  # noqa: F401 (the read model's API)
    DecisionRow,
    decision,
    decision_history,
    describe_value,
)
from pipeline.ledger.lookups import IssuedCopy, KeptPage, issued_copy, kept_page  # noqa: F401 (the read model's API)
from pipeline.ledger.store import Ledger
from pipeline.vocab import POSSIBLY_WRITTEN, DecisionAction, FlagReason, ItemState, MissingKind, PageStatus


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Settled:
    """A question is settled once a person's decision stands (not reverted)."""

    decision_id: int | None

    @property
    def settled(self) -> bool:
        return self.decision_id is not None


@dataclass(frozen=True)
class _ItemQuestion(_Settled):
    """A question about one item (or comment field) of one page of a copy."""

    page_id: int
    item: str
    serial: str
    form_id: str
    form_version: int
    form_page: int

    @property
    def key(self) -> tuple[int, str]:
        return (self.page_id, self.item)

    @property
    def key_args(self) -> dict[str, Any]:
        """The question's URL arguments on the review page."""
        return {"page_id": self.page_id, "item": self.item}


@dataclass(frozen=True)
class EffectiveAnswer(_ItemQuestion):
    """One rating as it stands: the machine's reading, or a person's decision once there is one."""

    machine_state: str
    machine_value: int | None
    reason: str
    detail: str
    confidence: float
    crop_id: int | None
    value: int | None  # effective value (the person's, once decided)
    state: str  # the machine's state, or 'reviewed' once a person decided
    decision_id: int | None

    @property
    def open(self) -> bool:
        """Still needs a person: flagged by the scanner and not settled."""
        return self.state == ItemState.FLAGGED

    @property
    def reason_words(self) -> str:
        return _sentence(FlagReason.describe(self.reason, "the scanner was unsure"))


#: A flagged answer is a question for a person; settled ones stay in the queue so previous/next can revisit them.
AnswerQuestion = EffectiveAnswer


@dataclass(frozen=True)
class EffectiveComment(_ItemQuestion):
    """One free-text field as it stands: the engine's transcription, or a person's correction."""

    written: bool  # the scanner found handwriting in the field
    machine_text: str
    text: str  # effective text
    confidence: float
    engine: str
    crop_id: int | None
    decision_id: int | None
    line_confidences: tuple[float, ...] = ()  # the engine's, per line of machine_text

    @property
    def doubtful(self) -> tuple[DoubtfulLine, ...]:  # lines likely misread (the engine was unsure of them)
        return doubtful_lines(self.machine_text, self.line_confidences) if not self.possible else ()

    @property
    def doubt(self) -> str:  # why the picture must be read closely, in plain words ('' when sure of every line)
        return doubt_reason(self.doubtful, len(self.line_confidences))

    @property
    def open(self) -> bool:
        """A written comment needs a person until someone has confirmed or corrected it (OCR is only a draft)."""
        return self.written and not self.settled

    @property
    def present(self) -> bool:
        """Something is there to show: handwriting was found, or a person typed a text."""
        return self.written or bool(self.text.strip())

    @property
    def possible(self) -> bool:
        """Possibly written: too little ink to be sure either way; the reason is in `engine`."""
        return self.written and self.engine.startswith(POSSIBLY_WRITTEN)

    @property
    def possible_reason(self) -> str:
        """Why the scanner was unsure, in plain words ("a little ink (0.8 mm², 2 strokes) - please look ...")."""
        return self.engine.removeprefix(POSSIBLY_WRITTEN).lstrip(": ") if self.possible else ""

    @property
    def unread(self) -> bool:
        """Writing the scanner could not make out (no transcription, or only junk it threw away): review says
        so and asks for it to be typed, rather than showing an empty box as if nothing were written."""
        return self.written and not self.possible and not self.machine_text.strip()


CommentQuestion = EffectiveComment


@dataclass(frozen=True)
class PageQuestion(_Settled):
    page_id: int
    status: str
    reason: str
    file_path: str
    page_index: int
    image_id: int | None
    decision_id: int | None
    decision: dict[str, Any] | None

    @property
    def open(self) -> bool:
        """An open page: one the scanner could not place (not a form, unreadable, another survey's) that no
        person has settled.  The one definition: review's queue, `status`, `check` and the workbook count it."""
        return not self.settled

    @property
    def status_words(self) -> str:
        return _sentence(PageStatus.describe(self.status))

    @property
    def key(self) -> tuple[int, str]:
        return (self.page_id, "")

    @property
    def key_args(self) -> dict[str, Any]:
        return {"page_id": self.page_id}


@dataclass(frozen=True)
class ReturnedCopy:
    """A serial of which at least one page was read as a form."""

    serial: str
    form_id: str
    form_version: int  # the version it was read as (the newest, if pages disagree)
    versions: tuple[int, ...]
    page_count: int
    present: tuple[int, ...]
    files: tuple[str, ...]  # in page order, each once
    anchor_page_id: int  # the first received page: where an acknowledgement of missing pages is stored
    issued: bool  # its serial was issued by this ledger
    style: str = ""  # standard or large-print, as printed (or as read, for a serial this ledger did not issue)
    label: str | None = None  # the print label of its batch (`generate --label`), None for none
    returned_at: str = ""  # when its first page was scanned (UTC, ISO 8601)
    settled_at: str | None = None  # when a person last decided anything about it in review; None: never
    each_page: bool = False  # a return of one page of its own (an adopted form with `copies: each-page`)

    @property
    def missing(self) -> tuple[int, ...]:
        """The form's pages not received; none for an each-page return, which is one page by design."""
        if self.each_page:
            return ()
        return tuple(p for p in range(1, self.page_count + 1) if p not in self.present)

    @property
    def complete(self) -> bool:
        return not self.missing


class CopyView:
    """What a returned copy says about itself, for objects that carry one as `copy` and add to it."""

    copy: ReturnedCopy

    @property
    def serial(self) -> str:
        return self.copy.serial

    @property
    def form_id(self) -> str:
        return self.copy.form_id

    @property
    def form_version(self) -> int:
        return self.copy.form_version

    @property
    def page_count(self) -> int:
        return self.copy.page_count

    @property
    def present(self) -> tuple[int, ...]:
        return self.copy.present

    @property
    def missing(self) -> tuple[int, ...]:
        return self.copy.missing

    @property
    def complete(self) -> bool:
        return self.copy.complete


@dataclass(frozen=True)
class IncompleteCopy(CopyView, _Settled):
    """A returned copy with pages missing: a question a person can only acknowledge."""

    copy: ReturnedCopy
    decision_id: int | None
    assigned: tuple[tuple[int, int], ...]  # (form page, ledger page id) placed here by hand

    @property
    def anchor_page_id(self) -> int:
        return self.copy.anchor_page_id


_ANSWER_COLUMNS = ("page_id, item, serial, form_id, form_version, form_page, machine_state, machine_value, reason,"
                   " detail, confidence, crop_id, value, state, decision_id")
_QUEUE_ORDER = " ORDER BY form_id, serial, form_page, item, page_id"


def effective_answers(ledger: Ledger, form_id: str | None = None, item: str | None = None, *,
                      flagged_only: bool = False, page_id: int | None = None) -> list[EffectiveAnswer]:
    """Every rating on a page read as a form, as it stands after review, in queue order."""
    where, params = _where(("form_id", form_id), ("item", item), ("page_id", page_id))
    if flagged_only:
        where.append(f"machine_state = '{ItemState.FLAGGED}'")
    sql = f"SELECT {_ANSWER_COLUMNS} FROM effective_answers" + _and(where) + _QUEUE_ORDER
    return [EffectiveAnswer(
        page_id=int(r["page_id"]), item=str(r["item"]), serial=str(r["serial"] or ""), form_id=str(r["form_id"] or ""),
        form_version=int(r["form_version"] or 0), form_page=int(r["form_page"] or 0),
        machine_state=str(r["machine_state"]), machine_value=r["machine_value"], reason=str(r["reason"] or ""),
        detail=str(r["detail"] or ""), confidence=float(r["confidence"] or 0.0), crop_id=r["crop_id"],
        value=r["value"], state=str(r["state"]), decision_id=r["decision_id"]) for r in ledger.execute(sql, params)]


def answer_questions(ledger: Ledger, form_id: str | None = None, item: str | None = None) -> list[AnswerQuestion]:
    """Every flagged answer, settled or not, in queue order (so previous/next can revisit settled ones)."""
    return effective_answers(ledger, form_id, item, flagged_only=True)


def answer_question(ledger: Ledger, page_id: int, item: str) -> AnswerQuestion | None:
    """One flagged answer, or None when (page, item) is not a question at all."""
    found = effective_answers(ledger, item=item, page_id=page_id, flagged_only=True)
    return found[0] if found else None


def flagged_boxes(ledger: Ledger, form_id: str) -> dict[tuple[int, str], list[tuple[int, str]]]:
    """The non-empty boxes of every flagged item, so a person can be told what the scanner saw."""
    out: dict[tuple[int, str], list[tuple[int, str]]] = {}
    for r in ledger.execute(
            "SELECT b.page_id, b.item, b.value, b.state FROM box_measurements b "
            "JOIN answers a ON a.page_id = b.page_id AND a.item = b.item JOIN pages p ON p.id = b.page_id "
            "WHERE a.state = 'flagged' AND b.state != 'empty' AND p.form_id = ? AND p.status = 'form' "
            "ORDER BY b.page_id, b.item, b.value", (form_id,)):
        out.setdefault((int(r[0]), r[1]), []).append((int(r[2]), r[3]))
    return out


def conflict_crops(ledger: Ledger, page_id: int, item: str) -> list[int]:
    """Crops of the same item from later scans that disagreed, so the person sees both readings."""
    rows = ledger.execute(
        "SELECT a.crop_id FROM answers a JOIN pages p ON p.id = a.page_id"
        " WHERE p.duplicate_of = ? AND p.status = 'conflict' AND a.item = ? AND a.crop_id IS NOT NULL"
        " ORDER BY p.id", (page_id, item))
    return [int(r[0]) for r in rows]


def effective_comments(ledger: Ledger, form_id: str | None = None, *,
                       written_only: bool = False) -> list[EffectiveComment]:
    """Every free-text field on a page read as a form, as it stands after review, in queue order."""
    where, params = _where(("form_id", form_id))
    where += ["written = 1"] if written_only else []
    rows, lines = ledger.execute(
        "SELECT page_id, item, serial, form_id, form_version, form_page, written, machine_text, text, confidence,"
        " engine, crop_id, decision_id FROM effective_comments" + _and(where) + _QUEUE_ORDER, params
    ), kept_line_confidences(ledger)
    return [EffectiveComment(
        page_id=int(r["page_id"]), item=str(r["item"]), serial=str(r["serial"] or ""), form_id=str(r["form_id"] or ""),
        form_version=int(r["form_version"] or 0), form_page=int(r["form_page"] or 0), written=bool(r["written"]),
        machine_text=str(r["machine_text"] or ""), text=str(r["text"] or ""), confidence=float(r["confidence"] or 0),
        engine=str(r["engine"] or ""), crop_id=r["crop_id"], decision_id=r["decision_id"],
        line_confidences=lines.get((int(r["page_id"]), str(r["item"])), ())) for r in rows]


def comment_questions(ledger: Ledger) -> list[CommentQuestion]:
    """Every written comment, checked or not, in queue order."""
    return effective_comments(ledger, written_only=True)


def page_questions(ledger: Ledger) -> list[PageQuestion]:
    """Pages the scanner could not place on a form, settled or not."""
    rows = ledger.execute(
        "SELECT p.id, p.status, p.reason, p.page_index, p.image_id, f.path, d.id AS decision_id, d.value"
        " FROM pages p JOIN files f ON f.id = p.file_id"
        " LEFT JOIN active_decisions d ON d.kind = 'page' AND d.page_id = p.id AND d.item = ''"
        " WHERE p.status IN ('not_form', 'unreadable', 'foreign') ORDER BY p.id")
    return [PageQuestion(page_id=int(r["id"]), status=str(r["status"]), reason=str(r["reason"] or ""),
                         file_path=str(r["path"]), page_index=int(r["page_index"]), image_id=r["image_id"],
                         decision_id=r["decision_id"], decision=parse_page_decision(r["value"])) for r in rows]


def open_pages(ledger: Ledger) -> list[PageQuestion]:
    """The pages still waiting for a person (see `PageQuestion.open`)."""
    return [q for q in page_questions(ledger) if q.open]


def returned_copies(ledger: Ledger, form_id: str | None = None) -> list[ReturnedCopy]:
    """Every returned copy, by form and serial: the one rule for returned, complete and missing pages."""
    where, params = _where(("p.form_id", form_id))
    rows = ledger.execute(
        "SELECT p.id, p.serial, p.form_id, p.form_version, p.form_page, COALESCE(p.page_count, s.pages, 0) AS count,"
        f" p.serial_issued, f.path, COALESCE(s.style, p.style, '') AS style, {_label_column(ledger)}, p.scanned_at,"
        " s.pages AS serial_pages"
        " FROM pages p JOIN files f ON f.id = p.file_id"
        " LEFT JOIN serials s ON s.serial = p.serial LEFT JOIN issue_batches b ON b.id = s.batch_id"
        " WHERE p.status = 'form' AND p.serial IS NOT NULL"
        + "".join(f" AND {w}" for w in where) + " ORDER BY p.form_id, p.serial, p.form_page, p.id", params)
    settled = _settled_at(ledger, form_id)
    grouped: dict[tuple[str, str], list[Any]] = {}
    for r in rows:
        grouped.setdefault((str(r["form_id"]), str(r["serial"])), []).append(r)
    copies = []
    for (form, serial), pages in grouped.items():
        versions = tuple(sorted({int(r["form_version"]) for r in pages}))
        copies.append(ReturnedCopy(
            serial=serial, form_id=form, form_version=versions[-1], versions=versions,
            page_count=max(int(r["count"] or 0) for r in pages),
            present=tuple(sorted({int(r["form_page"]) for r in pages})),
            files=tuple(dict.fromkeys(str(r["path"]) for r in pages)),
            anchor_page_id=min(int(r["id"]) for r in pages), issued=any(bool(r["serial_issued"]) for r in pages),
            style=str(pages[0]["style"]), label=pages[0]["label"], returned_at=min(str(r["scanned_at"]) for r in pages),
            settled_at=settled.get((form, serial)),
            # numbered as a one-page copy of a longer form: adopted pages that are each a return of their own
            each_page=all(r["serial_pages"] == 1 for r in pages) and max(int(r["count"] or 0) for r in pages) > 1))
    return copies


def _label_column(ledger: Ledger) -> str:
    """The batch's print label; a ledger older than labels, opened read-only, has none."""
    return "b.label" if ledger.has_column("issue_batches", "label") else "NULL AS label"


def _settled_at(ledger: Ledger, form_id: str | None) -> dict[tuple[str, str], str]:
    """(form, serial) -> when a person last decided anything standing about one of its pages."""
    where, params = _where(("p.form_id", form_id))
    return {(str(r[0]), str(r[1])): str(r[2]) for r in ledger.execute(
        "SELECT p.form_id, p.serial, MAX(d.decided_at) FROM active_decisions d JOIN pages p ON p.id = d.page_id"
        " WHERE p.status = 'form' AND p.serial IS NOT NULL" + "".join(f" AND {w}" for w in where)
        + " GROUP BY p.form_id, p.serial", params)}


@dataclass(frozen=True)
class UnreturnedCopy:
    """A serial this ledger printed of which no page has come back (erased copies are not listed)."""

    serial: str
    form_id: str
    form_version: int
    style: str
    label: str | None
    page_count: int


def unreturned_copies(ledger: Ledger, form_id: str | None = None) -> list[UnreturnedCopy]:
    """Every issued copy with no page read as a form, by serial: the statistics files' 'copy not returned' rows."""
    where, params = _where(("s.form_id", form_id))
    if ledger.has_column("erasures", "serial"):
        where.append("NOT EXISTS (SELECT 1 FROM erasures e WHERE e.serial = s.serial)")
    rows = ledger.execute(
        f"SELECT s.serial, s.form_id, s.form_version, s.style, {_label_column(ledger)}, s.pages FROM serials s"
        " LEFT JOIN issue_batches b ON b.id = s.batch_id"
        " WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.serial = s.serial AND p.status = 'form')"
        + "".join(f" AND {w}" for w in where) + " ORDER BY s.form_id, s.serial", params)
    return [UnreturnedCopy(str(r[0]), str(r[1]), int(r[2]), str(r[3]), r[4], int(r[5])) for r in rows]


def missing_kind(answer: EffectiveAnswer | None, returned: bool = True) -> MissingKind | None:
    """Why a statement of a copy has no usable answer, or None when it has one: the one rule for the codes.

    No answer row on a returned copy means the page that carries the statement was not read.  A flagged
    answer a person settled without a value is 'cannot be told'; one still open is 'more than one box' or
    'unreadable' by the scanner's reason, whatever the machine guessed, since no one has confirmed it.
    """
    if not returned:
        return MissingKind.NOT_RETURNED
    if answer is None:
        return MissingKind.PAGE_NOT_RETURNED
    if answer.open:
        return MissingKind.MULTIPLE_OPEN if answer.reason == FlagReason.MULTIPLE else MissingKind.UNREADABLE
    if answer.value is not None:
        return None
    if answer.settled:
        return MissingKind.CANNOT_TELL
    return MissingKind.LEFT_BLANK


def missing_acknowledged(ledger: Ledger) -> dict[int, int]:
    """Page id -> decision id, for every copy whose missing pages a person has acknowledged (on its first page)."""
    return {int(r["page_id"]): int(r["id"]) for r in ledger.execute(
        "SELECT id, page_id, value FROM active_decisions WHERE kind = 'page' AND item = ''")
        if (parse_page_decision(r["value"]) or {}).get("action") == DecisionAction.ACKNOWLEDGE_MISSING}


def incomplete_copies(ledger: Ledger) -> list[IncompleteCopy]:
    """Copies of which at least one page arrived but not all of them."""
    assigned: dict[str, list[tuple[int, int]]] = {}
    for q in page_questions(ledger):
        if q.decision and q.decision.get("action") == DecisionAction.ASSIGN:
            assigned.setdefault(str(q.decision.get("serial")), []).append((int(q.decision.get("page", 0)), q.page_id))
    decisions = missing_acknowledged(ledger)
    return [IncompleteCopy(copy, decisions.get(copy.anchor_page_id), tuple(sorted(assigned.get(copy.serial, []))))
            for copy in returned_copies(ledger) if not copy.complete]


def _where(*pairs: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """'column = ?' for each pair whose value is given, and the values."""
    given = [(column, value) for column, value in pairs if value is not None and value != ""]
    return [f"{column} = ?" for column, _ in given], [value for _, value in given]


def _and(where: list[str]) -> str:
    return " WHERE " + " AND ".join(where) if where else ""

