"""Grouping the pages of adopted returns into copies.

Returns of a form PaperVoice did not print have no serial: each copy gets a ledger number when it is scanned,
and its pages are told apart from the next copy's only by their order in the file (page 1, 2, ... of the
form, blank backs and unrecognised pages skipped).  When the order does not say it plainly - a copy that
starts on page 2, stops short, or repeats a page - the grouping is a guess, and its pages are flagged so a
person checks them against the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pipeline.scan.results import ItemReading, PageResult


@dataclass
class Copy:
    form: str
    version: int
    pages: int  # how many pages the form has
    members: list[int] = field(default_factory=list)  # indices into the file's results
    doubt: str = ""


def is_adopted_unnumbered(r: PageResult) -> bool:
    return r.status == "form" and r.identity is not None and r.identity.serial == ""


def group_copies(results: list[PageResult]) -> list[Copy]:
    copies: list[Copy] = []
    last_page = 0
    for n, r in enumerate(results):
        if not is_adopted_unnumbered(r):
            continue
        ident = r.identity
        assert ident is not None
        current = copies[-1] if copies else None
        follows = (current is not None and (current.form, current.version) == (ident.form, ident.version)
                   and ident.page == last_page + 1)
        if not follows:
            current = Copy(ident.form, ident.version, ident.pages)
            copies.append(current)
            if ident.page != 1:
                current.doubt = (f"this copy starts on page {ident.page} of {ident.pages}: its first pages were not "
                                 "found just before it in the file")
        assert current is not None
        current.members.append(n)
        last_page = ident.page
    for c in copies:
        found = len(c.members)
        if not c.doubt and found < c.pages:
            c.doubt = (f"only {found} of the form's {c.pages} pages were found together in the file: pages may be "
                       "missing or out of order")
    return copies


def flag_doubt(r: PageResult, doubt: str) -> PageResult:
    """Every answer on a page whose copy is uncertain goes to a person, with the machine's reading kept."""
    items = [_doubted(i, doubt) for i in r.items]
    return replace(r, items=items, reason=doubt)


def _doubted(i: ItemReading, doubt: str) -> ItemReading:
    """An answer already flagged keeps its own reason first (two marks stay two marks); the copy's doubt is
    added to what the person is told."""
    which = "please check which copy this page belongs to"
    if i.state == "flagged":
        return ItemReading(i.item, i.value, "flagged", i.reason, f"{i.detail}; also, {doubt}: {which}",
                           min(i.confidence, 0.4), i.crop_png)
    return ItemReading(i.item, i.value, "flagged", "uncertain", f"{doubt}; read as "
                       f"{'blank' if i.value is None else i.value} - {which}", min(i.confidence, 0.4), i.crop_png)
