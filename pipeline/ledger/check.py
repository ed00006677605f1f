"""`papervoice check`: whether the ledger is sound.

It only reads the ledger (opened read-only, so it is safe to run while a scan
is writing).  `check_ledger` looks for damage and for broken promises the rest
of PaperVoice relies on; it uses nothing but the ledger itself, so it can vouch
for a ledger copied from another machine without its form files.
"""

from __future__ import annotations

import os
from typing import Any

from pipeline import constants as C
from pipeline.errors import LedgerError
from pipeline.form.identity import is_valid_serial, serial_for
from pipeline.ledger import integrity as Q
from pipeline.ledger.listings import foreign_pages
from pipeline.ledger.store import Ledger
from pipeline.names import shown

MAX_LISTED = C.REPORT_MAX_LISTED


def check_ledger(db: str | os.PathLike[str]) -> list[str]:
    """Every problem found in the ledger, in words; an empty list means it is sound.

    Checks the database's own integrity and references (SQLite's checks; PostgreSQL enforces them), then
    PaperVoice's promises:
    every file holds as many pages as it says; answers, comments and box
    measurements only belong to pages read as forms (or their repeat scans); a
    repeat scan points at the first scan of the same copy and page; no copy's
    page is read as a form twice; review decisions point at something that
    exists; and answers are values that were printed as boxes for that item.
    A ledger that cannot be opened at all is reported as a problem too.
    """
    try:
        ledger = Ledger(db, readonly=True)
    except LedgerError as exc:
        return [str(exc)]
    problems: list[str] = []
    try:
        with ledger:
            _check_database(ledger, problems)
            if not problems:  # the other checks assume the tables are intact
                for check in (_check_files, _check_pages, _check_answers, _check_decisions, _check_serials,
                              _check_foreign):
                    check(ledger, problems)
    except LedgerError as exc:
        problems.append(str(exc))
    return problems


def _add(problems: list[str], found: list[str]) -> None:
    problems.extend(found[:MAX_LISTED])
    if len(found) > MAX_LISTED:
        problems.append(f"... and {len(found) - MAX_LISTED} more like the one above")


def _page_name(row: Any) -> str:
    return f"page {int(row['page_index']) + 1} of {row['path']} (page id {row['id']})"


def _check_database(ledger: Ledger, problems: list[str]) -> None:
    damage = ledger.db.damage()
    if damage and damage[0].startswith("the database file is damaged"):
        _add(problems, damage)
        return
    missing = Q.missing_tables(ledger)
    if missing:
        problems.append(f"this is not a PaperVoice ledger (tables missing: {', '.join(sorted(missing))})")
        return
    _add(problems, damage)
    if not Q.has_schema_version(ledger):
        problems.append("the ledger does not record its schema version")


def _check_foreign(ledger: Ledger, problems: list[str]) -> None:
    """Pages printed for another survey are kept but never counted: each is named until a person sets it aside."""
    _add(problems, [
        f"page {page.page} of {shown(page.path)} (page id {page.page_id}) was printed for another "
        + (f"survey ({page.survey})" if page.survey else "ledger, without a survey id")
        + f": copy {page.serial} of {page.form_id} is not this ledger's, so it is not "
        "counted; scan it into its own survey's ledger, then set it aside in review"
        for page in foreign_pages(ledger) if page.open])


def _check_files(ledger: Ledger, problems: list[str]) -> None:
    _add(problems, [
        f"file {row['path']} (file id {row['id']}) should have {row['pages']} pages but the ledger holds {row['n']}"
        for row in Q.files_with_wrong_page_count(ledger)])
    _add(problems, [f"{_page_name(row)} is numbered beyond the end of its file"
                    for row in Q.pages_beyond_their_file(ledger)])
    _add(problems, [f"file {row['path']} (file id {row['id']}) is marked as failed but records no reason"
                    for row in Q.failed_files_without_reason(ledger)])


def _check_pages(ledger: Ledger, problems: list[str]) -> None:
    _add(problems, [f"{_page_name(row)} was read as a form but does not say which copy and page it is"
                    for row in Q.form_pages_without_identity(ledger)])
    _add(problems, [f"{_page_name(row)} says it is page {row['form_page']} of {row['page_count']}"
                    for row in Q.pages_numbered_wrong(ledger)])
    for table, what in (("answers", "answers"), ("comments", "comments"), ("box_measurements", "box measurements")):
        _add(problems, [
            f"{_page_name(row)} has {what} although it was not read as a form (it is '{row['status']}')"
            for row in Q.readings_on_pages_not_read(ledger, table)])
    _add(problems, [f"{_page_name(row)} is a repeat scan but does not say which page it repeats"
                    for row in Q.repeats_without_original(ledger)])
    _add(problems, [f"{_page_name(row)} is marked as a repeat scan although it is '{row['status']}'"
                    for row in Q.originals_marked_as_repeats(ledger)])
    _add(problems, [
        f"{_page_name(row)} repeats page id {row['duplicate_of']}, which is not the first scan of copy "
        f"{row['serial']} page {row['form_page']}"
        for row in Q.repeats_of_the_wrong_page(ledger)])
    _add(problems, [
        f"copy {serial} page {page} was read as a form {len(ids)} times (page ids {','.join(map(str, ids))}); "
        "only the first scan should count"
        for serial, page, ids in Q.copy_pages_read_twice(ledger)])


def _check_answers(ledger: Ledger, problems: list[str]) -> None:
    _add(problems, [
        f"answer {row['item']} on page id {row['page_id']} is '{row['state']}' but "
        + ("has no value" if row["value"] is None else f"has the value {row['value']}")
        for row in Q.answers_state_and_value_disagree(ledger)])
    _add(problems, [
        f"answer {item} on page id {page_id} is {value}, which is not one of the boxes "
        f"printed for it ({','.join(map(str, boxes))})"
        for page_id, item, value, boxes in Q.answers_not_printed(ledger)])
    _add(problems, [f"page id {row['page_id']} has box measurements for {row['item']} but no answer for it"
                    for row in Q.boxes_without_answer(ledger)])


def _check_decisions(ledger: Ledger, problems: list[str]) -> None:
    _add(problems, [
        f"review decision {row['id']} is about answer {row['item']} on page id {row['page_id']}, which does not exist"
        for row in Q.decisions_on_nothing(ledger, "answer")])
    _add(problems, [
        f"review decision {row['id']} is about comment {row['item']} on page id {row['page_id']}, which does not "
        "exist"
        for row in Q.decisions_on_nothing(ledger, "comment")])
    _add(problems, [f"review decision {row['id']} is about page id {row['page_id']}, which does not exist"
                    for row in Q.decisions_on_nothing(ledger, "page")])
    printed = Q.boxes_of_decided_answers(ledger)
    bad = []
    for row in Q.answer_decisions_with_value(ledger):
        boxes = printed.get((int(row["page_id"]), row["item"]))
        if boxes is not None and len(boxes) == 1:
            boxes = boxes | {0}  # a lone box (choose any) is ticked or not ticked
        text = str(row["value"]).strip()
        number = int(text) if text.lstrip("-").isdigit() else None
        if boxes is not None and len(boxes) == 1:
            boxes = boxes | {0}  # a lone box (choose any) is ticked or not ticked
        if number is None or (boxes and number not in boxes):
            bad.append(f"review decision {row['id']} sets answer {row['item']} on page id {row['page_id']} to "
                       f"'{row['value']}', which is not one of the boxes printed for it")
    _add(problems, bad)


def _check_serials(ledger: Ledger, problems: list[str]) -> None:
    bad = []
    for row in Q.issued_serials(ledger):
        if not is_valid_serial(str(row["serial"])) or serial_for(int(row["number"])) != row["serial"]:
            bad.append(f"issued serial {row['serial']} does not match its number {row['number']}")
    _add(problems, bad)
    _add(problems, [f"print batch {row['id']} says {row['copies']} copies but {row['n']} serials were issued with it"
                    for row in Q.batches_with_wrong_count(ledger)])
