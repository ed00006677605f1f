"""The words PaperVoice stores for what happened, each with its plain-English description: defined once.

The ledger stores the short codes (the enum values; they never change, so old ledgers stay readable);
the review page, the workbook and the status report show the descriptions.  The schema's CHECK
constraints are built from these enums, and the scanner's result types name the same codes as
`Literal`s (mypy cannot derive a Literal from an enum, so a test holds the two equal).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

#: How a comment field that is only *possibly* written is stored: written (so it waits for a person), no
#: transcription, and this prefix before the plain-English reason in the engine column.  Review shows the
#: reason and asks the person to look; it is never a "could not read" nor a blank.
POSSIBLY_WRITTEN = "possibly written"


class Vocab(StrEnum):
    """A stored code with its description (and, where a count is shown, a shorter label)."""

    description: str
    label: str

    def __new__(cls, value: str, description: str, label: str = "") -> Vocab:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        member.label = label or description
        return member

    @classmethod
    def describe(cls, code: str | None, default: str = "") -> str:
        """The description of a stored code; `default` for none, the code itself for one not in the table."""
        if not code:
            return default
        member = next((m for m in cls if m.value == code), None)
        return code if member is None else member.description

    @classmethod
    def sql_in(cls) -> str:
        """The codes as an SQL list, for a CHECK (... IN (...)) constraint."""
        return "(" + ", ".join(f"'{m.value}'" for m in cls) + ")"


class PageStatus(Vocab):
    """What became of a scanned page (`pages.status`)."""

    FORM = "form", "read into the ledger", "read as form pages"
    BLANK = "blank", "no writing or marks on the page", "blank"
    NOT_FORM = "not_form", "not a PaperVoice page (no readable code)", "not a form"
    UNREADABLE = "unreadable", "the page could not be read", "unreadable"
    DUPLICATE = "duplicate", "the same page was scanned before", "scanned twice, same answers"
    CONFLICT = "conflict", "scanned before with different answers", "scanned twice, different answers"
    FOREIGN = "foreign", "printed for another survey (another ledger): not counted here", "printed for another survey"


class FileOutcome(Vocab):
    """What became of an input file as a whole (`files.outcome`)."""

    READ = "read", "the file was opened and its pages read"
    FAILED = "failed", "the file could not be opened"


class BoxState(Vocab):
    """What the scanner saw in one printed box (`box_measurements.state`)."""

    EMPTY = "empty", "no ink in the box"
    MARKED = "marked", "a deliberate mark: a tick, cross, dot or stroke"
    FILLED = "filled", "filled in solid: the person's way of cancelling a mark"
    UNCERTAIN = "uncertain", "some ink, too little or too unclear to be sure of"


class ItemState(Vocab):
    """The scanner's reading of one rated statement (`answers.state`)."""

    ANSWERED = "answered", "one box is marked: that is the answer"
    BLANK = "blank", "no box is marked"
    FLAGGED = "flagged", "the scanner could not be sure: a person decides"


class FlagReason(Vocab):
    """Why the scanner asked a person about an answer (`answers.reason`)."""

    MULTIPLE = "multiple", "more than one box is marked"
    UNCERTAIN = "uncertain", "a mark is too faint or unclear to be sure of"
    POOR_FIT = "poor_fit", "the page did not line up well with the printed layout"
    CONFLICT = "conflict", "two scans of this page disagree"
    CANCELLED = "cancelled", "a box is filled in to cancel it and no other box is marked"
    OUTSIDE = "outside", "a mark outside the boxes: beside a box, between two boxes, or round a number"
    LOST_MARKS = "lost_marks", "nothing clear here, but marks on this page look faint or lost in scanning"
    PAGE_BLANK = "page_blank", "no answer anywhere on this page: left out, or marked too lightly to see"
    THINNED = "thinned", ("a blank row with specks in a black-and-white scan: a light mark may have been thinned "
                          "away to dots")


class DecisionKind(Vocab):
    """What a person's review decision is about (`decisions.kind`)."""

    ANSWER = "answer", "a flagged answer settled"
    COMMENT = "comment", "a handwritten comment's transcription checked or corrected"
    PAGE = "page", "a page assigned, set aside, or its copy's missing pages acknowledged"


class DecisionAction(Vocab):
    """What a person decided about a page (the `action` of a 'page' decision's JSON value)."""

    ASSIGN = "assign", "assigned by hand"
    NOT_FORM = "not_form", "confirmed: not a form"
    ACKNOWLEDGE_MISSING = "acknowledge_missing", "acknowledged: pages missing"


class MissingKind(Vocab):
    """Why a statement has no usable answer in the results: the kinds survey practice keeps apart.

    `code` is the number the statistics files carry (declared user-missing there, so SPSS, Stata and R
    leave it out of every mean); the workbook keeps the answer cell empty and writes the label beside it.
    Defined once here; the read model (`pipeline.ledger.queries.missing_kind`) decides which applies.
    """

    code: int

    def __new__(cls, value: str, description: str, label: str = "", code: int = 0) -> MissingKind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        member.label = label or description
        member.code = code
        return member

    LEFT_BLANK = "left_blank", "no box was marked", "left blank", -1
    CANNOT_TELL = "cannot_tell", "a person looked and settled it as 'cannot be told'", "settled: cannot be told", -2
    MULTIPLE_OPEN = "multiple_open", "more than one box is marked and no person has settled it yet", \
        "more than one box (not yet settled)", -3
    UNREADABLE = "unreadable", "the mark could not be read with confidence and no person has settled it yet", \
        "unreadable (not yet settled)", -4
    PAGE_NOT_RETURNED = "page_not_returned", "the page with this statement was not returned", \
        "page not returned", -5
    NOT_RETURNED = "not_returned", "the copy was printed but not returned", "copy not returned", -6

    @classmethod
    def by_code(cls, code: int) -> MissingKind | None:
        return next((m for m in cls if m.code == code), None)


class ErasureKind(Vocab):
    """What an erasure removed (`erasures.kind`): the audit says which, never what it said."""

    COPY = "copy", "one copy's answers, comments, decisions and pictures, at the person's request"
    IMAGES = "images", "pictures of pages past the retention period (answers and text kept)"


#: The same codes for the scanner's small result types (mypy checks these; a test holds them equal to the enums).
PageStatusCode = Literal["form", "blank", "not_form", "unreadable", "duplicate", "conflict", "foreign"]
BoxStateCode = Literal["empty", "marked", "filled", "uncertain"]
ItemStateCode = Literal["answered", "blank", "flagged"]

#: Every enum, for tests and documentation.
ALL: tuple[type[Vocab], ...] = (PageStatus, FileOutcome, BoxState, ItemState, FlagReason, DecisionKind,
                                DecisionAction, MissingKind, ErasureKind)
