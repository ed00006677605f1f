"""What the ledger says, as the workbook shows it: one consistent snapshot of forms, copies and pages.

It is read inside one transaction, so the workbook is internally consistent even while a scan is writing,
and exporting can never change what was scanned or decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import LedgerError, UnknownFormError
from pipeline.form.definition import Form, FormRegistry, ScalePoint
from pipeline.ledger.store import Ledger, describe_page_decision, parse_page_decision
from pipeline.text import clean_text
from pipeline.vocab import FileOutcome, FlagReason, PageStatus

DEFAULT_SCALE = tuple(ScalePoint(v, "") for v in range(1, 6))

COMMENT_REASON = "handwriting not yet checked by a person"




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
        """The wording of the newest version that has the item."""
        found = (f.statement(item_id) for _, f in sorted(self.definitions.items(), reverse=True) if f is not None)
        return next((text for text in found if text), "")

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
        return self.status in ("not_form", "unreadable") and not self.decision


@dataclass
class Snapshot:
    forms: list[FormReport]
    pages: list[PageRow]


def read_snapshot(ledger: Ledger, registry: FormRegistry, only: str | None) -> Snapshot:
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
            reason = FlagReason.describe(r["reason"], "unclear")
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
        rows.append(PageRow(r[0], int(r[1]) + 1, r[2], r[3] or PageStatus.describe(r[2]), r[4], r[5], r[6],
                            r[7], r[8], describe_page_decision(r[9]), int(r[10]), r[11]))
    for r in ledger.execute("SELECT path, error, scanned_at FROM files WHERE outcome = 'failed' AND "
                            "NOT EXISTS (SELECT 1 FROM pages p WHERE p.file_id = files.id) ORDER BY path"):
        failed = FileOutcome.FAILED
        rows.append(PageRow(r[0], None, failed.value, r[1] or failed.description, None, None, None, None, r[2], ""))
    return rows
