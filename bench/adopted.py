"""The adopted-forms bench: foreign forms PaperVoice did not print, adopted from their blanks and read.

    python -m bench.adopted                      # every kind; rewrites the README's adopted-bench block
    python -m bench.adopted --only amc           # re-measure one kind (or several: --only amc,sdaps); the
                                                 # README keeps the other kinds' rows and notes as they were
    python -m bench.adopted --quick --no-readme  # fewer returns: a quick look, never written to the README

For each synthetic form (square boxes or bubbles, 3.5-6 mm, with and without corner marks): draw the blank,
`adopt` it, make the few edits a person would (set "choose any" where the form says "tick all that apply";
set the form's fill-to-cancel convention), then read filled-in returns (ticks, crosses, filled bubbles,
corrections; turned, upside down, stamped, some 1-bit) and score every box: right, flagged, or wrong
without a flag.  Then the kinds a new user met (bench/adopted_kinds.py, bench/sdaps_like.py,
bench/adopted_amc.py): the queXF real returns (when `../shared/real/quexf` is there), letters in boxes,
bubbles, shuffled copies, one file per page, sheets fed back side first, SDAPS-like questionnaires and an
exam made by auto-multiple-choice, timed against AMC's own reader (both skipped, saying so, without AMC).
Prints one table and its notes, writes them between the README's adopted-bench markers, and keeps each
kind's figures (and the seconds it took) in bench/results/adopted.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Kind:
    """One kind the bench measures: its `--only` name, the fixed start of its table rows and notes (how `--only`
    finds the lines it replaces in the README), and how it is measured and shown."""

    name: str
    label: str  # every table row of this kind starts with it
    notes: tuple[str, ...]  # every note line of this kind starts with one of these


KINDS = (
    Kind("synthetic", "Synthetic foreign forms", ("Pages that are none of the forms", "Synthetic blanks:")),
    Kind("quexf", "queXF real returns", ("queXF blank:",)),
    Kind("letters", "Letters in boxes", ("Letters in boxes blank:",)),
    Kind("bubbles", "Bubbles", ()),
    Kind("shuffled", "Shuffled copies", ()),
    Kind("per-page", "One file per page", ()),
    Kind("back-first", "Sheets fed back side first", ()),
    Kind("sdaps", "SDAPS-like questionnaire", ("SDAPS-like blanks",)),
    Kind("amc", "AMC exam", ("Speed on the AMC exam", "Speed against AMC")),
)
KIND_NAMES = tuple(k.name for k in KINDS)
HEADER = ("| Set | Read | Pages identified | Boxes scored | Right, no flag | Flagged | Wrong, no flag "
          "| Copies joining two returns, unflagged |")
RULE = "|---|---|---|---|---|---|---|---|"
PAGE_BY_PAGE, THROUGH_SCAN = "page by page", "`scan`"
AMC_MISSING = "not run (auto-multiple-choice not installed)"
STACK_KINDS = {"shuffled": "shuffled copies (a code per copy)", "per-page": "one file per page",
               "back-first": "sheets fed back side first"}
RESULTS = ROOT / "bench" / "results" / "adopted.json"


def _row(label: str, read: str, r: dict[str, Any] | None) -> str:
    if r is None:
        return f"| {label} | {read} | {AMC_MISSING} | | | | | |"
    joins = (f"{r['silent_joins']} ({r['copies_in_ledger']} copies for {r['returns']} returns)"
             if "silent_joins" in r else "-")
    return (f"| {label} | {read} | {r['pages_identified']}/{r['pages']} | {r['boxes']} | {r['right_pct']:.2f} % | "
            f"{r['flagged_pct']:.2f} % | {r['wrong']} ({r['wrong_pct']:.3f} %) | {joins} |")


def measure(kind: str, work: Path, copies: int, quick: bool = False) -> dict[str, Any]:
    """Run one kind in `work` (a fresh folder); its figures as stored in bench/results/adopted.json."""
    from bench import adopted_kinds as k

    if kind == "synthetic":
        return run_synthetic(copies, work)
    if kind == "quexf":
        return {"quexf": run_quexf(work)}
    if kind == "letters":
        return {"letters": k.run_letters_in_boxes(work, copies)}
    if kind == "bubbles":
        return k.run_bubbles(work, copies)
    if kind in STACK_KINDS:
        return k.run_stacks(work, max(4, copies // 2), (STACK_KINDS[kind],))[STACK_KINDS[kind]]
    if kind == "sdaps":
        from bench.sdaps_like import HELD_OUT_SEEDS

        # 5 questionnaires of 2 sheets each per seed: the 10 sheets of the real trial
        return {"runs": k.run_sdaps(work, 2 if quick else 5, HELD_OUT_SEEDS[:1] if quick else None)}
    if kind == "amc":
        from bench.adopted_amc import run_amc

        return {"amc": run_amc(work, 2 if quick else 4, 1 if quick else 2, 1 if quick else 3)}
    raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KIND_NAMES)}")


def render(kind: str, r: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The table rows and the note lines of one kind's figures."""
    if kind == "synthetic":
        return ([_row(f"Synthetic foreign forms ({r['forms']} forms, squares and bubbles 3.5-6 mm)", PAGE_BY_PAGE, r)],
                [f"Pages that are none of the forms (letters, other forms): {r['junk_pages_rejected']} of "
                 f"{r['junk_pages']} left for a person, none taken for a form.",
                 f"Synthetic blanks: {r['boxes_found_on_blanks']} of {r['boxes_drawn']} drawn boxes found; "
                 f"{r['questions_grouped_right']} of {r['questions']} questions grouped as drawn; YAML edits per form "
                 f"(kind, convention): {r['edits_per_form']}."])
    if kind == "quexf":
        q = r["quexf"]
        if q is None:
            return [f"| queXF real returns | {PAGE_BY_PAGE} | not run (../shared/real/quexf not here) | | | | | |"], []
        return ([_row("queXF real returns (3 copies, pen, 1-bit 300 dpi)", PAGE_BY_PAGE, q)],
                [f"queXF blank: {q['boxes_found_on_blank']} boxes found of {q['boxes_on_blank']}, in "
                 f"{q['questions']} questions; one edit (filled_box: cancel)."])
    if kind == "letters":
        q = r["letters"]
        label = "Letters in boxes (AMC answer sheet, A-E inside 3.5 mm boxes, 150-300 dpi)"
        if q is None:
            return [_row(label, PAGE_BY_PAGE, None)], []
        return ([_row(label, PAGE_BY_PAGE, q)],
                [f"Letters in boxes blank: {q['boxes_found_on_blank']} boxes found, in {q['questions']} questions; "
                 "one edit (filled_box: answer)."])
    if kind == "bubbles":
        return [_row("Bubbles (round, 4.5 mm, nothing inside)", PAGE_BY_PAGE, r)], []
    if kind == "shuffled":
        return [_row("Shuffled copies (two pages, a code per copy, pages shuffled in one file)", THROUGH_SCAN, r)], []
    if kind == "per-page":
        return [_row("One file per page (two-page copies, no code, in order)", THROUGH_SCAN, r)], []
    if kind == "back-first":
        return [_row("Sheets fed back side first (one file, no code; every third sheet turned over)",
                     THROUGH_SCAN, r)], []
    if kind == "sdaps":
        runs = r["runs"]
        rows = [_row(name, THROUGH_SCAN, v) for name, v in runs.items()]
        first = next(iter(runs.values()))
        return rows, [f"SDAPS-like blanks (held-out seeds): {first['grouped']} of {first['questions']} questions "
                      f"grouped as printed with no edit; edits per form (kind, filled_box): {first['edits_per_form']}; "
                      f"`check` found problems in {first['check_failed']} of {2 * len(first['edits_per_form'])} "
                      "ledgers."]
    if kind == "amc":
        from bench.adopted_amc import speed_line

        a = r["amc"]
        if a is None:
            return [_row("AMC exam (shuffled copies, code grid, 2 pages)", THROUGH_SCAN, None)], [speed_line(None)]
        return ([_row(f"AMC exam ({a['copies']} shuffled copies each adopted from its blank, code grid, 2 pages; "
                      "150-400 dpi, 1-bit, JPEG, one file per page)", THROUGH_SCAN, a)], [speed_line(a)])
    raise ValueError(f"unknown kind {kind!r}")


def _kind_of(line: str) -> str | None:
    """Which kind a line of the README's block belongs to, by the fixed start of its rows and notes."""
    for k in KINDS:
        if line.startswith(f"| {k.label}") or any(line.startswith(n) for n in k.notes):
            return k.name
    return None


def parse_block(block: str) -> dict[str, tuple[list[str], list[str]]]:
    """The README block's rows and notes, by kind (lines of no kind are dropped: the block is rewritten)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for line in block.splitlines():
        kind = _kind_of(line.strip())
        if kind is None:
            continue
        rows, notes = out.setdefault(kind, ([], []))
        (rows if line.startswith("|") else notes).append(line.strip())
    return out


def block(parts: dict[str, tuple[list[str], list[str]]]) -> str:
    """One table (every kind in the bench's order), then the notes, kind by kind."""
    rows = [row for k in KIND_NAMES if k in parts for row in parts[k][0]]
    notes = [note for k in KIND_NAMES if k in parts for note in parts[k][1]]
    return "\n\n".join(["\n".join([HEADER, RULE, *rows]), *notes,
                        "\"Read\": page by page through the reader, or a stack through `scan` as a user would "
                        "(copies grouped by the scanner, every box scored from the ledger; a page left for a "
                        "person counts all its boxes as flagged)."])


def readme_block() -> str:
    content = README.read_text(encoding="utf-8")
    if START not in content or END not in content:
        return ""
    return content.split(START, 1)[1].split(END, 1)[0]


def update_readme(text: str) -> bool:
    content = README.read_text(encoding="utf-8")
    if START not in content or END not in content:
        return False
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    return True


def _kinds_arg(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KIND_NAMES]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"unknown kind {', '.join(unknown) or '(none)'}: one of "
                                         f"{', '.join(KIND_NAMES)}")
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=12, help="returns per synthetic form and per kind")
    parser.add_argument("--only", type=_kinds_arg, metavar="KIND[,KIND]",
                        help=f"measure only these kinds ({', '.join(KIND_NAMES)}); the README keeps the others' rows")
    parser.add_argument("--quick", action="store_true",
                        help="fewer returns (4 per kind, one SDAPS-like seed, one round of AMC's exam): a quick look, "
                             "never written to the README")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    kinds = args.only or KIND_NAMES
    copies = 4 if args.quick else args.copies
    figures: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pv-adopted-") as tmp:
        for kind in kinds:
            work = Path(tmp) / kind
            work.mkdir()
            t0 = time.perf_counter()
            figures[kind] = measure(kind, work, copies, args.quick)
            seconds[kind] = round(time.perf_counter() - t0, 1)
            print(f"{kind}: {seconds[kind]:.0f} s", file=sys.stderr, flush=True)
    parts = {} if args.only is None else parse_block(readme_block())
    parts.update({kind: render(kind, figures[kind]) for kind in kinds})
    text = block(parts)
    print(text)
    print(json.dumps({"figures": figures, "seconds": seconds}, indent=1), file=sys.stderr)
    print(f"measured {', '.join(kinds)} in {sum(seconds.values()) / 60:.1f} min", file=sys.stderr)
    if not args.no_readme and not args.quick:
        update_readme(text)
        stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
        for kind in kinds:
            stored[kind] = {**figures[kind], "seconds": seconds[kind]}
        RESULTS.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
