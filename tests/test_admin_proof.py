"""Issue 14: what broke when PaperVoice was tried as a new user would try it.

Each test reproduces one numbered case of the issue with real files (generate -> render -> scan) and
checks what an office would see: the ledger, `status`, `check`, the review queue and the export.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import NewLedger, ledger_rows
from PIL import Image

from pipeline.cli import main
from pipeline.export.snapshot import read_snapshot
from pipeline.form.definition import FormRegistry
from pipeline.form.generate import generate, render_pdf
from pipeline.form.identity import PageIdentity, parse_payload, serial_for
from pipeline.form.layout import compute_layout
from pipeline.ledger.check import check_ledger
from pipeline.ledger.queries import page_questions
from pipeline.ledger.status import format_status, reconcile
from pipeline.ledger.store import Ledger, content_snapshot
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.simulate import returns as sim

FORM = "care-planning-person"
PAGES = compute_layout(FormRegistry.from_dirs().get(FORM), "a4", "standard").page_count
DPI = 150


def opts(db: Path | str, **kw: object) -> ScanOptions:
    return ScanOptions(db=db, jobs=1, ocr="none", quiet=True, **kw)  # type: ignore[arg-type]


def save_pdf(images: list[np.ndarray], path: Path, dpi: int = DPI) -> Path:
    pil = [Image.fromarray(i) for i in images]
    pil[0].save(path, "PDF", save_all=True, append_images=pil[1:], resolution=dpi)
    return path


def printed_scan(db: Path | str, path: Path, copies: int = 1, form_id: str = FORM) -> list[str]:
    """`generate` into the ledger `db`, then 'print and scan' the PDF as a scanner PDF at `path`."""
    form = FormRegistry.from_dirs().get(form_id)
    with Ledger(db) as ledger:
        made = generate(form, copies, path.with_suffix(".print.pdf"), ledger=ledger)
    pages = sim.render_pdf_pages(made.output, 1, made.pages, DPI)
    made.output.unlink()
    save_pdf(pages, path)
    return made.serials


# --- 1. serials clash between ledgers --------------------------------------------------------------------------


def test_copy_printed_for_another_ledger_is_flagged_foreign_everywhere(tmp_path: Path, new_ledger: NewLedger,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    a, b = new_ledger("a"), new_ledger("b")
    serial_a = printed_scan(a, tmp_path / "from-a.pdf")[0]
    printed_scan(b, tmp_path / "from-b.pdf")  # B issues the same number: 000001
    with Ledger(b) as ledger_b:
        survey_b = ledger_b.survey_id
    with Ledger(a) as ledger_a:
        survey_a = ledger_a.survey_id
    assert survey_a and survey_b and survey_a != survey_b
    with Ledger(b) as ledger_b:
        assert ledger_b.serial_issued(serial_a)  # the clash: B issued the very same serial

    summary = scan([tmp_path / "from-a.pdf"], opts(b))
    assert summary.page_status["foreign"] == PAGES and summary.page_status["form"] == 0
    assert int(summary.exit_code) == 1
    assert survey_a in " ".join(summary.problems)

    report = reconcile(b)
    assert report["totals"]["returned"] == 0  # nothing counted against B's serials
    assert report["pages"]["foreign"] == PAGES
    assert [p["survey"] for p in report["foreign_pages"]] == [survey_a] * PAGES
    assert "printed for survey " + survey_a in format_status(report)
    assert ledger_rows(b, "SELECT COUNT(*) FROM answers") == [(0,)]
    problems = check_ledger(b)
    assert len(problems) == PAGES and all(f"another survey ({survey_a})" in p for p in problems)
    with Ledger(b, readonly=True) as ledger_b:
        questions = page_questions(ledger_b)
        assert [q.status for q in questions] == ["foreign"] * PAGES
        snap = read_snapshot(ledger_b, FormRegistry.from_dirs(), None)
    foreign_rows = [p for p in snap.pages if p.status == "foreign"]
    assert len(foreign_rows) == PAGES and all(p.open for p in foreign_rows)
    assert all(not c.pages for f in snap.forms for c in f.copies)

    # the same copy scanned into its own ledger is read as usual
    assert scan([tmp_path / "from-a.pdf"], opts(a)).page_status["form"] == PAGES


def test_pages_printed_before_survey_ids_still_scan(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("old")
    form = FormRegistry.from_dirs().get(FORM)
    layout = compute_layout(form, "a4", "standard")
    with Ledger(db) as ledger:
        serial = ledger.issue_serials(form.id, form.version, "standard", "a4", layout.page_count, 1, None)[0]
    old_print = render_pdf(form, layout, [serial])  # no survey: the payload of earlier versions
    ident = PageIdentity(form.id, form.version, "standard", "a4", 1, layout.page_count, serial)
    assert ident.payload().startswith("PV/") and parse_payload(ident.payload()) == ident
    save_pdf(sim.render_pdf_pages(old_print, 1, layout.page_count, DPI), tmp_path / "old.pdf")
    summary = scan([tmp_path / "old.pdf"], opts(db))
    assert summary.page_status["form"] == layout.page_count and serial in summary.copies


def test_survey_id_costs_no_qr_size(registry: FormRegistry) -> None:
    from pipeline.form.identity import qr_module_count

    for form in registry.all():
        for style in ("standard", "large-print"):
            old = PageIdentity(form.id, form.version, style, "letter", 9, 9, serial_for(99999))
            new = PageIdentity(form.id, form.version, style, "letter", 9, 9, serial_for(99999), "ZZ9Z")
            assert qr_module_count(new.payload()) == qr_module_count(old.payload()), form.id
            assert parse_payload(new.payload()) == new


def test_the_ledger_itself_sets_aside_a_page_of_another_survey(new_ledger: NewLedger) -> None:
    """The ledger's own guard, not only the reader's: a page handed in as a form but carrying another survey's id
    (a reader that missed it, a page assigned by hand) is stored `foreign`, its answers kept out."""
    import hashlib

    from pipeline.scan.results import FileInfo, ItemReading, PageResult, PageSource

    db = new_ledger("guard")
    with Ledger(db) as ledger:
        serial = ledger.issue_serials(FORM, 1, "standard", "a4", PAGES, 1, None)[0]
        ours = ledger.survey_id
        assert ours and ours != "ZZ9Z"
        items = [ItemReading("S01", 4, "answered", None, "", 0.95, b"")]
        for name, survey in (("theirs.pdf", "ZZ9Z"), ("ours.pdf", ours)):
            ident = PageIdentity(FORM, 1, "standard", "a4", 1, PAGES, serial, survey)
            ledger.record_file(FileInfo(name, hashlib.sha256(name.encode()).hexdigest(), 100),
                               [PageResult(PageSource(name, 0), "form", identity=ident, items=list(items))])
    rows = ledger_rows(db, "SELECT f.path, p.status, p.reason, (SELECT COUNT(*) FROM answers a WHERE a.page_id = p.id)"
                           " FROM pages p JOIN files f ON f.id = p.file_id ORDER BY f.path")
    (ours_row, theirs_row) = rows
    assert theirs_row[:2] == ("theirs.pdf", "foreign") and theirs_row[3] == 0
    assert "another survey (ZZ9Z)" in str(theirs_row[2]) and ours in str(theirs_row[2])
    assert ours_row[:2] == ("ours.pdf", "form") and ours_row[3] == 1


def test_a_ledger_made_by_an_older_papervoice_is_upgraded(tmp_path: Path) -> None:
    """SQLite only: ledgers of schema 1 were only ever SQLite files (PostgreSQL ledgers start at version 2)."""
    db = tmp_path / "v1.db"
    con = sqlite3.connect(db)
    from pipeline.ledger.store import SCHEMA

    old = (SCHEMA.replace(", 'foreign')", ")").replace(", complete INTEGER NOT NULL DEFAULT 1", "")
           .replace(", survey TEXT, UNIQUE", ", UNIQUE"))
    con.executescript(old)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.commit()
    con.close()
    with Ledger(db) as ledger:
        assert ledger.survey_id and ledger.has_column("pages", "survey")
    printed_scan(db, tmp_path / "scan.pdf")
    other = tmp_path / "other.db"
    printed_scan(other, tmp_path / "other.pdf")
    assert scan([tmp_path / "other.pdf"], opts(db)).page_status["foreign"] == PAGES  # the widened CHECK takes it
    assert check_ledger(db) != [] and "another survey" in check_ledger(db)[0]


# --- 2. the print file itself -----------------------------------------------------------------------------------


def test_scanning_the_print_file_is_refused_with_advice(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("p")
    form = FormRegistry.from_dirs().get(FORM)
    with Ledger(db) as ledger:
        made = generate(form, 3, tmp_path / "person.pdf", ledger=ledger)
    summary = scan([made.output], opts(db))
    assert summary.pages == 0 and summary.files_failed == 1
    assert "print file" in summary.problems[0] and "scan the paper copies" in summary.problems[0]
    report = reconcile(db)
    assert report["totals"]["returned"] == 0 and report["totals"]["not_returned"] == 3


# --- 3. generate: issued means printed ------------------------------------------------------------------------


def test_generate_records_nothing_unless_the_pdf_is_written(tmp_path: Path, new_ledger: NewLedger,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = new_ledger("g")
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["generate", FORM, "--copies", "2", "-o", str(folder), "--db", str(db)]) == 2
    assert "is a folder" in capsys.readouterr().err

    form = FormRegistry.from_dirs().get(FORM)

    def interrupt(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with Ledger(db) as ledger, pytest.raises(KeyboardInterrupt):
        generate(form, 4, tmp_path / "x.pdf", ledger=ledger, progress=interrupt)
    assert not (tmp_path / "x.pdf").exists()
    with Ledger(db) as ledger:
        assert ledger.next_serial_number() == 1  # nothing issued: the next run prints the same serials
        made = generate(form, 4, tmp_path / "x.pdf", ledger=ledger)
    assert made.serials == [serial_for(n) for n in range(1, 5)]
    assert reconcile(db)["totals"]["issued"] == 4


def test_generate_advice_after_ctrl_c_is_honest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], new_ledger: NewLedger) -> None:
    import pipeline.form.generate as gen

    def interrupted(*args: object, **kw: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(gen, "render_pdf", interrupted)
    db = new_ledger("g")
    assert main(["generate", FORM, "-o", str(tmp_path / "x.pdf"), "--db", db]) == 130
    err = capsys.readouterr().err
    assert "no serials were issued" in err and "carry on" not in err
    with Ledger(db, readonly=True) as ledger:
        assert ledger.next_serial_number() == 1


def test_generate_shows_progress_on_long_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """About the drawing's progress lines, not the ledger (50 copies drawn): SQLite only."""
    assert main(["generate", "parent-partnership", "--copies", "50", "-o", str(tmp_path / "p.pdf"),
                 "--db", str(tmp_path / "g.db")]) == 0
    err = capsys.readouterr().err
    assert "Drawn 5 of 50 copies" in err and "Drawn 50 of 50 copies" in err


# --- 4, 5. the scan summary and files that cannot be opened ----------------------------------------------------


def test_summary_counts_rescans_and_conflicts(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("s")
    printed_scan(db, tmp_path / "first.pdf")
    assert scan([tmp_path / "first.pdf"], opts(db)).page_status["form"] == PAGES
    again = sim.render_pdf_pages(tmp_path / "first.pdf", 1, PAGES, DPI)
    save_pdf(again, tmp_path / "again.pdf", DPI)  # the same pages, other bytes: a re-scan
    summary = scan([tmp_path / "again.pdf"], opts(db))
    assert summary.page_status["duplicate"] + summary.page_status["conflict"] == PAGES
    assert summary.page_status["form"] == 0
    assert "scanned twice" in summary.text() and f"{summary.page_status['duplicate']} scanned twice" in summary.text()


def test_a_file_that_cannot_be_opened_is_recorded(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("u")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "gone.pdf").symlink_to(tmp_path / "nowhere.pdf")  # a dangling link
    summary = scan([folder], opts(db))
    assert summary.files_failed == 1
    report = reconcile(db)
    assert report["files"]["failed"] == 1 and report["files"]["failed_files"][0]["path"].endswith("gone.pdf")
    # once the file is there, it is read and the failure is forgotten
    printed_scan(db, tmp_path / "nowhere.pdf")
    scan([folder], opts(db))
    report = reconcile(db)
    assert report["files"]["failed"] == 0 and report["files"]["read"] == 1


def test_permission_denied_is_recorded(tmp_path: Path, new_ledger: NewLedger) -> None:
    """README: a file that cannot even be opened is recorded under its name.  The scan runs as a command; as root
    (CI) without the capabilities that override file modes, so mode 0 stops it as it stops an office worker."""
    from fixtures_returns import run, scan_cmd
    from test_storage_faults import permissions_bind

    bind = permissions_bind()
    path = tmp_path / "locked.png"
    Image.fromarray(np.full((1169, 827), 255, np.uint8)).save(path)
    path.chmod(0)
    db = new_ledger("l")
    done = run(scan_cmd(db, [path]), preexec_fn=bind)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "locked.png" in done.stderr and "ermission" in done.stderr, done.stderr
    report = reconcile(db)
    assert report["files"]["failed"] == 1 and report["files"]["failed_files"][0]["path"].endswith("locked.png")


# --- 6, 7, 8. names, loops and things that are not files --------------------------------------------------------


def blank_page(path: Path) -> Path:
    Image.fromarray(np.full((1169, 827), 255, np.uint8)).save(path, dpi=(100, 100))
    return path


def test_file_name_not_valid_utf8_is_scanned_and_recorded(tmp_path: Path, new_ledger: NewLedger) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    odd = os.fsdecode(bytes(folder) + b"/caf\xe9.png")
    blank_page(Path(odd))
    db = new_ledger("n")
    for _ in range(2):  # every re-run used to stop at the same file
        summary = scan([folder], opts(db))
    assert summary.files_already_in_ledger == 1
    assert str(ledger_rows(db, "SELECT path FROM files")[0][0]).endswith("caf\\xe9.png")


def test_symlink_loop_in_a_folder_is_named_not_fatal(tmp_path: Path, new_ledger: NewLedger) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.pdf").symlink_to(folder / "b.pdf")
    (folder / "b.pdf").symlink_to(folder / "a.pdf")
    (folder / "self").symlink_to(folder)
    blank_page(folder / "page.png")
    summary = scan([folder], opts(new_ledger("loop")))
    assert summary.files_read == 1 and summary.files_failed == 2
    assert all("symbolic links" in p or "could not be read" in p for p in summary.problems)


@pytest.mark.timeout(60)
def test_fifo_and_device_are_skipped_not_read(tmp_path: Path, new_ledger: NewLedger) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.pdf")
    (folder / "zero.tif").symlink_to("/dev/zero")
    blank_page(folder / "page.png")
    summary = scan([folder], opts(new_ledger("f")))
    assert summary.files_read == 1 and summary.files_failed == 2
    assert sum("not an ordinary file" in p for p in summary.problems) == 2


# --- 9. a long file interrupted ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def six_printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One scanner PDF (3 copies of a 3-page form) and its (SQLite) ledger before scanning."""
    root = tmp_path_factory.mktemp("long")
    base = root / "base.db"
    printed_scan(base, root / "batch.pdf", copies=3)
    return root / "batch.pdf", base


@pytest.fixture(scope="module")
def six_pages(six_printed: tuple[Path, Path], module_ledger: NewLedger) -> tuple[Path, Path, str]:
    """... and a reference scan of it, in a ledger of each backend."""
    pdf, base = six_printed
    reference = module_ledger.like(base, "reference")
    scan([pdf], opts(reference))
    return pdf, base, reference


@pytest.mark.parametrize("stop_after", [1, 4, 8])
def test_interrupted_long_file_resumes_to_the_same_ledger(stop_after: int, six_pages: tuple[Path, Path, str],
                                                          new_ledger: NewLedger) -> None:
    pdf, base, reference = six_pages
    db = new_ledger.like(base, "ledger")
    with pytest.raises(KeyboardInterrupt):
        scan([pdf], opts(db, stop_after_pages=stop_after))
    assert ledger_rows(db, "SELECT COUNT(*) FROM pages") == [(stop_after,)]  # kept, not lost
    assert check_ledger(db) == []
    assert "a scan stopped part-way through" in format_status(reconcile(db))
    summary = scan([pdf], opts(db))
    assert summary.files_resumed == 1 and summary.pages == 3 * PAGES - stop_after  # only the pages not yet read
    assert content_snapshot(db) == content_snapshot(reference)
    assert reconcile(db)["totals"] == reconcile(reference)["totals"]
    assert reconcile(db)["files"]["unfinished"] == []


# --- 10. forms folder missing or forgotten ----------------------------------------------------------------------


@pytest.fixture
def custom_forms(tmp_path: Path) -> Path:
    folder = tmp_path / "forms"
    folder.mkdir()
    text = (Path(__file__).parents[1] / "forms" / "parent-partnership.yaml").read_text(encoding="utf-8")
    (folder / "our-own-form.yaml").write_text(text.replace("id: parent-partnership", "id: our-own-form", 1),
                                              encoding="utf-8")
    return folder


def test_pages_kept_for_an_undefined_form_are_read_once_it_is_defined(tmp_path: Path, custom_forms: Path,
                                                                     new_ledger: NewLedger) -> None:
    db = new_ledger("c")
    form = FormRegistry.from_dirs([custom_forms]).get("our-own-form")
    with Ledger(db) as ledger:
        made = generate(form, 1, tmp_path / "own.print.pdf", ledger=ledger)
    save_pdf(sim.render_pdf_pages(made.output, 1, made.pages, DPI), tmp_path / "own.pdf")

    forgot = scan([tmp_path / "own.pdf"], opts(db))  # --forms-dir forgotten
    assert forgot.page_status["not_form"] == made.pages
    again = scan([tmp_path / "own.pdf"], opts(db, forms_dirs=(custom_forms,)))
    assert again.pages_reread == made.pages and again.page_status["form"] == made.pages
    assert reconcile(db)["totals"]["returned"] == 1

    # the same through `scan --retry`, with no input named
    db2 = new_ledger.like(db, "c2")
    with Ledger(db2) as ledger, ledger.transaction() as out:
        for sql in ("DELETE FROM answers", "DELETE FROM comments", "DELETE FROM box_measurements",
                    "UPDATE pages SET status = 'not_form', reason = 'form not defined here', duplicate_of = NULL"):
            out.execute(sql)
    assert main(["scan", "--retry", "--forms-dir", str(custom_forms), "--db", db2, "--jobs", "1", "-q",
                 "--ocr", "none"]) == 0
    assert reconcile(db2)["totals"]["returned"] == 1


@pytest.mark.parametrize("command", [["forms"], ["layout", FORM], ["scan", "x.pdf"], ["review", "--no-browser"],
                                     ["export", "-o", "out.xlsx"]])
def test_a_forms_folder_that_is_missing_or_empty_is_an_error(command: list[str], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder, words in ((tmp_path / "frms", "no such folder"), (empty, "holds no form definitions")):
        assert main([*command, "--forms-dir", str(folder)]) == 2
        assert words in capsys.readouterr().err


def test_export_of_a_custom_form_without_its_definition_warns(tmp_path: Path, custom_forms: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              new_ledger: NewLedger) -> None:
    db = new_ledger("e")
    form = FormRegistry.from_dirs([custom_forms]).get("our-own-form")
    with Ledger(db) as ledger:
        generate(form, 1, tmp_path / "own.print.pdf", ledger=ledger)
    assert main(["export", "-o", str(tmp_path / "r.xlsx"), "--db", str(db)]) == 0
    assert "no definition of form 'our-own-form'" in capsys.readouterr().err
    assert main(["export", "-o", str(tmp_path / "r.xlsx"), "--db", str(db), "--forms-dir", str(custom_forms)]) == 0
    assert "no definition" not in capsys.readouterr().err


# --- 15, 16. resolution and tiny pictures ------------------------------------------------------------------------


def test_100_dpi_picture_without_dpi_metadata_is_read(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("d")
    form = FormRegistry.from_dirs().get(FORM)
    with Ledger(db) as ledger:
        made = generate(form, 1, tmp_path / "p.pdf", ledger=ledger)
    page = sim.render_pdf_pages(made.output, 1, 1, 100)[0]
    Image.fromarray(page).save(tmp_path / "with.png", dpi=(100, 100))
    Image.fromarray(page).save(tmp_path / "without.png")
    assert "dpi" not in Image.open(tmp_path / "without.png").info
    summary = scan([tmp_path / "with.png", tmp_path / "without.png"], opts(db))
    assert summary.page_status["unreadable"] == 0, summary.problems
    assert summary.page_status["form"] + summary.page_status["duplicate"] + summary.page_status["conflict"] == 2


def test_one_pixel_picture_gets_a_plain_message(tmp_path: Path, new_ledger: NewLedger) -> None:
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(tmp_path / "dot.png")
    summary = scan([tmp_path / "dot.png"], opts(new_ledger("t")))
    assert summary.page_status["unreadable"] == 1
    assert "1 x 1 pixels, far too small" in summary.problems[0] and "report" not in summary.problems[0]


# --- 17. names on the terminal, Ctrl-C in workers ----------------------------------------------------------------


def test_file_names_are_escaped_on_the_terminal_and_named_once(tmp_path: Path, new_ledger: NewLedger,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "evil\x1b[2J\nPages: 99 form pages.png").write_bytes(b"")
    db = new_ledger("e")
    main(["scan", str(folder), "--db", db, "--jobs", "1", "--ocr", "none"])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "evil\\x1b[2J\\nPages" in err
    main(["status", "--db", db])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "could not read" in x)
    assert "\x1b" not in out and line.count("evil") == 1


def test_pool_workers_leave_ctrl_c_to_the_coordinator() -> None:
    code = ("import signal; from pipeline.scan.executors import _pool_worker_init; _pool_worker_init(); "
            "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


# --- 18, 19. the ledger from sqlite3, file permissions ------------------------------------------------------------


def test_documented_sqlite3_query_works_on_a_plain_connection(tmp_path: Path) -> None:
    """SQLite only: what the README promises of the ledger file opened with the sqlite3 shell."""
    db = tmp_path / "v.db"
    printed_scan(db, tmp_path / "s.pdf")
    scan([tmp_path / "s.pdf"], opts(db))
    con = sqlite3.connect(db)  # as the sqlite3 shell would: no PaperVoice code involved
    rows = con.execute("SELECT serial, item, value, state FROM effective_answers").fetchall()
    con.close()
    assert rows and all(r[0] == serial_for(1) for r in rows)


def test_outputs_respect_the_umask(tmp_path: Path, new_ledger: NewLedger) -> None:
    old = os.umask(0o022)
    try:
        db = new_ledger("m")
        assert main(["generate", FORM, "-o", str(tmp_path / "p.pdf"), "--manifest", str(tmp_path / "p.csv"),
                     "--db", db]) == 0
        assert main(["export", "-o", str(tmp_path / "r.xlsx"), "--db", db]) == 0
    finally:
        os.umask(old)
    for name in ("p.pdf", "p.csv", "r.xlsx"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


# --- 20. the command line -----------------------------------------------------------------------------------------


def test_one_copy_is_said_in_plain_words(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        new_ledger: NewLedger) -> None:
    assert main(["generate", FORM, "-o", str(tmp_path / "p.pdf"), "--db", new_ledger("g")]) == 0
    err = capsys.readouterr().err
    assert "1 copy of" in err and f"(serial {serial_for(1)}," in err and "1 copies" not in err


def test_abbreviations_and_misspelt_options_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["generate", FORM, "--cop", "2", "-o", str(tmp_path / "p.pdf")])
    assert stop.value.code == 2
    with pytest.raises(SystemExit):
        main(["generate", FORM, "--large_print", "-o", str(tmp_path / "p.pdf")])
    err = capsys.readouterr().err
    assert "usage: papervoice generate" in err and "--large_print" in err
    assert not (tmp_path / "p.pdf").exists()


def test_every_db_option_says_what_it_is() -> None:
    from pipeline.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices  # type: ignore[union-attr]
    for name, sub in commands.items():
        for action in sub._actions:
            if "--db" in action.option_strings:
                assert action.help and "ledger" in action.help, name


def test_review_shows_a_foreign_page_and_will_not_assign_it(tmp_path: Path, new_ledger: NewLedger) -> None:
    import re

    from pipeline.options import ReviewOptions
    from pipeline.review.app import create_app

    a, b = new_ledger("a"), new_ledger("b")
    printed_scan(a, tmp_path / "from-a.pdf")
    printed_scan(b, tmp_path / "from-b.pdf")
    scan([tmp_path / "from-a.pdf"], opts(b))
    with Ledger(b, readonly=True) as ledger_b:
        page_id = page_questions(ledger_b)[0].page_id
    app = create_app(ReviewOptions(db=b, open_browser=False))
    app.config["TESTING"] = True
    client = app.test_client()
    html = client.get(f"/page/{page_id}").get_data(as_text=True)
    assert "Printed for another survey" in html and "Assign this page" not in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    refused = client.post(f"/page/{page_id}", data={"csrf_token": token, "action": "assign",
                                                    "form": f"{FORM}@1", "serial": serial_for(1), "page": "1"})
    assert refused.status_code == 400 and "another survey" in refused.get_data(as_text=True)
    assert reconcile(b)["totals"]["returned"] == 0
    assert client.post(f"/page/{page_id}", data={"csrf_token": token, "action": "not_form"}).status_code == 302
    assert len(check_ledger(b)) == PAGES - 1  # a page set aside by a person is no longer reported


def test_implausible_72_dpi_claim_is_replaced_by_the_page_size(tmp_path: Path, new_ledger: NewLedger) -> None:
    db = new_ledger("d72")
    form = FormRegistry.from_dirs().get(FORM)
    with Ledger(db) as ledger:
        made = generate(form, 1, tmp_path / "p.pdf", ledger=ledger)
    page = sim.render_pdf_pages(made.output, 1, 1, 200)[0]
    Image.fromarray(page).save(tmp_path / "phone.jpg", dpi=(72, 72), quality=90)
    summary = scan([tmp_path / "phone.jpg"], opts(db))
    assert summary.page_status["form"] == 1, summary.problems
