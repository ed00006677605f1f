"""What the ledger says, as the workbook shows it: one consistent snapshot of forms, copies and pages.

It is read inside one transaction, so the workbook is internally consistent even while a scan is writing,
and exporting can never change what was scanned or decided.  Returned copies, effective answers and
comments come from the ledger's read model (`pipeline.ledger.queries`), so the workbook counts and flags
exactly what `status` and the review page do; this module only adds the words and order the sheets need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.errors import UnknownFormError
from pipeline.form.definition import Form, FormRegistry, ScalePoint
from pipeline.ledger import listings
from pipeline.ledger.queries import (
    CopyView,
    EffectiveAnswer,
    EffectiveComment,
    ReturnedCopy,
    UnreturnedCopy,
    effective_answers,
    effective_comments,
    flagged_boxes,
    missing_acknowledged,
    missing_kind,
    open_pages,
    returned_copies,
    unreturned_copies,
)
from pipeline.ledger.sharing import shared_comments
from pipeline.ledger.store import Ledger, describe_page_decision
from pipeline.vocab import FileOutcome, FlagReason, MissingKind, PageStatus

DEFAULT_SCALE = tuple(ScalePoint(v, "") for v in range(1, 6))

COMMENT_REASON = "handwriting not yet checked by a person"


@dataclass
class Answer:
    """One rating as it stands after review, with the words the sheets show about it."""

    item: str
    value: int | None  # settled value, or the machine's reading while `open`
    open: bool  # still needs a person: shown highlighted and left out of the statistics
    reason: str
    read: str  # what the machine saw, for the Review sheet
    crop_id: int | None
    page_id: int
    missing: MissingKind | None = None  # why there is no usable answer (read model's rule); None: answered

    @property
    def usable(self) -> int | None:
        """The value analyses count: a settled answer, never the machine's guess at an open one."""
        return None if self.open else self.value


@dataclass
class CopyReport(CopyView):
    """A returned copy (the read model's) with its answers and comments as the sheets show them."""

    copy: ReturnedCopy
    missing_acknowledged: bool = False
    answers: dict[str, Answer] = field(default_factory=dict)
    comments: dict[str, EffectiveComment] = field(default_factory=dict)
    language: str = "en"  # the language it was printed in ('cy', 'cy+en' for a bilingual print)

    def status(self, item_id: str) -> MissingKind | None:
        """Why the statement has no usable answer on this copy (None: it has one)."""
        answer = self.answers.get(item_id)
        return answer.missing if answer is not None else missing_kind(None)

    @property
    def needs_review(self) -> bool:
        return any(a.open for a in self.answers.values()) or any(c.open for c in self.comments.values())

    @property
    def version_text(self) -> int | str:
        versions = self.copy.versions
        return versions[0] if len(versions) == 1 else "; ".join(map(str, versions))


@dataclass(frozen=True)
class CodeGrid:
    """A code grid of an adopted form (a student number): its digit items, left to right, exported once more
    as one text column with the digits joined (leading zeros kept), since the number is what identifies."""

    id: str  # the joined column: '<first digit>_to_<last digit>' (no question or "choose any" item is named so)
    digits: tuple[str, ...]

    @property
    def text(self) -> str:
        return (f"code grid {self.digits[0]} to {self.digits[-1]} ({len(self.digits)} digits) as one number: the "
                "digits joined left to right, as text (leading zeros kept); empty unless every digit is settled")


def code_grids(form: Form | None) -> list[CodeGrid]:
    """The form's code grids (`code: true` digit columns, grouped by `AdoptedGeometry.code_grids`)."""
    if form is None or form.adopted is None:
        return []
    out = []
    for grid in form.adopted.code_grids():
        ids = tuple(q.id for q in grid)
        out.append(CodeGrid(f"{ids[0]}_to_{ids[-1]}" if len(ids) > 1 else f"{ids[0]}_code", ids))
    return out


def joined_code(copy: CopyReport, grid: CodeGrid) -> tuple[str, str]:
    """The number a copy's code grid holds, and '' with why not: every digit must have a usable answer (the
    read model's: settled, 0-9); a digit left blank, unsettled or not returned leaves the number empty, since
    a number with a digit missing identifies nobody, and a guess could name the wrong person."""
    digits, missing = [], []
    for n, item in enumerate(grid.digits, start=1):
        answer = copy.answers.get(item)
        kind = copy.status(item)
        value = answer.usable if answer is not None and kind is None else None
        if value is None or not 0 <= value <= 9:
            label = kind.label if kind is not None else f"value {value} is no digit"
            missing.append(f"digit {n} ({item}): {label}")
        else:
            digits.append(str(value))
    if missing:
        return "", "number incomplete: " + "; ".join(missing)
    return "".join(digits), ""


@dataclass
class FormReport:
    form_id: str
    definitions: dict[int, Form | None]  # every version seen in the ledger
    item_ids: list[str]
    field_ids: list[str]
    scale: tuple[ScalePoint, ...]
    issued: int
    copies: list[CopyReport]
    translations: dict[int, list[Form]] = field(default_factory=dict)  # each version's other languages
    unreturned: list[UnreturnedCopy] = field(default_factory=list)
    codes: list[CodeGrid] = field(default_factory=list)  # code grids exported as one number each (adopted forms)

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
    open: bool = False  # still waiting for a person: the read model's one definition (`queries.open_pages`)


@dataclass
class Snapshot:
    forms: list[FormReport]
    pages: list[PageRow]
    shared: set[tuple[int, str]] = field(default_factory=set)  # comments marked fine to share (page id, field)


def read_snapshot(ledger: Ledger, registry: FormRegistry, only: str | None) -> Snapshot:
    """Everything the workbook shows, read inside one transaction so it is one consistent moment."""
    listings.require_ledger(ledger)
    form_ids = listings.form_ids(ledger)
    if only is not None:
        if only not in form_ids:
            raise UnknownFormError(f"the ledger {ledger.shown} holds nothing for form '{only}'",
                                   f"use one of: {', '.join(form_ids) or '(the ledger is empty)'}")
        form_ids = [only]
    forms = [_read_form(ledger, registry, form_id) for form_id in form_ids]
    return Snapshot(forms, _read_pages(ledger, only), shared_comments(ledger))


def _read_form(ledger: Ledger, registry: FormRegistry, form_id: str) -> FormReport:
    definitions = {v: registry.find(form_id, v) for v in listings.form_versions(ledger, form_id)}
    acknowledged = missing_acknowledged(ledger)
    copies = {c.serial: CopyReport(c, c.anchor_page_id in acknowledged) for c in returned_copies(ledger, form_id)}
    languages = listings.copy_languages(ledger, form_id)
    for serial, copy in copies.items():
        own = next((f.language for v in copy.copy.versions if (f := definitions.get(v)) is not None), "en")
        copy.language = languages.get(serial, own)
    translations = {v: [t for lang in registry.languages(form_id, v)[1:]
                        if (t := registry.find(form_id, v, lang)) is not None]
                    for v, f in definitions.items() if f is not None}
    labels = {p.value: p.label for f in definitions.values() if f is not None for p in f.scale}
    boxes = flagged_boxes(ledger, form_id)
    seen_items: list[str] = []
    for a in effective_answers(ledger, form_id):
        owner = copies.get(a.serial)
        if owner is not None:
            owner.answers[a.item] = _answer(a, labels, boxes)
            seen_items.append(a.item)
    seen_fields: list[str] = []
    for c in effective_comments(ledger, form_id):
        holder = copies.get(c.serial)
        if holder is not None:
            holder.comments[c.item] = c
            seen_fields.append(c.item)

    defined = [f for _, f in sorted(definitions.items(), reverse=True) if f is not None]
    item_ids = _ordered([i.id for f in defined for i in f.items], seen_items)
    field_ids = _ordered([t.id for f in defined for t in f.free_text], seen_fields)
    scale = defined[0].scale if defined else DEFAULT_SCALE
    return FormReport(form_id, definitions, item_ids, field_ids, scale, listings.issued_count(ledger, form_id),
                      [copies[s] for s in sorted(copies)], translations=translations,
                      unreturned=unreturned_copies(ledger, form_id),
                      codes=[g for g in code_grids(defined[0] if defined else None)
                             if all(d in item_ids for d in g.digits)])


def _answer(a: EffectiveAnswer, labels: dict[int, str], boxes: dict[tuple[int, str], list[tuple[int, str]]]) -> Answer:
    """A rating with, while it is open, why the scanner asked and what it saw, in words."""
    reason = read = ""
    if a.open:
        reason = FlagReason.describe(a.reason, "unclear")
        if a.detail:
            reason += f" ({a.detail})"
        machine = a.machine_value
        read = (f"{machine}" + (f" ({labels[machine]})" if machine in labels else "")
                if machine is not None else "no single answer")
        seen = boxes.get((a.page_id, a.item))
        if seen:
            read += "; boxes: " + ", ".join(f"{value} {state}" for value, state in seen)
    return Answer(a.item, a.value, a.open, reason, read, a.crop_id, a.page_id, missing_kind(a))


def _ordered(defined: Iterable[str], seen: Iterable[str]) -> list[str]:
    """Ids in the order the form prints them; ids only the ledger knows (no definition) follow, sorted."""
    out = list(dict.fromkeys(defined))
    return out + sorted(set(seen) - set(out))


def _read_pages(ledger: Ledger, only: str | None) -> list[PageRow]:
    """Every page of every file, and files that could not be opened at all."""
    waiting = {q.page_id for q in open_pages(ledger)}
    rows = [PageRow(p.file_path, p.page_index + 1, p.status, p.reason or PageStatus.describe(p.status), p.serial,
                    p.form_id, p.form_version, p.form_page, p.scanned_at, describe_page_decision(p.decision),
                    p.page_id, p.image_id, p.page_id in waiting) for p in listings.pages(ledger, only)]
    failed = FileOutcome.FAILED
    rows += [PageRow(f.path, None, failed.value, f.error or failed.description, None, None, None, None,
                     f.scanned_at, "") for f in listings.failed_files(ledger)]
    return rows
