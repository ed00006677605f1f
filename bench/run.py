"""The accuracy and speed benchmark: simulate returns, scan them, score against the truth.

    python -m bench.run --quick      # about 160 pages, about a minute on 2 cores
    python -m bench.run --full       # about 800 pages, about 5 minutes on 2 cores

Three simulated sets, both forms in both styles (the first two with junk pages mixed in):

* marks    - every comment field blank: mark reading only (the mark-only throughput);
* comments - half the comment fields handwritten: the OCR-bound throughput;
* handwriting - every comment field handwritten, no junk: the CER figures per engine, per tier and per hand,
  on enough fields (over a hundred in the full run) that a few hard lines do not swing them; its pages that
  carry a comment, alone, give speed and memory with a comment on every page (bench/handwriting.py).
* variety  - the wide simulator (`variety="wide"`): any pen 0.3-1 mm (pencil, grey biro, felt tip, pressure
  changes), marks from tidy to sloppy (dots, blobs, big ticks over the edges, hatching, scribbles, marks
  beside or between boxes, circled numbers), comments from one word to a full box, on and across the rules,
  in more hands, and black-and-white scans that thin light strokes.  Scored by kind of mark and of comment.

Real pen marks (queXF's scans, when present beside the repository) are set into our boxes and read too
(`bench.real_marks`).  The first three sets keep the tidy simulator, so figures stay comparable with earlier runs.

Each set is scanned into its own copy of the freshly issued ledger with --jobs 1 and --jobs 2 (the
handwriting set with each OCR engine installed), so the throughput ratio and the determinism across
job counts come from the same run.  A naive baseline (every PDF page rasterised at 300 dpi with
pdf2image and the whole page searched for a QR code) gives a speed reference.  Prints a table,
writes bench/results/latest.json, and rewrites the table in docs/DEVELOPERS.md between
`<!-- bench:start -->` and `<!-- bench:end -->`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psutil

from bench import handwriting
from bench.score import answers_fingerprint, load_truth, score
from bench.tables import kind_tables
from pipeline.form.definition import FormRegistry
from pipeline.scan.ocr import DEFAULT_ENGINE
from pipeline.simulate import DegradeParams, SimulationSpec, simulate_returns
from pipeline.simulate.world import WIDE_BITONAL_THRESHOLD

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
README = ROOT / "docs" / "DEVELOPERS.md"  # the figures live with the other technical parts
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
FORMS = ("care-planning-person", "care-planning-practitioner")
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    """Sizes per mode.  Copies are per form per style: one copy of each is 14 printed pages."""

    marks_copies: int
    comments_copies: int
    handwriting_copies: int  # one comment field per copy, always written: the CER sample
    variety_copies: int  # the wide simulator's set
    jobs1_comments: bool  # also scan the comments set with --jobs 1 (OCR-bound ratio)
    baseline_pages: int  # cap on pages for the naive baseline


PLANS = {
    "quick": Plan(marks_copies=4, comments_copies=3, handwriting_copies=4, variety_copies=4, jobs1_comments=False,
                  baseline_pages=24),
    "full": Plan(marks_copies=16, comments_copies=10, handwriting_copies=30, variety_copies=16, jobs1_comments=True,
                 baseline_pages=120),
}


class PeakMemory:
    """Samples the resident memory of a process and all its children (the scan's workers) in a thread.

    `peak` adds up each process's resident size (RSS): pages the workers share with each other and with the
    process they were forked from (Python, numpy, OpenCV, an OCR engine's library) are counted once per
    process.  `peak_pss` shares each such page out between the processes using it (PSS), so it is the memory
    the scan really takes from the machine; both are reported."""

    def __init__(self, pid: int | None = None, interval_s: float = 0.05) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval_s
        self.peak = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> tuple[int, int]:
        try:
            me = psutil.Process(self.pid)
            family = [me, *me.children(recursive=True)]
        except psutil.Error:  # the process has just finished
            return 0, 0
        rss = pss = 0
        for proc in family:
            with contextlib.suppress(psutil.Error):  # a worker may exit between listing and reading
                full = proc.memory_full_info()
                rss += full.rss
                pss += getattr(full, "pss", full.rss)  # PSS where the system reports it (Linux)
        return rss, pss

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = self._sample()
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak, self.peak_pss = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def copy_ledger(src: Path, dst: Path) -> None:
    """A consistent copy of the issued ledger (the backup API copes with WAL)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def simulate_set(name: str, copies: int, seed: int, work: Path, **kw: Any) -> dict[str, Any]:
    spec = SimulationSpec(forms=FORMS, copies=copies, seed=seed, db=work / f"{name}-issued.db",
                          output_dir=work / name, **kw)
    truth = simulate_returns(spec, FormRegistry.from_dirs())
    log(f"  {name}: {truth.pages} pages in {len(truth.files)} files, {truth.seconds:.1f} s "
        f"({truth.pages_per_second:.1f} pages/s)")
    return {"spec": spec, "truth": truth}


def run_scan(files: list[Path], issued: Path, db: Path, jobs: int, ocr: str, dask: str | None = None
             ) -> dict[str, Any]:
    """Scan `files` into a fresh copy of the issued ledger with the real command, in its own process, so the
    time is what an admin worker waits (start-up included) and the memory is the scan's own process tree."""
    copy_ledger(issued, db)
    command = [sys.executable, "-m", "pipeline", "scan", *map(str, files), "--db", str(db), "--jobs", str(jobs),
               "--ocr", ocr, "-q", "--json"]
    if dask:
        command += ["--dask-scheduler", dask]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakMemory(proc.pid) as mem:
        stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"scan failed ({proc.returncode}): {stderr}")
    out = json.loads(stdout)
    pages = int(out["pages"])
    out.update({"wall_seconds": round(seconds, 2), "pages_per_second": round(pages / seconds, 2),
                "peak_rss_mb": round(mem.peak / 2**20), "peak_pss_mb": round(mem.peak_pss / 2**20), "jobs": jobs,
                "ocr": ocr, "dask": dask, "db": str(db)})
    log(f"  scan jobs={jobs} ocr={ocr}{' dask=' + dask if dask else ''}: {pages} pages, {seconds:.1f} s, "
        f"{out['pages_per_second']} pages/s, peak {out['peak_rss_mb']} MB RSS, {out['peak_pss_mb']} MB PSS")
    return out


def naive_baseline(files: list[Path], max_pages: int) -> dict[str, Any]:
    """The obvious approach: rasterise every PDF page at 300 dpi and search the whole page for a QR code."""
    import cv2
    import numpy as np
    from pdf2image import convert_from_path, pdfinfo_from_path

    detector = cv2.QRCodeDetector()
    pages = decoded = 0
    started = time.perf_counter()
    for path in files:
        if path.suffix.lower() != ".pdf" or pages >= max_pages:
            continue
        count = int(pdfinfo_from_path(str(path))["Pages"])
        for n in range(1, min(count, max_pages - pages) + 1):
            image = convert_from_path(str(path), dpi=300, grayscale=True, first_page=n, last_page=n)[0]
            text, _, _ = detector.detectAndDecode(np.asarray(image))
            pages += 1
            decoded += int(bool(text))
    seconds = time.perf_counter() - started
    log(f"  naive baseline: {pages} PDF pages, {seconds:.1f} s, QR decoded on {decoded}")
    return {"pages": pages, "qr_decoded": decoded, "seconds": round(seconds, 2),
            "pages_per_second": round(pages / seconds, 2) if seconds else None}


def export_time(db: Path, work: Path) -> dict[str, Any] | None:
    try:
        from pipeline.export.workbook import export_workbook
        from pipeline.options import ExportOptions
    except ImportError:
        return None
    out = work / "bench.xlsx"
    _, seconds = timed(lambda: export_workbook(ExportOptions(output=out, db=db)))
    return {"seconds": round(seconds, 2), "bytes": out.stat().st_size}


def scan_files(truth_files: list[Path]) -> list[Path]:
    return [p for p in truth_files if p.name != "truth.json"]


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": len(os.sched_getaffinity(0)), "cpu": cpu, "python": platform.python_version(),
            "ram_gb": round(psutil.virtual_memory().total / 2**30, 1)}


def run(mode: str, keep: Path | None, seed: int, skip_baseline: bool) -> dict[str, Any]:
    plan = PLANS[mode]
    started = time.perf_counter()
    work = keep or Path(tempfile.mkdtemp(prefix="pv-bench-"))
    if keep and keep.exists():
        shutil.rmtree(keep)
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"mode": mode, "date": datetime.now(UTC).isoformat(timespec="seconds"),
                              "machine": machine(), "seed": seed}
    try:
        log(f"Simulating returns ({mode})...")
        marks = simulate_set("marks", plan.marks_copies, seed, work, blank_comments=True)
        comments = simulate_set("comments", plan.comments_copies, seed + 1, work, comment_rate=0.5)
        hands = simulate_set("handwriting", plan.handwriting_copies, seed + 2, work, comment_rate=1.0, junk=False)
        # the wide set, which no threshold was tuned on, also prints in Easy Read: every style scored on it
        variety = simulate_set("variety", plan.variety_copies, seed + 3, work, comment_rate=0.6, variety="wide",
                               degrade=DegradeParams(bitonal_threshold=WIDE_BITONAL_THRESHOLD),
                               styles=("standard", "large-print", "easy-read"))
        sets = (marks, comments, hands, variety)
        sim_pages = sum(x["truth"].pages for x in sets)
        sim_seconds = sum(x["truth"].seconds for x in sets)
        result["simulator"] = {"pages": sim_pages, "seconds": round(sim_seconds, 1),
                               "pages_per_second": round(sim_pages / sim_seconds, 2)}

        log("Scanning...")
        scans: dict[str, dict[str, Any]] = {}
        m_files, c_files = scan_files(marks["truth"].files), scan_files(comments["truth"].files)
        m_issued, c_issued = marks["spec"].db, comments["spec"].db
        scans["marks_j1"] = run_scan(m_files, m_issued, work / "marks-j1.db", 1, DEFAULT_ENGINE)
        scans["marks_j2"] = run_scan(m_files, m_issued, work / "marks-j2.db", 2, DEFAULT_ENGINE)
        try:
            import distributed  # noqa: F401

            scans["marks_dask2"] = run_scan(m_files, m_issued, work / "marks-dask.db", 2, DEFAULT_ENGINE,
                                            dask="local")
        except ImportError:
            log("  Dask is not installed: skipping the cluster figure")
        scans["comments_j2"] = run_scan(c_files, c_issued, work / "comments-j2.db", 2, DEFAULT_ENGINE)
        if plan.jobs1_comments:
            scans["comments_j1"] = run_scan(c_files, c_issued, work / "comments-j1.db", 1, DEFAULT_ENGINE)
        v_files, v_issued = scan_files(variety["truth"].files), variety["spec"].db
        scans["variety_j2"] = run_scan(v_files, v_issued, work / "variety-j2.db", 2, DEFAULT_ENGINE)
        result["scans"] = scans
        log("Handwriting, each installed engine...")
        result["handwriting"] = handwriting.run(scan_files(hands["truth"].files), hands["spec"].db,
                                                hands["truth"].truth_path, work, run_scan)

        log("Scoring...")
        m_truth = load_truth(marks["truth"].truth_path)
        c_truth = load_truth(comments["truth"].truth_path)
        m_score = score(work / "marks-j2.db", m_truth)
        c_score = score(work / "comments-j2.db", c_truth)
        result["marks_set"] = m_score
        result["comments_set"] = c_score
        result["variety_set"] = score(work / "variety-j2.db", load_truth(variety["truth"].truth_path))
        result["real_marks"] = real_marks()
        result["all_items"] = _combine_items(m_score["items"], c_score["items"])
        result["blank_given_text"] = [a + b for a, b in zip(m_score["comments"]["blank_given_text"],
                                                            c_score["comments"]["blank_given_text"], strict=True)]
        result["same_answers_jobs_1_and_2"] = answers_fingerprint(work / "marks-j1.db") == answers_fingerprint(
            work / "marks-j2.db")
        result["throughput"] = {
            "marks_pages_per_s_j1": scans["marks_j1"]["pages_per_second"],
            "marks_pages_per_s_j2": scans["marks_j2"]["pages_per_second"],
            "marks_ratio_j2_j1": _ratio(scans["marks_j2"]["pages_per_second"], scans["marks_j1"]["pages_per_second"]),
            "comments_pages_per_s_j2": scans["comments_j2"]["pages_per_second"],
            "peak_rss_mb_j2": scans["marks_j2"]["peak_rss_mb"],
            "marks_pages_per_s_dask2": scans.get("marks_dask2", {}).get("pages_per_second"),
            "marks_ratio_dask_pool": _ratio(scans.get("marks_dask2", {}).get("pages_per_second"),
                                            scans["marks_j2"]["pages_per_second"]),
            # once the workers are up: start-up (process pool, or a LocalCluster) left out
            "marks_reading_pages_per_s_j1": scans["marks_j1"]["pages_per_second_reading"],
            "marks_reading_pages_per_s_j2": scans["marks_j2"]["pages_per_second_reading"],
            "marks_reading_pages_per_s_dask2": scans.get("marks_dask2", {}).get("pages_per_second_reading"),
            "peak_rss_mb_j2_comments": scans["comments_j2"]["peak_rss_mb"],
        }
        if "comments_j1" in scans:
            result["throughput"]["comments_pages_per_s_j1"] = scans["comments_j1"]["pages_per_second"]
            result["throughput"]["comments_ratio_j2_j1"] = _ratio(scans["comments_j2"]["pages_per_second"],
                                                                  scans["comments_j1"]["pages_per_second"])
        result["export"] = export_time(work / "marks-j2.db", work)
        if not skip_baseline:
            log("Naive baseline...")
            base = naive_baseline(m_files, plan.baseline_pages)
            result["baseline"] = base
            result["throughput"]["speedup_vs_naive_j1"] = _ratio(scans["marks_j1"]["pages_per_second"],
                                                                 base["pages_per_second"])
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    return result


def real_marks() -> dict[str, Any] | None:
    """Real pen marks set into our boxes, when queXF's scans are beside the repository (never copied in)."""
    from bench.real_marks import find_quexf
    from bench.real_marks import run as run_real
    from bench.real_marks import summary as real_summary

    root = find_quexf()
    if root is None:
        log("  queXF's real scans not found beside the repository: no real-marks figure")
        return None
    real = run_real(root)
    real["summary"] = real_summary(real)
    log(f"  real pen marks: {real['summary']}")
    return real


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _combine_items(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    keys = ("items", "correct", "flagged", "wrong", "missing")
    out: dict[str, Any] = {k: a[k] + b[k] for k in keys}
    n = out["items"]
    for k in keys[1:]:
        out[f"{k}_pct"] = round(100 * out[k] / n, 2) if n else None
    out["multiple_flagged"] = [a["multiple_flagged"][0] + b["multiple_flagged"][0],
                               a["multiple_flagged"][1] + b["multiple_flagged"][1]]
    cases: dict[str, dict[str, int]] = {}
    for src in (a["by_case"], b["by_case"]):
        for case, counts in src.items():
            for outcome, count in counts.items():
                cases.setdefault(case, {})
                cases[case][outcome] = cases[case].get(outcome, 0) + count
    out["by_case"] = cases
    return out


def table(r: dict[str, Any]) -> str:
    """The README table: markdown, one figure per row."""
    items, thr = r["all_items"], r["throughput"]
    trusted = items["correct"] + items["wrong"]
    rows = [
        ("Item answers read correctly, not flagged", f"{items['correct_pct']}% of {items['items']}"),
        ("Of the answers not flagged, read correctly", f"{round(100 * items['correct'] / trusted, 2)}% of {trusted}"
         if trusted else "-"),
        ("Flagged for a person to check", f"{items['flagged_pct']}%"),
        ("Wrong and not flagged", f"{items['wrong_pct']}% ({items['wrong']})"),
        ("On pages not recognised as forms (kept for a person to assign)",
         f"{items['missing_pct']}% ({items['missing']})"),
        ("Two boxes marked: flagged", f"{items['multiple_flagged'][0]}/{items['multiple_flagged'][1]}"),
        ("Blank comment fields given text", f"{r['blank_given_text'][0]}/{r['blank_given_text'][1]}"),
    ]
    rows += handwriting.rows(r.get("handwriting", {}))
    rows += [
        ("Pages/s, marks only, --jobs 1 / 2", f"{thr['marks_pages_per_s_j1']} / {thr['marks_pages_per_s_j2']} "
                                              f"(x{thr['marks_ratio_j2_j1']})"),
        ("Pages/s with handwritten comments, --jobs 2", str(thr["comments_pages_per_s_j2"])
         + (f" (--jobs 1: {thr['comments_pages_per_s_j1']})" if "comments_pages_per_s_j1" in thr else "")),
        ("Peak memory of a --jobs 2 scan (all processes): marks / with comments",
         f"{thr['peak_rss_mb_j2']} / {thr['peak_rss_mb_j2_comments']} MB"),
        ("Same answers with --jobs 1 and --jobs 2", "yes" if r["same_answers_jobs_1_and_2"] else "NO"),
    ]
    rows.append(("Pages/s once the workers are up (start-up left out), marks only, --jobs 1 / 2",
                 f"{thr['marks_reading_pages_per_s_j1']} / {thr['marks_reading_pages_per_s_j2']} "
                 f"(x{_ratio(thr['marks_reading_pages_per_s_j2'], thr['marks_reading_pages_per_s_j1'])})"))
    if thr.get("marks_pages_per_s_dask2"):
        steady = _ratio(thr["marks_reading_pages_per_s_dask2"], thr["marks_reading_pages_per_s_j2"])
        rows.append(("Pages/s, marks only, Dask LocalCluster of 2 workers, whole command / once up (vs --jobs 2)",
                     f"{thr['marks_pages_per_s_dask2']} (x{thr['marks_ratio_dask_pool']}) / "
                     f"{thr['marks_reading_pages_per_s_dask2']} (x{steady})"))
    memory = _memory_figures()
    if memory:
        rows.append(("Peak memory of a --jobs 2 scan by batch size (`make bench-memory`)",
                     " / ".join(f"{run['pages']} pages: {run['peak_rss_mb']} MB" for run in memory["runs"])))
    if "speedup_vs_naive_j1" in thr:
        base = r["baseline"]
        rows.append(("Speed vs naive (300-dpi render + whole-page QR search), --jobs 1",
                     f"x{thr['speedup_vs_naive_j1']} (naive decoded {base['qr_decoded']}/{base['pages']} pages)"))
    pages = r["marks_set"]["pages"]["forms_identified"]
    rows.append(("Form pages identified (marks set)", f"{pages[0]}/{pages[1]}"))
    m = r["machine"]
    hand = next(iter(r.get("handwriting", {}).get("engines", {}).values()), None)
    head = (f"Measured {r['date'][:10]} by `make bench{'-quick' if r['mode'] == 'quick' else ''}` on "
            f"{m['cores']} cores ({m['cpu'] or 'unknown CPU'}), {r['scans']['marks_j2']['pages']} + "
            f"{r['scans']['comments_j2']['pages']} simulated pages"
            + (f"; CER on {hand['cer']['all']['fields']} handwritten fields ({hand['set_scan']['pages']} more pages)."
               if hand and hand["cer"].get("all") else "."))
    lines = [head, "", "| Measure | Result |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines + kind_tables(r))


def _memory_figures() -> dict[str, Any] | None:
    path = Path(__file__).resolve().parent / "results" / "memory.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def update_readme(text: str, path: Path = README) -> bool:
    """Replace only what lies between the markers; returns False (and warns) when they are missing."""
    try:
        content = path.read_text(encoding="utf-8")
    except OSError:
        log(f"warning: cannot read {path}; the README table was not updated")
        return False
    if START not in content or END not in content or content.index(START) > content.index(END):
        log(f"warning: {path} has no '{START}' ... '{END}' markers; the README table was not updated")
        return False
    before, rest = content.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{text}\n{END}{after}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="about 160 pages (the default)")
    mode.add_argument("--full", action="store_true", help="about 800 pages")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the simulated scans and ledgers in DIR")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    parser.add_argument("--no-readme", action="store_true", help="do not touch README.md")
    args = parser.parse_args(argv)
    result = run("full" if args.full else "quick", args.keep, args.seed, args.no_baseline)
    text = table(result)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    log(f"Wrote {RESULTS} ({result['total_seconds']} s in all)")
    if not args.no_readme:
        update_readme(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
