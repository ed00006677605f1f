"""`papervoice check`: whether the ledger is sound.

It only reads the ledger (opened read-only, so it is safe to run while a scan
is writing).  `check_ledger` looks for damage and for broken promises the rest
of PaperVoice relies on; it uses nothing but the ledger itself, so it can vouch
for a ledger copied from another machine without its form files.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from pipeline import constants as C
from pipeline.errors import LedgerError
from pipeline.form.identity import is_valid_serial, serial_for
from pipeline.ledger.store import Ledger
from pipeline.names import shown
from pipeline.vocab import PageStatus

#: Pages that carry readings: read as a form, or a repeat scan of one.
ANSWERED_PAGE_STATUSES = tuple(s.value for s in (PageStatus.FORM, PageStatus.DUPLICATE, PageStatus.CONFLICT))
MAX_LISTED = C.REPORT_MAX_LISTED


def _rows(ledger: Ledger, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    return list(ledger.execute(sql, params).fetchall())


def check_ledger(db: Path) -> list[str]:
    """Every problem found in the ledger, in words; an empty list means it is sound.

    Checks SQLite's own integrity and foreign keys, then PaperVoice's promises:
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
            _check_sqlite(ledger, problems)
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


def _page_name(row: sqlite3.Row) -> str:
    return f"page {int(row['page_index']) + 1} of {row['path']} (page id {row['id']})"


_PAGE_SQL = "SELECT p.*, f.path FROM pages p JOIN files f ON f.id = p.file_id"


def _check_sqlite(ledger: Ledger, problems: list[str]) -> None:
    integrity = [str(row[0]) for row in ledger.execute("PRAGMA integrity_check").fetchall()]
    if integrity != ["ok"]:
        _add(problems, [f"the database file is damaged: {text}" for text in integrity])
        return
    tables = {str(row[0]) for row in ledger.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = {"meta", "serials", "files", "pages", "answers", "comments", "decisions"} - tables
    if missing:
        problems.append(f"this is not a PaperVoice ledger (tables missing: {', '.join(sorted(missing))})")
        return
    _add(problems, [f"{row[0]} row {row[1]} points at a missing {row[2]} row"
                    for row in ledger.execute("PRAGMA foreign_key_check").fetchall()])
    if ledger.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is None:
        problems.append("the ledger does not record its schema version")


#: Pages printed for another survey, for status and check.
FOREIGN_SQL = ("SELECT p.id, p.page_index, p.survey, p.serial, p.form_id, f.path FROM pages p"
               " JOIN files f ON f.id = p.file_id WHERE p.status = 'foreign'")


def _check_foreign(ledger: Ledger, problems: list[str]) -> None:
    """Pages printed for another survey are kept but never counted: each is named until a person sets it aside."""
    if not ledger.has_column("pages", "survey"):
        return
    _add(problems, [
        f"page {int(row['page_index']) + 1} of {shown(row['path'])} (page id {row['id']}) was printed for another "
        + (f"survey ({row['survey']})" if row["survey"] else "ledger, without a survey id")
        + f": copy {row['serial']} of {row['form_id']} is not this ledger's, so it is not "
        "counted; scan it into its own survey's ledger, then set it aside in review"
        for row in _rows(ledger, FOREIGN_SQL + " AND NOT EXISTS (SELECT 1 FROM active_decisions d WHERE d.kind = "
                                               "'page' AND d.page_id = p.id) ORDER BY f.path, p.page_index")])


def _check_files(ledger: Ledger, problems: list[str]) -> None:
    # a file an interrupted scan had started is not finished yet (the next scan carries on with it)
    finished = "f.complete = 1" if ledger.has_column("files", "complete") else "1"
    _add(problems, [
        f"file {row['path']} (file id {row['id']}) should have {row['pages']} pages but the ledger holds {row['n']}"
        for row in _rows(ledger, f"""
            SELECT f.id, f.path, f.pages, COUNT(p.id) AS n FROM files f LEFT JOIN pages p ON p.file_id = f.id
            WHERE {finished} GROUP BY f.id HAVING f.pages != COUNT(p.id)""")])
    _add(problems, [
        f"{_page_name(row)} is numbered beyond the end of its file"
        for row in _rows(ledger, _PAGE_SQL + f" WHERE {finished} AND (p.page_index < 0 OR p.page_index >= f.pages)")])
    _add(problems, [
        f"file {row['path']} (file id {row['id']}) is marked as failed but records no reason"
        for row in _rows(ledger, "SELECT id, path FROM files WHERE outcome = 'failed' AND "
                                 "(error IS NULL OR error = '')")])


def _check_pages(ledger: Ledger, problems: list[str]) -> None:
    _add(problems, [
        f"{_page_name(row)} was read as a form but does not say which copy and page it is"
        for row in _rows(ledger, _PAGE_SQL + " WHERE p.status IN ('form', 'duplicate', 'conflict') AND "
                                 "(p.serial IS NULL OR p.form_id IS NULL OR p.form_page IS NULL)")])
    _add(problems, [
        f"{_page_name(row)} says it is page {row['form_page']} of {row['page_count']}"
        for row in _rows(ledger, _PAGE_SQL + " WHERE p.form_page IS NOT NULL AND (p.form_page < 1 OR "
                                 "p.form_page > COALESCE(p.page_count, p.form_page))")])
    for table, what in (("answers", "answers"), ("comments", "comments"), ("box_measurements", "box measurements")):
        _add(problems, [
            f"{_page_name(row)} has {what} although it was not read as a form (it is '{row['status']}')"
            for row in _rows(ledger, _PAGE_SQL + f" WHERE p.status NOT IN {ANSWERED_PAGE_STATUSES} AND "
                                     f"EXISTS (SELECT 1 FROM {table} t WHERE t.page_id = p.id)")])
    _add(problems, [
        f"{_page_name(row)} is a repeat scan but does not say which page it repeats"
        for row in _rows(ledger, _PAGE_SQL + " WHERE p.status IN ('duplicate', 'conflict') AND "
                                 "p.duplicate_of IS NULL")])
    _add(problems, [
        f"{_page_name(row)} is marked as a repeat scan although it is '{row['status']}'"
        for row in _rows(ledger, _PAGE_SQL + " WHERE p.status NOT IN ('duplicate', 'conflict') AND "
                                 "p.duplicate_of IS NOT NULL")])
    _add(problems, [
        f"{_page_name(row)} repeats page id {row['duplicate_of']}, which is not the first scan of copy "
        f"{row['serial']} page {row['form_page']}"
        for row in _rows(ledger, _PAGE_SQL + """ LEFT JOIN pages first ON first.id = p.duplicate_of
            WHERE p.duplicate_of IS NOT NULL AND (first.id IS NULL OR first.status != 'form' OR first.id = p.id
            OR first.serial IS NOT p.serial OR first.form_page IS NOT p.form_page)""")])
    _add(problems, [
        f"copy {row['serial']} page {row['form_page']} was read as a form {row['n']} times (page ids {row['ids']}); "
        "only the first scan should count"
        for row in _rows(ledger, """
            SELECT serial, form_page, COUNT(*) AS n, GROUP_CONCAT(id) AS ids FROM pages
            WHERE status = 'form' AND serial IS NOT NULL GROUP BY serial, form_page HAVING COUNT(*) > 1""")])


def _check_answers(ledger: Ledger, problems: list[str]) -> None:
    _add(problems, [
        f"answer {row['item']} on page id {row['page_id']} is '{row['state']}' but "
        + ("has no value" if row["value"] is None else f"has the value {row['value']}")
        for row in _rows(ledger, "SELECT * FROM answers WHERE (state = 'answered' AND value IS NULL) OR "
                                 "(state = 'blank' AND value IS NOT NULL)")])
    _add(problems, [
        f"answer {row['item']} on page id {row['page_id']} is {row['value']}, which is not one of the boxes "
        f"printed for it ({row['printed']})"
        for row in _rows(ledger, """
            SELECT a.page_id, a.item, a.value, GROUP_CONCAT(b.value) AS printed FROM answers a
            JOIN box_measurements b ON b.page_id = a.page_id AND b.item = a.item
            WHERE a.value IS NOT NULL GROUP BY a.page_id, a.item
            HAVING SUM(b.value = a.value) = 0""")])
    _add(problems, [
        f"page id {row['page_id']} has box measurements for {row['item']} but no answer for it"
        for row in _rows(ledger, """
            SELECT DISTINCT b.page_id, b.item FROM box_measurements b
            WHERE NOT EXISTS (SELECT 1 FROM answers a WHERE a.page_id = b.page_id AND a.item = b.item)""")])


def _check_decisions(ledger: Ledger, problems: list[str]) -> None:
    _add(problems, [
        f"review decision {row['id']} is about answer {row['item']} on page id {row['page_id']}, which does not exist"
        for row in _rows(ledger, "SELECT * FROM decisions d WHERE kind = 'answer' AND NOT EXISTS "
                                 "(SELECT 1 FROM answers a WHERE a.page_id = d.page_id AND a.item = d.item)")])
    _add(problems, [
        f"review decision {row['id']} is about comment {row['item']} on page id {row['page_id']}, which does not "
        "exist"
        for row in _rows(ledger, "SELECT * FROM decisions d WHERE kind = 'comment' AND NOT EXISTS "
                                 "(SELECT 1 FROM comments c WHERE c.page_id = d.page_id AND c.item = d.item)")])
    _add(problems, [
        f"review decision {row['id']} is about page id {row['page_id']}, which does not exist"
        for row in _rows(ledger, "SELECT * FROM decisions d WHERE NOT EXISTS "
                                 "(SELECT 1 FROM pages p WHERE p.id = d.page_id)")])
    printed: dict[tuple[int, str], set[int]] = defaultdict(set)
    for row in _rows(ledger, "SELECT page_id, item, value FROM box_measurements WHERE (page_id, item) IN "
                             "(SELECT page_id, item FROM decisions WHERE kind = 'answer')"):
        printed[(int(row["page_id"]), row["item"])].add(int(row["value"]))
    bad = []
    for row in _rows(ledger, "SELECT id, page_id, item, value FROM decisions WHERE kind = 'answer' "
                             "AND value IS NOT NULL AND value != ''"):
        boxes = printed.get((int(row["page_id"]), row["item"]))
        text = str(row["value"]).strip()
        number = int(text) if text.lstrip("-").isdigit() else None
        if number is None or (boxes and number not in boxes):
            bad.append(f"review decision {row['id']} sets answer {row['item']} on page id {row['page_id']} to "
                       f"'{row['value']}', which is not one of the boxes printed for it")
    _add(problems, bad)


def _check_serials(ledger: Ledger, problems: list[str]) -> None:
    bad = []
    for row in _rows(ledger, "SELECT serial, number FROM serials"):
        if not is_valid_serial(str(row["serial"])) or serial_for(int(row["number"])) != row["serial"]:
            bad.append(f"issued serial {row['serial']} does not match its number {row['number']}")
    _add(problems, bad)
    _add(problems, [
        f"print batch {row['id']} says {row['copies']} copies but {row['n']} serials were issued with it"
        for row in _rows(ledger, """
            SELECT b.id, b.copies, COUNT(s.serial) AS n FROM issue_batches b LEFT JOIN serials s ON s.batch_id = b.id
            GROUP BY b.id HAVING b.copies != COUNT(s.serial)""")])
