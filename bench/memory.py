"""Peak memory of a scan against batch size: it must stay flat however many pages come in.

`python -m bench.memory [--pages 100 5000]` simulates a small set of returns once, then makes batches of
the asked sizes from copies of its PDFs (each copy given its own document id, so the ledger sees a new file;
the pages are read in full again, and recorded as re-scans of the same copies). Each batch is scanned with
the real command at `--jobs 2` while the scan's whole process tree is sampled.  Figures are printed and
written to bench/results/memory.json, which `make bench` shows in the README table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf

from bench.run import PeakMemory, log, machine
from pipeline.atomic import atomic_write
from pipeline.form.definition import FormRegistry
from pipeline.simulate.returns import SimulationSpec, simulate_returns

RESULTS = Path(__file__).resolve().parent / "results" / "memory.json"


def make_batch(sources: list[Path], pages_per_source: list[int], target: int, out: Path) -> int:
    """Copies of the source PDFs, each with a fresh document id, until `target` pages."""
    out.mkdir(parents=True, exist_ok=True)
    total = n = 0
    while total < target:
        for src, pages in zip(sources, pages_per_source, strict=True):
            if total >= target:
                break
            with pikepdf.open(src) as pdf:
                pdf.docinfo["/Title"] = f"batch copy {n}"
                pdf.save(out / f"copy-{n:05d}.pdf", static_id=False, deterministic_id=False)
            total += pages
            n += 1
    return total


def measure(files_dir: Path, issued: Path, work: Path, jobs: int) -> dict[str, Any]:
    db = work / f"{files_dir.name}.db"
    with sqlite3.connect(issued) as a, sqlite3.connect(db) as b:
        a.backup(b)
    command = [sys.executable, "-m", "pipeline", "scan", str(files_dir), "--db", str(db), "--jobs", str(jobs),
               "--ocr", "none", "-q", "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakMemory(proc.pid, interval_s=0.2) as mem:
        stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(stderr)
    summary = json.loads(stdout)
    result = {"pages": summary["pages"], "seconds": round(seconds, 1), "peak_rss_mb": round(mem.peak / 2**20),
              "pages_per_second": round(summary["pages"] / seconds, 2), "jobs": jobs}
    log(f"  {summary['pages']} pages: {seconds:.0f} s, peak {result['peak_rss_mb']} MB")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, nargs="+", default=[100, 5000])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pv-memory-"))
    try:
        log("Simulating a small set of returns...")
        spec = SimulationSpec(forms=("care-planning-person", "care-planning-practitioner"), copies=3, seed=9,
                              db=work / "issued.db", output_dir=work / "sim", blank_comments=True, junk=False,
                              containers={"pdf": 1.0})
        truth = simulate_returns(spec, FormRegistry.from_dirs())
        sources = [p for p in truth.files if p.suffix == ".pdf"]
        counts = []
        for src in sources:
            with pikepdf.open(src) as pdf:
                counts.append(len(pdf.pages))
        runs = []
        for target in args.pages:
            batch = work / f"batch-{target}"
            made = make_batch(sources, counts, target, batch)
            log(f"Scanning a batch of {made} pages at --jobs {args.jobs}...")
            runs.append(measure(batch, spec.db, work, args.jobs))
            shutil.rmtree(batch)
        result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), "runs": runs}
        atomic_write(RESULTS, json.dumps(result, indent=1).encode("utf-8"))
        log(f"Wrote {RESULTS}")
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
