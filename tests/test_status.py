"""`papervoice status` counts what the office needs, and `papervoice check` catches a broken ledger."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.errors import LedgerError
from pipeline.form.identity import PageIdentity, serial_for
from pipeline.ledger.check import check_ledger
from pipeline.ledger.status import format_status, reconcile
from pipeline.ledger.store import Ledger, content_snapshot
from pipeline.scan.results import BoxReading, CommentReading, FileInfo, ItemReading, PageResult, PageSource

SCALE = (1, 2, 3, 4)


def form_page(path: str, index: int, form: str, version: int, serial: str, page: int, pages: int,
              answers: dict[str, int | None], flagged: tuple[str, ...] = (), comment: str = "") -> PageResult:
    """A page as the reader would return it: boxes for every printed value, one answer per item."""
    boxes = [BoxReading(item, v, 0.5 if value == v else 0.0, 0.8, 0.0, 0.0, 0.0,
                        "marked" if value == v else "empty", 0.95)
             for item, value in answers.items() for v in SCALE]
    items = [ItemReading(item, value, "flagged" if item in flagged else ("answered" if value else "blank"),
                         "uncertain" if item in flagged else None, "", 0.9) for item, value in answers.items()]
    comments = [CommentReading("C1", bool(comment), comment, 80.0, "tesseract", 0.01 if comment else 0.0)]
    return PageResult(PageSource(path, index), "form", identity=PageIdentity(form, version, "standard", "a4", page,
                                                                            pages, serial),
                      boxes=boxes, items=items, comments=comments)


def other_page(path: str, index: int, status: str) -> PageResult:
    return PageResult(PageSource(path, index), status, reason=f"a {status} page")  # type: ignore[arg-type]


def info(name: str) -> FileInfo:
    return FileInfo(name, name.encode().hex().ljust(64, "0")[:64], 1000)


@pytest.fixture
def ledger_path(ledger_url: str) -> str:
    """Two forms: 'demo' (3 copies of 2 pages) and 'short' (2 copies of 1 page), partly returned; in SQLite and
    in PostgreSQL (the `ledger_url` fixture)."""
    db = ledger_url
    with Ledger(db) as ledger:
        demo = ledger.issue_serials("demo", 1, "standard", "a4", pages=2, copies=3, output="demo.pdf")
        short = ledger.issue_serials("short", 2, "standard", "a4", pages=1, copies=2, output="short.pdf")
        stranger = serial_for(999)
        ledger.record_file(info("batch1.pdf"), [
            form_page("batch1.pdf", 0, "demo", 1, demo[0], 1, 2, {"A1": 1, "A2": 2}, flagged=("A2",)),
            form_page("batch1.pdf", 1, "demo", 1, demo[0], 2, 2, {"A3": 3}, comment="more time please"),
            form_page("batch1.pdf", 2, "demo", 1, demo[1], 1, 2, {"A1": 4, "A2": None}, flagged=("A2",)),
            other_page("batch1.pdf", 3, "blank"),
            other_page("batch1.pdf", 4, "not_form"),
            other_page("batch1.pdf", 5, "unreadable"),
        ])
        ledger.record_file(info("batch2.pdf"), [
            form_page("batch2.pdf", 0, "demo", 1, demo[0], 1, 2, {"A1": 1, "A2": 2}, flagged=("A2",)),  # same
            form_page("batch2.pdf", 1, "demo", 1, demo[0], 2, 2, {"A3": 4}, comment="more time please"),  # differs
            form_page("batch2.pdf", 2, "short", 2, short[0], 1, 1, {"B1": 2}),
            form_page("batch2.pdf", 3, "short", 2, stranger, 1, 1, {"B1": 3}),
        ])
        ledger.record_file(info("locked.pdf"), [], error="locked.pdf: the PDF is protected by a password")
        not_form_id = ledger.execute("SELECT id FROM pages WHERE status = 'not_form'").fetchone()[0]
        ledger.decide("page", not_form_id, "", "not a form: a cover letter", by="office")
        first_a2 = ledger.execute("SELECT page_id FROM answers WHERE item = 'A1' AND value = 4").fetchone()[0]
        ledger.decide("answer", first_a2, "A2", "3", by="office")  # answered by a person: no longer open
    return db


def test_reconcile_counts_per_form(ledger_path: str) -> None:
    report = reconcile(ledger_path)
    forms = {f["form_id"]: f for f in report["forms"]}
    demo, short = forms["demo"], forms["short"]
    assert (demo["issued"], demo["returned"], demo["complete"], demo["incomplete"], demo["not_returned"]) == \
        (3, 2, 1, 1, 1)
    assert demo["incomplete_copies"] == [{"serial": serial_for(2), "pages_missing": [2]}]
    # A2 flagged on copy 1; A3 flagged by the conflicting second scan; copy 2's A2 was settled by a person
    assert demo["answers_to_review"] == 2
    assert demo["comments_to_review"] == 1
    assert (short["issued"], short["returned"], short["complete"], short["not_returned"],
            short["returned_not_issued"]) == (2, 1, 1, 1, 1)
    assert report["serials_not_issued"] == [serial_for(999)]
    assert report["files"]["read"] == 2 and report["files"]["failed"] == 1
    assert report["files"]["failed_files"][0]["path"] == "locked.pdf"
    assert report["pages"] == {"total": 10, "form": 5, "blank": 1, "not_form": 1, "unreadable": 1,
                               "duplicate": 1, "conflict": 1, "foreign": 0}
    assert report["duplicates"] == 1 and report["conflicts"] == 1
    assert report["pages_not_recognised"] == 1  # the not_form page was looked at; the unreadable one was not
    assert report["to_review"] == {"answers": 2, "comments": 1, "pages": 1}
    assert report["totals"]["issued"] == 5 and report["totals"]["returned"] == 3
    json.dumps(report)  # the --json output


def test_format_status_is_plain_words(ledger_path: str) -> None:
    text = format_status(reconcile(ledger_path))
    for phrase in ("demo (version 1)", "Copies printed:", "Copies returned:", f"copy {serial_for(2)}: page 2",
                   "could not read locked.pdf: the PDF is protected by a password",
                   "papervoice review", "never printed", serial_for(999), "What to do next"):
        assert phrase in text, phrase
    assert "page_id" not in text and "None" not in text


def test_status_of_an_empty_ledger(ledger_url: str) -> None:
    Ledger(ledger_url).close()
    report = reconcile(ledger_url)
    assert report["forms"] == [] and report["pages"]["total"] == 0
    assert "Nothing is waiting for a person." in format_status(report)


def test_status_needs_an_existing_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="no ledger"):
        reconcile(tmp_path / "none.db")


def test_status_does_not_change_the_ledger(ledger_path: str) -> None:
    read = (lambda: content_snapshot(ledger_path)) if "://" in ledger_path else Path(ledger_path).read_bytes
    before = read()
    reconcile(ledger_path)
    check_ledger(ledger_path)
    assert read() == before


def test_sound_ledger_passes_check(ledger_path: str) -> None:
    assert check_ledger(ledger_path) == []


def break_it(db: str, *statements: str) -> list[str]:
    """We are the vandal here: foreign keys off (SQLite's default; PostgreSQL's replica role skips them)."""
    if "://" in db:
        import psycopg

        with psycopg.connect(db, autocommit=True) as pg:
            pg.execute("SET session_replication_role = replica")
            for sql in statements:
                pg.execute(sql)
        return check_ledger(db)
    conn = sqlite3.connect(db)
    with conn:
        for sql in statements:
            conn.execute(sql)
    conn.close()
    return check_ledger(db)


@pytest.mark.parametrize(("statements", "expected"), [
    (["UPDATE files SET pages = 9 WHERE path = 'batch1.pdf'"], "should have 9 pages but the ledger holds 6"),
    (["INSERT INTO answers VALUES ((SELECT id FROM pages WHERE status = 'blank'), 'A1', 1, 'answered', NULL, '',"
      " 1.0, NULL)"], "has answers although it was not read as a form"),
    (["UPDATE answers SET value = 9 WHERE item = 'A1' AND value = 1 AND page_id = (SELECT MIN(page_id) FROM "
      "answers)"], "is 9, which is not one of the boxes printed"),
    (["INSERT INTO decisions (kind, page_id, item, value, decided_at) VALUES ('answer', "
      "(SELECT id FROM pages WHERE status = 'blank'), 'A1', '2', 'now')"], "which does not exist"),
    (["UPDATE pages SET status = 'blank' WHERE id = (SELECT duplicate_of FROM pages WHERE status = 'duplicate')"],
     "which is not the first scan"),
    (["UPDATE pages SET status = 'form', duplicate_of = NULL WHERE status = 'duplicate'"],
     "was read as a form 2 times"),
    (["UPDATE answers SET value = NULL WHERE state = 'answered' AND item = 'B1'"], "is 'answered' but has no value"),
    (["INSERT INTO answers VALUES (9999, 'A1', 1, 'answered', NULL, '', 1.0, NULL)"], "points at a missing"),
    (["UPDATE serials SET serial = '000001A' WHERE number = 1"], "does not match its number"),
])
def test_check_catches_a_broken_promise(ledger_path: str, statements: list[str], expected: str) -> None:
    problems = break_it(ledger_path, *statements)
    assert any(expected in p for p in problems), problems


def test_check_reports_a_damaged_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database at all" * 100)
    problems = check_ledger(bad)
    assert len(problems) == 1 and "damaged" in problems[0]


def test_cli_status_and_check(ledger_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--db", str(ledger_path)]) == 0
    assert "Copies returned" in capsys.readouterr().out
    assert main(["status", "--db", str(ledger_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"]["failed"] == 1
    assert main(["check", "--db", str(ledger_path)]) == 0
    assert "ledger OK" in capsys.readouterr().out
    break_it(ledger_path, "UPDATE files SET pages = 9 WHERE path = 'batch1.pdf'")
    assert main(["check", "--db", str(ledger_path), "--json"]) == 4
    assert json.loads(capsys.readouterr().out)["ok"] is False
