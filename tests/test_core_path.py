"""The edges of the core path (red team 2026-12-02): a stray code, an old print, a shaded comment, odd files.

Each test follows one recipe of the findings and checks the outcome a user would see: the page's status and
reason in the ledger, the message and the exit code.  Fixtures are printed, marked and scanned in code.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from conftest import NewLedger, ledger_rows
from fixtures_returns import small_tmpfs
from PIL import Image

from pipeline.form.definition import FormRegistry
from pipeline.form.generate import generate
from pipeline.form.identity import parse_payload
from pipeline.form.layout import Layout, compute_layout
from pipeline.ledger.status import format_status, reconcile
from pipeline.ledger.store import Ledger
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.simulate import returns as sim

FORM = "care-planning-person"
DPI = 200


def _opts(db: Path | str) -> ScanOptions:
    return ScanOptions(db=db, jobs=1, quiet=True)


def _save_png(image: np.ndarray, path: Path) -> Path:
    Image.fromarray(image).save(path, dpi=(DPI, DPI))
    return path


def _code_box(layout: Layout, page: int, index: int) -> tuple[int, int, int, int]:
    c = layout.pages[page - 1].codes[index]
    k = DPI / 72
    return int(c.x * k), int(c.y * k), int(c.w * k), int(c.h * k)


def _paint_code(image: np.ndarray, layout: Layout, page: int, index: int, payload: str) -> None:
    """Paint a QR symbol carrying `payload` over one of the page's printed codes (the red team's forge.py)."""
    extra = {} if payload.isascii() else {"eci": "UTF8"}
    symbol = np.array(zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode, **extra)
                      .to_image(scale=1, add_quiet_zones=True)).astype(np.uint8)
    x, y, w, h = _code_box(layout, page, index)
    image[y:y + h, x:x + w] = np.array(Image.fromarray(symbol).resize((w, h), Image.NEAREST))


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two copies printed by `generate` (with the ledger's survey id), page 1 of each rendered at 200 dpi."""
    tmp = tmp_path_factory.mktemp("printed")
    db = tmp / "s.db"
    form = FormRegistry.from_dirs().get(FORM)
    with Ledger(db) as ledger:
        result = generate(form, 2, tmp / "print.pdf", ledger=ledger)
        survey = ledger.survey_id
    layout = compute_layout(form, "a4", "standard")
    n = layout.page_count
    pages = sim.render_pdf_pages(tmp / "print.pdf", 1, 2 * n, dpi=DPI)
    return {"db": db, "tmp": tmp, "serials": result.serials, "survey": survey, "layout": layout,
            "first": pages[0], "second": pages[n], "copy1": pages[:n]}


def _pages(db: Path | str) -> list[tuple[str, str, str | None]]:
    return ledger_rows(db, "SELECT status, reason, serial FROM pages ORDER BY id")  # type: ignore[return-value]


def _fresh_ledger(printed: dict[str, object], new_ledger: NewLedger) -> str:
    """The printed ledger, copied into this run's backend: the tests that scan into it run on both."""
    return new_ledger.like(printed["db"], "s")  # type: ignore[arg-type]


# --- W5: every code has a say -----------------------------------------------------------------------------------


@pytest.mark.parametrize("strays", [1, 3])
def test_a_stray_code_of_another_copy_never_moves_the_page(printed: dict[str, object], tmp_path: Path,
                                                           strays: int, new_ledger: NewLedger) -> None:
    """W5: one (or three) of copy 1's four codes replaced by copy 2's, as a piece of another page caught in the
    feeder: the page is not silently given to either copy; it waits for a person, with both copies named."""
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page = np.array(printed["first"]).copy()
    other = np.array(printed["second"])
    for index in range(strays):
        x, y, w, h = _code_box(layout, 1, index)
        page[y:y + h, x:x + w] = other[y:y + h, x:x + w]
    db = _fresh_ledger(printed, new_ledger)
    scan([_save_png(page, tmp_path / "stray.png")], _opts(db))
    [(status, reason, serial)] = _pages(db)
    first, second = printed["serials"]  # type: ignore[misc]
    assert status == "not_form" and serial is None
    assert "disagree" in reason and first in reason and second in reason and "review" in reason


def test_agreeing_codes_are_read_as_before(printed: dict[str, object], tmp_path: Path, new_ledger: NewLedger) -> None:
    db = _fresh_ledger(printed, new_ledger)
    scan([_save_png(np.array(printed["first"]), tmp_path / "good.png")], _opts(db))
    [(status, reason, serial)] = _pages(db)
    assert (status, reason, serial) == ("form", "", printed["serials"][0])  # type: ignore[index]


# --- C1 / M11: numbers in a code are bounded where they are parsed -------------------------------------------


@pytest.mark.parametrize("payload", [
    "P/CARE-PLANNING-PERSON/99999999999999999999A/1/3/000001GABCD",
    "P/CARE-PLANNING-PERSON/1A/1/99999999999999999999/000001GABCD",
    "P/CARE-PLANNING-PERSON/9223372036854775808A/1/3/000001GABCD",
    "P/CARE-PLANNING-PERSON/1A/\u00b2/3/000001GABCD",
    "P/CARE-PLANNING-PERSON/1A/1/3/99999999999999999999999999999EABCD",
    "PV/CARE-PLANNING-PERSON/1/S/A/\u0661/3/000001G",
])
def test_absurd_numbers_in_a_code_are_not_ours(payload: str) -> None:
    assert parse_payload(payload) is None


def test_a_huge_number_in_a_code_does_not_stop_the_batch(printed: dict[str, object], tmp_path: Path,
                                                         new_ledger: NewLedger) -> None:
    """C1: the forged page is 'not a form' and the next file of the batch is read."""
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    survey = printed["survey"]
    page = np.array(printed["first"]).copy()
    for index in range(4):
        _paint_code(page, layout, 1, index, f"P/CARE-PLANNING-PERSON/99999999999999999999A/1/3/000001G{survey}")
    batch = tmp_path / "batch"
    batch.mkdir()
    _save_png(page, batch / "a.png")
    _save_png(np.array(printed["first"]), batch / "b.png")
    db = _fresh_ledger(printed, new_ledger)
    summary = scan([batch], _opts(db))
    assert [s for s, _, _ in _pages(db)] == ["not_form", "form"]
    assert summary.pages == 2


# --- W7: survey-less prints are ours only where we printed them survey-less -----------------------------------


def test_simulated_returns_of_another_ledger_are_not_counted(tmp_path: Path) -> None:
    """W7: `simulate` into a.db, `generate` 4 copies into y.db, scan the simulated returns into y.db."""
    from pipeline.cli import main

    assert main(["simulate", FORM, "--copies", "2", "--seed", "3", "--db", str(tmp_path / "a.db"),
                 "--output-dir", str(tmp_path / "ret")]) == 0
    assert main(["generate", FORM, "--copies", "4", "-o", str(tmp_path / "y.pdf"),
                 "--db", str(tmp_path / "y.db")]) == 0
    scan([tmp_path / "ret" / "scans"], _opts(tmp_path / "y.db"))
    report = reconcile(tmp_path / "y.db")
    assert report["totals"]["returned"] == 0
    assert report["foreign_pages"]


def test_a_survey_less_code_of_a_serial_printed_with_our_survey_is_foreign(printed: dict[str, object],
                                                                           tmp_path: Path,
                                                                           new_ledger: NewLedger) -> None:
    """W7: an old-style (survey-less) code for a serial this ledger printed with its survey id."""
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page = np.array(printed["first"]).copy()
    for index in range(4):
        _paint_code(page, layout, 1, index, f"PV/CARE-PLANNING-PERSON/1/S/A/1/{layout.page_count}/"
                    f"{printed['serials'][0]}")  # type: ignore[index]
    db = _fresh_ledger(printed, new_ledger)
    scan([_save_png(page, tmp_path / "old.png")], _opts(db))
    [(status, reason, _)] = _pages(db)
    assert status == "foreign" and "without a survey id" in reason
    text = format_status(reconcile(db))
    assert "without a survey id" in text and "Copies returned:                0" in text


def test_survey_less_prints_this_ledger_issued_are_still_ours(tmp_path: Path) -> None:
    """Pages this ledger printed with the older survey-less code (old prints) are still counted."""
    form = FormRegistry.from_dirs().get(FORM)
    layout = compute_layout(form, "a4", "standard")
    db = tmp_path / "old.db"
    with Ledger(db) as ledger:
        serial = ledger.issue_serials(form.id, form.version, "standard", "a4", layout.page_count, 1, None,
                                      survey_printed=False)[0]
    from pipeline.form.generate import render_pdf

    page = sim.render_pdf_pages(render_pdf(form, layout, [serial]), 1, 1, dpi=DPI)[0]
    scan([_save_png(page, tmp_path / "p.png")], _opts(db))
    assert _pages(db) == [("form", "", serial)]


# --- new-user trial P11: status names this ledger's own survey id -------------------------------------------


def test_status_names_the_ledgers_own_survey_id(printed: dict[str, object], tmp_path: Path,
                                                new_ledger: NewLedger) -> None:
    db = _fresh_ledger(printed, new_ledger)
    report = reconcile(db)
    assert report["survey_id"] == printed["survey"]
    assert f"Survey id: {printed['survey']}" in format_status(report)


# --- W9: comment ink is judged against the field's own background -------------------------------------------


@pytest.mark.parametrize("grey", [220, 180, 165, 120])
def test_black_writing_on_a_grey_shaded_comment_field_is_read(printed: dict[str, object], tmp_path: Path,
                                                              grey: int, new_ledger: NewLedger) -> None:
    """W9: the comment field filled with grey, black writing on it (DejaVu Sans, 56 px at 200 dpi)."""
    from PIL import ImageDraw, ImageFont

    from pipeline.form.fonts import _find

    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page_no = next(p.page for p in layout.pages if p.text_fields)
    field = layout.pages[page_no - 1].text_fields[0]
    k = DPI / 72
    image = Image.fromarray(np.array(printed["copy1"][page_no - 1]).copy())  # type: ignore[index]
    draw = ImageDraw.Draw(image)
    x, y, w, h = (int(v * k) for v in (field.x, field.y, field.w, field.h))
    draw.rectangle([x, y, x + w, y + h], fill=grey)
    font = ImageFont.truetype(str(_find("DejaVuSans.ttf")), 56)
    draw.text((x + 60, y + 60), "The carers never turned up on time", fill=0, font=font)
    db = _fresh_ledger(printed, new_ledger)
    scan([_save_png(np.array(image), tmp_path / "shaded.png")], _opts(db))
    [(written, text)] = ledger_rows(db, "SELECT written, text FROM comments")
    assert written == 1
    assert "carers" in text.lower() and "time" in text.lower(), text


def test_a_grey_field_with_nothing_written_stays_blank(printed: dict[str, object], tmp_path: Path,
                                                       new_ledger: NewLedger) -> None:
    """The other side of W9: shading alone is not writing (no comment invented from a tinted box)."""
    from PIL import ImageDraw

    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page_no = next(p.page for p in layout.pages if p.text_fields)
    field = layout.pages[page_no - 1].text_fields[0]
    k = DPI / 72
    image = Image.fromarray(np.array(printed["copy1"][page_no - 1]).copy())  # type: ignore[index]
    x, y, w, h = (int(v * k) for v in (field.x, field.y, field.w, field.h))
    ImageDraw.Draw(image).rectangle([x, y, x + w, y + h], fill=180)
    db = _fresh_ledger(printed, new_ledger)
    scan([_save_png(np.array(image), tmp_path / "shaded-blank.png")], _opts(db))
    [(written,)] = ledger_rows(db, "SELECT written FROM comments")
    assert written == 0


# --- C3, C4, H1-H3, C2, C6: form files are read bounded, plain and checked -----------------------------------


def _form_text() -> str:
    return (Path(__file__).parents[1] / "forms" / f"{FORM}.yaml").read_text(encoding="utf-8")


def _forms_cmd(folder: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", "forms", "--forms-dir", str(folder)],
                          capture_output=True, text=True, timeout=timeout)


def _assert_clean_refusal(done: subprocess.CompletedProcess[str], path: Path, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert str(path) in done.stderr and "What to do:" in done.stderr, done.stderr
    for word in words:
        assert word.lower() in done.stderr.lower(), done.stderr


def test_a_form_file_saved_as_latin1_names_the_file_and_the_fix(tmp_path: Path) -> None:
    """C3: Windows Notepad's 'ANSI' (Latin-1): `title: café`."""
    folder = tmp_path / "forms"
    folder.mkdir()
    path = folder / "cafe-form.yaml"
    text = _form_text().replace(f"id: {FORM}", "id: cafe-form", 1)
    text = text.replace("title:", "title: café", 1) if "title: " in text else text
    path.write_bytes(text.encode("latin-1", "replace"))
    _assert_clean_refusal(_forms_cmd(folder), path, "UTF-8", "Save As")


def test_a_utf8_form_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "bom-form.yaml").write_bytes(b"\xef\xbb\xbf" + _form_text().replace(f"id: {FORM}", "id: bom-form", 1)
                                           .encode("utf-8"))
    done = _forms_cmd(folder)
    assert done.returncode == 0 and "bom-form" in done.stdout, done.stderr


@pytest.mark.parametrize(("name", "content", "words"), [
    ("x@3.yaml", b"id: x\nversion: [1\n", ("not valid YAML", "line")),
    ("x@3.yaml", "title: caf\u00e9\n".encode("latin-1"), ("UTF-8",)),
    ("x@3.yaml", None, ("does not match the file name",)),
    (f"{FORM}@3.yaml", None, ("version", "does not match the file name")),
])
def test_kept_version_files_are_guarded(tmp_path: Path, name: str, content: bytes | None,
                                        words: tuple[str, ...]) -> None:
    """C4: `<id>@<version>.yaml` files get the same checks as the others, and must match their name."""
    folder = tmp_path / "forms"
    folder.mkdir()
    path = folder / name
    path.write_bytes(content if content is not None else _form_text().replace("version: 1", "version: 7", 1)
                     .encode("utf-8"))
    _assert_clean_refusal(_forms_cmd(folder), path, *words)


def test_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    """H1: a 700-byte file whose aliases expand to 9**9 strings."""
    folder = tmp_path / "laughs"
    folder.mkdir()
    levels = ['&a ["l","l","l","l","l","l","l","l","l"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"&{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = folder / "laughs.yaml"
    path.write_text("id: laughs\nversion: [" + ", ".join(levels) + "]\n", encoding="utf-8")
    _assert_clean_refusal(_forms_cmd(folder, timeout=30), path, "alias")


def test_a_few_yaml_aliases_are_still_fine(tmp_path: Path) -> None:
    """PyYAML's own dumper writes an alias for a repeated value: a form file using a few still loads."""
    import yaml

    from pipeline.form.definition import load_form_file

    data = yaml.safe_load(_form_text())
    data.update(id="alias-form", closing=None, source=None)
    del data["closing"], data["source"]
    path = tmp_path / "alias-form.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False) + "closing: &c Thank you\nsource: *c\n", encoding="utf-8")
    form = load_form_file(path)
    assert form.closing == form.source == "Thank you"


def test_a_fifo_in_the_forms_folder_does_not_hang(tmp_path: Path) -> None:
    """H2: a FIFO named x.yaml; H3 below: a link to /dev/zero."""
    folder = tmp_path / "forms"
    folder.mkdir()
    os.mkfifo(folder / "x.yaml")
    _assert_clean_refusal(_forms_cmd(folder, timeout=30), folder / "x.yaml", "not an ordinary file")


def test_a_link_to_dev_zero_in_the_forms_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "x.yaml").symlink_to("/dev/zero")
    _assert_clean_refusal(_forms_cmd(folder, timeout=30), folder / "x.yaml", "not an ordinary file")


def test_an_oversized_form_file_is_refused_unread(tmp_path: Path) -> None:
    from pipeline import constants as C

    folder = tmp_path / "forms"
    folder.mkdir()
    path = folder / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(C.FORM_FILE_MAX_BYTES + 10)
    _assert_clean_refusal(_forms_cmd(folder, timeout=30), path, "larger than")


def test_scale_values_beyond_a_small_integer_are_refused(tmp_path: Path) -> None:
    """C2: scale values of 2**63 and more passed validation and crashed scan."""
    import re

    folder = tmp_path / "forms"
    folder.mkdir()
    path = folder / "big-scale.yaml"
    text = _form_text().replace(f"id: {FORM}", "id: big-scale", 1)
    text = re.sub(r"value: (\d)", lambda m: f"value: 10000000000000000000{m.group(1)}", text)
    path.write_text(text, encoding="utf-8")
    _assert_clean_refusal(_forms_cmd(folder), path, "scale[0].value", "999")


def test_adopt_forms_dir_naming_a_file(tmp_path: Path) -> None:
    """C6: `adopt blank.pdf --id x --forms-dir some-file`."""
    blank = tmp_path / "blank.png"
    Image.new("L", (1700, 2300), 255).save(blank, dpi=(200, 200))
    target = tmp_path / "some-file"
    target.write_text("not a folder\n")
    done = subprocess.run([sys.executable, "-m", "pipeline", "adopt", str(blank), "--id", "x-form",
                           "--forms-dir", str(target)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "not a folder" in done.stderr and "What to do:" in done.stderr


# --- W13: a PDF whose name is not valid UTF-8 is read ---------------------------------------------------------


def test_a_pdf_named_in_latin1_bytes_is_read(printed: dict[str, object], tmp_path: Path, new_ledger: NewLedger) -> None:
    """W13: `cp good.pdf "$(printf 'caf\\xe9.pdf')"` was called damaged and never read."""
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.array(printed["first"])).save(folder / "good.pdf", resolution=DPI)
    os.rename(folder / "good.pdf", os.path.join(os.fsencode(folder), b"caf\xe9.pdf"))
    db = _fresh_ledger(printed, new_ledger)
    summary = scan([folder], _opts(db))
    assert summary.pages == 1
    assert [s for s, _, _ in _pages(db)] == ["form"]


# --- W14 / M12: another program's SQLite file is never added to ------------------------------------------------


def _other_programs_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE foo (x)")
    con.execute("INSERT INTO foo VALUES (1)")
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize("command", [["generate", FORM, "--copies", "1", "-o", "{tmp}/p.pdf"],
                                     ["scan", "{tmp}/in"], ["status"], ["check"], ["export", "-o", "{tmp}/r.xlsx"]])
def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path, command: list[str]) -> None:
    """W14: `scan` and `generate` added PaperVoice's tables to it and exited 0; the readers said 'no such
    table'.  Every command now refuses it by name (exit 4) and the file keeps only its own table."""
    db = _other_programs_db(tmp_path / "other.db")
    (tmp_path / "in").mkdir()
    Image.new("L", (1700, 2300), 255).save(tmp_path / "in" / "blank.png", dpi=(200, 200))
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    done = subprocess.run([sys.executable, "-m", "pipeline", *args, "--db", str(db)], capture_output=True,
                          text=True, timeout=120)
    said = done.stdout + done.stderr  # `check` reports on stdout
    assert done.returncode == 4, said
    assert "another program" in said and "Traceback" not in said, said
    con = sqlite3.connect(db)
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
    con.close()
    assert tables == ["foo"]


def test_readers_refuse_an_empty_file_and_a_newer_ledger(printed: dict[str, object], tmp_path: Path,
                                                         new_ledger: NewLedger) -> None:
    """M12: a 0-byte ledger said 'no such table'; a newer schema_version said 'ledger OK'."""
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "pipeline", "status", "--db", str(empty)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 4 and "is empty" in done.stderr, done.stderr
    newer = _fresh_ledger(printed, new_ledger)
    with Ledger(newer) as ledger, ledger.transaction() as out:
        out.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    for command in ("status", "check"):
        done = subprocess.run([sys.executable, "-m", "pipeline", command, "--db", newer], capture_output=True,
                              text=True, timeout=60, cwd=Path(__file__).parents[1])
        said = done.stdout + done.stderr
        assert done.returncode == 4 and "newer PaperVoice" in said, said


# --- C5: export onto a nearly full disk; scratch folders of killed exports -------------------------------------


@pytest.fixture(scope="module")
def with_comment(printed: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger holding one page with a written comment (its picture goes into the workbook)."""
    from PIL import ImageDraw, ImageFont

    from pipeline.form.fonts import _find

    tmp = tmp_path_factory.mktemp("comment")
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page_no = next(p.page for p in layout.pages if p.text_fields)
    field = layout.pages[page_no - 1].text_fields[0]
    image = Image.fromarray(np.array(printed["copy1"][page_no - 1]).copy())  # type: ignore[index]
    k = DPI / 72
    ImageDraw.Draw(image).text((field.x * k + 60, field.y * k + 60), "The carers were kind to me",
                               fill=0, font=ImageFont.truetype(str(_find("DejaVuSans.ttf")), 56))
    db = tmp / "s.db"  # SQLite: the tests that use it are about files (a full disk, a read-only folder)
    db.write_bytes(Path(printed["db"]).read_bytes())  # type: ignore[arg-type]
    scan([_save_png(np.array(image), tmp / "comment.png")], _opts(db))
    return db


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs.  Needs root and mount rights (as the ledger's full-disk test)."""
    with small_tmpfs(tmp_path / "small", "1m") as where:
        yield where


def _fill(folder: Path, leave_bytes: int) -> None:
    free = shutil.disk_usage(folder).free
    with (folder / "filler").open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave_bytes))


@pytest.mark.parametrize("leave_kb", [0, 4, 8, 24])
def test_export_onto_a_nearly_full_disk_exits_5(with_comment: Path, small_disk: Path, leave_kb: int) -> None:
    """C5: OSError ENOSPC from writing the pictures gave a traceback and exit 1."""
    workbook = small_disk / "results.xlsx"
    workbook.write_bytes(b"the old workbook")
    _fill(small_disk, leave_kb * 1024)
    done = subprocess.run([sys.executable, "-m", "pipeline", "export", "--db", str(with_comment), "-o",
                           str(workbook)], capture_output=True, text=True, timeout=120)
    if done.returncode == 0:  # it fitted: nothing to prove at this size
        return
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr and "What to do:" in done.stderr and "space" in done.stderr, done.stderr
    assert workbook.read_bytes() == b"the old workbook"
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "results.xlsx"]


def test_scratch_folders_of_a_killed_export_are_cleared(with_comment: Path, tmp_path: Path) -> None:
    """SIGKILL during export left hidden `.results.xlsx.images.*` folders that later exports never removed."""
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    abandoned = out / f".results.xlsx.images.{dead}.abc123"
    abandoned.mkdir()
    (abandoned / "1.img").write_bytes(b"x" * 1000)
    alive = out / f".results.xlsx.images.{os.getpid()}.def456"  # a running export's (this process's) folder
    alive.mkdir()
    other = out / ".other.xlsx.images.1.xyz"
    other.mkdir()
    assert subprocess.run([sys.executable, "-m", "pipeline", "export", "--db", str(with_comment), "-o",
                           str(out / "results.xlsx")], capture_output=True, text=True, timeout=120).returncode == 0
    assert not abandoned.exists() and alive.exists() and other.exists()


# --- C7 and --port: addresses bounded where they are parsed --------------------------------------------------


@pytest.mark.parametrize(("address", "words"), [
    ("127.0.0.1", "port number is missing"), ("inproc://x", "not supported"), ("ucx://10.0.0.5:8786", "not supported"),
    ("tcp://10.0.0.5:99999", "from 1 to 65535"), ("tcp://a b:1", "not a")])
def test_a_mistyped_dask_scheduler_is_refused_before_anything_starts(tmp_path: Path, address: str,
                                                                     words: str) -> None:
    """C7: `--dask-scheduler 127.0.0.1` (no port), `inproc://`, `ucx://` gave tracebacks."""
    (tmp_path / "in").mkdir()
    done = subprocess.run([sys.executable, "-m", "pipeline", "scan", str(tmp_path / "in"), "--db",
                           str(tmp_path / "s.db"), "--dask-scheduler", address], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert words in done.stderr and "tcp://" in done.stderr, done.stderr
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("port", [80, 1023, 65536, -1])
def test_review_port_outside_the_range_the_message_names(port: int) -> None:
    from pipeline.errors import UsageError
    from pipeline.options import ReviewOptions

    with pytest.raises(UsageError, match="1024 to 65535"):
        ReviewOptions(db=Path("x.db"), port=port, open_browser=False)


# --- H4: multi-page TIFF frames taken out as stored, by their place in the file ---------------------------------


def _big_endian_tiff(path: Path, frames: list[np.ndarray], dpi: int = 200) -> None:
    """A hand-made big-endian ('MM') multi-page TIFF of 8-bit grey, uncompressed strips (Pillow writes 'II')."""
    import struct

    out = bytearray(b"MM\x00*" + struct.pack(">I", 0))
    previous_next_at = 4
    for frame in frames:
        h, w = frame.shape
        data_at = len(out)
        out += frame.tobytes()
        res_at = len(out)
        out += struct.pack(">IIII", dpi, 1, dpi, 1)
        ifd_at = len(out)
        struct.pack_into(">I", out, previous_next_at, ifd_at)
        entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8 << 16), (259, 3, 1, 1 << 16),
                   (262, 3, 1, 1 << 16), (273, 4, 1, data_at), (277, 3, 1, 1 << 16), (278, 4, 1, h),
                   (279, 4, 1, w * h), (282, 5, 1, res_at), (283, 5, 1, res_at + 8), (296, 3, 1, 2 << 16)]
        out += struct.pack(">H", len(entries))
        for tag, kind, count, value in entries:
            out += struct.pack(">HHII", tag, kind, count, value)
        previous_next_at = len(out)
        out += b"\0\0\0\0"
    path.write_bytes(bytes(out))


def _pages_of(path: Path) -> list[np.ndarray]:
    with Image.open(path) as img:
        found = []
        for i in range(img.n_frames):
            img.seek(i)
            found.append(np.array(img.convert("L")))
        return found


@pytest.mark.parametrize("kind", ["group4", "tiff_lzw", "big-endian"])
def test_every_tiff_frame_decodes_as_pillow_reads_it(tmp_path: Path, kind: str) -> None:
    from pipeline.scan.loading import decode_page, open_pages, page_job

    rng = np.random.default_rng(5)
    arrays = [np.where(rng.random((585, 414)) < 0.1, 0, 255).astype(np.uint8) for _ in range(5)]  # A4 at 50 dpi
    path = tmp_path / f"{kind}.tif"
    if kind == "big-endian":
        _big_endian_tiff(path, arrays, dpi=50)
    else:
        pictures = [Image.fromarray(a).convert("1") if kind == "group4" else Image.fromarray(a) for a in arrays]
        pictures[0].save(path, save_all=True, append_images=pictures[1:], compression=kind, dpi=(50, 50))
    expected = _pages_of(path)
    count, jobs = open_pages(path)
    offsets = jobs.frame_offsets  # type: ignore[attr-defined]
    assert count == 5 and offsets is not None and len(offsets) == 5
    for i, job in enumerate(jobs):
        grey, dpi = decode_page(job)
        assert dpi == 50 and np.array_equal(grey, expected[i])
        alone, _ = decode_page(page_job(path, i, offsets[i]))  # as a worker that sees the file takes it
        assert np.array_equal(alone, expected[i])


def test_a_g4_frame_travels_as_its_stored_strips(tmp_path: Path) -> None:
    """No frame is decoded and encoded again in the coordinator: the job carries the file's own G4 bytes."""
    from pipeline.scan.loading import open_pages

    rng = np.random.default_rng(6)
    pictures = [Image.fromarray(np.where(rng.random((500, 400)) < 0.05, 0, 255).astype(np.uint8)).convert("1")
                for _ in range(3)]
    path = tmp_path / "g4.tif"
    pictures[0].save(path, save_all=True, append_images=pictures[1:], compression="group4", dpi=(200, 200))
    raw = path.read_bytes()
    with Image.open(path) as img:
        stored = []
        for i in range(3):
            img.seek(i)
            (offset,), (length,) = img.tag_v2[273][:1], img.tag_v2[279][:1]
            stored.append(raw[offset:offset + length])
    _, jobs = open_pages(path)
    for i, job in enumerate(jobs):
        assert stored[i] in job.data and len(job.data) < len(stored[i]) + 2000


def test_a_tiff_cut_off_in_its_frame_chain_reports_the_missing_page(tmp_path: Path) -> None:
    """The chain pointing past the file's end: the pages found are read, the next one is named as cut off."""
    import struct

    from pipeline.scan.loading import PageError, decode_page, open_pages

    arrays = [np.full((300, 200), 255, np.uint8) for _ in range(3)]
    path = tmp_path / "cut.tif"
    _big_endian_tiff(path, arrays)
    data = bytearray(path.read_bytes())
    struct.pack_into(">I", data, len(data) - 4, len(data) + 1000)  # the last frame's "next" points nowhere
    path.write_bytes(bytes(data))
    count, jobs = open_pages(path)
    assert count == 4
    for _ in range(3):
        decode_page(next(jobs))
    with pytest.raises(PageError, match="cut off"):
        next(jobs)


def test_a_multipage_tiff_scans_the_same_with_one_or_two_workers(printed: dict[str, object],
                                                                 tmp_path: Path) -> None:
    """The process pool reads each page by its place in the file: same ledger content as one process."""
    from pipeline.ledger.schema import content_snapshot

    pages = [Image.fromarray(np.array(p)).convert("1") for p in printed["copy1"]]  # type: ignore[attr-defined]
    tiff = tmp_path / "stack.tif"
    pages[0].save(tiff, save_all=True, append_images=pages[1:], compression="group4", dpi=(DPI, DPI))
    snapshots = []
    for jobs in (1, 2):
        db = tmp_path / f"j{jobs}.db"
        db.write_bytes(Path(printed["db"]).read_bytes())  # type: ignore[arg-type]
        scan([tiff], ScanOptions(db=db, jobs=jobs, quiet=True))
        snapshots.append(content_snapshot(db))
    assert [s for s, _, _ in _pages(tmp_path / "j1.db")] == ["form"] * len(pages)
    assert snapshots[0] == snapshots[1]


# --- new-user trial P15: blank trailing rows on a grey scan get the right reason ---------------------------------


def test_a_page_left_out_on_a_grey_scan_is_asked_about_with_the_right_reason(tmp_path: Path) -> None:
    """Practitioner form, pages 1-2 answered, page 3 (S09, S10 and the comment) left blank, scanned as grey
    JPEG: the two rows go to a person as 'left out', not with black-and-white advice; the blank comment
    field is not sent to review as 'possibly lost'."""
    form = FormRegistry.from_dirs().get("care-planning-practitioner")
    db = tmp_path / "p.db"
    with Ledger(db) as ledger:
        generate(form, 1, tmp_path / "print.pdf", ledger=ledger)
    page3 = sim.render_pdf_pages(tmp_path / "print.pdf", 3, 3, dpi=DPI)[0]
    Image.fromarray(page3).save(tmp_path / "page3.jpg", quality=85, dpi=(DPI, DPI))
    scan([tmp_path / "page3.jpg"], _opts(db))
    con = sqlite3.connect(db)
    answers = con.execute("SELECT item, state, reason, detail FROM answers ORDER BY item").fetchall()
    comments = con.execute("SELECT written, engine FROM comments").fetchall()
    con.close()
    assert [(i, s, r) for i, s, r, _ in answers] == [("S09", "flagged", "page_blank"), ("S10", "flagged", "page_blank")]
    assert all("left this page out" in d and "black-and-white" not in d for *_, d in answers)
    assert comments == [(0, comments[0][1])]


# --- M3: a third scan of a page in conflict adds its reading, it does not overwrite ----------------------------


def test_every_reading_of_a_page_scanned_three_times_is_kept_in_the_question(tmp_path: Path) -> None:
    """Page scanned as 3, then 1, then 3 again: review read "first scan read 3; a later scan read 3"."""
    form = FormRegistry.from_dirs().get(FORM)
    db = tmp_path / "c.db"
    with Ledger(db) as ledger:
        generate(form, 1, tmp_path / "print.pdf", ledger=ledger)
    layout = compute_layout(form, "a4", "standard")
    page = sim.render_pdf_pages(tmp_path / "print.pdf", 1, 1)[0]
    box_of = {b.value: b for b in layout.pages[0].boxes_of("S01")}
    for n, value in enumerate((3, 1, 3)):
        marked = page.copy()
        sim.draw_mark(marked, sim.rect_px(box_of[value]), "cross", np.random.default_rng(n),
                      sim.Pen("black ballpoint", 40, 0.5))
        Image.fromarray(marked).save(tmp_path / f"scan{n}.png", dpi=(sim.PRINT_DPI, sim.PRINT_DPI))
        scan([tmp_path / f"scan{n}.png"], ScanOptions(db=db, jobs=1, quiet=True, ocr="none"))
    con = sqlite3.connect(db)
    (detail,) = con.execute("SELECT a.detail FROM answers a JOIN pages p ON p.id = a.page_id WHERE a.item = 'S01'"
                            " AND p.status = 'form'").fetchone()
    con.close()
    assert detail == "first scan read 3; a later scan read 1; another scan read 3"


# --- M2: an interrupted scan whose file then changed stops asking to be run again ------------------------------


def test_an_interrupted_scan_of_a_file_that_changed_is_closed(printed: dict[str, object], tmp_path: Path,
                                                              new_ledger: NewLedger) -> None:
    pages = [Image.fromarray(np.array(p)) for p in printed["copy1"]]  # type: ignore[attr-defined]
    pdf = tmp_path / "long2.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=DPI)
    db = _fresh_ledger(printed, new_ledger)
    with pytest.raises(KeyboardInterrupt):
        scan([pdf], ScanOptions(db=db, jobs=1, quiet=True, stop_after_pages=1))
    assert "stopped part-way through" in format_status(reconcile(db))
    pages[0].save(pdf, save_all=True, append_images=pages[1:2], resolution=DPI)  # re-saved with a page less
    scan([pdf], _opts(db))
    text = format_status(reconcile(db))
    assert "stopped part-way through" not in text, text


# --- M1: scan --retry from another folder names the files it cannot find -------------------------------------


def test_retry_from_another_folder_names_the_files_it_cannot_find(printed: dict[str, object], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  new_ledger: NewLedger) -> None:
    """The kept page's form is not defined here (its code names a form nobody has): the file is kept for
    --retry; run from another folder, --retry said "Files: 0" and nothing else."""
    layout: Layout = printed["layout"]  # type: ignore[assignment]
    page = np.array(printed["first"]).copy()
    for index in range(4):
        _paint_code(page, layout, 1, index, f"P/NOT-DEFINED-HERE/1A/1/3/000001G{printed['survey']}")
    first = tmp_path / "first"
    first.mkdir()
    _save_png(page, first / "kept.png")
    db = _fresh_ledger(printed, new_ledger)
    monkeypatch.chdir(first)
    scan([Path("kept.png")], _opts(db))
    assert [s for s, _, _ in _pages(db)] == ["not_form"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    scan([], ScanOptions(db=db, jobs=1, quiet=True, retry=True))
    said = capsys.readouterr().err
    assert "not found from" in said and "kept.png" in said and "folder the first scan ran in" in said, said


# --- M4: a ledger in a read-only folder can still be read ----------------------------------------------------


def test_status_check_and_export_read_a_ledger_in_a_read_only_folder(with_comment: Path, tmp_path: Path) -> None:
    """WAL needs its -shm file even to read: status, check and export all said "the ledger is read-only"."""
    from test_storage_faults import permissions_bind

    bind = permissions_bind()
    archive = tmp_path / "archive"
    archive.mkdir()
    db = archive / "survey.db"
    src = sqlite3.connect(with_comment)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.execute("PRAGMA journal_mode = WAL")
    dst.close()
    for leftover in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        leftover.unlink(missing_ok=True)
    archive.chmod(0o555)
    try:
        for command in (["status"], ["check"], ["export", "-o", str(tmp_path / "out.xlsx")]):
            done = subprocess.run([sys.executable, "-m", "pipeline", *command, "--db", str(db)], capture_output=True,
                                  text=True, timeout=120, preexec_fn=bind)
            assert done.returncode == 0, done.stdout + done.stderr
        assert (tmp_path / "out.xlsx").stat().st_size > 0
        assert sorted(p.name for p in archive.iterdir()) == ["survey.db"]
    finally:
        archive.chmod(0o755)


# --- M5: a ledger another program holds: the wait is said, not silent ---------------------------------------


def test_a_locked_ledger_says_it_is_waiting(printed: dict[str, object], tmp_path: Path, new_ledger: NewLedger) -> None:
    """M5: scan waited 61 s in silence.  The lock is let go only once the scan has said it is waiting."""
    db = _fresh_ledger(printed, new_ledger)
    (tmp_path / "in").mkdir()
    _save_png(np.array(printed["first"]), tmp_path / "in" / "p.png")
    if new_ledger.is_postgres:  # another writer holds the ledger's writer lock
        import psycopg

        from pipeline.ledger.postgres_backend import WRITER_LOCK_KEY

        holder: Any = psycopg.connect(db, autocommit=True)
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK_KEY,))
    else:
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    child = subprocess.Popen([sys.executable, "-m", "pipeline", "scan", str(tmp_path / "in"), "--db", db, "-q"],
                             stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert child.stderr is not None
        first_line = child.stderr.readline()  # blocks until the scan says something
        holder.execute("COMMIT")
        rest = child.communicate(timeout=120)[1]
    finally:
        holder.close()
        if child.poll() is None:
            child.kill()
    assert "in use by another program" in first_line and "waiting up to" in first_line, first_line + rest
    assert child.returncode == 0, rest
    assert [s for s, _, _ in _pages(db)] == ["form"]


# --- cosmetic: counts read as a person writes them --------------------------------------------------------------


def test_scan_summary_says_one_copy_and_names_a_file_given_twice(printed: dict[str, object], tmp_path: Path,
                                                                 new_ledger: NewLedger) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _save_png(np.array(printed["first"]), folder / "a.png")
    (folder / "b.png").write_bytes((folder / "a.png").read_bytes())
    summary = scan([folder], _opts(_fresh_ledger(printed, new_ledger)))
    text = summary.text()
    assert "1 form page from 1 copy," in text, text
    assert "1 repeated in this batch" in text and "0 already in the ledger" in text, text


@pytest.mark.parametrize("copies", ["-1", "0", "99999999"])
def test_simulate_copies_out_of_range_is_refused(tmp_path: Path, copies: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pipeline", "simulate", FORM, "--copies", copies, "--db",
                           str(tmp_path / "s.db"), "--output-dir", str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--copies must be from 1 to 10000" in done.stderr, done.stderr


# --- M6: a long web address is broken across lines, never printed past the margin -----------------------------


def test_a_long_web_address_in_a_statement_stays_inside_the_margins(tmp_path: Path) -> None:
    import yaml

    from pipeline.form.definition import load_form_file
    from pipeline.form.fonts import text_width_pt

    url = "https://www.example-council.gov.uk/adult-social-care/care-and-support-planning/have-your-say/form"
    data = yaml.safe_load(_form_text())
    data["id"] = "long-url"
    data["items"][0]["text"] = f"Read more at {url} before you answer."
    path = tmp_path / "long-url.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    form = load_form_file(path)
    for style in ("standard", "large-print"):
        layout = compute_layout(form, "a4", style)
        blocks = [b for p in layout.pages for b in p.text_blocks if b.kind == "statement"]
        first = next(b for b in blocks if any("example-council" in line for line in b.lines))
        assert "".join(first.lines).replace(" ", "").find(url) >= 0  # nothing of it lost
        for line in first.lines:
            assert text_width_pt(line, first.size_pt, first.bold) <= first.w + 0.01, line
        broken = [line for line in first.lines if "example-council" in line or "have-your-say" in line]
        assert all(line[-1] in "/-._?&=#,;:" or line.endswith(("form", "answer.", "before"))
                   for line in broken), first.lines  # broken after a '/' or '-', where an address reads well


# --- M14: review never cuts a person's correction without telling them ---------------------------------------


def test_review_refuses_a_comment_longer_than_a_cell_and_says_why(tmp_path: Path) -> None:
    from test_review import _client, _csrf, build_ledger

    import pipeline.ledger.queries as Q

    built = build_ledger(tmp_path / "survey.db", FormRegistry.from_dirs())
    client = _client(built)
    with Ledger(built.db, readonly=True) as led:
        q = Q.comment_questions(led)[0]
    url = f"/comment/{q.page_id}/{q.item}"
    token = _csrf(client, url)
    assert 'maxlength="32767"' in client.get(url).get_data(as_text=True)
    refused = client.post(url, data={"text": "x" * 200_000, "csrf_token": token})
    assert refused.status_code == 400 and "32,767" in refused.get_data(as_text=True)
    with Ledger(built.db, readonly=True) as led:
        assert Q.comment_questions(led)[0].text == q.text  # nothing saved
    assert client.post(url, data={"text": "They were kind", "csrf_token": token}).status_code == 302


def test_a_ledger_that_lost_its_meta_table_is_not_given_a_new_survey_id(printed: dict[str, object],
                                                                         tmp_path: Path) -> None:
    """M12: it silently got a new survey id, which would make every earlier print foreign.  (SQLite: the file
    damaged by hand with the sqlite3 shell.)"""
    db = tmp_path / "s.db"
    db.write_bytes(Path(printed["db"]).read_bytes())  # type: ignore[arg-type]
    con = sqlite3.connect(db)
    con.execute("DROP TABLE meta")
    con.commit()
    con.close()
    from pipeline.errors import LedgerError

    with pytest.raises(LedgerError, match="not a PaperVoice ledger"):
        Ledger(db)
    con = sqlite3.connect(db)
    assert "meta" not in {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
