"""Results people can use: print labels in every row, missing values told apart, SPSS/Stata/R files read back,
the printed summary, erasure and retention, export without images (issue 23)."""

from __future__ import annotations

import csv
import dataclasses
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import NewLedger, ledger_rows
from openpyxl import load_workbook

from pipeline.export.workbook import export_files
from pipeline.ledger import erase
from pipeline.ledger.check import check_ledger
from pipeline.ledger.sharing import set_shared, shared_comments
from pipeline.ledger.store import Ledger
from pipeline.options import ExportOptions, ReportOptions
from pipeline.report.summary import write_report
from pipeline.scan.results import PageResult
from pipeline.vocab import MissingKind
from tests.test_export import (
    ITEMS,
    PAGE1,
    PERSON,
    PRACTITIONER,
    answered,
    flagged,
    full_copy,
    page,
)
from tests.test_export import record as record_unstamped
from tests.test_review import browser, build_ledger  # noqa: F401  (browser: the Chromium fixture)


def record(ledger: Ledger, name: str, results: list[PageResult]) -> None:
    """Record pages as printed by this ledger's `generate`: their codes carry its survey id (a survey-less page
    of a serial printed with one is another ledger's print, and is set aside as foreign)."""
    stamped = [dataclasses.replace(r, identity=dataclasses.replace(r.identity, survey=ledger.survey_id))
               if r.identity is not None else r for r in results]
    record_unstamped(ledger, name, stamped)

ROOT = Path(__file__).resolve().parent.parent
SHARED_TEXT = "The staff listened and we wrote the plan together."
PRIVATE_TEXT = "Jane at number 12 was unkind to me."


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *(str(a) for a in args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def survey_base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Labelled print runs (through the real `generate`), returns covering every kind of missing answer, in a
    SQLite ledger."""
    tmp = tmp_path_factory.mktemp("results")
    db = tmp / "survey.db"
    done = run("generate", PERSON, "--copies", "4", "-o", tmp / "north.pdf", "--label", "  North   team ", "--db", db)
    assert done.returncode == 0, done.stderr
    assert 'labelled "North team"' in done.stderr
    assert run("generate", PERSON, "--copies", "2", "-o", tmp / "plain.pdf", "--db", db).returncode == 0
    assert run("generate", PRACTITIONER, "--copies", "2", "-o", tmp / "staff.pdf", "--label", "North team",
               "--db", db).returncode == 0
    with Ledger(db) as ledger:
        serials = [str(r[0]) for r in ledger.execute("SELECT serial FROM serials ORDER BY number")]
        north, plain, staff = serials[:4], serials[4:6], serials[6:]
        # north[0]: complete, with a comment a person will mark fine to share
        record(ledger, "scans/a.pdf", full_copy("scans/a.pdf", PERSON, north[0], [5, 4, 3, 2, 1, 5, 4, 3, 2, 1],
                                                SHARED_TEXT))
        # north[1]: S02 blank, S03 two boxes (open), S04 unclear (open), S05 two boxes settled as cannot be told
        odd = full_copy("scans/b.pdf", PERSON, north[1], [4, None, 3, 3, 3, 4, 4, 4, 4, 4], PRIVATE_TEXT)
        odd[0].items[2] = flagged("S03", None, "multiple", "boxes 2 and 4")
        odd[0].items[3] = flagged("S04", 2, "uncertain", "a faint mark in box 2")
        odd[0].items[4] = flagged("S05", None, "multiple", "boxes 1 and 5")
        record(ledger, "scans/b.pdf", odd)
        # north[2]: only page 1 came back; north[3] never returned
        record(ledger, "scans/c.pdf", [page("scans/c.pdf", 0, PERSON, north[2], 1, [answered(i, 2) for i in PAGE1])])
        # plain[0]: complete, no label
        record(ledger, "scans/d.pdf", full_copy("scans/d.pdf", PERSON, plain[0], [3] * 10, None))
        record(ledger, "scans/e.pdf", full_copy("scans/e.pdf", PRACTITIONER, staff[0], [5] * 10, "Good training"))
        s05 = ledger.execute("SELECT page_id FROM effective_answers WHERE serial = ? AND item = 'S05'",
                             (north[1],)).fetchone()[0]
        ledger.decide("answer", s05, "S05", "", by="tester")  # "0 blank / cannot be told"
        for serial, text in ((north[0], SHARED_TEXT), (north[1], PRIVATE_TEXT)):
            c = ledger.execute("SELECT page_id FROM effective_comments WHERE serial = ?", (serial,)).fetchone()[0]
            ledger.decide("comment", c, "C1", text, by="tester")
            if text == SHARED_TEXT:
                set_shared(ledger, c, "C1", True, by="tester")
    return {"db": db, "tmp": tmp, "north": north, "plain": plain, "staff": staff}


@pytest.fixture(scope="module")
def survey(survey_base: dict[str, Any], module_ledger: NewLedger,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """That ledger in each backend, and every output exported from it."""
    db = module_ledger.like(survey_base["db"], "survey")
    out = tmp_path_factory.mktemp("results-out")
    files = export_files(ExportOptions(output=out / "r.xlsx", db=db, csv_dir=out / "csv", sav=out / "r.sav",
                                       dta=out / "r.dta", r_dir=out / "R"))
    return {**survey_base, "db": db, "out": out, "files": files}


def _sheet_rows(path: Path, form: str) -> dict[str, dict[str, Any]]:
    wb = load_workbook(path)
    ws = next(ws for ws in wb.worksheets if ws.title.startswith("Responses") and ws.cell(2, 2).value == form)
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}


def test_every_row_carries_style_label_and_dates(survey: dict[str, Any]) -> None:
    rows = _sheet_rows(survey["out"] / "r.xlsx", PERSON)
    north, plain = survey["north"], survey["plain"]
    assert {rows[s]["Label"] for s in north[:3]} == {"North team"}  # spaces tidied when printed
    assert rows[plain[0]]["Label"] is None and rows[north[0]]["Style"] == "standard"
    assert all(rows[s]["Date returned"] is not None for s in rows)
    assert rows[north[1]]["Date settled"] is not None and rows[plain[0]]["Date settled"] is None
    assert rows[north[2]]["Pages returned"] == 1 and rows[north[2]]["Pages in copy"] == 2
    with open(survey["out"] / "csv" / f"{PERSON}.csv", encoding="utf-8", newline="") as fh:
        csv_rows = {r["Serial"]: r for r in csv.DictReader(fh)}
    assert csv_rows[north[0]]["Label"] == "North team" and csv_rows[north[0]]["Style"] == "standard"
    assert len(csv_rows[north[0]]["Date returned"]) == 10 and csv_rows[plain[0]]["Date settled"] == ""


def test_missing_kinds_told_apart_in_the_workbook(survey: dict[str, Any]) -> None:
    row = _sheet_rows(survey["out"] / "r.xlsx", PERSON)[survey["north"][1]]
    assert [row[i] for i in ("S01", "S02", "S03", "S04", "S05")] == [4, None, None, None, None]
    assert row["S02 status"] == MissingKind.LEFT_BLANK.label
    assert row["S03 status"] == MissingKind.MULTIPLE_OPEN.label
    assert row["S04 status"] == MissingKind.UNREADABLE.label  # the machine's guess (2) is not counted
    assert row["S05 status"] == MissingKind.CANNOT_TELL.label
    partial = _sheet_rows(survey["out"] / "r.xlsx", PERSON)[survey["north"][2]]
    assert partial["S07"] is None and partial["S07 status"] == MissingKind.PAGE_NOT_RETURNED.label
    codebook = [" ".join(str(v) for v in r if v is not None) for r in load_workbook(
        survey["out"] / "r.xlsx")["Codebook"].iter_rows(values_only=True)]
    for kind in MissingKind:
        assert any(line.startswith(f"{kind.label} {kind.code} ") for line in codebook), kind


def test_sav_reads_back_with_labels_missing_codes_and_the_workbook_numbers(survey: dict[str, Any]) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    path = survey["out"] / f"r-{PERSON}.sav"
    assert path in survey["files"]
    data, meta = pyreadstat.read_sav(str(path), user_missing=True)
    for item in ITEMS:
        labels = meta.variable_value_labels[item]
        assert labels[1.0] == "Not at all" and labels[5.0] == "Completely"
        assert {labels[float(k.code)] for k in MissingKind} == {k.label for k in MissingKind}
        assert meta.missing_ranges[item] == [{"lo": -6.0, "hi": -1.0}]
        assert meta.column_names_to_labels[item].startswith(f"{item}: ")
    by_serial = {r["serial"]: r for r in data.to_dict("records")}
    north = survey["north"]
    assert [by_serial[north[1]][i] for i in ("S02", "S03", "S04", "S05")] == [-1, -3, -4, -2]
    assert by_serial[north[2]]["S07"] == -5
    assert by_serial[north[3]]["returned"] == 0 and by_serial[north[3]]["S01"] == -6  # printed, not returned
    assert by_serial[north[0]]["label"] == "North team" and by_serial[north[0]]["C1"] == SHARED_TEXT
    rows = _sheet_rows(survey["out"] / "r.xlsx", PERSON)
    for serial, sheet in rows.items():
        for item in ITEMS:
            code = by_serial[serial][item]
            assert (sheet[item] if sheet[item] is not None else None) == (code if code > 0 else None)
    plain, _ = pyreadstat.read_sav(str(path))  # without user_missing: the codes are missing (NaN) for SPSS
    assert plain[plain["serial"] == north[1]]["S02"].isna().all()


def test_dta_declares_extended_missing(survey: dict[str, Any]) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    data, meta = pyreadstat.read_dta(str(survey["out"] / f"r-{PERSON}.dta"), user_missing=True)
    assert meta.variable_value_labels["S01"]["a"] == MissingKind.LEFT_BLANK.label
    assert meta.variable_value_labels["S01"][5] == "Completely"
    by_serial = {r["serial"]: r for r in data.to_dict("records")}
    assert by_serial[survey["north"][1]]["S02"] == "a" and by_serial[survey["north"][3]]["S01"] == "f"
    assert by_serial[survey["north"][0]]["S01"] == 5


def test_r_files(survey: dict[str, Any]) -> None:
    script = (survey["out"] / "R" / f"{PERSON}.R").read_text(encoding="utf-8")
    assert f'read.csv("{PERSON}.csv"' in script and '"left blank" = -1' in script and '"Completely" = 5' in script
    with open(survey["out"] / "R" / f"{PERSON}.csv", encoding="utf-8", newline="") as fh:
        rows = {r["serial"]: r for r in csv.DictReader(fh)}
    assert rows[survey["north"][1]]["S03"] == "-3"
    rscript = shutil.which("Rscript")
    if rscript:  # not installed on CI; run it where it is
        done = subprocess.run([rscript, "-e", f'source("{PERSON}.R"); cat(mean(responses$S01, na.rm=TRUE))'],
                              cwd=survey["out"] / "R", capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        sheet = _sheet_rows(survey["out"] / "r.xlsx", PERSON)
        values = [r["S01"] for r in sheet.values() if r["S01"] is not None]
        assert float(done.stdout.strip()) == pytest.approx(sum(values) / len(values))  # the workbook's mean


def test_pspp_reads_the_sav(survey: dict[str, Any], tmp_path: Path) -> None:
    pspp = shutil.which("pspp")
    if pspp is None:
        pytest.skip("GNU PSPP is not installed (apt-get install pspp)")
    syntax = tmp_path / "check.sps"
    syntax.write_text(f"GET FILE='{survey['out'] / f'r-{PERSON}.sav'}'.\nDISPLAY DICTIONARY /VARIABLES=S02.\n"
                      "FREQUENCIES /VARIABLES=S02.\nDESCRIPTIVES /VARIABLES=S01.\n", encoding="utf-8")
    done = subprocess.run([pspp, "-O", "format=txt", "-o", str(tmp_path / "out.txt"), str(syntax)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "out.txt").read_text(encoding="utf-8", errors="replace")
    assert "left blank" in text and "copy not returned" in text
    assert "-6" in text and "-1" in text  # the missing range is in the dictionary
    assert "Missing" in text


def test_report_pdf(survey: dict[str, Any], tmp_path: Path) -> None:
    for large in (False, True):
        out = write_report(ReportOptions(output=tmp_path / f"s{int(large)}.pdf", db=survey["db"], large_print=large))
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert "I was trusted to write my own plan" in text and "Practitioners" in text
        assert "read with care" in text  # one practitioner return
        assert SHARED_TEXT in " ".join(text.split()) and "Jane" not in text  # only what was marked fine to share
        fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout.splitlines()[2:]
        assert fonts and all(" yes " in line for line in fonts), fonts  # every font embedded
        assert all("Bold" in line for line in fonts) == large  # large print: bold throughout


def test_report_cli_and_comment_share_mark(survey: dict[str, Any], tmp_path: Path) -> None:
    done = run("report", "-o", tmp_path / "x.pdf", "--db", survey["db"], "--large-print")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "x.pdf")
    with Ledger(survey["db"], readonly=True) as ledger:
        assert len(shared_comments(ledger)) == 1


def test_no_images(survey: dict[str, Any], tmp_path: Path) -> None:
    out = export_files(ExportOptions(output=tmp_path / "share.xlsx", db=survey["db"], no_images=True))[0]
    with zipfile.ZipFile(out) as z:
        assert not [n for n in z.namelist() if n.startswith("xl/media/")]
    wb = load_workbook(out)
    assert "(pictures left out of this export)" in [c.value for c in wb["Comments"]["F"]]


def _everything(paths: list[Path]) -> str:
    text = []
    for p in paths:
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                text += [z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")]
        else:
            text.append(p.read_bytes().decode("latin-1"))
    return "\n".join(text)


def test_erase_a_copy_everywhere(survey_base: dict[str, Any], tmp_path: Path) -> None:
    """SQLite: the words must be gone from the file's bytes (the PostgreSQL twin of this test follows)."""
    survey = survey_base
    db = tmp_path / "copy.db"
    shutil.copyfile(survey["db"], db)
    victim = survey["north"][1]
    refused = run("erase", victim, "--db", db)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    done = run("erase", victim, "--yes", "--db", db)
    assert done.returncode == 0, done.stderr
    assert check_ledger(db) == []
    files = export_files(ExportOptions(output=tmp_path / "o" / "r.xlsx", db=db, csv_dir=tmp_path / "o" / "csv",
                                       sav=tmp_path / "o" / "r.sav", dta=tmp_path / "o" / "r.dta",
                                       r_dir=tmp_path / "o" / "R"))
    everything = _everything(files)
    assert victim not in everything and PRIVATE_TEXT not in everything
    assert survey["north"][0] in everything  # the others are still there
    raw = db.read_bytes()
    assert PRIVATE_TEXT.encode() not in raw  # gone from the file, not only from the tables (VACUUM)
    with Ledger(db, readonly=True) as ledger:
        audit = erase.erasures(ledger)
        assert len(audit) == 1 and audit[0].serial == victim and audit[0].answers == 10 and audit[0].comments == 1
        row = ledger.execute("SELECT * FROM erasures").fetchone()
        assert PRIVATE_TEXT not in " ".join(str(v) for v in row)
        assert ledger.execute("SELECT COUNT(*) FROM pages WHERE serial = ?", (victim,)).fetchone()[0] == 0
    listed = run("erase", "--list", "--db", db)
    assert victim in listed.stdout and "erasure 1" in listed.stdout
    assert run("erase", "999999Z", "--yes", "--db", db).returncode != 0  # no such copy: a clear refusal


@pytest.mark.postgres
def test_erase_a_copy_in_a_shared_postgresql_ledger(survey_base: dict[str, Any], pg_server,  # type: ignore[no-untyped-def]
                                                    tmp_path: Path) -> None:
    """The same erasure on a ledger kept on a PostgreSQL server: gone from every output, audited, and the ledger
    still sound; the tables are rewritten (VACUUM FULL) so the words leave the server's files too."""
    from pipeline.ledger.copy import copy_ledger

    survey = survey_base
    db = pg_server.new_database("erase")
    copy_ledger(_copy_of(survey["db"], tmp_path), db)
    victim = survey["north"][1]
    done = run("erase", victim, "--yes", "--db", db)
    assert done.returncode == 0, done.stderr
    assert check_ledger(db) == []
    files = export_files(ExportOptions(output=tmp_path / "o" / "r.xlsx", db=db, csv_dir=tmp_path / "o" / "csv"))
    everything = _everything(files)
    assert victim not in everything and PRIVATE_TEXT not in everything and survey["north"][0] in everything
    with Ledger(db, readonly=True) as ledger:
        audit = erase.erasures(ledger)
        assert len(audit) == 1 and audit[0].serial == victim and audit[0].answers == 10 and audit[0].comments == 1
        assert ledger.execute("SELECT COUNT(*) FROM comments WHERE text LIKE ?", (f"%{PRIVATE_TEXT}%",)
                              ).fetchone()[0] == 0


def _copy_of(db: Path, where: Path) -> Path:
    """A private copy of the module's ledger, so moving it to the server leaves the shared one as it was."""
    copy = where / "station.db"
    shutil.copyfile(db, copy)
    return copy


def test_retention_deletes_old_images_keeps_answers(survey: dict[str, Any], new_ledger: NewLedger) -> None:
    db = new_ledger.like(survey["db"], "keep")

    def one(sql: str) -> int:
        return int(ledger_rows(db, sql)[0][0])  # type: ignore[call-overload]

    answers_before, images_before = one("SELECT COUNT(*) FROM answers"), one("SELECT COUNT(*) FROM images")
    with Ledger(db) as ledger, ledger.transaction() as out:
        out.execute("UPDATE pages SET scanned_at = '2020-01-01T00:00:00+00:00'")
    done = run("erase", "--images-older-than", "365", "--yes", "--db", db)
    assert done.returncode == 0, done.stderr
    assert one("SELECT COUNT(*) FROM answers") == answers_before
    left = one("SELECT COUNT(*) FROM images")
    open_crops = one("SELECT COUNT(*) FROM answers a WHERE a.state = 'flagged' AND a.crop_id IS NOT NULL AND "
                     "NOT EXISTS (SELECT 1 FROM decisions d WHERE d.kind = 'answer' AND d.page_id = a.page_id"
                     " AND d.item = a.item)")
    open_crops += one("SELECT COUNT(*) FROM comments c WHERE c.written = 1 AND c.crop_id IS NOT NULL AND NOT "
                      "EXISTS (SELECT 1 FROM decisions d WHERE d.kind = 'comment' AND d.page_id = c.page_id"
                      " AND d.item = c.item)")
    assert 0 < left == open_crops < images_before  # only the pictures a person still needs are kept
    assert check_ledger(db) == []


# --- "fine to share" in review: a real browser, by keyboard --------------------------------------

@pytest.mark.browser
def test_share_mark_in_review_by_keyboard(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    import threading

    from werkzeug.serving import make_server

    from pipeline.form.definition import FormRegistry
    from pipeline.ledger import queries as Q
    from pipeline.options import ReviewOptions
    from pipeline.review.app import create_app

    built = build_ledger(tmp_path / "review.db", FormRegistry.from_dirs())
    server = make_server("127.0.0.1", 0, create_app(ReviewOptions(db=built.db, port=0, open_browser=False)),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with Ledger(built.db, readonly=True) as led:
            q = next(q for q in Q.comment_questions(led) if q.serial == built.serials[1])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/comment/{q.page_id}/{q.item}")
        box = page.get_by_label("Fine to share in the printed summary", exact=False)
        assert not box.is_checked()  # default: nothing is shared
        box.focus()
        page.keyboard.press("Space")
        assert box.is_checked()
        page.focus("#save")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "fine to share" in page.inner_text(".banner")
        with Ledger(built.db, readonly=True) as led:
            assert shared_comments(led) == {(q.page_id, q.item)}
        page.goto(f"http://127.0.0.1:{server.server_port}/comment/{q.page_id}/{q.item}")
        assert page.get_by_label("Fine to share in the printed summary", exact=False).is_checked()
        out = write_report(ReportOptions(output=tmp_path / "s.pdf", db=built.db))
        text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout.split())
        assert "My social worker listened" in text
    finally:
        server.shutdown()
        server.server_close()


def test_comment_pictures_cut_to_the_writing() -> None:
    import cv2
    import numpy as np

    from pipeline.export.crops import _trim_to_writing

    field = np.full((431, 1051), 236, np.uint8)  # a comment field as the scanner keeps it: frame, grey lines
    cv2.rectangle(field, (2, 2), (1048, 428), 60, 2)
    for y in range(59, 421, 59):
        cv2.line(field, (8, y), (1043, y), 160, 1)
    assert _trim_to_writing(cv2.imencode(".png", field)[1].tobytes()) is None  # nothing written: the whole field
    cv2.putText(field, "No.", (40, 100), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.4, 40, 3)
    cut = _trim_to_writing(cv2.imencode(".png", field)[1].tobytes())
    assert cut.shape[0] < 150 and cut.shape[1] < 250  # a "No." is not half a page of empty lines
    assert (cut < 100).sum() > 100  # and the writing is all there


def test_comparison_cautions_small_numbers(survey: dict[str, Any]) -> None:
    ws = load_workbook(survey["out"] / "r.xlsx")["Comparison"]
    rows = [list(r) for r in ws.iter_rows(min_row=4, values_only=True)]
    head = rows[0]
    s01 = dict(zip(head, rows[1], strict=False))
    assert s01["n practitioners"] == 1 and s01["Caution"] == "few answers: read with care"
    wb = load_workbook(survey["out"] / "r.xlsx")
    for sheet in wb.worksheets:  # every sheet prints with its name and page numbers
        assert sheet.oddFooter.right.text == "Page &P of &N" and sheet.oddHeader.right.text == "&A"
    summary = wb["Summary"]
    assert len(summary.row_breaks.brk) >= 2 * len(summary._charts)  # each chart starts a page and ends one
