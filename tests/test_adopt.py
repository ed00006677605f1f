"""Adopted forms: a paper form PaperVoice did not print, measured from its blank, its returns scanned.

Fixtures are drawn in code (`simulate.foreign`): squares and bubbles, small boxes, no corner marks, 1-bit
scans, pages upside down.  The real queXF scans are used when `../shared/real` is there (skipped otherwise).
These are about reading pictures (and cost most of the suite's time): they run on SQLite; the ledger's part
of adoption (kept pages read again by `scan --retry`) runs on both backends.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml
from conftest import NewLedger
from PIL import Image

from bench.adopted import SPECS, _nearest_question, edit_like_a_person, real_root
from bench.adopted_score import BoxScore, score_page
from bench.shared_data import where_looked
from pipeline.adopt.blank import adopt_blank
from pipeline.adopt.copies import group_copies
from pipeline.errors import FormDefinitionError, UsageError
from pipeline.form.definition import load_form_file, parse_form
from pipeline.scan.reader import ReaderConfig, read_page
from pipeline.scan.results import PageSource
from pipeline.simulate.foreign import ForeignSpec, draw_blank, fill_return


def papervoice(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def _save_blank(pages: list[Image.Image], path: Path) -> Path:
    pages[0].save(path, save_all=True, append_images=pages[1:], dpi=(300, 300), compression="tiff_lzw")
    return path


@pytest.mark.parametrize("spec", [ForeignSpec(11, "round", 3.6, 0.2, False, 1),
                                  ForeignSpec(12, "square", 3.5, 0.2, True, 1, fill_to_cancel=True),
                                  ForeignSpec(13, "square", 6.0, 0.5, False, 1)], ids=["bubbles", "small", "heavy"])
def test_adopt_finds_every_box_and_groups_questions(tmp_path: Path, spec: ForeignSpec) -> None:
    blank, truth = draw_blank(spec)
    report = adopt_blank(_save_blank(blank, tmp_path / "blank.tif"), "foreign", tmp_path / "forms")
    form = load_form_file(report.form_path)
    assert form.adopted is not None
    drawn = [b for q in truth for b in q.boxes]
    assert report.boxes == len(drawn)  # no false boxes
    assert report.fields == 1  # the comments area: a frame (odd seeds) or writing lines (even seeds)
    for box in drawn:  # and every box found where it was drawn
        assert _nearest_question(form, 1, box)[2] < 2.0
    for tq in truth:  # each drawn question is one proposed question, valued 1..n in order
        found = [_nearest_question(form, 1, b)[:2] for b in tq.boxes]
        assert len({qid for qid, _ in found}) == 1 and [v for _, v in found] == list(range(1, len(found) + 1))
    shapes = {b.shape for q in form.adopted.questions for b in q.boxes}
    assert shapes == {spec.shape}
    assert all(p.exists() for p in report.previews)


@pytest.mark.slow
def test_adopted_returns_read_right_or_flagged(tmp_path: Path) -> None:
    """Several synthetic forms, returns turned every way, some 1-bit: no box wrong without a flag."""
    total = BoxScore()
    for spec in SPECS[:3]:
        blank, truth = draw_blank(spec)
        forms = tmp_path / f"forms-{spec.seed}"
        report = adopt_blank(_save_blank(blank, tmp_path / f"blank-{spec.seed}.tif"), f"foreign-{spec.seed}", forms)
        form, _ = edit_like_a_person(report.form_path, truth, spec.fill_to_cancel)
        assert form.adopted is not None
        mapping = {(tq.id, v + 1): _nearest_question(form, tq.page, b)[:2]
                   for tq in truth for v, b in enumerate(tq.boxes)}
        config = ReaderConfig((str(forms),), "none")
        images, states, turns = fill_return(blank, truth, spec, seed=spec.seed * 7 + 1)
        for n, image in enumerate(images, start=1):
            result = read_page(image, 200.0, PageSource("x", n - 1), config)
            assert result.status == "form" and result.identity is not None, result.reason
            assert result.identity.page == n
            assert round(result.rotation_deg) % 360 == 90 * turns[n - 1]
            on_page = {q.id for q in truth if q.page == n}
            total.add(score_page(result, form.adopted.questions_on(n),
                                 {mapping[k]: s for k, s in states.items() if k[0] in on_page}))
    assert total.wrong == 0, total.wrong_cases
    assert total.right >= 0.9 * total.total


def test_unusable_blank_is_refused_with_advice(tmp_path: Path) -> None:
    page = Image.new("L", (2480, 3508), 255)
    page.save(tmp_path / "empty.png", dpi=(300, 300))
    with pytest.raises(UsageError) as err:
        adopt_blank(tmp_path / "empty.png", "nothing-here", tmp_path / "forms")
    assert err.value.advice
    assert not (tmp_path / "forms" / "nothing-here.yaml").exists()
    coarse = page.resize((620, 877))
    coarse.save(tmp_path / "coarse.png", dpi=(75, 75))
    with pytest.raises(UsageError, match="too coarse"):
        adopt_blank(tmp_path / "coarse.png", "coarse", tmp_path / "forms")


def test_form_file_mistakes_name_the_field(tmp_path: Path) -> None:
    blank, _ = draw_blank(ForeignSpec(21, pages=1))
    report = adopt_blank(_save_blank(blank, tmp_path / "b.tif"), "checked", tmp_path)
    doc = yaml.safe_load(report.form_path.read_text())
    doc["questions"][0]["kind"] = "several"
    with pytest.raises(FormDefinitionError, match=r"questions\[0\]\.kind"):
        parse_form(doc, "checked.yaml")
    doc["questions"][0]["kind"] = "one"
    doc["questions"][0]["boxes"] = doc["questions"][0]["boxes"][:1]
    with pytest.raises(FormDefinitionError, match="single box"):
        parse_form(doc, "checked.yaml")


def test_copies_are_grouped_by_page_order_and_doubts_flagged(tmp_path: Path) -> None:
    spec = ForeignSpec(31, "square", 5.0, 0.25, False, 2)
    blank, truth = draw_blank(spec)
    forms = tmp_path / "forms"
    report = adopt_blank(_save_blank(blank, tmp_path / "b.tif"), "two-pages", forms)
    edit_like_a_person(report.form_path, truth, False)
    config = ReaderConfig((str(forms),), "none")
    a, _, _ = fill_return(blank, truth, spec, seed=1, one_sheet=True)
    b, _, _ = fill_return(blank, truth, spec, seed=2, one_sheet=True)
    # copy a complete; then copy b's second page alone (its first page lost)
    results = [read_page(img, 200.0, PageSource("f", i), config) for i, img in enumerate([a[0], a[1], b[1]])]
    copies = group_copies(results)
    assert [c.members for c in copies] == [[0, 1], [2]]
    assert copies[0].doubt == "" and "starts on page 2" in copies[1].doubt
    # a person assigns the lone page in review: it is read against that page's blank, under the given copy
    given = replace(results[2].identity, serial="000007X")
    assigned = read_page(b[1], 200.0, PageSource("f", 2), config, identity=given)
    assert assigned.status == "form" and assigned.identity == given
    assert [i.value for i in assigned.items] == [i.value for i in results[2].items]


@pytest.mark.slow
def test_adopt_scan_export_through_the_command_line(tmp_path: Path) -> None:
    """adopt -> edit -> scan a multi-page TIFF of two copies -> export: serials given, 'choose any' as 1/0."""
    spec = ForeignSpec(41, "square", 5.0, 0.25, True, 2, fill_to_cancel=False)
    blank, truth = draw_blank(spec)
    forms = tmp_path / "forms"
    made = papervoice("adopt", _save_blank(blank, tmp_path / "blank.tif"), "--id", "club-survey", "--forms-dir", forms)
    assert made.returncode == 0, made.stderr
    assert "answer boxes" in made.stderr and "check" in made.stderr
    form, _ = edit_like_a_person(forms / "club-survey.yaml", truth, False)
    assert form.adopted is not None
    layout = json.loads(papervoice("layout", "club-survey", "--json", "--forms-dir", forms).stdout)
    assert len(layout["pages"]) == 2
    boxes = [b for p in layout["pages"] for b in p["boxes"]]
    assert len(boxes) == sum(len(q.boxes) for q in truth)
    assert all({"item", "value", "x", "y", "w", "h"} <= set(b) for b in boxes)
    refused = papervoice("generate", "club-survey", "-o", tmp_path / "x.pdf", "--forms-dir", forms, "--db",
                         tmp_path / "g.db")
    assert refused.returncode == 2 and "adopted form" in refused.stderr and not (tmp_path / "x.pdf").exists()

    pages, states_by_copy = [], []
    for seed in (5, 6):
        images, states, _ = fill_return(blank, truth, spec, seed=seed, one_sheet=True)
        pages += [Image.fromarray(i) for i in images]
        states_by_copy.append(states)
    scans = tmp_path / "scans"
    scans.mkdir()
    pages[0].save(scans / "batch.tif", save_all=True, append_images=pages[1:], dpi=(200, 200))
    db = tmp_path / "survey.db"
    read = papervoice("scan", scans, "--db", db, "--forms-dir", forms, "--jobs", "1", "--ocr", "none", "-q", "--json")
    assert read.returncode == 0, read.stderr
    summary = json.loads(read.stdout)
    assert summary["pages_by_status"] == {"form": 4} and summary["copies_read"] == 2
    again = json.loads(papervoice("scan", scans, "--db", db, "--forms-dir", forms, "--jobs", "1", "--ocr", "none",
                                  "-q", "--json").stdout)
    assert again["files_already_in_ledger"] == 1 and again["pages"] == 0
    out = tmp_path / "results.xlsx"
    exported = papervoice("export", "-o", out, "--db", db, "--forms-dir", forms)
    assert exported.returncode == 0, exported.stderr
    wb = openpyxl.load_workbook(out)
    sheet = next(wb[n] for n in wb.sheetnames if n.startswith("Responses"))
    rows = list(sheet.iter_rows(values_only=True))
    head = list(rows[0])
    assert len(rows) == 3 and len({r[head.index("Serial")] for r in rows[1:]}) == 2
    any_questions = [q for q in form.adopted.questions if q.kind == "any"]
    for q in any_questions:
        for b in q.boxes:
            column = f"{q.id}_{b.value}"
            assert column in head
            assert {r[head.index(column)] for r in rows[1:]} <= {0, 1, None}
    codebook = "\n".join(str(c) for ws in wb.worksheets if "ode" in ws.title for row in ws.iter_rows(values_only=True)
                         for c in row if c)
    assert form.adopted.questions[0].text in codebook


@pytest.mark.realdata
@pytest.mark.skipif(real_root() is None, reason=f"queXF's real scans are not there: looked in {where_looked()}")
def test_quexf_real_returns(tmp_path: Path) -> None:
    root = real_root()
    assert root is not None
    report = adopt_blank(root / "source_files" / "test_blank.pdf", "quexf-test", tmp_path)
    assert report.boxes == 24 and report.questions == 8
    doc = yaml.safe_load(report.form_path.read_text())
    doc["adopted"]["fill_to_cancel"] = True
    report.form_path.write_text(yaml.safe_dump(doc))
    form = load_form_file(report.form_path)
    assert form.adopted is not None
    truth = json.loads((root / "truth.json").read_text())
    mapping = {}
    for pn, key in ((1, "test_blank-000"), (2, "test_blank-001")):
        for tb in truth["pages"][key]["boxes"]:
            x, y, w, h = (v * 72 / 300 for v in tb["bbox"])
            mapping[tb["id"]] = _nearest_question(form, pn, (x, y, w, h))[:2]
    total = BoxScore()
    config = ReaderConfig((str(tmp_path),), "none")
    for key, page in truth["pages"].items():
        if "blank" in key:
            continue
        image = np.asarray(Image.open(root / page["file"]).convert("L"))
        result = read_page(image, 300.0, PageSource(key, 0), config)
        page_no = 1 if key.endswith("000") else 2
        assert result.identity is not None and result.identity.page == page_no
        total.add(score_page(result, form.adopted.questions_on(page_no),
                             {mapping[b["id"]]: b["state"] for b in page["boxes"]}))
    assert total.total == 72 and total.wrong == 0, total.wrong_cases


def test_a_return_scanned_before_its_form_was_given_is_read_on_retry(tmp_path: Path, new_ledger: NewLedger) -> None:
    """Scanned without --forms-dir, an adopted form's return is kept as 'not recognised'; `scan --retry` with the
    folder reads it in place.  A byte-identical copy of a file in the same batch is read once and named."""
    spec = ForeignSpec(42, "square", 5.0, 0.25, True, 1)
    blank, truth = draw_blank(spec)
    forms = tmp_path / "forms"
    assert papervoice("adopt", _save_blank(blank, tmp_path / "blank.tif"), "--id", "late-form", "--forms-dir",
                      forms).returncode == 0
    edit_like_a_person(forms / "late-form.yaml", truth, False)
    images, _, _ = fill_return(blank, truth, spec, seed=7)
    scans = tmp_path / "scans"
    scans.mkdir()
    Image.fromarray(images[0]).save(scans / "a.png", dpi=(200, 200))
    (scans / "b-copy.png").write_bytes((scans / "a.png").read_bytes())
    db = new_ledger("survey")  # the kept page and --retry: the ledger's part, on both backends
    first = papervoice("scan", scans, "--db", db, "--jobs", "1", "--ocr", "none", "--json")
    summary = json.loads(first.stdout)
    assert summary["pages_by_status"] == {"not_form": 1} and summary["files_repeated"] == 1
    assert "b-copy.png: the same file as" in first.stderr
    retry = papervoice("scan", "--retry", "--db", db, "--forms-dir", forms, "--jobs", "1", "--ocr", "none", "-q",
                       "--json")
    assert retry.returncode == 0, retry.stderr
    again = json.loads(retry.stdout)
    assert again["pages_reread"] == 1 and again["copies_read"] == 1
    check = papervoice("check", "--db", db)
    assert check.returncode == 0, check.stdout + check.stderr
