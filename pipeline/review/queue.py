"""What is left for a person to settle, read from the ledger's effective views.

These queries live beside the review server rather than in the ledger because
only the review page needs them in this shape; they only read, and every write
still goes through `Ledger.decide` / `Ledger.revert` so the audit trail has a
single entrance.

Four kinds of question:

* answers the scanner flagged (more than one mark, an unclear mark, a page that
  did not line up, two scans that disagree) and no person has settled;
* handwritten comments whose OCR text no person has checked;
* pages that were not recognised as a form (or could not be read at all);
* incomplete copies: a serial of which some pages never arrived.  These are
  informational: the person can only acknowledge them.  The acknowledgement is
  a ``page`` decision on the copy's first received page, item ``""``, value
  ``{"action": "acknowledge_missing", "serial": ..., "missing": [...]}``.

Pages assigned by hand get a ``page`` decision with value
``{"action": "assign", "form", "version", "serial", "page"}``; a page confirmed
not to be a form gets ``{"action": "not_form"}``.  Either settles the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.ledger.store import Ledger, describe_page_decision, parse_page_decision
from pipeline.vocab import FlagReason, PageStatus


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Settled:
    """A question is settled once a person's decision stands (not reverted)."""

    decision_id: int | None

    @property
    def settled(self) -> bool:
        return self.decision_id is not None


class _ItemQuestion(_Settled):
    """A question about one item (or comment field) of one page."""

    page_id: int
    item: str

    @property
    def key(self) -> tuple[int, str]:
        return (self.page_id, self.item)

    @property
    def key_args(self) -> dict[str, Any]:
        """The question's URL arguments on the review page."""
        return {"page_id": self.page_id, "item": self.item}


@dataclass(frozen=True)
class AnswerQuestion(_ItemQuestion):
    page_id: int
    item: str
    serial: str
    form_id: str
    form_version: int
    form_page: int
    machine_value: int | None
    reason: str
    detail: str
    confidence: float
    crop_id: int | None
    value: int | None  # effective value (the person's, once decided)
    decision_id: int | None

    @property
    def reason_words(self) -> str:
        return _sentence(FlagReason.describe(self.reason, "the scanner was unsure"))


@dataclass(frozen=True)
class CommentQuestion(_ItemQuestion):
    page_id: int
    item: str
    serial: str
    form_id: str
    form_version: int
    form_page: int
    machine_text: str
    text: str  # effective text
    confidence: float
    engine: str
    crop_id: int | None
    decision_id: int | None


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
    def status_words(self) -> str:
        return _sentence(PageStatus.describe(self.status))

    @property
    def key(self) -> tuple[int, str]:
        return (self.page_id, "")

    @property
    def key_args(self) -> dict[str, Any]:
        return {"page_id": self.page_id}


@dataclass(frozen=True)
class IncompleteCopy(_Settled):
    serial: str
    form_id: str
    form_version: int
    page_count: int
    present: tuple[int, ...]
    anchor_page_id: int  # the first received page: where an acknowledgement is stored
    decision_id: int | None
    assigned: tuple[tuple[int, int], ...]  # (form page, ledger page id) placed here by hand

    @property
    def missing(self) -> tuple[int, ...]:
        return tuple(p for p in range(1, self.page_count + 1) if p not in self.present)


@dataclass(frozen=True)
class DecisionRow:
    id: int
    kind: str
    page_id: int
    item: str
    previous: str | None
    value: str | None
    decided_at: str
    decided_by: str
    reverted_at: str | None
    serial: str | None
    form_id: str | None
    form_page: int | None
    file_path: str
    page_index: int
    active: bool


def answer_questions(ledger: Ledger, form_id: str | None = None, item: str | None = None) -> list[AnswerQuestion]:
    """Every flagged answer, settled or not, in queue order (so previous/next can revisit settled ones)."""
    sql = ("SELECT page_id, item, serial, form_id, form_version, form_page, machine_value, reason, detail,"
           " confidence, crop_id, value, decision_id FROM effective_answers WHERE machine_state = 'flagged'")
    params: list[Any] = []
    if form_id:
        sql += " AND form_id = ?"
        params.append(form_id)
    if item:
        sql += " AND item = ?"
        params.append(item)
    sql += " ORDER BY form_id, serial, form_page, item, page_id"
    return [AnswerQuestion(
        page_id=int(r["page_id"]), item=str(r["item"]), serial=str(r["serial"] or ""), form_id=str(r["form_id"] or ""),
        form_version=int(r["form_version"] or 0), form_page=int(r["form_page"] or 0),
        machine_value=r["machine_value"], reason=str(r["reason"] or ""), detail=str(r["detail"] or ""),
        confidence=float(r["confidence"] or 0.0), crop_id=r["crop_id"], value=r["value"],
        decision_id=r["decision_id"]) for r in ledger.execute(sql, params)]


def answer_question(ledger: Ledger, page_id: int, item: str) -> AnswerQuestion | None:
    """One flagged answer, or None when (page, item) is not a question at all."""
    for q in answer_questions_for_page(ledger, page_id):
        if q.item == item:
            return q
    return None


def answer_questions_for_page(ledger: Ledger, page_id: int) -> list[AnswerQuestion]:
    rows = ledger.execute(
        "SELECT page_id, item, serial, form_id, form_version, form_page, machine_value, reason, detail, confidence,"
        " crop_id, value, decision_id FROM effective_answers WHERE machine_state = 'flagged' AND page_id = ?",
        (page_id,))
    return [AnswerQuestion(
        page_id=int(r["page_id"]), item=str(r["item"]), serial=str(r["serial"] or ""), form_id=str(r["form_id"] or ""),
        form_version=int(r["form_version"] or 0), form_page=int(r["form_page"] or 0),
        machine_value=r["machine_value"], reason=str(r["reason"] or ""), detail=str(r["detail"] or ""),
        confidence=float(r["confidence"] or 0.0), crop_id=r["crop_id"], value=r["value"],
        decision_id=r["decision_id"]) for r in rows]


def conflict_crops(ledger: Ledger, page_id: int, item: str) -> list[int]:
    """Crops of the same item from later scans that disagreed, so the person sees both readings."""
    rows = ledger.execute(
        "SELECT a.crop_id FROM answers a JOIN pages p ON p.id = a.page_id"
        " WHERE p.duplicate_of = ? AND p.status = 'conflict' AND a.item = ? AND a.crop_id IS NOT NULL"
        " ORDER BY p.id", (page_id, item))
    return [int(r[0]) for r in rows]


def comment_questions(ledger: Ledger) -> list[CommentQuestion]:
    """Every written comment, checked or not, in queue order."""
    rows = ledger.execute(
        "SELECT page_id, item, serial, form_id, form_version, form_page, machine_text, text, confidence, engine,"
        " crop_id, decision_id FROM effective_comments WHERE written = 1"
        " ORDER BY form_id, serial, form_page, item, page_id")
    return [CommentQuestion(
        page_id=int(r["page_id"]), item=str(r["item"]), serial=str(r["serial"] or ""), form_id=str(r["form_id"] or ""),
        form_version=int(r["form_version"] or 0), form_page=int(r["form_page"] or 0),
        machine_text=str(r["machine_text"] or ""), text=str(r["text"] or ""), confidence=float(r["confidence"] or 0),
        engine=str(r["engine"] or ""), crop_id=r["crop_id"], decision_id=r["decision_id"]) for r in rows]


def page_questions(ledger: Ledger) -> list[PageQuestion]:
    """Pages the scanner could not place on a form, settled or not."""
    rows = ledger.execute(
        "SELECT p.id, p.status, p.reason, p.page_index, p.image_id, f.path, d.id AS decision_id, d.value"
        " FROM pages p JOIN files f ON f.id = p.file_id"
        " LEFT JOIN active_decisions d ON d.kind = 'page' AND d.page_id = p.id AND d.item = ''"
        " WHERE p.status IN ('not_form', 'unreadable') ORDER BY p.id")
    return [PageQuestion(page_id=int(r["id"]), status=str(r["status"]), reason=str(r["reason"] or ""),
                         file_path=str(r["path"]), page_index=int(r["page_index"]), image_id=r["image_id"],
                         decision_id=r["decision_id"], decision=parse_page_decision(r["value"])) for r in rows]


def incomplete_copies(ledger: Ledger) -> list[IncompleteCopy]:
    """Copies of which at least one page arrived but not all of them."""
    rows = ledger.execute(
        "SELECT p.serial, p.form_id, p.form_version, MAX(COALESCE(p.page_count, s.pages, 1)) AS page_count,"
        " GROUP_CONCAT(DISTINCT p.form_page) AS present, MIN(p.id) AS anchor"
        " FROM pages p LEFT JOIN serials s ON s.serial = p.serial"
        " WHERE p.status = 'form' AND p.serial IS NOT NULL"
        " GROUP BY p.serial, p.form_id, p.form_version ORDER BY p.form_id, p.serial").fetchall()
    assigned: dict[str, list[tuple[int, int]]] = {}
    for q in page_questions(ledger):
        if q.decision and q.decision.get("action") == "assign":
            assigned.setdefault(str(q.decision.get("serial")), []).append((int(q.decision.get("page", 0)), q.page_id))
    decisions = {int(r["page_id"]): int(r["id"]) for r in ledger.execute(
        "SELECT id, page_id, value FROM active_decisions WHERE kind = 'page' AND item = ''")
        if (parse_page_decision(r["value"]) or {}).get("action") == "acknowledge_missing"}
    copies = []
    for r in rows:
        present = tuple(sorted({int(p) for p in str(r["present"] or "").split(",") if p}))
        count = int(r["page_count"] or 1)
        if len([p for p in present if 1 <= p <= count]) >= count:
            continue
        anchor = int(r["anchor"])
        copies.append(IncompleteCopy(serial=str(r["serial"]), form_id=str(r["form_id"]),
                                     form_version=int(r["form_version"] or 0), page_count=count, present=present,
                                     anchor_page_id=anchor, decision_id=decisions.get(anchor),
                                     assigned=tuple(sorted(assigned.get(str(r["serial"]), [])))))
    return copies


def decision_history(ledger: Ledger, page_id: int | None = None, item: str | None = None,
                     decision_id: int | None = None, limit: int = 500) -> list[DecisionRow]:
    """Every decision, newest first, with what it changed; `active` marks the one now in force per target."""
    sql = ("SELECT d.*, p.serial, p.form_id, p.form_page, p.page_index, f.path,"
           " (SELECT a.id FROM active_decisions a WHERE a.id = d.id) IS NOT NULL AS active"
           " FROM decisions d JOIN pages p ON p.id = d.page_id JOIN files f ON f.id = p.file_id")
    where: list[str] = []
    params: list[Any] = []
    if page_id is not None:
        where.append("d.page_id = ?")
        params.append(page_id)
    if item is not None:
        where.append("d.item = ?")
        params.append(item)
    if decision_id is not None:
        where.append("d.id = ?")
        params.append(decision_id)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY d.id DESC LIMIT ?"
    params.append(limit)
    return [DecisionRow(id=int(r["id"]), kind=str(r["kind"]), page_id=int(r["page_id"]), item=str(r["item"]),
                        previous=r["previous"], value=r["value"], decided_at=str(r["decided_at"]),
                        decided_by=str(r["decided_by"] or ""), reverted_at=r["reverted_at"], serial=r["serial"],
                        form_id=r["form_id"], form_page=r["form_page"], file_path=str(r["path"]),
                        page_index=int(r["page_index"]), active=bool(r["active"])) for r in ledger.execute(sql, params)]


def decision(ledger: Ledger, decision_id: int) -> DecisionRow | None:
    rows = decision_history(ledger, decision_id=decision_id, limit=1)
    return rows[0] if rows else None


def describe_value(kind: str, value: str | None) -> str:
    """A decision's value in words for the history page."""
    if kind == "answer":
        return "blank" if value in (None, "") else str(value)
    if kind == "comment":
        if value is None:
            return "(nothing)"
        return "no comment" if value == "" else value
    return describe_page_decision(value) or "(not settled)"
