"""Deciding every box again from the measures the ledger keeps, after a change of thresholds.

Scanning stores, for every box of a printed form, every input of its decision (`box_measures`) and its page's
(`page_measures`).  Re-deciding runs the very functions the reader runs (`decide.classify_measures`,
`decide.decide_page`) on them, so the answers are those a new scan would give, without decoding a page.
Nothing is written unless asked (`apply=True`); a person's review decisions are never touched (they still
take precedence over the machine's answer), and a comment field once sent to a person stays with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.ledger import measures
from pipeline.ledger.backend import Backend
from pipeline.ledger.schema import MEASURE_COLUMNS
from pipeline.ledger.store import Ledger
from pipeline.scan.decide import decide_page, possibly_lost, reclassify_box
from pipeline.scan.results import BoxMeasures, BoxReading, CommentReading, ItemReading
from pipeline.vocab import FlagReason

#: what the reader writes as the engine of a blank comment field sent to a person because marks look lost
_LOST_ENGINE = possibly_lost(CommentReading("", False, "", 0.0, "", 0.0)).engine


def stored_measures(row: Any) -> BoxMeasures:
    """A box's measures from its box_measures row."""
    return BoxMeasures(*(row[c] for c in MEASURE_COLUMNS))


@dataclass(frozen=True)
class AnswerChange:
    """One item whose machine answer changes: before and after, and whether a person already decided it."""

    page_id: int
    serial: str
    form_page: int
    item: str
    before: tuple[int | None, str, str | None]  # value, state, reason
    after: ItemReading
    reviewed: bool

    def describe(self) -> str:
        def show(value: int | None, state: str, reason: str | None) -> str:
            if state == "answered":
                return f"answered {value}"
            if state == "flagged":
                return f"flagged ({reason})" + (f", best {value}" if value is not None else "")
            return state

        a = self.after
        note = "  [a person already decided it: their answer still counts]" if self.reviewed else ""
        return (f"copy {self.serial} page {self.form_page} {self.item}: {show(*self.before)} -> "
                f"{show(a.value, a.state, a.reason)}{note}")


@dataclass
class Reclassified:
    """What re-deciding found: counts, and every changed answer."""

    pages: int = 0
    boxes: int = 0
    boxes_changed: int = 0
    pages_without_measures: int = 0  # read before measures were kept, or adopted forms' pages
    changes: list[AnswerChange] = field(default_factory=list)
    comments_to_person: int = 0  # blank comment fields now sent to a person (marks on their page look lost)
    comments_kept_with_person: int = 0  # ... that would no longer be, but stay with a person
    applied: bool = False

    def as_dict(self) -> dict[str, object]:
        raised, cleared = self.flags()
        return {"pages": self.pages, "boxes": self.boxes, "boxes_changed": self.boxes_changed,
                "answers_changed": len(self.changes), "newly_flagged": raised, "flags_cleared": cleared,
                "pages_without_measures": self.pages_without_measures, "applied": self.applied,
                "comments_to_person": self.comments_to_person,
                "changes": [{"page_id": c.page_id, "serial": c.serial, "form_page": c.form_page, "item": c.item,
                             "before": {"value": c.before[0], "state": c.before[1], "reason": c.before[2]},
                             "after": {"value": c.after.value, "state": c.after.state, "reason": c.after.reason,
                                       "detail": c.after.detail},
                             "reviewed": c.reviewed} for c in self.changes]}

    def flags(self) -> tuple[int, int]:
        """Answers that become flagged, and flags that clear."""
        raised = sum(1 for c in self.changes if c.after.state == "flagged" and c.before[1] != "flagged")
        cleared = sum(1 for c in self.changes if c.before[1] == "flagged" and c.after.state != "flagged")
        return raised, cleared


def _box(row: Any) -> BoxReading:
    return BoxReading(row["item"], int(row["value"]), row["shown_coverage"], row["darkness"], row["spill"],
                      row["dx_mm"], row["dy_mm"], row["state"], row["confidence"], faint=row["shown_faint"],
                      solid=row["shown_solid"], match=row["match"], beside_mm2=row["beside_mm2"],
                      beside_at=row["beside_at"], left_mm2=row["left_mm2"], measures=stored_measures(row))


def _pages(db: Backend) -> Iterator[tuple[int, list[BoxReading], bool, str]]:
    """Each measured form page: its boxes in layout order, whether it was a black-and-white scan, its misfit."""
    for page_id, page_rows in measures.measured_pages(db).items():
        yield page_id, [_box(r) for r in page_rows], bool(page_rows[0]["bitonal"]), str(page_rows[0]["poor_fit"])


def _no_crop(_item: str) -> bytes:
    return b""


def reclassify(ledger: Ledger, apply: bool = False) -> Reclassified:
    """Decide every measured box and item again under today's thresholds; write the changes only if `apply`."""
    out = Reclassified()
    with ledger.transaction() as db:
        answers = measures.machine_answers(db)
        reviewed = measures.reviewed_answers(db)
        lost_pages = measures.pages_flagged_with(db, FlagReason.LOST_MARKS.value, _LOST_ENGINE)
        for page_id, boxes, bitonal, poor_fit in _pages(db):
            out.pages += 1
            out.boxes += len(boxes)
            again = [reclassify_box(b) for b in boxes]
            changed_boxes = [b for b, old in zip(again, boxes, strict=True)
                             if (b.state, b.confidence, b.solid) != (old.state, old.confidence, old.solid)]
            out.boxes_changed += sum(1 for b, old in zip(again, boxes, strict=True) if b.state != old.state)
            lost_before = page_id in lost_pages
            items, lost = decide_page(again, _no_crop, poor_fit, bitonal)
            changed_items = []
            for item in items:
                stored = answers.get((page_id, item.item))
                if stored is None or stored["reason"] == FlagReason.CONFLICT:
                    continue  # two scans disagree: a person chooses, whatever the thresholds say
                if (stored["value"], stored["state"], stored["reason"], stored["detail"]) != \
                        (item.value, item.state, item.reason, item.detail):
                    out.changes.append(AnswerChange(page_id, str(stored["serial"]), int(stored["form_page"]),
                                                    item.item, (stored["value"], stored["state"], stored["reason"]),
                                                    item, (page_id, item.item) in reviewed))
                if (stored["value"], stored["state"], stored["reason"], stored["detail"], stored["confidence"]) != \
                        (item.value, item.state, item.reason, item.detail, item.confidence):
                    changed_items.append(item)
            blank_fields = measures.blank_fields(db, page_id)
            if lost and not lost_before:
                out.comments_to_person += blank_fields
            elif lost_before and not lost:
                out.comments_kept_with_person += 1  # pages: their fields sent to a person stay there
            if apply:
                measures.write_redecided(db, page_id, changed_boxes, changed_items,
                                         _LOST_ENGINE if lost and not lost_before else None)
        out.pages_without_measures = measures.pages_without_measures(db)
        out.applied = apply
    return out


def format_reclassified(r: Reclassified, limit: int = 50) -> str:
    """The result in plain words: what changes, then the changed answers, closest to a person's eye first."""
    raised, cleared = r.flags()
    verb = "Changed" if r.applied else "Would change"
    lines = [f"Decided {r.boxes} boxes on {r.pages} pages again from their stored measures.",
             f"{verb}: {r.boxes_changed} box decisions, {len(r.changes)} answers "
             f"({raised} newly flagged for a person, {cleared} flags cleared)."]
    if r.comments_to_person:
        lines.append(f"{r.comments_to_person} blank comment fields go to a person: marks on their pages now look lost.")
    if r.comments_kept_with_person:
        lines.append(f"{r.comments_kept_with_person} pages' blank comment fields stay with a person although their "
                     "marks no longer look lost (a field sent to a person is never taken back).")
    if r.pages_without_measures:
        lines.append(f"{r.pages_without_measures} form pages have no stored measures (read by an older PaperVoice, "
                     "or an adopted form's): left as they were read; scan them again to include them.")
    lines += ["  " + c.describe() for c in r.changes[:limit]]
    if len(r.changes) > limit:
        lines.append(f"  ... and {len(r.changes) - limit} more (--limit, or --json for all)")
    if r.changes and not r.applied:
        lines.append("Nothing was written. Run again with --apply to keep the new answers.")
    return "\n".join(lines)
