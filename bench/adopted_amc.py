"""AMC exams made by AMC itself, read by `papervoice scan` and by AMC's own reader on the same scans.

    python -m bench.adopted_amc [--copies 4]

auto-multiple-choice (Debian's package) builds an exam of shuffled copies: two pages each, letters printed
inside 3.5 mm boxes, a four-digit student-number code grid.  Each copy is its own layout, so each copy's
blank is adopted as a user would (`adopt`, then the one edit the README asks for an exam sheet:
`filled_box: answer`).  The pages are filled with the simulator's pens (crosses, ticks, fills; one box per
question and per code-grid column), scanned at 150-400 dpi (some declaring the wrong dpi, skewed, 1-bit or
JPEG), one image file per page.  Then the folder is read twice, timed in the same run:

- `papervoice scan` (the coordinator, one worker), every box scored from the ledger: right without a flag,
  flagged, wrong without a flag (a page read by another copy's layout scores all its boxes against nothing);
- `auto-multiple-choice analyse` (one process), AMC's own reader of its own sheets.

Skipped, with the reason, when AMC is not installed (`make bench-adopted` installs it when run as root).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from bench.adopted_score import BoxScore, score_page
from pipeline.adopt.blank import adopt_blank
from pipeline.form.definition import Form, load_form_file
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.scan.results import ItemReading, PageResult, PageSource
from pipeline.simulate.marks import draw_mark
from pipeline.simulate.scanning import degrade
from pipeline.simulate.world import PENS, DegradeParams

PT_PER_PX = 72 / 300  # AMC's layout is in 300-dpi pixels from the page's top-left corner
EXAM = r"""\documentclass[a4paper]{article}
\usepackage[utf8x]{inputenc}
\usepackage[T1]{fontenc}
\usepackage[box,insidebox]{automultiplechoice}
\begin{document}
\AMCrandomseed{%(seed)d}
%(questions)s
\onecopy{%(copies)d}{
\noindent{\bf Mid-term test}\hfill\namefield{Name: \rule{6cm}{0.2pt}}\par
\noindent Student number:\par
\AMCcodeGridInt{student}{4}\par
\vspace{2mm}\par
\shufflegroup{g}
\insertgroup{g}
\AMCaddpagesto{2}
}
\end{document}
"""
WORDS = ("river", "planet", "engine", "market", "garden", "signal", "border", "winter", "lesson", "harbour")


def _questions(n: int, rng: np.random.Generator) -> str:
    out = []
    for q in range(n):
        k = int(rng.integers(3, 6))
        words = rng.choice(WORDS, size=k, replace=False)
        choices = "".join(("\\correctchoice" if c == 0 else "\\wrongchoice") + f"{{{w}}}" for c, w in enumerate(words))
        out.append(f"\\element{{g}}{{\\begin{{question}}{{q{q:02d}}}Which word comes {q + 1}th in the list?"
                   f"\\begin{{choiceshoriz}}{choices}\\end{{choiceshoriz}}\\end{{question}}\\par}}")
    return "\n".join(out)


def amc_available() -> bool:
    return shutil.which("auto-multiple-choice") is not None


def make_exam(project: Path, copies: int, questions: int = 26) -> Path:
    """An AMC project with `copies` shuffled copies printed (sujet.pdf) and their layout (data/layout.sqlite)."""
    (project / "data").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20)
    (project / "exam.tex").write_text(EXAM % {"seed": 1237, "copies": copies, "questions": _questions(questions, rng)})

    def amc(*args: str) -> None:
        done = subprocess.run(["auto-multiple-choice", *args], capture_output=True, text=True, timeout=900,
                              cwd=project)
        if done.returncode != 0:
            raise RuntimeError(f"auto-multiple-choice {args[0]} failed: {done.stdout[-800:]} {done.stderr[-800:]}")

    amc("prepare", "--mode", "s", "--prefix", str(project), "--data", str(project / "data"), "--out-sujet",
        "sujet.pdf", "--out-corrige", "c.pdf", "--out-calage", "calage.xy", "--n-copies", str(copies), "exam.tex")
    amc("meptex", "--src", "calage.xy", "--data", str(project / "data"))
    return project / "sujet.pdf"


def layout(project: Path) -> dict[int, list[tuple[int, list[tuple[str, int, tuple[float, float, float, float]]]]]]:
    """Per copy: its pages (the page number in sujet.pdf, and every box: question, box number, x y w h in pt)."""
    con = sqlite3.connect(project / "data" / "layout.sqlite")
    names = dict(con.execute("SELECT question, name FROM layout_question"))
    out: dict[int, list[tuple[int, list[tuple[str, int, tuple[float, float, float, float]]]]]] = {}
    for student, page, subject in con.execute("SELECT student, page, subjectpage FROM layout_page "
                                              "ORDER BY student, page"):
        boxes = [(names[q], a, (x0 * PT_PER_PX, y0 * PT_PER_PX, (x1 - x0) * PT_PER_PX, (y1 - y0) * PT_PER_PX))
                 for q, a, x0, x1, y0, y1 in con.execute(
                     "SELECT question, answer, xmin, xmax, ymin, ymax FROM layout_box WHERE student = ? AND page = ? "
                     "AND role = 1 ORDER BY question, answer", (student, page))]
        out.setdefault(student, []).append((subject, boxes))
    return out


def _render(pdf: Path, page: int) -> np.ndarray:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return np.asarray(doc[page - 1].render(scale=300 / 72, grayscale=True).to_pil().convert("L")).copy()
    finally:
        doc.close()


def _adopt_copies(work: Path, sujet: Path, pages: dict[int, list[Any]]) -> dict[int, Form]:
    forms_dir = work / "forms"
    forms: dict[int, Form] = {}
    for student, its in pages.items():
        parts = []
        for subject, _ in its:
            part = work / f"blank-{student}-{subject}.pdf"
            subprocess.run(["pdfseparate", "-f", str(subject), "-l", str(subject), str(sujet), str(part)], check=True)
            parts.append(str(part))
        blank = work / f"blank-copy-{student}.pdf"
        subprocess.run(["pdfunite", *parts, str(blank)], check=True)
        report = adopt_blank(blank, f"amc-copy-{student}", forms_dir, force=True)
        doc = yaml.safe_load(report.form_path.read_text(encoding="utf-8"))
        doc["adopted"]["filled_box"] = "answer"  # the one edit the README asks for on an exam sheet
        report.form_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        forms[student] = load_form_file(report.form_path)
    return forms


def _nearest(form: Form, page: int, box: tuple[float, float, float, float]) -> tuple[str, int] | None:
    assert form.adopted is not None
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    best = min(((q.id, b.value, float(np.hypot(b.x + b.w / 2 - cx, b.y + b.h / 2 - cy)))
                for q in form.adopted.questions_on(page) for b in q.boxes), key=lambda t: t[2], default=None)
    return (best[0], best[1]) if best is not None and best[2] <= 4.0 else None


def _scan_plan(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """How each page is scanned: resolution, a declared dpi that may be wrong, 1-bit, JPEG, skew."""
    plans = []
    for i in range(n):
        dpi = int((150, 200, 300, 400)[i % 4])
        plans.append({"dpi": dpi, "declared": 300 if i % 7 == 3 else dpi, "bitonal": i % 5 == 2,
                      "jpeg": i % 3 == 1 and i % 5 != 2})
    rng.shuffle(plans)  # type: ignore[arg-type]
    return plans


def make_returns(work: Path, sujet: Path, pages: dict[int, list[Any]], forms: dict[int, Form], rounds: int
                 ) -> tuple[Path, dict[str, tuple[int, int, dict[tuple[str, int], str]]]]:
    """Filled, degraded returns, one image file per page; truth per file: (copy, form page, box states)."""
    rng = np.random.default_rng(7)
    scans = work / "scans"
    scans.mkdir()
    params = DegradeParams(max_rotation_deg=3.0, wild_rotation_rate=0.05, upside_down_rate=0.0)
    pens = [p for _, p in PENS]
    truth: dict[str, tuple[int, int, dict[tuple[str, int], str]]] = {}
    blanks = {(s, n): _render(sujet, subject) for s, its in pages.items() for n, (subject, _) in enumerate(its, 1)}
    plans = _scan_plan(rounds * len(blanks), rng)
    k = 300 / 72
    for r in range(rounds):
        for (student, n), blank in blanks.items():
            art = blank.copy()
            pen = pens[int(rng.integers(len(pens)))]
            by_q: dict[str, list[tuple[int, tuple[float, float, float, float]]]] = {}
            for q, a, box in pages[student][n - 1][1]:
                by_q.setdefault(q, []).append((a, box))
            states: dict[tuple[str, int], str] = {}
            for boxes in by_q.values():
                choice = int(rng.integers(len(boxes))) if rng.random() < 0.92 else -1
                kind = str(rng.choice(["cross", "tick", "fill", "cross"]))
                for i, (_, box) in enumerate(boxes):
                    key = _nearest(forms[student], n, box)
                    if i == choice:
                        draw_mark(art, (box[0] * k, box[1] * k, box[2] * k, box[3] * k), kind, rng, pen, dpi=300)
                    if key is not None:
                        states[key] = "marked" if i == choice else "empty"
            plan = plans.pop()
            d = degrade(art, rng, params, src_dpi=300, out_dpi=plan["dpi"], bitonal=plan["bitonal"])
            name = f"r{r}-copy{student}-p{n}.{'jpg' if plan['jpeg'] else 'png'}"
            image = Image.fromarray(d.image)
            if plan["jpeg"]:
                image.save(scans / name, quality=int(rng.integers(60, 90)), dpi=(plan["declared"],) * 2)
            else:
                image.save(scans / name, dpi=(plan["declared"],) * 2)
            truth[name] = (student, n, states)
    return scans, truth


def _score_ledger(db: Path, forms: dict[int, Form], truth: dict[str, tuple[int, int, dict[tuple[str, int], str]]]
                  ) -> dict[str, Any]:
    con = sqlite3.connect(db)
    total = BoxScore()
    by_id = {f.id: f for f in forms.values()}
    seen = set()
    identified = 0
    for page_id, path, status, form_id, form_page in con.execute(
            "SELECT p.id, f.path, p.status, p.form_id, p.form_page FROM pages p JOIN files f ON f.id = p.file_id"):
        name = Path(path).name
        seen.add(name)
        student, n, states = truth[name]
        right_form = forms[student]
        assert right_form.adopted is not None
        if status != "form":  # not read at all: every box goes to a person
            items = [ItemReading(q.item_of(b), None, "flagged", "uncertain", "", 0.0)
                     for q in right_form.adopted.questions_on(n) for b in q.boxes]
            total.add(score_page(PageResult(PageSource(path, 0), "form", items=items),
                                 right_form.adopted.questions_on(n), states, name))
            continue
        items = [ItemReading(i, v, s, r, "", 0.9) for i, v, s, r in con.execute(
            "SELECT item, value, state, reason FROM answers WHERE page_id = ?", (page_id,))]
        result = PageResult(PageSource(path, 0), "form", items=items)
        read_as = by_id[form_id]
        assert read_as.adopted is not None
        if form_id != right_form.id or form_page != n:  # read by another copy's layout
            total.add(score_page(result, read_as.adopted.questions_on(form_page), {}, name))
        else:
            identified += 1
            total.add(score_page(result, right_form.adopted.questions_on(n), states, name))
    assert seen == set(truth), "every scanned file is in the ledger"
    return {"pages_identified": identified, **total.as_dict()}


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have finished (AMC's reader, tesseract)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds and the result of one run."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    out = run()
    return time.perf_counter() - wall, _cpu_seconds() - cpu, out


def run_amc(work: Path, copies: int = 4, rounds: int = 2, speed_runs: int = 3) -> dict[str, Any] | None:
    """The AMC exam kind: scores, and seconds per page for `papervoice scan` and `auto-multiple-choice analyse`.

    Each reader runs `speed_runs` times, the two taking turns (so a burst of load on the shared machine hits
    both alike), each time from scratch (a new ledger; AMC's capture data put back as it was before its first
    read); the best wall time of each is compared, and the CPU time beside it, which load disturbs less."""
    if not amc_available():
        return None
    project = work / "amc-exam"
    sujet = make_exam(project, copies)
    pages = layout(project)
    forms = _adopt_copies(work, sujet, pages)
    scans, truth = make_returns(work, sujet, pages, forms, rounds)
    files = sorted(scans.iterdir())
    from bench.adopted import _reset_reader_caches

    (project / "list.txt").write_text("".join(f"{f}\n" for f in files))
    shutil.copytree(project / "data", work / "amc-data-before")

    def ours(n: int) -> Path:
        db = work / f"amc-{n}.db"
        _reset_reader_caches()  # cold, as a user's `papervoice scan` starts
        scan([scans], ScanOptions(db=db, jobs=1, quiet=True, forms_dirs=(work / "forms",), ocr="none"))
        return db

    def theirs() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["auto-multiple-choice", "analyse", "--projet", str(project), "--data",
                               str(project / "data"), "--cr", str(project / "cr"), "--n-procs", "1",
                               "--liste-fichiers", str(project / "list.txt")], capture_output=True, text=True,
                              timeout=1800, cwd=project)

    runs: list[tuple[float, float, float, float]] = []  # ours wall, ours CPU, AMC wall, AMC CPU
    db = None
    amc_pages = 0
    for n in range(max(1, speed_runs)):
        shutil.rmtree(project / "data")
        shutil.copytree(work / "amc-data-before", project / "data")
        shutil.rmtree(project / "cr", ignore_errors=True)
        our_wall, our_cpu, read = _timed(partial(ours, n))
        db = db or read
        amc_wall, amc_cpu, done = _timed(theirs)
        amc_pages = sqlite3.connect(project / "data" / "capture.sqlite").execute(
            "SELECT COUNT(*) FROM capture_page").fetchone()[0] if done.returncode == 0 else 0
        runs.append((our_wall, our_cpu, amc_wall, amc_cpu))
    assert db is not None
    score = _score_ledger(db, forms, truth)
    per_page = [tuple(round(v / len(files), 3) for v in run) for run in runs]
    best = [min(run[k] for run in per_page) for k in range(4)]
    return {"pages": len(files), "copies": copies, **score, "papervoice_s_per_page": best[0],
            "amc_s_per_page": best[2], "amc_pages_read": amc_pages,
            "speed_ratio": round(best[0] / best[2], 2) if best[2] else None,
            "papervoice_cpu_s_per_page": best[1], "amc_cpu_s_per_page": best[3],
            "cpu_ratio": round(best[1] / best[3], 2) if best[3] else None,
            "speed_runs": len(runs), "ratios_per_run": [round(r[0] / r[2], 2) if r[2] else None for r in runs],
            "per_page_each_run": per_page}


def speed_line(r: dict[str, Any] | None) -> str:
    if r is None:
        return "Speed against AMC's own reader: not measured (auto-multiple-choice not installed)."
    if "cpu_ratio" not in r:  # figures from before the readers took turns
        return (f"Speed on the AMC exam's {r['pages']} pages, one worker each, same run: `papervoice scan` "
                f"{r['papervoice_s_per_page']:.2f} s per page, `auto-multiple-choice analyse` "
                f"{r['amc_s_per_page']:.2f} s per page: {r['speed_ratio']:.2f}x AMC's time.")
    spread = r["ratios_per_run"]
    return (f"Speed on the AMC exam's {r['pages']} pages, one worker each, the two readers taking turns "
            f"{r['speed_runs']} times (best of each): `papervoice scan` {r['papervoice_s_per_page']:.2f} s per page, "
            f"`auto-multiple-choice analyse` {r['amc_s_per_page']:.2f} s per page ({r['amc_pages_read']} sheets "
            f"captured: AMC keeps one capture per printed sheet): {r['speed_ratio']:.2f}x AMC's time (each turn: "
            f"{min(spread):.2f}-{max(spread):.2f}x); CPU time {r['papervoice_cpu_s_per_page']:.2f} s against "
            f"{r['amc_cpu_s_per_page']:.2f} s per page: {r['cpu_ratio']:.2f}x.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="returns of each copy")
    parser.add_argument("--speed-runs", type=int, default=3, help="times each reader reads the scans, taking turns")
    parser.add_argument("--work", type=Path, help="keep the exam, the scans and the ledger in this (new) folder")
    args = parser.parse_args(argv)
    if args.work:
        args.work.mkdir(parents=True)
        r = run_amc(args.work, args.copies, args.rounds, args.speed_runs)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            r = run_amc(Path(tmp), args.copies, args.rounds, args.speed_runs)
    if r is None:
        print("auto-multiple-choice is not installed: nothing to run", file=sys.stderr)
        return 0
    print(json.dumps(r, indent=1))
    print(speed_line(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
