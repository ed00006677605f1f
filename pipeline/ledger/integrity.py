"""The questions `papervoice check` asks of a ledger, as queries: each returns the rows that break a promise.

`check` turns the rows into words; the SQL stays here, portable, for every backend.  The database's own
soundness (damaged pages, broken references) is the backend's (`Backend.damage`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pipeline.ledger.store import Ledger
from pipeline.vocab import PageStatus

#: Pages that carry readings: read as a form, or a repeat scan of one.
ANSWERED_PAGE_STATUSES = tuple(s.value for s in (PageStatus.FORM, PageStatus.DUPLICATE, PageStatus.CONFLICT))
LEDGER_TABLES = {"meta", "serials", "files", "pages", "answers", "comments", "decisions"}
_PAGE_SQL = "SELECT p.*, f.path FROM pages p JOIN files f ON f.id = p.file_id"


def _rows(ledger: Ledger, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    return list(ledger.execute(sql, params).fetchall())


def missing_tables(ledger: Ledger) -> set[str]:
    return LEDGER_TABLES - ledger.db.tables()


def has_schema_version(ledger: Ledger) -> bool:
    return ledger.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is not None


def _finished(ledger: Ledger) -> str:
    # a file an interrupted scan had started is not finished yet (the next scan carries on with it)
    return "f.complete = 1" if ledger.has_column("files", "complete") else "1 = 1"


def files_with_wrong_page_count(ledger: Ledger) -> list[Any]:
    return _rows(ledger, f"""
        SELECT f.id, f.path, f.pages, COUNT(p.id) AS n FROM files f LEFT JOIN pages p ON p.file_id = f.id
        WHERE {_finished(ledger)} GROUP BY f.id, f.path, f.pages HAVING f.pages != COUNT(p.id)""")


def pages_beyond_their_file(ledger: Ledger) -> list[Any]:
    return _rows(ledger, _PAGE_SQL + f" WHERE {_finished(ledger)} AND (p.page_index < 0 OR p.page_index >= f.pages)")


def failed_files_without_reason(ledger: Ledger) -> list[Any]:
    return _rows(ledger, "SELECT id, path FROM files WHERE outcome = 'failed' AND (error IS NULL OR error = '')")


def form_pages_without_identity(ledger: Ledger) -> list[Any]:
    return _rows(ledger, _PAGE_SQL + " WHERE p.status IN ('form', 'duplicate', 'conflict') AND "
                                     "(p.serial IS NULL OR p.form_id IS NULL OR p.form_page IS NULL)")


def pages_numbered_wrong(ledger: Ledger) -> list[Any]:
    return _rows(ledger, _PAGE_SQL + " WHERE p.form_page IS NOT NULL AND (p.form_page < 1 OR "
                                     "p.form_page > COALESCE(p.page_count, p.form_page))")


def readings_on_pages_not_read(ledger: Ledger, table: str) -> list[Any]:
    """Pages holding rows of `table` (answers, comments, box_measurements) though not read as a form."""
    statuses = ", ".join(f"'{s}'" for s in ANSWERED_PAGE_STATUSES)
    return _rows(ledger, _PAGE_SQL + f" WHERE p.status NOT IN ({statuses}) AND "
                                     f"EXISTS (SELECT 1 FROM {table} t WHERE t.page_id = p.id)")


def repeats_without_original(ledger: Ledger) -> list[Any]:
    return _rows(ledger, _PAGE_SQL + " WHERE p.status IN ('duplicate', 'conflict') AND p.duplicate_of IS NULL")


def originals_marked_as_repeats(ledger: Ledger) -> list[Any]:
    return _rows(ledger, _PAGE_SQL + " WHERE p.status NOT IN ('duplicate', 'conflict') AND "
                                     "p.duplicate_of IS NOT NULL")


def repeats_of_the_wrong_page(ledger: Ledger) -> list[Any]:
    return _rows(ledger, _PAGE_SQL + """ LEFT JOIN pages first ON first.id = p.duplicate_of
        WHERE p.duplicate_of IS NOT NULL AND (first.id IS NULL OR first.status != 'form' OR first.id = p.id
        OR COALESCE(first.serial, '') != COALESCE(p.serial, '')
        OR COALESCE(first.form_page, -1) != COALESCE(p.form_page, -1))""")


def copy_pages_read_twice(ledger: Ledger) -> list[tuple[str, int, list[int]]]:
    """(serial, form page, page ids) of every copy's page read as a form more than once."""
    ids: dict[tuple[str, int], list[int]] = defaultdict(list)
    for row in _rows(ledger, "SELECT serial, form_page, id FROM pages WHERE status = 'form' AND serial IS NOT NULL"
                             " AND (serial, form_page) IN (SELECT serial, form_page FROM pages WHERE status = 'form'"
                             " GROUP BY serial, form_page HAVING COUNT(*) > 1) ORDER BY id"):
        ids[(str(row[0]), int(row[1]))].append(int(row[2]))
    return [(serial, page, found) for (serial, page), found in sorted(ids.items())]


def answers_state_and_value_disagree(ledger: Ledger) -> list[Any]:
    return _rows(ledger, "SELECT * FROM answers WHERE (state = 'answered' AND value IS NULL) OR "
                         "(state = 'blank' AND value IS NOT NULL)")


def answers_not_printed(ledger: Ledger) -> list[tuple[int, str, int, list[int]]]:
    """(page id, item, value, the boxes printed) for answers whose value was no printed box."""
    printed: dict[tuple[int, str], list[int]] = defaultdict(list)
    values: dict[tuple[int, str], int] = {}
    for row in _rows(ledger, "SELECT a.page_id, a.item, a.value, b.value AS box FROM answers a"
                             " JOIN box_measurements b ON b.page_id = a.page_id AND b.item = a.item"
                             " WHERE a.value IS NOT NULL ORDER BY a.page_id, a.item, b.value"):
        key = (int(row[0]), str(row[1]))
        values[key] = int(row[2])
        printed[key].append(int(row[3]))
    return [(page, item, values[(page, item)], boxes) for (page, item), boxes in printed.items()
            if values[(page, item)] not in boxes
            and not (len(boxes) == 1 and values[(page, item)] == 0)]  # a lone box (choose any): 0 is "not ticked"


def boxes_without_answer(ledger: Ledger) -> list[Any]:
    return _rows(ledger, "SELECT DISTINCT b.page_id, b.item FROM box_measurements b"
                         " WHERE NOT EXISTS (SELECT 1 FROM answers a WHERE a.page_id = b.page_id AND a.item = b.item)")


def decisions_on_nothing(ledger: Ledger, kind: str) -> list[Any]:
    """Decisions about an answer, a comment or (any kind) a page that does not exist."""
    if kind == "answer":
        target = "SELECT 1 FROM answers a WHERE a.page_id = d.page_id AND a.item = d.item"
    elif kind == "comment":
        target = "SELECT 1 FROM comments c WHERE c.page_id = d.page_id AND c.item = d.item"
    else:
        return _rows(ledger, "SELECT * FROM decisions d WHERE NOT EXISTS (SELECT 1 FROM pages p WHERE p.id = "
                             "d.page_id)")
    return _rows(ledger, f"SELECT * FROM decisions d WHERE kind = ? AND NOT EXISTS ({target})", (kind,))


def boxes_of_decided_answers(ledger: Ledger) -> dict[tuple[int, str], set[int]]:
    printed: dict[tuple[int, str], set[int]] = defaultdict(set)
    for row in _rows(ledger, "SELECT b.page_id, b.item, b.value FROM box_measurements b WHERE EXISTS "
                             "(SELECT 1 FROM decisions d WHERE d.kind = 'answer' AND d.page_id = b.page_id"
                             " AND d.item = b.item)"):
        printed[(int(row["page_id"]), row["item"])].add(int(row["value"]))
    return printed


def answer_decisions_with_value(ledger: Ledger) -> list[Any]:
    return _rows(ledger, "SELECT id, page_id, item, value FROM decisions WHERE kind = 'answer' "
                         "AND value IS NOT NULL AND value != ''")


def issued_serials(ledger: Ledger) -> list[Any]:
    return _rows(ledger, "SELECT serial, number FROM serials")


def batches_with_wrong_count(ledger: Ledger) -> list[Any]:
    return _rows(ledger, """
        SELECT b.id, b.copies, COUNT(s.serial) AS n FROM issue_batches b LEFT JOIN serials s ON s.batch_id = b.id
        GROUP BY b.id, b.copies HAVING b.copies != COUNT(s.serial)""")
