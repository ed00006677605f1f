"""The returns simulator: deterministic, truthful about what it drew, and its files open like real scans.

The benchmark and the demo trust the truth JSON; if the simulator drew a mark
outside its box, or wrote a truth that does not match its files, every figure
built on it would be wrong, so these tests check the simulator itself.  (The simulator's own ledger is a
SQLite file; scanning its returns into either backend is tried elsewhere.)
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from pipeline import constants as C
from pipeline.form.definition import FormRegistry
from pipeline.form.generate import render_pdf
from pipeline.form.layout import compute_layout
from pipeline.ledger.store import Ledger
from pipeline.simulate.returns import (
    PENCIL,
    PENS,
    AnswerMix,
    DegradeParams,
    SimulationSpec,
    degrade,
    draw_mark,
    rect_px,
    render_form_page,
    simulate_returns,
)

FORM = "care-planning-person"


@pytest.fixture(scope="module")
def registry() -> FormRegistry:
    return FormRegistry.from_dirs()


@pytest.fixture(scope="module")
def printed(registry: FormRegistry) -> tuple[np.ndarray, object]:
    """Page 1 of a standard copy, rendered at the print resolution, and its layout."""
    form = registry.get(FORM)
    layout = compute_layout(form, "a4", "standard")
    return render_form_page(render_pdf(form, layout, ["000001X"]), 1), layout


def _spec(tmp: Path, name: str, **kw: object) -> SimulationSpec:
    args: dict[str, object] = {"forms": (FORM,), "copies": 2, "seed": 11, "db": tmp / f"{name}.db",
                               "output_dir": tmp / name, "jobs": 2}
    args.update(kw)
    return SimulationSpec(**args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory, registry: FormRegistry):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("sim")
    # all containers and plenty of junk so every packing path is exercised
    spec = _spec(tmp, "a", copies=3, containers={"pdf": 1, "tiff": 1, "images": 1})
    return spec, simulate_returns(spec, registry)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_same_output_whatever_the_jobs(tmp_path: Path, registry: FormRegistry, simulated) -> None:  # type: ignore[no-untyped-def]
    spec, _ = simulated
    # the pages carry the issuing ledger's survey id (random per ledger): the second ledger gets the first's
    with Ledger(spec.db, readonly=True) as first, Ledger(tmp_path / "b.db") as second:
        second.execute("UPDATE meta SET value = ? WHERE key = 'survey_id'", (first.survey_id,))
    again = simulate_returns(_spec(tmp_path, "b", copies=3, containers={"pdf": 1, "tiff": 1, "images": 1}, jobs=1),
                             registry)
    assert _digest(again.truth_path.parent) == _digest(spec.output_dir)
    other = simulate_returns(_spec(tmp_path, "c", copies=1, seed=12), registry)
    assert json.loads(other.truth_path.read_text())["copies"][0]["answers"] != first


def test_truth_matches_ledger_and_files(simulated, registry: FormRegistry) -> None:  # type: ignore[no-untyped-def]
    spec, result = simulated
    truth = json.loads(result.truth_path.read_text())
    form = registry.get(FORM)
    assert len(truth["copies"]) == 3 * 2  # copies x styles
    assert result.pages == len(truth["pages"])
    with Ledger(spec.db) as ledger:
        for copy in truth["copies"]:
            assert ledger.serial_issued(copy["serial"])
    for copy in truth["copies"]:
        assert list(copy["answers"]) == [i.id for i in form.items]
        for item, value in copy["answers"].items():
            assert value is None or value in form.scale_values
            if item in copy["multiple"]:
                assert value is None and len(copy["marks"][item]) == 2
        assert set(copy["comments"]) == {ft.id for ft in form.free_text}
        for c in copy["comments"].values():
            assert (c["tier"] is None) == (not c["text"])
        # every page of every copy was scanned exactly once
        pages = sorted(p["form_page"] for p in truth["pages"] if p["serial"] == copy["serial"])
        assert pages == list(range(1, copy["pages"] + 1))
    for page in truth["pages"]:
        assert (result.truth_path.parent / page["file"]).exists()
        assert page["kind"] in ("form", "blank", "letter")
        assert (page["serial"] is None) == (page["kind"] != "form")
    assert {f"scans/{p.name}" for p in result.files} == {p["file"] for p in truth["pages"]}


def test_files_open_like_scans(simulated) -> None:  # type: ignore[no-untyped-def]
    _, result = simulated
    truth = json.loads(result.truth_path.read_text())
    folder = result.truth_path.parent
    by_file: dict[str, list[dict]] = {}
    for page in truth["pages"]:
        by_file.setdefault(page["file"], []).append(page)
    kinds = set()
    for name, pages in by_file.items():
        path = folder / name
        kinds.add(path.suffix)
        if path.suffix == ".pdf":
            with pikepdf.open(path) as pdf:
                assert len(pdf.pages) == len(pages)
                for pdf_page, page in zip(pdf.pages, pages, strict=True):
                    image = pikepdf.PdfImage(next(iter(pdf_page.Resources.XObject.values())))
                    w_pt = float(pdf_page.MediaBox[2])
                    assert image.width * 72 / w_pt == pytest.approx(page["dpi"], rel=0.01)
                    assert abs(w_pt - C.PAPER_SIZES_PT["a4"][0]) < 2  # the page stays the paper's size
        elif path.suffix == ".tif":
            with Image.open(path) as im:
                assert im.n_frames == len(pages)
                assert round(im.info["dpi"][0]) == pages[0]["dpi"]
                if pages[0]["bitonal"]:
                    assert im.mode == "1"
        else:
            assert len(pages) == 1
            with Image.open(path) as im:
                assert round(im.info["dpi"][0]) == pages[0]["dpi"]
                assert abs(im.width * 72 / pages[0]["dpi"] - C.PAPER_SIZES_PT["a4"][0]) < 2
    assert kinds >= {".pdf", ".tif"}


def _inner(img: np.ndarray, box_px: tuple[float, float, float, float], inset_px: float) -> np.ndarray:
    x, y, w, h = box_px
    return img[round(y + inset_px):round(y + h - inset_px), round(x + inset_px):round(x + w - inset_px)]


@pytest.mark.parametrize("kind", ["tick", "cross", "dot", "slash", "fill", "faint", "spill"])
def test_marks_land_in_their_box(printed, kind: str) -> None:  # type: ignore[no-untyped-def]
    page, layout = printed
    px_per_mm = 300 / 25.4
    inset = C.BOX_INNER_INSET_MM * px_per_mm
    boxes = layout.pages[0].boxes
    for n, box in enumerate(boxes[:10]):
        rng = np.random.default_rng(n)
        pen = PENS[n % len(PENS)][1]
        img = page.copy()
        bp = rect_px(box)
        draw_mark(img, bp, kind, rng, pen)
        changed = (page.astype(int) - img.astype(int)) > 40
        inside = _inner(changed, bp, inset)
        coverage = inside.mean()
        # a deliberate mark covers a real share of the inner square; a fill covers most of it
        assert coverage > (C.FILLED_MIN_COVERAGE if kind == "fill" else C.MARK_MIN_COVERAGE * 0.8), (kind, n, coverage)
        # and lands in this box, never in a neighbour
        for other in boxes:
            if other is not box:
                assert _inner(changed, rect_px(other), inset).mean() < 0.01
        x, y, w, h = bp
        grow = (w * 1.2) if kind == "spill" else 2.5 * px_per_mm
        outside = changed.sum() - changed[int(y - grow):int(y + h + grow), int(x - grow):int(x + w + grow)].sum()
        assert outside == 0
        if kind == "spill":  # a spill really does run over the edge
            assert changed[int(y - grow):int(y + h + grow), int(x - grow):int(x + w + grow)].sum() > inside.sum()
        if kind == "faint":
            marked = img[_mask_rect(changed, bp)]
            assert marked.min() >= PENCIL.grey * 0.4  # light grey, never black


def _mask_rect(changed: np.ndarray, bp: tuple[float, float, float, float]) -> np.ndarray:
    out = np.zeros_like(changed)
    x, y, w, h = (round(v) for v in bp)
    out[y:y + h, x:x + w] = changed[y:y + h, x:x + w]
    return out


def test_clean_copy_marks_only_the_true_boxes(tmp_path: Path, registry: FormRegistry) -> None:
    """With no degradation and a clean answer mix, the ink in each box is exactly the truth."""
    spec = _spec(tmp_path, "clean", copies=1, styles=("standard",), junk=False, degrade=DegradeParams.none(),
                 answers=AnswerMix.clean(), containers={"tiff": 1.0}, blank_comments=True, jobs=1)
    result = simulate_returns(spec, registry)
    truth = json.loads(result.truth_path.read_text())
    copy = truth["copies"][0]
    layout = compute_layout(registry.get(FORM), "a4", "standard")
    pages = [p for p in truth["pages"] if p["kind"] == "form"]
    with Image.open(result.truth_path.parent / pages[0]["file"]) as tif:
        for page in pages:
            tif.seek(page["index"])
            img = np.asarray(tif.convert("L"))
            assert page["dpi"] == 300 and not page["upside_down"]
            for box in layout.pages[page["form_page"] - 1].boxes:
                ink = (_inner(img, rect_px(box), C.BOX_INNER_INSET_MM * 300 / 25.4) < 128).mean()
                if copy["answers"][box.item] == box.value:
                    assert ink > C.MARK_MIN_COVERAGE * 0.8, (box.item, box.value, ink)
                else:
                    assert ink < C.EMPTY_MAX_COVERAGE, (box.item, box.value, ink)
    assert all(c["text"] == "" for c in copy["comments"].values())


def test_degrade_keeps_paper_size_and_records_what_it_did(printed) -> None:  # type: ignore[no-untyped-def]
    page, _ = printed
    params = DegradeParams(upside_down_rate=1.0)
    d = degrade(page, np.random.default_rng(3), params, out_dpi=150, bitonal=True)
    assert d.upside_down and d.bitonal and d.dpi == 150
    assert d.image.shape == (round(page.shape[0] / 2), round(page.shape[1] / 2))
    assert set(np.unique(d.image)) <= {0, 255}
    # jpeg round trip keeps the recorded resolution
    buf = io.BytesIO()
    Image.fromarray(d.image).save(buf, "JPEG", dpi=(150, 150))
    assert Image.open(io.BytesIO(buf.getvalue())).info["dpi"][0] == 150


def test_a_practice_run_fills_the_copies_that_were_printed(tmp_path: Path) -> None:
    """`simulate --printed --db L` fills L's printed copies (as printed: style and all), writes nothing into L,
    and its returns, scanned into L, are exactly those copies coming back."""
    from pipeline.cli import main
    from pipeline.ledger.status import reconcile

    db = tmp_path / "practice.db"
    assert main(["generate", FORM, "--copies", "2", "-o", str(tmp_path / "a.pdf"), "--db", str(db)]) == 0
    assert main(["generate", FORM, "--copies", "1", "--large-print", "-o", str(tmp_path / "b.pdf"),
                 "--db", str(db)]) == 0
    with Ledger(db, readonly=True) as led:
        printed = {r[0]: r[1] for r in led.execute("SELECT serial, style FROM serials")}
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    assert main(["simulate", FORM, "--printed", "--db", str(db), "--seed", "4", "--blank-comments",
                 "--output-dir", str(tmp_path / "sim")]) == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # only read
    truth = json.loads((tmp_path / "sim" / "truth.json").read_text())
    assert {c["serial"]: c["style"] for c in truth["copies"]} == printed
    assert main(["scan", "-q", "--jobs", "1", "--db", str(db), str(tmp_path / "sim" / "scans")]) in (0, 1)
    with Ledger(db, readonly=True) as led:
        assert sorted(r[0] for r in led.execute("SELECT serial FROM serials")) == sorted(printed)  # none new
        returned = {r[0] for r in led.execute("SELECT DISTINCT serial FROM pages WHERE status = 'form'")}
    forms = reconcile(db)["forms"]
    assert returned == set(printed) and [(f["issued"], f["returned"], f["returned_not_issued"]) for f in forms] == [
        (3, 3, 0)], forms
    # nothing left out: a second practice run says so, and so does one without --db
    assert main(["simulate", FORM, "--printed", "--db", str(db), "--output-dir", str(tmp_path / "sim2")]) == 2
    assert main(["simulate", FORM, "--printed", "--output-dir", str(tmp_path / "sim3")]) == 2
