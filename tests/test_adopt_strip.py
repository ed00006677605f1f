"""A page-id strip (AMC's: touching cells at the top of every page, some printed solid) picks the copy a return
was printed from: copies that print the same page and differ only in their strip are told apart by it, and a
strip that names no copy, or copies whose strips are too alike, leave the page to the print (and a person).

The sheets are the AMC-like ones of `test_adopt_amc_sheet` (drawn with reportlab), adopted as a user would;
the returns are rendered from the same drawing with another strip where a test needs one, and scanned
through the simulator's scanner.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from pipeline.adopt import match as M
from pipeline.adopt.blank import adopt_blank
from pipeline.adopt.detect import find_strips
from pipeline.adopt.read import read_unknown_page, strip_reader
from pipeline.errors import FormDefinitionError
from pipeline.form.definition import Form, load_form_file
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.scan.register import paper_level
from pipeline.scan.results import PageSource
from pipeline.simulate.scanning import degrade
from pipeline.simulate.world import DegradeParams
from tests.test_adopt_amc_sheet import MM, STRIP_TOP, _sheet

COPY_A = "000000000001" + "000001111100"
COPY_B = "000000000010" + "000001111010"
COPY_C = "000000000011" + "000001111000"


def _render(pdf: Path) -> np.ndarray:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return np.asarray(doc[0].render(scale=300 / 72, grayscale=True).to_pil().convert("L")).copy()
    finally:
        doc.close()


def _adopt(tmp: Path, bits: str, name: str) -> Form:
    _sheet(tmp / f"{name}.pdf", bits)
    report = adopt_blank(tmp / f"{name}.pdf", name, tmp / "forms")
    return load_form_file(report.form_path)


def _scanned(tmp: Path, bits: str, seed: int, dpi: int = 200, upside_down: bool = False) -> np.ndarray:
    _sheet(tmp / f"return-{bits}.pdf", bits)
    rng = np.random.default_rng(seed)
    params = DegradeParams(max_rotation_deg=1.5, wild_rotation_rate=0.0, upside_down_rate=float(upside_down))
    return degrade(_render(tmp / f"return-{bits}.pdf"), rng, params, src_dpi=300, out_dpi=dpi).image


def test_the_strip_is_found_cell_by_cell_solid_or_open(tmp_path: Path) -> None:
    _sheet(tmp_path / "blank.pdf", COPY_B)
    strips = find_strips(_render(tmp_path / "blank.pdf"), 300.0)
    assert [s.bits for s in strips] == [COPY_B]
    (strip,) = strips
    assert strip.x == pytest.approx(60 * MM, abs=1.0) and strip.y == pytest.approx(STRIP_TOP, abs=1.0)
    assert strip.w == pytest.approx(len(COPY_B) * 3.2 * MM, abs=2.0)


def test_a_page_without_a_strip_has_none(tmp_path: Path) -> None:
    image = np.full((1400, 1000), 255, np.uint8)
    for n in range(10):  # a row of open touching cells (a comb to write in): no solid cell, no strip
        image[100:130, 100 + 28 * n:102 + 28 * n] = 0
    image[100:102, 100:382] = 0
    image[128:130, 100:382] = 0
    assert find_strips(image, 150.0) == []


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Form]]:
    """Three copies of one page, alike in every box and word, their strips apart."""
    tmp = tmp_path_factory.mktemp("strip-copies")
    return tmp, [_adopt(tmp, bits, name) for bits, name in ((COPY_A, "copy-a"), (COPY_B, "copy-b"),
                                                             (COPY_C, "copy-c"))]


def test_the_adopted_form_keeps_its_strip_and_a_broken_one_is_refused(copies: tuple[Path, list[Form]],
                                                                      tmp_path: Path) -> None:
    folder, forms = copies
    form = forms[0]  # copy-a, adopted by the fixture as a user would
    assert form.adopted is not None
    assert form.adopted.pages[0].strip_bits == COPY_A
    path = tmp_path / "copy-a.yaml"  # broken in a copy: the fixture's file stays as the other tests need it
    doc = yaml.safe_load((folder / "forms" / "copy-a.yaml").read_text(encoding="utf-8"))
    doc["adopted"]["pages"][0]["strips"][0][4] = "01x1"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    with pytest.raises(FormDefinitionError, match="strips"):
        load_form_file(path)


def _read(image: np.ndarray, dpi: float, forms: list[Form]) -> tuple[str, str]:
    result = read_unknown_page(image, dpi, PageSource("return.png", 0), tuple(forms), paper_level(image), "none")
    return (result.identity.form if result.identity else ""), result.reason


@pytest.mark.parametrize(("bits", "name", "seed"), [(COPY_B, "copy-b", 1), (COPY_A, "copy-a", 2),
                                                    (COPY_C, "copy-c", 3)])
def test_the_strip_picks_the_copy_among_copies_alike_in_print(copies: tuple[Path, list[Form]], bits: str,
                                                              name: str, seed: int) -> None:
    tmp, forms = copies
    assert _read(_scanned(tmp, bits, seed), 200.0, forms)[0] == name


def test_the_strip_picks_the_copy_of_a_page_scanned_upside_down(copies: tuple[Path, list[Form]]) -> None:
    tmp, forms = copies
    image = _scanned(tmp, COPY_C, 8, upside_down=True)
    result = read_unknown_page(image, 200.0, PageSource("return.png", 0), tuple(forms), paper_level(image), "none")
    assert result.identity is not None and result.identity.form == "copy-c"
    assert result.rotation_deg == 180.0


def test_without_their_strips_alike_copies_go_to_a_person(copies: tuple[Path, list[Form]]) -> None:
    """What the strip adds: the same return, its blanks' strips forgotten, cannot be told from the others."""
    from dataclasses import replace

    tmp, forms = copies
    bare = []
    for f in forms:
        assert f.adopted is not None
        pages = tuple(replace(p, strips=()) for p in f.adopted.pages)
        bare.append(replace(f, adopted=replace(f.adopted, pages=pages)))
    form, why = _read(_scanned(tmp, COPY_B, 1), 200.0, bare)
    assert form == "" and "a person must say which" in why


def test_a_strip_that_names_no_copy_is_not_read_as_any(copies: tuple[Path, list[Form]]) -> None:
    """A return printed for a copy not adopted here: its strip is no copy's, so the strip decides nothing and the
    print alone cannot tell which of the alike copies it is: a person decides, never a guess."""
    tmp, forms = copies
    form, why = _read(_scanned(tmp, "000000000100" + "000001110110", 4), 200.0, forms)
    assert form == "" and "a person must say which" in why


def test_strips_one_cell_apart_do_not_decide(copies: tuple[Path, list[Form]]) -> None:
    """Copies whose strips differ in one cell only: one smudge would turn one into the other, so the strip is not
    used at all (every page fitted and compared, as without one)."""
    tmp, forms = copies
    blobs = M.scan_blobs(_scanned(tmp, COPY_B, 1), 200.0)
    image = _scanned(tmp, COPY_B, 1)
    read = strip_reader(image, paper_level(image))
    assert M.by_strip(blobs, forms, read) is not None
    from dataclasses import replace

    near = []
    for f in forms:
        assert f.adopted is not None
        page = f.adopted.pages[0]
        (strip,) = page.strips
        bits = COPY_B[:-1] + ("1" if f.id == "copy-a" else "0") if f.id != "copy-c" else strip.bits
        near.append(replace(f, adopted=replace(f.adopted, pages=(replace(page, strips=(replace(strip, bits=bits),)),))))
    assert M.by_strip(blobs, near, read) is None


def test_scanned_returns_are_filed_under_the_copy_their_strip_names(copies: tuple[Path, list[Form]],
                                                                    tmp_path: Path) -> None:
    tmp, _ = copies
    scans = tmp_path / "scans"
    scans.mkdir()
    for n, bits in enumerate((COPY_C, COPY_A, COPY_B)):
        Image.fromarray(_scanned(tmp, bits, 10 + n, dpi=(150, 300, 200)[n])).save(scans / f"p{n}.png",
                                                                                 dpi=((150, 300, 200)[n],) * 2)
    db = tmp_path / "s.db"
    scan([scans], ScanOptions(db=db, jobs=1, quiet=True, forms_dirs=(tmp / "forms",), ocr="none"))
    got = dict(sqlite3.connect(db).execute("SELECT f.path, p.form_id FROM pages p JOIN files f ON f.id = p.file_id"))
    assert {Path(p).name: form for p, form in got.items()} == {"p0.png": "copy-c", "p1.png": "copy-a",
                                                                "p2.png": "copy-b"}


def test_our_own_pages_are_read_as_ours_beside_forms_with_strips(copies: tuple[Path, list[Form]],
                                                                 tmp_path: Path) -> None:
    """With strip forms defined, a page whose quick code search finds nothing is asked for its strip before the
    slowest decoder looks at its corners: our own pages (codes found) and blank pages are read as before."""
    from tests.test_scan import issue_copy

    tmp, _ = copies
    db = tmp_path / "s.db"
    serial, pages, _layout = issue_copy(db, "care-planning-person", "standard")
    scans = tmp_path / "scans"
    scans.mkdir()
    rng = np.random.default_rng(5)
    params = DegradeParams(max_rotation_deg=1.0, wild_rotation_rate=0.0, upside_down_rate=0.0)
    Image.fromarray(degrade(pages[0], rng, params, src_dpi=300, out_dpi=200).image).save(scans / "a-ours.png",
                                                                                         dpi=(200, 200))
    Image.fromarray(np.full((1754, 1240), 250, np.uint8)).save(scans / "b-blank.png", dpi=(150, 150))
    Image.fromarray(_scanned(tmp, COPY_C, 21)).save(scans / "c-amc.png", dpi=(200, 200))
    scan([scans], ScanOptions(db=db, jobs=1, quiet=True, forms_dirs=(tmp / "forms",), ocr="none"))
    got = {Path(p).name: (status, form, copy) for p, status, form, copy in sqlite3.connect(db).execute(
        "SELECT f.path, p.status, p.form_id, p.serial FROM pages p JOIN files f ON f.id = p.file_id")}
    assert got["a-ours.png"][:2] == ("form", "care-planning-person") and got["a-ours.png"][2] == serial
    assert got["b-blank.png"][0] == "blank"
    assert got["c-amc.png"][:2] == ("form", "copy-c")


def test_a_strip_marked_over_is_not_trusted(copies: tuple[Path, list[Form]]) -> None:
    """A pen stroke across the strip leaves cells neither solid nor open: the strip decides nothing, and copies
    alike in print go to a person."""
    import cv2

    tmp, forms = copies
    _sheet(tmp / "return-smudged.pdf", COPY_B)
    art = _render(tmp / "return-smudged.pdf")
    k = 300 / 72
    y = round((STRIP_TOP + 1.6 * MM) * k)
    for n in range(0, 24, 3):  # a thick scribble through every third cell's middle
        x = round((60 * MM + (n + 0.5) * 3.2 * MM) * k)
        cv2.line(art, (x - 12, y - 12), (x + 12, y + 12), 0, 9)
    rng = np.random.default_rng(6)
    params = DegradeParams(max_rotation_deg=1.0, wild_rotation_rate=0.0, upside_down_rate=0.0)
    image = degrade(art, rng, params, src_dpi=300, out_dpi=200).image
    form, why = _read(image, 200.0, forms)
    assert form == "" and "a person must say which" in why
