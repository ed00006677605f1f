"""`papervoice generate` end to end: the printed PDF must register and identify itself.

Every page of both care-planning forms, in both styles and on both papers, is rendered the
way a scan would arrive (300 dpi, and the 150 dpi many office scanners default to).  On each
page the four solid registration marks must be found near the corners, where the layout
says, and the QR code must decode to the very serial and page the manifest lists, because
the scanner matches returns to the ledger by nothing else.  (About the printed pages: their ledger is a
SQLite file; serials issued into either backend are tried by test_copies_in_one_pdf_have_their_own_serials.)
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import NewLedger

from pipeline import constants as C
from pipeline.form.identity import is_valid_serial, parse_payload
from pipeline.form.layout import PAPERS, STYLES
from pipeline.ledger.store import Ledger
from pipeline.scan.register import _zxing_decode

ROOT = Path(__file__).resolve().parent.parent
FORMS = ("care-planning-person", "care-planning-practitioner")
COMBOS = list(product(FORMS, STYLES, PAPERS))
DPIS = (300, 150)
MARK_POSITION_TOLERANCE_MM = 1.0

pytestmark = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("pdffonts")),
                                reason="needs poppler-utils (pdftoppm, pdffonts)")


@dataclass(frozen=True)
class Printed:
    """One generated PDF with its manifest rows, layout JSON and rendered pages."""

    form: str
    style: str
    paper: str
    pdf: Path
    manifest: list[dict[str, str]]
    layout: dict
    renders: dict[int, list[Path]]  # dpi -> one image per PDF page


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=120)


def generate(form: str, style: str, paper: str, out: Path, db: Path | str, copies: int = 1) -> tuple[Path, Path]:
    pdf, manifest = out / f"{form}-{style}-{paper}.pdf", out / f"{form}-{style}-{paper}.csv"
    args = ["generate", form, "--copies", str(copies), "-o", str(pdf), "--paper", paper, "--db", str(db),
            "--manifest", str(manifest)]
    if style == "large-print":
        args.append("--large-print")  # the older switch still works
    elif style != "standard":
        args += ["--style", style]
    result = run_cli(*args)
    assert result.stdout.strip() == str(pdf), "generate prints the PDF path on stdout, messages on stderr"
    return pdf, manifest


def render(pdf: Path, dpi: int) -> list[Path]:
    """Grey pages as an office scanner would deliver them (PGM: fast to write and read)."""
    prefix = pdf.with_name(f"{pdf.stem}-{dpi}")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(pdf), str(prefix)], check=True, timeout=120)
    pages = sorted(pdf.parent.glob(f"{prefix.name}-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    assert pages, f"pdftoppm wrote no pages for {pdf}"
    return pages


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ledger") / "papervoice.db"


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory, ledger_path: Path) -> dict[tuple[str, str, str], Printed]:
    """One copy of each form x style x paper, all issued from one ledger, rendered at both resolutions."""
    out = tmp_path_factory.mktemp("printed")
    made = {combo: generate(*combo, out, ledger_path) for combo in COMBOS}
    jobs = [(combo, dpi) for combo in COMBOS for dpi in DPIS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        rendered = dict(zip(jobs, pool.map(lambda job: render(made[job[0]][0], job[1]), jobs), strict=True))
    result = {}
    for combo in COMBOS:
        form, style, paper = combo
        pdf, manifest = made[combo]
        with manifest.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        layout_args = ["layout", form, "--json", "--paper", paper, "--style", style]
        layout = json.loads(run_cli(*layout_args).stdout)
        result[combo] = Printed(form, style, paper, pdf, rows, layout, {dpi: rendered[combo, dpi] for dpi in DPIS})
    return result


# --- finding what the scanner needs ----------------------------------------------------------


def find_registration_marks(gray: np.ndarray, dpi: int) -> list[tuple[float, float] | None]:
    """Centre of the solid square nearest each corner (TL, TR, BR, BL), in pixels, or None.

    A mark is a connected blob of ink that is square, about the printed size, and almost
    completely filled, which nothing else on the page is (QR finder patterns are rings).
    """
    px_per_mm = dpi / 25.4
    ink = (gray < 128).astype(np.uint8)
    n, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    size = C.REG_MARK_SIZE_MM * px_per_mm
    candidates = []
    for i in range(1, n):
        w, h, area = stats[i][2:5]
        if not (0.8 * size <= w <= 1.2 * size and 0.8 * size <= h <= 1.2 * size):
            continue
        if area < 0.9 * w * h:
            continue
        candidates.append((float(centroids[i][0]), float(centroids[i][1])))
    page_h, page_w = gray.shape
    corners = [(0, 0), (page_w, 0), (page_w, page_h), (0, page_h)]
    reach = 30 * px_per_mm  # a mark must be within 30 mm of its corner in both directions
    found: list[tuple[float, float] | None] = []
    for cx, cy in corners:
        near = [c for c in candidates if abs(c[0] - cx) < reach and abs(c[1] - cy) < reach]
        found.append(min(near, key=lambda c: abs(c[0] - cx) + abs(c[1] - cy)) if len(near) == 1 else None)
    return found


def decode_codes(gray: np.ndarray, dpi: int, codes: list[dict]) -> tuple[list[str], str]:
    """Decode the page's QR codes: the whole page first, then each code's crop from the layout, upscaled,
    with both decoders the scanner uses (zxing-cpp, then OpenCV).

    Returns the decoded texts and which method was needed, so failures say how hard it was.
    """
    detector = cv2.QRCodeDetector()
    ok, texts, _, _ = detector.detectAndDecodeMulti(gray)
    page_texts = [t for t in texts if t] if ok else []
    if len(page_texts) == len(codes):
        return page_texts, "page"
    scale = dpi / C.PT_PER_INCH
    margin = 1 * dpi / 25.4  # the code's rectangle already includes its quiet zone
    crop_texts = []
    for code in codes:
        x0, y0 = int(code["x"] * scale - margin), int(code["y"] * scale - margin)
        x1, y1 = int((code["x"] + code["w"]) * scale + margin), int((code["y"] + code["h"]) * scale + margin)
        crop = gray[max(0, y0):y1, max(0, x0):x1]
        zx = _zxing_decode(crop)
        text = zx[0][0] if zx else ""
        for factor in (() if text else (1, 2, 0.5, 3)):
            big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC) if factor != 1 else crop
            text, _, _ = detector.detectAndDecode(big)
            if text:
                break
        crop_texts.append(text)
    return crop_texts, "crops"


# --- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", DPIS)
@pytest.mark.parametrize("combo", COMBOS, ids=["-".join(c) for c in COMBOS])
@pytest.mark.slow
def test_every_page_registers_and_identifies_itself(printed: dict, combo: tuple[str, str, str], dpi: int) -> None:
    p: Printed = printed[combo]
    pages = p.renders[dpi]
    assert len(pages) == len(p.manifest) == len(p.layout["pages"])
    px_per_pt = dpi / C.PT_PER_INCH
    tolerance_px = MARK_POSITION_TOLERANCE_MM * dpi / 25.4
    for image_path, row in zip(pages, p.manifest, strict=True):
        gray = cv2.imread(str(image_path), cv2.IMREAD_GRAYSCALE)
        assert gray is not None
        form_page = int(row["form_page"])
        page_layout = p.layout["pages"][form_page - 1]
        where = f"{p.pdf.name} PDF page {row['pdf_page']} at {dpi} dpi"

        marks = find_registration_marks(gray, dpi)
        assert all(m is not None for m in marks), f"{where}: registration marks found: {marks}"
        for found, expected in zip(marks, page_layout["registration_marks"], strict=True):
            assert found is not None
            ex, ey = (expected["x"] + expected["w"] / 2) * px_per_pt, (expected["y"] + expected["h"] / 2) * px_per_pt
            assert abs(found[0] - ex) <= tolerance_px and abs(found[1] - ey) <= tolerance_px, \
                f"{where}: mark at {found}, layout says ({ex:.1f}, {ey:.1f})"

        texts, method = decode_codes(gray, dpi, page_layout["codes"])
        assert all(texts), f"{where}: QR decoded {texts} (method: {method})"
        assert len(set(texts)) == 1, f"{where}: the codes disagree: {texts}"
        ident = parse_payload(texts[0])
        assert ident is not None, f"{where}: {texts[0]!r} is not a PaperVoice payload"
        assert (ident.serial, ident.page) == (row["serial"], form_page), f"{where}: {ident} vs manifest {row}"
        assert (ident.form, ident.style, ident.paper) == combo
        assert ident.pages == len(p.layout["pages"])


def test_manifest_lists_every_pdf_page(printed: dict) -> None:
    for p in printed.values():
        n_pages = len(p.layout["pages"])
        assert [int(r["pdf_page"]) for r in p.manifest] == list(range(1, n_pages + 1))
        assert [int(r["form_page"]) for r in p.manifest] == list(range(1, n_pages + 1))
        assert len({r["serial"] for r in p.manifest}) == 1


def test_serials_unique_across_runs_on_one_ledger(printed: dict, ledger_path: Path, tmp_path: Path) -> None:
    """Serials never repeat on one ledger, across separate `generate` runs and forms."""
    first = {r["serial"] for p in printed.values() for r in p.manifest}
    assert len(first) == len(COMBOS), "each run issued its own serial"
    _, manifest = generate("care-planning-person", "standard", "a4", tmp_path, ledger_path, copies=3)
    with manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    second = [r["serial"] for r in rows]
    assert len(rows) == 3 * len(printed["care-planning-person", "standard", "a4"].layout["pages"])
    assert len(set(second)) == 3
    assert not first & set(second)
    with Ledger(ledger_path, readonly=True) as ledger:
        for serial in first | set(second):
            assert is_valid_serial(serial)
            assert ledger.serial_issued(serial)


def test_copies_in_one_pdf_have_their_own_serials(tmp_path: Path, new_ledger: NewLedger) -> None:
    pdf, manifest = generate("care-planning-practitioner", "standard", "letter", tmp_path, new_ledger("l"), 2)
    with manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    serials = [r["serial"] for r in rows]
    per_copy = len(rows) // 2
    assert serials[:per_copy] == [serials[0]] * per_copy and serials[per_copy:] == [serials[-1]] * per_copy
    assert serials[0] != serials[-1]
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(rf"^Pages:\s+{len(rows)}$", info, re.M)


def test_pdf_fonts_are_embedded(printed: dict) -> None:
    """Print shops and old printers substitute fonts that are not embedded, which moves the text."""
    for p in printed.values():
        out = subprocess.run(["pdffonts", str(p.pdf)], capture_output=True, text=True, check=True).stdout
        rows = out.splitlines()[2:]
        assert rows, f"{p.pdf.name}: no fonts at all?"
        for line in rows:
            fields = line.split()
            # name type [type...] encoding emb sub uni object ID: emb is the 5th field from the end
            assert fields[-5] == "yes", f"{p.pdf.name}: font not embedded: {line}"


def test_generate_refuses_bad_copies(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "pipeline", "generate", "care-planning-person", "--copies", "0",
                          "-o", str(tmp_path / "x.pdf"), "--db", str(tmp_path / "l.db")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "--copies" in out.stderr and "What to do:" in out.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_the_form_typeface_ships_inside_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pip-only install (Windows, macOS: no Debian fonts) still finds DejaVu Sans: the package carries the
    same files, so the geometry the scanner reads by is the same everywhere."""
    from pipeline.form import fonts

    inside = Path(fonts.__file__).resolve().parent / "typeface"
    monkeypatch.setattr(fonts, "_FONT_DIRS", (Path("/nonexistent"), inside))
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        found = fonts._find(name)
        assert found.parent == inside and found.stat().st_size > 500_000
        debian = Path("/usr/share/fonts/truetype/dejavu") / name
        if debian.exists():  # the very same file as Debian's fonts-dejavu-core: identical metrics
            assert found.read_bytes() == debian.read_bytes()
    assert (inside / "LICENSE-DejaVu.txt").exists()
