"""One ledger interface, two backends: SQLite (the default) and a real PostgreSQL server the tests start.

Every test that takes `ledger_url` runs on both.  What several stations need of a shared ledger is tried
with real `papervoice` processes: concurrent prints get disjoint serials, concurrent reviewers lose no
decision, a ledger moves between the backends with everything in it, a hand-copied SQLite file refuses to
print, and passwords never reach a message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import ledger_rows
from fixtures_returns import ROOT, child_env, papervoice_cmd, run
from test_status import form_page, info, other_page

from pipeline.errors import LedgerError, UsageError
from pipeline.form.identity import PageIdentity
from pipeline.ledger import open_ledger
from pipeline.ledger.copy import copy_ledger
from pipeline.ledger.queries import open_pages
from pipeline.ledger.status import format_status, reconcile
from pipeline.ledger.store import content_snapshot
from pipeline.ledger.url import mask, parse_url
from pipeline.review.app import open_counts
from pipeline.scan.results import PageResult, PageSource

FORM = "care-planning-person"


def test_addresses_and_masking() -> None:
    assert parse_url("papervoice.db").path == Path("papervoice.db")
    assert parse_url("sqlite:///rel/a.db").path == Path("rel/a.db")
    assert parse_url("sqlite:////abs/a.db").path == Path("/abs/a.db")
    assert parse_url(r"C:\surveys\a.db").backend == "sqlite"
    pg = parse_url("postgresql://office:s3cret@db.example:5433/survey")
    assert pg.is_postgres and pg.shown == "postgresql://office:***@db.example:5433/survey"
    assert "s3cret" not in mask("cannot reach postgres://u:s3cret@h/db, nor host=h password=s3cret")
    for bad in ("mysql://u@h/db", "postgresql://u@h", "sqlite://a.db", ""):
        with pytest.raises(UsageError):
            parse_url(bad)


def test_open_ledger_on_both_backends(ledger_url: str) -> None:
    """Issue, record, decide, read back: the same through one interface, whichever database holds it."""
    with open_ledger(ledger_url) as ledger:
        assert ledger.backend == ("postgresql" if "://" in ledger_url else "sqlite")
        serials = ledger.issue_serials("demo", 1, "standard", "a4", pages=1, copies=3, output=None)
        assert len(set(serials)) == 3
        file_id = ledger.record_file(info("a.pdf"), [form_page("a.pdf", 0, "demo", 1, serials[0], 1, 1,
                                                               {"A1": 2, "A2": None}, flagged=("A2",))])
        page_id = int(ledger.execute("SELECT id FROM pages WHERE file_id = ?", (file_id,)).fetchone()[0])
        first = ledger.decide("answer", page_id, "A2", "3", by="r1")
        ledger.revert(first)
        ledger.decide("answer", page_id, "A2", "4", by="r2")
        assert ledger.record_page(file_id, form_page("a.pdf", 0, "demo", 1, serials[0], 1, 1, {})) == "form"
    with open_ledger(ledger_url, readonly=True) as ledger:
        rows = ledger_rows(ledger_url, "SELECT item, value, state FROM effective_answers ORDER BY item")
        assert rows == [("A1", 2, "answered"), ("A2", 4, "reviewed")]
        assert ledger.forms_seen() == [("demo", 1)]
    report = reconcile(ledger_url)
    assert report["forms"][0]["returned"] == 1 and report["to_review"]["answers"] == 0
    assert "***" in report["ledger"] or "://" not in ledger_url


def test_an_open_page_is_one_definition(ledger_url: str, registry) -> None:  # type: ignore[no-untyped-def]
    """One page printed for another survey and one unrecognised page: review, status, check and the workbook
    all count 2 open pages (review said 2 and status 1 before), and settling one leaves 1 in all."""
    from pipeline.export.snapshot import read_snapshot
    from pipeline.ledger.check import check_ledger

    def workbook_open() -> int:
        with open_ledger(ledger_url, readonly=True) as led:
            return sum(1 for p in read_snapshot(led, registry, None).pages if p.open)

    with open_ledger(ledger_url) as ledger:
        ledger.issue_serials("demo", 1, "standard", "a4", pages=1, copies=1, output=None)
        theirs = PageResult(PageSource("b.pdf", 0), "form",  # type: ignore[arg-type]
                            identity=PageIdentity("demo", 1, "standard", "a4", 1, 1, "000001G", "ZZZZ"))
        ledger.record_file(info("b.pdf"), [theirs, other_page("b.pdf", 1, "not_form")])
        statuses = sorted(str(r[0]) for r in ledger.execute("SELECT status FROM pages"))
        assert statuses == ["foreign", "not_form"]
        assert open_counts(ledger)["pages"] == 2
    report = reconcile(ledger_url)
    assert report["to_review"]["pages"] == 2 == workbook_open()
    assert "settle 0 answers, 0 comments and 2 pages" in format_status(report)
    assert sum("printed for another survey" in p for p in check_ledger(ledger_url)) == 1
    with open_ledger(ledger_url) as ledger:
        foreign = next(q for q in open_pages(ledger) if q.status == "foreign")
        ledger.decide("page", foreign.page_id, "", json.dumps({"action": "not_form"}))
        assert open_counts(ledger)["pages"] == 1 == len(open_pages(ledger))
    assert reconcile(ledger_url)["to_review"]["pages"] == 1 == workbook_open()
    assert not any("printed for another survey" in p for p in check_ledger(ledger_url))


def test_concurrent_prints_get_disjoint_serials(ledger_url: str, tmp_path: Path) -> None:
    """Four `papervoice generate` at once into one ledger: 4 x 3 different serials, every one recorded."""
    procs = [subprocess.Popen(papervoice_cmd("generate", FORM, "--copies", "3", "-o", tmp_path / f"p{i}.pdf",
                                             "--db", ledger_url), cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "***" in err or "://" not in ledger_url  # the ledger is named without its password
    serials = [str(r[0]) for r in ledger_rows(ledger_url, "SELECT serial FROM serials ORDER BY number")]
    numbers = [int(r[0]) for r in ledger_rows(ledger_url, "SELECT number FROM serials ORDER BY number")]
    assert len(serials) == len(set(serials)) == 12 and numbers == list(range(1, 13))
    batches = ledger_rows(ledger_url, "SELECT b.id, COUNT(*) FROM issue_batches b JOIN serials s ON s.batch_id = b.id"
                                      " GROUP BY b.id")
    assert sorted(n for _, n in batches) == [3, 3, 3, 3]


def test_concurrent_reviewers_lose_no_decision(ledger_url: str) -> None:
    with open_ledger(ledger_url) as ledger:
        serials = ledger.issue_serials("demo", 1, "standard", "a4", pages=1, copies=1, output=None)
        ledger.record_file(info("c.pdf"), [form_page("c.pdf", 0, "demo", 1, serials[0], 1, 1,
                                                     {"A1": None, "A2": None}, flagged=("A1", "A2"))])
        page_id = int(ledger.execute("SELECT id FROM pages").fetchone()[0])
    errors: list[BaseException] = []

    def reviewer(item: str) -> None:
        try:
            with open_ledger(ledger_url) as mine:
                for value in range(1, 16):
                    mine.decide("answer", page_id, item, str(value % 4 + 1), by=item)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=reviewer, args=(item,)) for item in ("A1", "A2", "A1")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert ledger_rows(ledger_url, "SELECT COUNT(*) FROM decisions")[0][0] == 45
    # each decision's 'previous' is what stood when it was made: the chain per item has no gap
    for item in ("A1", "A2"):
        chain = ledger_rows(ledger_url, "SELECT previous, value FROM decisions WHERE item = ? ORDER BY id", (item,))
        assert all(chain[i][0] == chain[i - 1][1] for i in range(1, len(chain)))


def test_a_hand_copied_sqlite_ledger_refuses_to_print(tmp_path: Path) -> None:
    """W8: generate with A.db, copy it to B.db, generate with both: B refuses, naming the way out; A goes on."""
    a, b = tmp_path / "A.db", tmp_path / "B.db"
    done = run(papervoice_cmd("generate", FORM, "--copies", "1", "-o", tmp_path / "a1.pdf", "--db", a))
    assert done.returncode == 0, done.stderr
    shutil.copyfile(a, b)
    refused = run(papervoice_cmd("generate", FORM, "--copies", "2", "-o", tmp_path / "b.pdf", "--db", b))
    assert refused.returncode == 4
    assert "is a copy of" in refused.stderr and "ledger copy" in refused.stderr and "ledger claim" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "b.pdf").exists()
    assert run(papervoice_cmd("generate", FORM, "--copies", "2", "-o", tmp_path / "a2.pdf", "--db", a)).returncode == 0
    assert [r[0] for r in ledger_rows(b, "SELECT COUNT(*) FROM serials")] == [1]
    # the office says B was moved, not copied (A is gone): B may print again, after A's serials
    (tmp_path / "A.db").unlink()
    assert run(papervoice_cmd("ledger", "claim", "--db", b)).returncode == 0
    assert run(papervoice_cmd("generate", FORM, "--copies", "1", "-o", tmp_path / "b.pdf", "--db", b)).returncode == 0


def _filled_ledger(db: str) -> None:
    with open_ledger(db) as ledger:
        demo = ledger.issue_serials("demo", 1, "standard", "a4", pages=2, copies=2, output="demo.pdf")
        ledger.record_file(info("one.pdf"), [
            form_page("one.pdf", 0, "demo", 1, demo[0], 1, 2, {"A1": 1, "A2": 2}, flagged=("A2",), comment="ok"),
            form_page("one.pdf", 1, "demo", 1, demo[0], 2, 2, {"A3": 3}),
            other_page("one.pdf", 2, "not_form")])
        ledger.record_file(info("two.pdf"), [
            form_page("two.pdf", 0, "demo", 1, demo[0], 2, 2, {"A3": 4})])  # a conflict with one.pdf
        page = int(ledger.execute("SELECT id FROM pages WHERE status = 'not_form'").fetchone()[0])
        ledger.decide("page", page, "", json.dumps({"action": "not_form"}), by="office")
        answer = int(ledger.execute("SELECT MIN(page_id) FROM answers WHERE item = 'A2'").fetchone()[0])
        ledger.revert(ledger.decide("answer", answer, "A2", "1", by="office"))
        ledger.decide("answer", answer, "A2", "3", by="office")


@pytest.mark.postgres
def test_ledger_copy_both_ways_keeps_everything(pg_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = str(tmp_path / "station.db")
    _filled_ledger(src)
    with open_ledger(src, readonly=True) as ledger:
        survey = ledger.survey_id
    pg = pg_server.new_database("copy")
    copied = run(papervoice_cmd("ledger", "copy", src, pg))
    assert copied.returncode == 0, copied.stderr
    assert "postgresql://papervoice:***@" in copied.stderr and pg_server.url("x").split(":")[2] not in copied.stderr
    back = str(tmp_path / "back.db")
    report = copy_ledger(pg, back, backup=True)
    assert report.rows["decisions"] == 3 and report.rows["images"] == 0
    snapshots = [content_snapshot(x) for x in (src, pg, back)]
    assert snapshots[0] == snapshots[1] == snapshots[2]
    for where in (pg, back):
        with open_ledger(where, readonly=True) as ledger:
            assert ledger.survey_id == survey  # the printed codes still belong to this ledger
        assert reconcile(where)["to_review"] == reconcile(src)["to_review"]
    # the SQLite source moved to the server: it refuses to print; the server goes on after its serials
    with open_ledger(src) as ledger, pytest.raises(LedgerError, match="was copied to postgresql://papervoice:\\*\\*\\*@"):
        ledger.issue_serials("demo", 1, "standard", "a4", pages=2, copies=1, output=None)
    with open_ledger(back) as ledger, pytest.raises(LedgerError, match="is a backup copy"):
        ledger.issue_serials("demo", 1, "standard", "a4", pages=2, copies=1, output=None)
    for where, why in ((src, "was copied to"), (back, "is a backup copy")):  # nor scans, nor decisions
        with open_ledger(where) as ledger:
            with pytest.raises(LedgerError, match=why):
                ledger.record_file(info("late.pdf"), [other_page("late.pdf", 0, "blank")])
            with pytest.raises(LedgerError, match="would be missing"):
                ledger.decide("page", 1, "", json.dumps({"action": "not_form"}))
    with open_ledger(pg) as ledger:
        assert ledger.issue_serials("demo", 1, "standard", "a4", pages=2, copies=1, output=None) == ["000003U"]
        ledger.decide("page", 1, "", json.dumps({"action": "not_form"}))  # ids go on after the copied ones
    # a target that already holds a ledger is not overwritten unless told
    refused = run(papervoice_cmd("ledger", "copy", back, pg))
    assert refused.returncode == 4 and "already holds a ledger" in refused.stderr and "--force" in refused.stderr
    assert run(papervoice_cmd("ledger", "copy", back, pg, "--force", "--backup")).returncode == 0
    assert content_snapshot(pg) == snapshots[0]


@pytest.mark.postgres
def test_passwords_are_never_printed(pg_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pg import PASSWORD

    good = pg_server.new_database("pw")
    wrong = good.replace(PASSWORD, PASSWORD + "x")
    missing = good.rsplit("/", 1)[0] + "/no_such_db"
    outputs, stdouts = [], []
    for args, code in ((("status", "--db", wrong), 4), (("status", "--db", missing), 4),
                       (("generate", FORM, "-o", tmp_path / "x.pdf", "--db", good), 0),
                       (("status", "--db", good, "--json"), 0), (("check", "--db", good), 0),
                       (("scan", tmp_path / "nothing-here", "--db", good, "-q"), None)):
        done = run(papervoice_cmd(*args))
        assert code is None or done.returncode == code, (args, done.stderr)
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout + done.stderr)
        stdouts.append(done.stdout)
    text = "\n".join(outputs)
    assert PASSWORD not in text
    assert "refused the login" in outputs[0] and "does not exist" in outputs[1]
    assert json.loads(stdouts[3])["ledger"].startswith("postgresql://papervoice:***@")


@pytest.mark.postgres
def test_an_unreachable_server_is_a_plain_message(tmp_path: Path) -> None:
    from fixtures_returns import run as run_cmd

    done = run_cmd(papervoice_cmd("status", "--db", "postgresql://someone:pw123@127.0.0.1:1/none"), timeout=60)
    assert done.returncode == 4 and "cannot reach the ledger server" in done.stderr
    assert "pw123" not in done.stderr and "Traceback" not in done.stderr


def test_papervoice_db_names_the_ledger_for_every_command(ledger_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """No --db: PAPERVOICE_DB is used, by the commands and by the options objects of the API and the app."""
    from pipeline.cli import main
    from pipeline.options import ExportOptions, ReviewOptions, ScanOptions

    monkeypatch.setenv("PAPERVOICE_DB", ledger_url)
    assert ScanOptions().db == ReviewOptions().db == ExportOptions(output=tmp_path / "r.xlsx").db == ledger_url
    assert main(["generate", FORM, "-o", str(tmp_path / "one.pdf")]) == 0
    assert main(["check"]) == 0
    assert reconcile(ledger_url)["totals"]["issued"] == 1
    monkeypatch.delenv("PAPERVOICE_DB")
    assert ScanOptions().db == "papervoice.db"
    with pytest.raises(UsageError, match="does not know"):
        ScanOptions(db="mysql://somewhere/db")


def test_two_stations_reading_one_page_differently_make_one_conflict(ledger_url: str) -> None:
    """Two stations record scans of the same copy's page at the same moment, with different answers: one is
    the page, the other a conflict, and the disagreement is a question for a person, as on one station."""
    with open_ledger(ledger_url) as ledger:
        serial = ledger.issue_serials("demo", 1, "standard", "a4", pages=1, copies=1, output=None)[0]
    barrier, errors = threading.Barrier(2), []

    def station(name: str, value: int) -> None:
        try:
            with open_ledger(ledger_url) as mine:
                barrier.wait(timeout=30)
                mine.record_file(info(f"{name}.pdf"), [form_page(f"{name}.pdf", 0, "demo", 1, serial, 1, 1,
                                                                 {"A1": value, "A2": 3})])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=station, args=args) for args in (("east", 1), ("west", 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(str(r[0]) for r in ledger_rows(ledger_url, "SELECT status FROM pages")) == ["conflict", "form"]
    flagged = ledger_rows(ledger_url, "SELECT a.item, a.reason FROM answers a JOIN pages p ON p.id = a.page_id"
                                      " WHERE p.status = 'form' AND a.state = 'flagged'")
    assert flagged == [("A1", "conflict")]
    report = reconcile(ledger_url)
    assert report["conflicts"] == 1 and report["to_review"]["answers"] == 1 and report["totals"]["returned"] == 1
