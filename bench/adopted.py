"""The adopted-forms bench: foreign forms PaperVoice did not print, adopted from their blanks and read.

    python -m bench.adopted            # synthetic foreign forms (+ the queXF real scans when present)

For each synthetic form (square boxes or bubbles, 3.5-6 mm, with and without corner marks): draw the blank,
`adopt` it, make the few edits a person would (set "choose any" where the form says "tick all that apply";
set the form's fill-to-cancel convention), then read filled-in returns (ticks, crosses, filled bubbles,
corrections; turned, upside down, stamped, some 1-bit) and score every box: right, flagged, or wrong
without a flag.  The queXF returns (real pens, real 1-bit scans) are scored beside them when
`../shared/real/quexf` is there.  Prints a table and rewrites the README between the adopted-bench markers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from bench.adopted_score import BoxScore, score_page
from bench.shared_data import quexf_dir
from pipeline.adopt.blank import adopt_blank
from pipeline.form.definition import Form, load_form_file
from pipeline.scan.reader import ReaderConfig, read_page
from pipeline.scan.results import PageSource
from pipeline.simulate.foreign import ForeignSpec, TruthQuestion, draw_blank, fill_return

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- adopted-bench:start -->", "<!-- adopted-bench:end -->"
SCAN_DPIS = (200.0, 150.0, 300.0)  # returns scanned at each in turn
SPECS = (
    ForeignSpec(1, "square", 5.0, 0.25, True, 2, False),
    ForeignSpec(2, "round", 4.5, 0.3, False, 2, False),
    ForeignSpec(3, "square", 3.5, 0.2, False, 1, True),
    ForeignSpec(4, "round", 3.6, 0.2, True, 1, False),
    ForeignSpec(5, "square", 4.0, 0.35, False, 2, True),
    ForeignSpec(6, "square", 6.0, 0.5, True, 1, False),
)


def real_root() -> Path | None:
    return quexf_dir()


def _nearest_question(form: Form, page: int, box: tuple[float, float, float, float]) -> tuple[str, int, float]:
    assert form.adopted is not None
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return min(((q.id, b.value, float(np.hypot(b.x + b.w / 2 - cx, b.y + b.h / 2 - cy)))
                for q in form.adopted.questions_on(page) for b in q.boxes), key=lambda t: t[2])


def edit_like_a_person(path: Path, truth: list[TruthQuestion], fill_to_cancel: bool) -> tuple[Form, int]:
    """Set each question's kind as the printed form says, and the convention; counts the edits made."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    form = load_form_file(path)
    edits = 0
    for tq in truth:
        qid, _, _ = _nearest_question(form, tq.page, tq.boxes[0])
        entry = next(q for q in doc["questions"] if q["id"] == qid)
        if entry["kind"] != tq.kind:
            entry["kind"] = tq.kind
            edits += 1
    cancel = doc["adopted"].get("filled_box") == "cancel" or bool(doc["adopted"].get("fill_to_cancel"))
    if cancel != fill_to_cancel:
        doc["adopted"]["filled_box"] = "cancel" if fill_to_cancel else "ask"
        doc["adopted"].pop("fill_to_cancel", None)
        edits += 1
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return load_form_file(path), edits


def grouping_right(form: Form, truth: list[TruthQuestion]) -> tuple[int, int]:
    """Questions whose boxes adopt put together exactly as drawn, out of all drawn."""
    right = 0
    for tq in truth:
        found = [_nearest_question(form, tq.page, b) for b in tq.boxes]
        ids = {f[0] for f in found}
        qid = found[0][0]
        assert form.adopted is not None
        q = next(q for q in form.adopted.questions if q.id == qid)
        if len(ids) == 1 and len(q.boxes) == len(tq.boxes) and all(f[2] < 3 for f in found) \
                and [f[1] for f in found] == list(range(1, len(tq.boxes) + 1)):
            right += 1
    return right, len(truth)


def _reset_reader_caches() -> None:
    """The reader caches the forms it knows; each synthetic form is added (and edited) as the bench goes."""
    from pipeline.scan import reader

    reader._registry.cache_clear()
    reader._adopted_forms.cache_clear()


def junk_pages() -> list[np.ndarray]:
    """Pages that are none of the forms: a covering letter, a form with other boxes, a photocopied notice."""
    from PIL import Image, ImageDraw

    from pipeline.simulate.foreign import _font

    out = []
    rng = np.random.default_rng(99)
    for n in range(4):
        page = Image.new("L", (1654, 2339), 255)
        draw = ImageDraw.Draw(page)
        font = _font(11)
        for line in range(30 + 5 * n):
            vocabulary = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"]
            words = " ".join(str(rng.choice(vocabulary)) for _ in range(int(rng.integers(4, 14))))
            draw.text((int(rng.integers(100, 200)), 150 + line * 60), words, fill=0, font=font)
        if n % 2:  # boxes of its own, in other places
            for _ in range(12):
                x, y = int(rng.integers(200, 1400)), int(rng.integers(200, 2100))
                draw.rectangle([x, y, x + 40, y + 40], outline=0, width=2)
        out.append(np.asarray(page.rotate(float(rng.uniform(-2, 2)), fillcolor=255)))
    return out


def run_synthetic(copies: int, work: Path) -> dict[str, Any]:
    total, pages, identified, edits_all = BoxScore(), 0, 0, []
    boxes_drawn = boxes_found = 0
    grouped = [0, 0]
    for spec in SPECS:
        blank, truth = draw_blank(spec)
        blank_path = work / f"blank-{spec.seed}.tif"
        blank[0].save(blank_path, save_all=True, append_images=blank[1:], dpi=(300, 300), compression="tiff_lzw")
        report = adopt_blank(blank_path, f"foreign-{spec.seed}", work / "forms", force=True)
        boxes_drawn += sum(len(q.boxes) for q in truth)
        boxes_found += report.boxes
        form, edits = edit_like_a_person(report.form_path, truth, spec.fill_to_cancel)
        g = grouping_right(form, truth)
        grouped[0] += g[0]
        grouped[1] += g[1]
        edits_all.append(edits)
        config = ReaderConfig((str(work / "forms"),), "none")
        mapping = {(tq.id, v + 1): _nearest_question(form, tq.page, b)[:2]
                   for tq in truth for v, b in enumerate(tq.boxes)}
        _reset_reader_caches()
        for c in range(copies):
            dpi = SCAN_DPIS[c % len(SCAN_DPIS)]
            images, states, _turns = fill_return(blank, truth, spec, seed=spec.seed * 1000 + c, dpi=dpi)
            for n, image in enumerate(images, start=1):
                result = read_page(image, dpi, PageSource(f"{spec.seed}-{c}", n - 1), config)
                pages += 1
                if result.identity is not None and result.identity.page == n:
                    identified += 1
                t = {mapping[k]: s for k, s in states.items() if k[0] in {q.id for q in truth if q.page == n}}
                assert form.adopted is not None
                total.add(score_page(result, form.adopted.questions_on(n), t, f"form {spec.seed} copy {c} p{n}"))
    junk = [read_page(page, 200.0, PageSource(f"junk-{n}", 0), config) for n, page in enumerate(junk_pages())]
    junk_rejected = sum(1 for r in junk if r.status != "form")
    return {"forms": len(SPECS), "pages": pages, "pages_identified": identified, "boxes_drawn": boxes_drawn,
            "junk_pages": len(junk), "junk_pages_rejected": junk_rejected,
            "boxes_found_on_blanks": boxes_found, "questions_grouped_right": grouped[0],
            "questions": grouped[1], "edits_per_form": edits_all, **total.as_dict()}


def run_quexf(work: Path) -> dict[str, Any] | None:
    root = real_root()
    if root is None:
        return None
    truth = json.loads((root / "truth.json").read_text())
    report = adopt_blank(root / "source_files" / "test_blank.pdf", "quexf-test", work / "forms", force=True)
    doc = yaml.safe_load(report.form_path.read_text())
    doc["adopted"]["filled_box"] = "cancel"  # the one edit: scribbled-over boxes are corrections
    report.form_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    form = load_form_file(report.form_path)
    assert form.adopted is not None
    _reset_reader_caches()
    mapping: dict[str, tuple[str, int]] = {}
    for pn, key in ((1, "test_blank-000"), (2, "test_blank-001")):
        for tb in truth["pages"][key]["boxes"]:
            x, y, w, h = tb["bbox"]
            qid, value, dist = _nearest_question(form, pn, (x * 72 / 300, y * 72 / 300, w * 72 / 300, h * 72 / 300))
            if dist < 8:
                mapping[tb["id"]] = (qid, value)
    blank_boxes = sum(len(truth["pages"][k]["boxes"]) for k in ("test_blank-000", "test_blank-001"))
    total, pages, identified = BoxScore(), 0, 0
    for key, page in truth["pages"].items():
        if "blank" in key:
            continue
        image = cv2.imread(str(root / page["file"]), cv2.IMREAD_GRAYSCALE)
        result = read_page(image, 300.0, PageSource(key, 0), ReaderConfig((str(work / "forms"),), "none"))
        pages += 1
        page_no = 1 if key.endswith("000") else 2
        identified += int(result.identity is not None and result.identity.page == page_no)
        t = {mapping[b["id"]]: b["state"] for b in page["boxes"] if b["id"] in mapping}
        total.add(score_page(result, form.adopted.questions_on(page_no), t, key))
    return {"boxes_on_blank": blank_boxes, "boxes_found_on_blank": report.boxes,
            "boxes_matched_to_truth": len(mapping), "questions": report.questions, "pages": pages,
            "pages_identified": identified, **total.as_dict()}


def table(syn: dict[str, Any], real: dict[str, Any] | None) -> str:
    def row(name: str, r: dict[str, Any]) -> str:
        return (f"| {name} | {r['pages_identified']}/{r['pages']} | {r['boxes']} | {r['right_pct']:.2f} % | "
                f"{r['flagged_pct']:.2f} % | {r['wrong']} ({r['wrong_pct']:.3f} %) |")

    lines = ["| Set | Pages identified | Boxes scored | Right, no flag | Flagged | Wrong, no flag |",
             "|---|---|---|---|---|---|",
             row(f"Synthetic foreign forms ({syn['forms']} forms, squares and bubbles 3.5-6 mm)", syn)]
    if real:
        lines.append(row("queXF real returns (3 copies, pen, 1-bit 300 dpi)", real))
    lines.append("")
    lines.append(f"Pages that are none of the forms (letters, other forms): {syn['junk_pages_rejected']} of "
                 f"{syn['junk_pages']} left for a person, none taken for a form.")
    lines.append("")
    lines.append(f"Blanks: {syn['boxes_found_on_blanks']} of {syn['boxes_drawn']} drawn boxes found; "
                 f"{syn['questions_grouped_right']} of {syn['questions']} questions grouped as drawn; YAML edits per "
                 f"form (kind, convention): {syn['edits_per_form']}."
                 + (f" queXF blank: {real['boxes_found_on_blank']} boxes found of {real['boxes_on_blank']}, in "
                    f"{real['questions']} questions; one edit (filled_box: cancel)." if real else ""))
    return "\n".join(lines)


def update_readme(text: str) -> bool:
    content = README.read_text(encoding="utf-8")
    if START not in content or END not in content:
        return False
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=12, help="returns per synthetic form")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pv-adopted-") as tmp:
        work = Path(tmp)
        syn = run_synthetic(args.copies, work)
        real = run_quexf(work)
        from bench.adopted_kinds import kinds_table, run_kinds

        kinds = run_kinds(work, args.copies)
        from bench.adopted_amc import amc_row, run_amc, speed_line

        (work / "amc-kind").mkdir()
        amc = run_amc(work / "amc-kind")  # AMC's own exams, and AMC's own reader timed on the same scans
    text = (table(syn, real) + "\n\nBy kind, read through `scan` as a user would (copies grouped by the "
            "scanner):\n\n" + kinds_table(kinds) + "\n" + amc_row(amc) + "\n\n" + speed_line(amc))
    print(text)
    print(json.dumps({"synthetic": syn, "quexf": real, "kinds": kinds, "amc_exam": amc}, indent=1), file=sys.stderr)
    if not args.no_readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
