"""Is this adopted return the same paper as a copy already in the ledger, scanned again?

Our own forms carry a serial, so a second scan of a page is a duplicate by its code.  An adopted return with
no code of its own is told by its ink: the same sheet scanned again (another file, another resolution)
gives the same box states and nearly the same ink cover in every marked box, while two people who happen
to tick the same boxes differ in how much of each box their pen covers.  A close match on enough marks is
taken as a re-scan (the pages join the earlier copy as its repeat scans); the same answers without that
evidence are a new copy, flagged so a person can say whether it is the same paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline import constants as C
from pipeline.scan.results import PageResult

#: (item, box value) -> (state, coverage) for each box of one page
PageMarks = dict[tuple[str, int], tuple[str, float]]


def page_marks(r: PageResult) -> PageMarks:
    return {(b.item, b.value): (str(b.state), float(b.coverage)) for b in r.boxes}


@dataclass
class KnownCopies:
    """The adopted copies of the ledger by their pages' box marks, loaded once per form and kept up to date
    within a scan (the same paper twice in one batch is a re-scan too)."""

    by_form: dict[str, dict[str, dict[int, PageMarks]]] = field(default_factory=dict)

    def add(self, form: str, serial: str, page: int, marks: PageMarks) -> None:
        self.by_form.setdefault(form, {}).setdefault(serial, {}).setdefault(page, marks)

    def same_paper(self, form: str, pages: dict[int, PageMarks]) -> tuple[str | None, str]:
        """(serial of the copy these pages are a re-scan of, or None; a doubt to flag when the answers match
        a copy's but the ink does not say it is the same paper)."""
        weak = ""
        for serial, known in self.by_form.get(form, {}).items():
            shared = [p for p in pages if p in known]
            if not shared:
                continue
            marks, close, same_states = 0, True, True
            for p in shared:
                new, old = pages[p], known[p]
                if set(new) != set(old) or any(new[k][0] != old[k][0] for k in new):
                    same_states = False
                    break
                for k, (state, cover) in new.items():
                    if state != "empty":
                        marks += 1
                        close &= abs(cover - old[k][1]) <= C.ADOPT_RESCAN_COVERAGE_DIFF
            if not same_states:
                continue
            if close and marks >= C.ADOPT_RESCAN_MIN_MARKS:
                return serial, ""
            weak = weak or (f"every box reads the same as on copy {serial}: the same paper scanned again, or two "
                            "people who answered alike? Check the paper")
        return None, weak
