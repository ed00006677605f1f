"""The kinds of adopted returns the new-user trial met, each scored right / flagged / wrong without a flag.

- letters in boxes: an exam answer sheet built by auto-multiple-choice (AMC, Debian's package) with its
  A B C D printed inside the boxes, filled in with the simulator's pens and scanned (skipped without AMC);
- bubbles: round answer boxes with nothing inside, filled in;
- shuffled copies: two-page questionnaires with a code per copy (as SDAPS and queXF stamp one), the pages of
  several copies shuffled in one file;
- one file per page: a scanner that writes each page as its own image file, pages in order;
- sheets fed back side first: one file in scan order, some two-page sheets turned over (back before front).

The stacks go through `scan` as a user would (so copies are grouped by the coordinator), and every box is
scored from the ledger; a ledger copy holding pages of two returns with any answer not flagged counts as a
silent join.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from bench.adopted import _nearest_question, _reset_reader_caches, edit_like_a_person
from bench.adopted_score import BoxScore, score_page
from pipeline.adopt.blank import adopt_blank
from pipeline.form.definition import load_form_file
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.scan.results import ItemReading, PageResult, PageSource
from pipeline.simulate.foreign import ForeignSpec, draw_blank, fill_return
from pipeline.simulate.marks import draw_mark
from pipeline.simulate.scanning import degrade
from pipeline.simulate.world import PENS, DegradeParams

AMC_SHEET = r"""\documentclass[a4paper]{article}
\usepackage[utf8x]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[box,insidebox,separateanswersheet]{automultiplechoice}
\begin{document}
%s
\onecopy{1}{
\insertgroup{g}
\AMCcleardoublepage
\AMCformBegin
{\bf Answer sheet}\hfill \namefield{Name: \rule{6cm}{0.2pt}}\par
\vspace{3mm}
\AMCform
}
\end{document}
"""


def _amc_questions(n: int, rng: np.random.Generator) -> str:
    out = []
    for q in range(n):
        k = int(rng.integers(3, 6))
        choices = "".join(("\\correctchoice" if c == 0 else "\\wrongchoice") + f"{{choice {c}}}" for c in range(k))
        out.append(f"\\element{{g}}{{\\begin{{question}}{{q{q}}}Question {q}?\\begin{{choices}}{choices}"
                   "\\end{choices}\\end{question}}")
    return "\n".join(out)


def amc_blank(work: Path, questions: int = 24) -> Path | None:
    """The answer sheet page of an AMC exam as a PDF (vector, as AMC prints it), or None without AMC."""
    if shutil.which("auto-multiple-choice") is None:
        return None
    project = work / "amc"
    (project / "data").mkdir(parents=True, exist_ok=True)
    (project / "sheet.tex").write_text(AMC_SHEET % _amc_questions(questions, np.random.default_rng(4)))
    done = subprocess.run(["auto-multiple-choice", "prepare", "--mode", "s", "--prefix", str(project),
                           "--data", str(project / "data"), "--out-sujet", str(project / "sheet.pdf"),
                           "--out-corrige", str(project / "c.pdf"), "--out-catalog", str(project / "k.pdf"),
                           str(project / "sheet.tex")], capture_output=True, text=True, timeout=600, cwd=project)
    if done.returncode != 0:
        return None
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(project / "sheet.pdf")], capture_output=True, text=True).stdout.splitlines()
        if line.startswith("Pages:")))
    out = work / "amc-answer-sheet.pdf"
    subprocess.run(["pdfseparate", "-f", str(pages), "-l", str(pages), str(project / "sheet.pdf"), str(out)],
                   check=True)
    return out


def _ledger_score(db: Path, truth_of: dict[tuple[str, int], tuple[int, int]],
                  truths: dict[int, dict[int, dict[tuple[str, int], str]]], form_path: Path) -> dict[str, Any]:
    """Score every box from the ledger.  `truth_of` maps (file name, page index) to (copy, form page);
    `truths[copy][page]` maps (question id, value) to the box's true state."""
    form = load_form_file(form_path)
    assert form.adopted is not None
    con = sqlite3.connect(db)
    pages = con.execute("SELECT p.id, f.path, p.page_index, p.serial, p.form_page, p.status FROM pages p JOIN "
                        "files f ON f.id = p.file_id").fetchall()
    total = BoxScore()
    members: dict[str, list[tuple[int, int]]] = {}
    identified = 0
    for page_id, path, index, serial, form_page, status in pages:
        copy, true_page = truth_of[(Path(path).name, index)]
        if status != "form":  # left for a person (not recognised): every box it has goes to review
            items = [ItemReading(q.item_of(b), None, "flagged", "uncertain", "", 0.0)
                     for q in form.adopted.questions_on(true_page) for b in q.boxes]
            total.add(score_page(PageResult(PageSource(path, index), "form", items=items),
                                 form.adopted.questions_on(true_page), truths[copy][true_page], f"{path}:{index}"))
            continue
        members.setdefault(serial, []).append((page_id, copy))
        items = [ItemReading(i, v, s, r, "", 0.9) for i, v, s, r in con.execute(
            "SELECT item, value, state, reason FROM answers WHERE page_id = ?", (page_id,))]
        result = PageResult(PageSource(path, index), "form", items=items)
        if form_page != true_page:  # read as the wrong page: every box it has is scored against nothing
            total.add(score_page(result, form.adopted.questions_on(form_page), {}, f"{path}:{index}"))
            continue
        identified += 1
        total.add(score_page(result, form.adopted.questions_on(true_page), truths[copy][true_page],
                             f"{path}:{index}"))
    joined_silently = 0
    for group in members.values():
        if len({c for _, c in group}) > 1:
            unflagged = con.execute(
                f"SELECT COUNT(*) FROM answers WHERE state != 'flagged' AND page_id IN "
                f"({','.join(str(p) for p, _ in group)})").fetchone()[0]
            joined_silently += int(unflagged > 0)
    returns = len({c for c, _ in truth_of.values()})
    return {"pages": len(truth_of), "pages_identified": identified, "copies_in_ledger": len(members),
            "returns": returns, "silent_joins": joined_silently, **total.as_dict()}


def _adopt_two_page(work: Path, spec: ForeignSpec, name: str) -> tuple[Path, list[Image.Image], list[Any], dict]:
    blank, truth = draw_blank(spec)
    forms = work / f"forms-{name}"
    path = work / f"{name}-blank.tif"
    blank[0].save(path, save_all=True, append_images=blank[1:], dpi=(300, 300), compression="tiff_lzw")
    report = adopt_blank(path, name, forms, force=True)
    form, _ = edit_like_a_person(report.form_path, truth, spec.fill_to_cancel)
    mapping = {(tq.id, v + 1): _nearest_question(form, tq.page, b)[:2] for tq in truth for v, b in enumerate(tq.boxes)}
    return forms, blank, truth, mapping


def _scan(inputs: list[Path], db: Path, forms: Path) -> None:
    _reset_reader_caches()
    scan(inputs, ScanOptions(db=db, jobs=1, quiet=True, forms_dirs=(forms,), ocr="none"))


STACKS = ("shuffled copies (a code per copy)", "one file per page", "sheets fed back side first")


def run_stacks(work: Path, copies: int, kinds: tuple[str, ...] = STACKS) -> dict[str, dict[str, Any]]:
    """Shuffled coded copies, one file per page, and sheets fed back side first (those of `kinds`): through
    `scan`, all of one two-page form adopted once."""
    out: dict[str, dict[str, Any]] = {}
    spec = ForeignSpec(61, "square", 5.0, 0.25, True, 2)
    forms, blank, truth, mapping = _adopt_two_page(work, spec, "stack-form")
    form_path = forms / "stack-form.yaml"
    rng = np.random.default_rng(5)
    for kind in kinds:
        coded = kind.startswith("shuffled")
        made = []
        truths: dict[int, dict[int, dict[tuple[str, int], str]]] = {}
        for c in range(copies):
            images, states, _ = fill_return(blank, truth, spec, seed=6000 + c, dpi=200.0, one_sheet=True,
                                            sheet_code=f"SURVEY-7-Q{c:05d}" if coded else "")
            made.append(images)
            truths[c] = {n: {mapping[k]: s for k, s in states.items() if any(q.id == k[0] and q.page == n
                                                                           for q in truth)} for n in (1, 2)}
        order = [(c, p) for c in range(copies) for p in (0, 1)]
        if coded:
            rng.shuffle(order)  # type: ignore[arg-type]
        elif kind.startswith("sheets"):
            order = [(c, p) for c in range(copies) for p in ((1, 0) if c % 3 == 1 else (0, 1))]
        folder = work / kind.split()[0]
        folder.mkdir()
        truth_of: dict[tuple[str, int], tuple[int, int]] = {}
        if kind == "one file per page":
            inputs = []
            for n, (c, p) in enumerate(order, start=1):
                name = f"scan{n:04d}.png"
                Image.fromarray(made[c][p]).save(folder / name, dpi=(200, 200))
                truth_of[(name, 0)] = (c, p + 1)
                inputs.append(folder / name)
            inputs = [folder]
        else:
            pages = [Image.fromarray(made[c][p]) for c, p in order]
            pages[0].save(folder / "stack.pdf", save_all=True, append_images=pages[1:], resolution=200)
            truth_of = {("stack.pdf", n): (c, p + 1) for n, (c, p) in enumerate(order)}
            inputs = [folder / "stack.pdf"]
        db = work / f"{folder.name}.db"
        _scan(inputs, db, forms)
        out[kind] = _ledger_score(db, truth_of, truths, form_path)
    return out


def run_letters_in_boxes(work: Path, copies: int) -> dict[str, Any] | None:
    """AMC's answer sheet (letters inside 3.5 mm boxes), filled as people do and scanned, page by page."""
    pdf = amc_blank(work)
    if pdf is None:
        return None
    report = adopt_blank(pdf, "amc-exam", work / "forms-amc", force=True)
    doc = yaml.safe_load(report.form_path.read_text())
    doc["adopted"]["filled_box"] = "answer"  # the one edit the README asks for on an exam sheet
    report.form_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    form = load_form_file(report.form_path)
    assert form.adopted is not None
    from pipeline.scan.loading import decode_page, open_pages

    _, jobs = open_pages(pdf)
    blank, dpi = decode_page(next(jobs))
    assert abs(dpi - 300) < 1
    rng = np.random.default_rng(11)
    params = DegradeParams()
    pens = [p for _, p in PENS]
    total = BoxScore()
    identified = 0
    from pipeline.scan.reader import ReaderConfig, read_page

    config = ReaderConfig((str(work / "forms-amc"),), "none")
    _reset_reader_caches()
    questions = [q for q in form.adopted.questions if len(q.boxes) >= 3]
    for c in range(copies):
        page = blank.copy()
        states: dict[tuple[str, int], str] = {}
        pen = pens[int(rng.integers(len(pens)))]
        for q in form.adopted.questions:
            choice = int(rng.integers(len(q.boxes))) if q in questions and rng.random() < 0.92 else -1
            for i, b in enumerate(q.boxes):
                states[(q.id, b.value)] = "marked" if i == choice else "empty"
                if i == choice:
                    k = 300 / 72
                    kind = str(rng.choice(["cross", "tick", "fill", "cross"]))
                    draw_mark(page, (b.x * k, b.y * k, b.w * k, b.h * k), kind, rng, pen, dpi=300)
            if q not in questions:
                for b in q.boxes:
                    states[(q.id, b.value)] = "ambiguous"  # a stray box adopt proposed: not scored
        d = degrade(page, rng, params, src_dpi=300, out_dpi=int(rng.choice([150, 200, 300])))
        result = read_page(d.image, float(d.dpi), PageSource(f"amc-{c}", 0), config)
        identified += int(result.identity is not None and result.identity.page == 1)
        total.add(score_page(result, form.adopted.questions, states, f"amc copy {c}"))
    return {"pages": copies, "pages_identified": identified, "boxes_found_on_blank": report.boxes,
            "questions": report.questions, **total.as_dict()}


def run_bubbles(work: Path, copies: int) -> dict[str, Any]:
    spec = ForeignSpec(62, "round", 4.5, 0.3, False, 1)
    forms, blank, truth, mapping = _adopt_two_page(work, spec, "bubble-form")
    form = load_form_file(forms / "bubble-form.yaml")
    assert form.adopted is not None
    from pipeline.scan.reader import ReaderConfig, read_page

    config = ReaderConfig((str(forms),), "none")
    _reset_reader_caches()
    total = BoxScore()
    identified = 0
    for c in range(copies):
        images, states, _ = fill_return(blank, truth, spec, seed=7000 + c, dpi=200.0)
        result = read_page(images[0], 200.0, PageSource(f"bubble-{c}", 0), config)
        identified += int(result.identity is not None and result.identity.page == 1)
        total.add(score_page(result, form.adopted.questions_on(1), {mapping[k]: s for k, s in states.items()},
                             f"bubbles copy {c}"))
    return {"pages": copies, "pages_identified": identified, **total.as_dict()}


def run_sdaps(work: Path, copies: int, seeds: tuple[int, ...] | None = None) -> dict[str, dict[str, Any]]:
    """SDAPS-like questionnaires (18 questions, two sheets printed both sides, a code128 questionnaire id per
    copy), on held-out seeds: adopted with no edit but the README's (kind, filled_box), grouping scored
    against the print, then `copies` returns scanned 300 dpi 1-bit (some sheets upside down, some fed back
    side first) read through `scan` as one image file per page and as one multi-page TIFF in scan order."""
    from bench.adopted import grouping_right
    from bench.sdaps_like import HELD_OUT_SEEDS, fill, questionnaire, scan_stack
    from pipeline.ledger.check import check_ledger

    out: dict[str, dict[str, Any]] = {}
    grouped, edits, checks_failed = [0, 0], [], 0
    scores: dict[str, list[dict[str, Any]]] = {"one image file per page": [], "one multi-page TIFF": []}
    for seed in seeds or HELD_OUT_SEEDS:
        q = questionnaire(seed)
        forms = work / f"forms-sdaps-{seed}"
        path = work / f"sdaps-{seed}-blank.tif"
        q.pages[0].save(path, save_all=True, append_images=q.pages[1:], dpi=(300, 300), compression="tiff_lzw")
        report = adopt_blank(path, f"sdaps-{seed}", forms, force=True)
        g = grouping_right(load_form_file(report.form_path), q.truth)
        grouped[0] += g[0]
        grouped[1] += g[1]
        form, n_edits = edit_like_a_person(report.form_path, q.truth, True)
        edits.append(n_edits)
        mapping = {(tq.id, v + 1): _nearest_question(form, tq.page, b)[:2]
                   for tq in q.truth for v, b in enumerate(tq.boxes)}
        made, truths = [], {}
        for c in range(copies):
            pages, states = fill(q, seed * 1000 + c, f"{seed}{c:05d}")
            made.append(pages)
            truths[c] = {n: {mapping[k]: s for k, s in states.items()
                             if next(t for t in q.truth if t.id == k[0]).page == n} for n in range(1, 5)}
        stack = scan_stack(made, seed)
        for kind in scores:
            folder = work / f"sdaps-{seed}-{kind.split()[1]}"
            folder.mkdir()
            if kind.startswith("one image"):
                truth_of = {}
                for n, (c, p, image) in enumerate(stack, start=1):
                    name = f"scan{n:04d}.tif"
                    Image.fromarray(image).convert("1").save(folder / name, dpi=(300, 300), compression="group4")
                    truth_of[(name, 0)] = (c, p)
            else:
                images = [Image.fromarray(image).convert("1") for _, _, image in stack]
                images[0].save(folder / "stack.tif", save_all=True, append_images=images[1:], dpi=(300, 300),
                               compression="group4")
                truth_of = {("stack.tif", n): (c, p) for n, (c, p, _) in enumerate(stack)}
            db = work / f"sdaps-{seed}-{kind.split()[1]}.db"
            _scan([folder], db, forms)
            scores[kind].append(_ledger_score(db, truth_of, truths, report.form_path))
            checks_failed += int(bool(check_ledger(str(db))))
    for kind, runs in scores.items():
        total = BoxScore()
        for r in runs:
            total.right += r["right"]
            total.flagged += r["flagged"]
            total.wrong += r["wrong"]
            total.wrong_cases += r["wrong_cases"]
        out[f"SDAPS-like questionnaire, {kind}"] = {
            "pages": sum(r["pages"] for r in runs), "pages_identified": sum(r["pages_identified"] for r in runs),
            "copies_in_ledger": sum(r["copies_in_ledger"] for r in runs), "returns": sum(r["returns"] for r in runs),
            "silent_joins": sum(r["silent_joins"] for r in runs), "grouped": grouped[0], "questions": grouped[1],
            "edits_per_form": edits, "check_failed": checks_failed, **total.as_dict()}
    return out
