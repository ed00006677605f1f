"""Grouping the pages of adopted returns into copies, by the evidence there is.

Returns of a form PaperVoice did not print carry no serial of ours: each copy gets a ledger number when it
is scanned.  Which pages make one copy is taken, in this order, from:

1. a code printed on each sheet that the blank itself lacks (a barcode or QR per questionnaire, as SDAPS
   and queXF print): pages with the same code are one copy, whatever their order;
2. what the form says about how its copies arrive (`adopted.copies`): `one-file` (each file holds one
   copy, its pages in any order), `each-page` (every page is a return of its own: a form whose pages ask
   separate questions, handed out page by page, needs no copy) or `in-order` (the default: a copy's pages
   follow each other in the scan, page 1, 2, ... of the form);
3. for `in-order`, the order itself.  A sequence that does not fit - a copy that starts on page 2, stops
   short, repeats a page, a page turned differently from the page before it, a page of another form - starts
   a new copy, and every copy whose bounds are a guess is flagged, including the copy right after an
   out-of-order one (where it starts is a guess too).  Pages are never silently joined across sheets.
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
    code: str = ""  # the sheet code the copy's pages carry, when they carry one


def is_adopted_unnumbered(r: PageResult) -> bool:
    return r.status == "form" and r.identity is not None and r.identity.serial == ""


def _turn(r: PageResult) -> int:
    return round(r.rotation_deg / 90) % 4


def group_copies(results: list[PageResult], arrival: dict[str, str] | None = None,
                 doubt_before: bool = False) -> list[Copy]:
    """The copies among `results` (in scan order); `arrival` gives each form id's `adopted.copies`;
    `doubt_before`: the copy just before these was a guess (so where the first of these starts is one too)."""
    copies: list[Copy] = []
    by_code: dict[tuple[str, str], Copy] = {}
    last: PageResult | None = None
    for n, r in enumerate(results):
        if not is_adopted_unnumbered(r):
            continue
        ident = r.identity
        assert ident is not None
        how = (arrival or {}).get(ident.form, "in-order")
        if r.sheet_code:
            key = (ident.form, r.sheet_code)
            coded = by_code.get(key)
            if coded is None:
                coded = by_code[key] = Copy(ident.form, ident.version, ident.pages, code=r.sheet_code)
                copies.append(coded)
            elif any(results[m].identity.page == ident.page for m in coded.members):  # type: ignore[union-attr]
                coded.doubt = (f"page {ident.page} with sheet code {r.sheet_code} was found twice: the same sheet "
                               "scanned twice, or two sheets printed with one code")
            coded.members.append(n)
            last = None
            continue
        if how == "each-page":  # a return of its own: nothing to join, nothing to guess
            copies.append(Copy(ident.form, ident.version, 1, [n]))
            last = None
            continue
        current = copies[-1] if copies and not copies[-1].code else None
        same_form = current is not None and (current.form, current.version) == (ident.form, ident.version)
        if how == "one-file":
            follows = same_form and not any(results[m].identity.page == ident.page  # type: ignore[union-attr]
                                            for m in current.members)  # type: ignore[union-attr]
        else:
            follows = same_form and last is not None and ident.page == last.identity.page + 1  # type: ignore[union-attr]
        turned = follows and how == "in-order" and last is not None and _turn(r) != _turn(last)
        if turned:
            follows = False
        if not follows:
            current = Copy(ident.form, ident.version, ident.pages)
            copies.append(current)
            if turned:
                current.doubt = (f"page {ident.page} is turned differently from page {ident.page - 1} just before it, "
                                 "so they may be two people's sheets")
                copies[-2].doubt = copies[-2].doubt or current.doubt
            elif ident.page != 1 and how == "in-order":
                current.doubt = (f"this copy starts on page {ident.page} of {ident.pages}: its first pages were not "
                                 "found just before it in the file")
        assert current is not None
        current.members.append(n)
        last = r
    for c in copies:
        found = len({results[m].identity.page for m in c.members})  # type: ignore[union-attr]
        if not c.doubt and found < c.pages:
            c.doubt = (f"only {found} of the form's {c.pages} pages were found together in the file: pages may be "
                       "missing or out of order")
    _spread_doubt(copies, arrival or {}, doubt_before)
    return copies


def _spread_doubt(copies: list[Copy], arrival: dict[str, str], doubt_before: bool) -> None:
    """In scan order, a copy right after a short or out-of-order copy is a guess at its start too (the sheet
    fed back side first: its back alone, then its front joined to the next sheet's back)."""
    doubted = [doubt_before] + [bool(c.doubt) and not c.code for c in copies]
    for n, c in enumerate(copies):
        if doubted[n] and not c.doubt and not c.code and c.pages > 1 \
                and arrival.get(c.form, "in-order") == "in-order":
            c.doubt = "the pages just before this copy were out of order, so where this copy starts is a guess"


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
