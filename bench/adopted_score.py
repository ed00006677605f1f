"""Scoring adopted-form readings box by box: right, flagged, or wrong without a flag.

A box is "chosen" when its question's answer is its value (choose one) or 1 (choose any).  A box a person
must look at (its question flagged) counts as flagged, never as right.  A box filled in to cancel is right
when it is not chosen.  Shared by the bench and the optional tests on real scans.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipeline.form.adopted import Question
from pipeline.scan.results import PageResult


@dataclass
class BoxScore:
    right: int = 0
    flagged: int = 0
    wrong: int = 0
    wrong_cases: list[str] = field(default_factory=list)
    by_truth: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.right + self.flagged + self.wrong

    def add(self, other: BoxScore) -> None:
        self.right += other.right
        self.flagged += other.flagged
        self.wrong += other.wrong
        self.wrong_cases += other.wrong_cases
        self.by_truth.update(other.by_truth)

    def as_dict(self) -> dict[str, object]:
        t = max(1, self.total)
        return {"boxes": self.total, "right": self.right, "flagged": self.flagged, "wrong": self.wrong,
                "right_pct": round(100 * self.right / t, 2), "flagged_pct": round(100 * self.flagged / t, 2),
                "wrong_pct": round(100 * self.wrong / t, 3), "wrong_cases": self.wrong_cases[:10]}


def score_page(result: PageResult, questions: tuple[Question, ...], truth: dict[tuple[str, int], str],
               label: str = "") -> BoxScore:
    """`truth` maps (question id, value) to marked | empty | filled-to-cancel | ambiguous."""
    s = BoxScore()
    items = {i.item: i for i in result.items}
    for q in questions:
        for b in q.boxes:
            state = truth.get((q.id, b.value))
            if state is None or state == "ambiguous":
                continue
            s.by_truth[state] += 1
            item = items.get(q.item_of(b))
            if item is None or item.state == "flagged":
                s.flagged += 1
                continue
            chosen = item.value == (b.value if q.kind == "one" else 1)
            if chosen == (state == "marked"):
                s.right += 1
            else:
                s.wrong += 1
                s.wrong_cases.append(f"{label} {q.id} box {b.value}: truth {state}, read "
                                     f"{'chosen' if chosen else 'not chosen'}")
    return s
