"""Benchmark `papervoice export`: time and peak memory for a large ledger.

Builds a ledger of N synthetic returns of the care-planning forms (four in five from people receiving
support, one in five from practitioners), laid out as the real forms are (three pages each), with a
crop image for every item and a handwritten comment on every return, at the resolutions the scanner
keeps (comment crops 150 dpi, 1051 x 431 grey pixels with paper noise; item rows 100 dpi).  A few
per cent of the answers are flagged, and a tenth of those settled by a "person".  The export then
runs in a fresh child process so its memory is its own; the parent samples the resident memory of
the child and its image workers.

    python -m bench.export_bench [--returns 10000] [--keep DIR [--reuse]] [--no-stats]

By default the export also writes the statistics files (SPSS, Stata, R), as `export -o ... --sav --dta --r`
would, and a second run times the statistics files alone.  Prints one figure line and writes
bench/results/export.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

from pipeline.form.definition import FormRegistry
from pipeline.form.identity import PageIdentity
from pipeline.form.layout import compute_layout
from pipeline.ledger.store import Ledger
from pipeline.scan.results import CommentReading, FileInfo, ItemReading, PageResult, PageSource

RESULTS = Path(__file__).resolve().parent / "results" / "export.json"
FORMS = (("care-planning-person", 0.8), ("care-planning-practitioner", 0.2))
RETURNS_PER_FILE = 50  # one scanned PDF per bundle of returns, as a scanner's feeder produces
FLAG_RATE = 0.03
SETTLED_SHARE = 0.1
WORDS = ("support", "plan", "family", "listened", "choice", "time", "worker", "money", "help", "home", "=SUM(1)",
         "+44 1234", "-", "@team", "changed", "my", "mind", "thank", "you", "the", "was", "not", "always", "good")


def _paper(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Scanned paper: not quite white, with a little sensor noise, as the scanner's crops are."""
    return np.clip(rng.normal(236, 3.0, (height, width)), 0, 255).astype(np.uint8)


def _encode(img: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 6])  # as pipeline/comments.py does
    assert ok
    return data.tobytes()


def handwriting(rng: np.random.Generator, text: str, width: int = 1051, height: int = 431) -> bytes:
    """A comment crop as the scanner keeps it: the 178 x 73 mm field at 150 dpi, frame, grey lines, writing."""
    img = _paper(rng, width, height)
    cv2.rectangle(img, (2, 2), (width - 3, height - 3), 60, 2)
    for y in range(59, height - 10, 59):
        cv2.line(img, (8, y), (width - 8, y), 160, 1)
    line, y = "", 50
    for word in [*text.split(), None]:
        if word is not None and len(line) + len(word) < 42:
            line = f"{line} {word}".strip()
            continue
        cv2.putText(img, line, (24 + int(rng.integers(0, 12)), y), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.25,
                    int(rng.integers(25, 70)), 2, cv2.LINE_AA)
        line, y = word or "", y + 59
        if y > height - 20:
            break
    return _encode(img)


def box_row(rng: np.random.Generator, value: int | None) -> bytes:
    """An item row as the scanner keeps it for review: statement and five boxes, 178 mm at 100 dpi."""
    img = _paper(rng, 701, 79)
    for k in range(40):  # the printed statement, roughly
        cv2.rectangle(img, (10 + k * 9, 20), (16 + k * 9, 34 + (k % 3) * 3), 35, -1)
    for v in range(5):
        x = 420 + v * 55
        cv2.rectangle(img, (x, 24), (x + 31, 55), 40, 2)
        if value == v + 1 or (value is None and v in (1, 3)):
            cv2.line(img, (x + 5, 40), (x + 13, 50), 30, 3)
            cv2.line(img, (x + 13, 50), (x + 28, 27), 30, 3)
    return _encode(img)


def build_ledger(db: Path, returns: int, seed: int = 7) -> dict[str, int]:
    """Issue serials and record N returns; returns counts for the report."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    registry = FormRegistry.from_dirs()
    sentences = [" ".join(pick.choices(WORDS, k=pick.randint(4, 22))).capitalize() + "." for _ in range(40)]
    comment_pool = [(text, handwriting(rng, text)) for text in sentences]
    box_pool = {v: [box_row(rng, v) for _ in range(4)] for v in (None, 1, 2, 3, 4, 5)}
    counts = {"returns": 0, "pages": 0, "flagged": 0, "comments": 0}
    settle: list[tuple[str, str]] = []
    with Ledger(db) as ledger:
        for form_id, share in FORMS:
            form = registry.latest(form_id)
            layout = compute_layout(form, "a4", "standard")
            n = round(returns * share)
            serials = ledger.issue_serials(form_id, form.version, "standard", "a4", layout.page_count,
                                           round(n * 1.25), None, label="North team")
            for start in range(0, n, RETURNS_PER_FILE):
                name = f"scans/{form_id}-{start // RETURNS_PER_FILE:04d}.pdf"
                pages: list[PageResult] = []
                for serial in serials[start:min(start + RETURNS_PER_FILE, n)]:
                    for page in layout.pages:
                        items = []
                        for item in page.items:
                            value = int(pick.choices([1, 2, 3, 4, 5], [1, 2, 3, 4, 3])[0])
                            if pick.random() < FLAG_RATE:
                                items.append(ItemReading(item, None, "flagged", "multiple",
                                                         "boxes 2 and 4 are both ticked", 0.4,
                                                         pick.choice(box_pool[None])))
                                counts["flagged"] += 1
                                if pick.random() < SETTLED_SHARE:
                                    settle.append((serial, item))
                            else:
                                items.append(ItemReading(item, value, "answered", None, "", 0.97,
                                                         pick.choice(box_pool[value])))
                        comments = []
                        for f in page.text_fields:
                            text, crop = pick.choice(comment_pool)
                            comments.append(CommentReading(f.item, True, text, round(pick.uniform(30, 90), 1),
                                                           "tesseract", 0.03, crop))
                        counts["comments"] += len(comments)
                        ident = PageIdentity(form_id, form.version, "standard", "a4", page.page,
                                             layout.page_count, serial)
                        pages.append(PageResult(PageSource(name, len(pages)), "form", identity=ident, items=items,
                                                comments=comments, dpi=300.0))
                    counts["returns"] += 1
                counts["pages"] += len(pages)
                ledger.record_file(FileInfo(name, hashlib.sha256(name.encode()).hexdigest(), 1), pages)
        for serial, item in settle:
            page_id = ledger.execute("SELECT page_id FROM answers a JOIN pages p ON p.id = a.page_id "
                                     "WHERE p.serial = ? AND a.item = ?", (serial, item)).fetchone()[0]
            ledger.decide("answer", page_id, item, str(pick.randint(1, 5)), by="bench")
    counts["settled"] = len(settle)
    return counts


def child(db: str, out: str, mode: str = "workbook") -> None:
    """Run one export and report time and this process's own peak memory as JSON on stdout.

    mode: 'workbook' (the workbook only), 'all' (workbook and statistics files), 'stats' (statistics only)."""
    from pipeline.export.workbook import export_files
    from pipeline.options import ExportOptions

    where = Path(out).parent
    stats = {"sav": where / "bench.sav", "dta": where / "bench.dta", "r_dir": where / "R"} if mode != "workbook" else {}
    start = time.perf_counter()
    export_files(ExportOptions(output=Path(out) if mode != "stats" else None, db=db, **stats))  # a file or postgresql://
    seconds = time.perf_counter() - start
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": me.ru_maxrss / 1024,
                      "largest_worker_peak_rss_mb": kids.ru_maxrss / 1024,
                      "cpu_seconds_main": me.ru_utime + me.ru_stime,
                      "cpu_seconds_workers": kids.ru_utime + kids.ru_stime}))


def run_export(db: Path, out: Path, mode: str = "workbook") -> dict[str, float]:
    """Start the export in a child process and sample the resident memory of it and its workers."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.export_bench", "--child", str(db), str(out), mode],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
    peak_tree = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak_tree = max(peak_tree, sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"export failed with exit status {proc.returncode}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["peak_rss_all_processes_mb"] = peak_tree
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--returns", type=int, default=10000)
    parser.add_argument("--no-stats", action="store_true", help="the workbook only, as before issue 23")
    parser.add_argument("--keep", metavar="DIR", help="build the ledger and workbook here and keep them")
    parser.add_argument("--reuse", action="store_true", help="with --keep: reuse a ledger built there before")
    parser.add_argument("--child", nargs="+", metavar="DB OUT [MODE]", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="papervoice-export-bench-") as scratch:
        work = Path(args.keep) if args.keep else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        db, out, facts = work / "bench.db", work / "bench.xlsx", work / "bench-ledger.json"
        out.unlink(missing_ok=True)
        known = json.loads(facts.read_text()) if args.reuse and facts.exists() and db.exists() else None
        if known is not None and known["returns"] == args.returns:
            counts, build_seconds = known, known.pop("build_seconds")
        else:
            for stale in (db, facts):
                stale.unlink(missing_ok=True)
            started = time.perf_counter()
            counts = build_ledger(db, args.returns)
            build_seconds = time.perf_counter() - started
            facts.write_text(json.dumps({**counts, "build_seconds": build_seconds}))
        load_before = os.getloadavg()[0]
        figures = run_export(db, out, "workbook" if args.no_stats else "all")
        figures["load_average_before"] = load_before
        figures["load_average_after"] = os.getloadavg()[0]
        if not args.no_stats:
            alone = run_export(db, out, "stats")
            figures["stats_only"] = {"seconds": alone["seconds"], "peak_rss_mb": alone["peak_rss_mb"]}
            figures["sav_mb"] = sum(p.stat().st_size for p in work.glob("bench-*.sav")) / 2**20
        result = {
            **counts, **figures, "build_seconds": build_seconds,
            "ledger_mb": db.stat().st_size / 2**20, "workbook_mb": out.stat().st_size / 2**20,
            "target": {"seconds": 60, "peak_rss_mb": 1024},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"export of {result['returns']} returns ({result['comments']} handwritten comments, {result['flagged']} "
          f"flagged answers): {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
          f"(all processes together {result['peak_rss_all_processes_mb']:.0f} MB), workbook "
          f"{result['workbook_mb']:.0f} MB, CPU time {result['cpu_seconds_main']:.0f} s + workers "
          f"{result['cpu_seconds_workers']:.0f} s, on {os.cpu_count()} CPUs "
          f"(load average {result['load_average_before']:.1f}); "
          "target under 60 s and 1024 MB"
          + ("" if args.no_stats else
             f"; with SPSS, Stata and R files: the statistics files alone {result['stats_only']['seconds']:.1f} s, "
             f"peak RSS {result['stats_only']['peak_rss_mb']:.0f} MB"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
