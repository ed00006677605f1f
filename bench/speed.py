"""Marks-only reading speed against the limit: decoding the same files, measured interleaved in one run.

The machine is shared, so absolute figures swing with the load; ratios of runs interleaved in the same
minutes (decode, --jobs 1, --jobs 2, decode, --jobs 1, --jobs 2, ...) are what to compare:

* pure decode: every page of the files opened and decoded once, as the scan decodes it (at the resolution
  the reader needs), nothing else - the speed limit of reading in one process;
* `papervoice scan --jobs 1` and `--jobs 2` into fresh copies of the issued ledger (the real command, start-up
  included), with the scan's own time per stage (decode / register / marks / comments / ledger / files);
* `papervoice reclassify` on the --jobs 1 ledger, as a share of that scan's time.

Beside the wall-clock figures, the same ratios in CPU seconds (the decode's own process time, the scan's
children's user + system time): on a machine other people load, CPU time moves far less than wall time.
The --jobs 1 scan's stages are given in CPU time too (`stage_cpu_seconds`: the reading thread's, per stage),
with what is left of the process's CPU time beside them: start-up (interpreter, imports, ledger) and the
coordinator's own loop.

    python -m bench.speed MARKS_DIR ISSUED.db [--rounds 3]

MARKS_DIR is a folder of marks-only returns (e.g. `python -m bench.run --keep DIR` leaves DIR/marks/scans and
DIR/marks-issued.db).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def pure_decode(files: list[Path]) -> tuple[int, float, float]:
    """Pages decoded, the seconds it took and the CPU seconds: every page opened and decoded once, nothing else."""
    from pipeline import constants as C
    from pipeline.scan.loading import decode_page, open_pages

    started, cpu = time.perf_counter(), time.process_time()
    pages = 0
    for path in files:
        _, jobs = open_pages(path)
        for job in jobs:
            decode_page(job, min_dpi=C.READ_MAX_DPI)
            pages += 1
    return pages, time.perf_counter() - started, time.process_time() - cpu


def _children_cpu() -> float:
    """User + system seconds of every finished child process so far (a scan and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def scan(files: list[Path], issued: Path, jobs: int, work: Path) -> dict[str, Any]:
    db = work / f"scan-j{jobs}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(issued, db)
    command = [sys.executable, "-m", "pipeline", "scan", *map(str, files), "--db", str(db), "--jobs", str(jobs),
               "-q", "--json"]
    started, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"scan failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    return {"pages": out["pages"], "wall_seconds": wall, "cpu_seconds": cpu,
            "stage_seconds": out.get("stage_seconds", {}), "stage_cpu_seconds": out.get("stage_cpu_seconds", {})}


def reclassify_seconds(db: Path) -> float:
    """`papervoice reclassify` (a dry run, the real command) on a scanned ledger: seconds, start-up included."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "reclassify", "--db", str(db), "--json"], capture_output=True,
                   check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scans", type=Path)
    parser.add_argument("issued", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from pipeline.scan.loading import expand_inputs

    files = expand_inputs([args.scans])
    decode_rate, j1_rate, j2_rate, stages, cpu_stages, retune = [], [], [], [], [], []
    decode_cpu, j1_cpu, j2_cpu = [], [], []  # CPU ms per page
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            pages, seconds, cpu = pure_decode(files)
            decode_rate.append(pages / seconds)
            decode_cpu.append(1000 * cpu / pages)
            one = scan(files, args.issued, 1, Path(tmp))
            j1_rate.append(one["pages"] / one["wall_seconds"])
            j1_cpu.append(1000 * one["cpu_seconds"] / one["pages"])
            retune.append(reclassify_seconds(Path(tmp) / "scan-j1.db") / one["wall_seconds"])
            stages.append(one["stage_seconds"])
            cpu_stages.append({**one["stage_cpu_seconds"],
                               "start-up and the rest": one["cpu_seconds"] - sum(one["stage_cpu_seconds"].values())})
            two = scan(files, args.issued, 2, Path(tmp))
            j2_rate.append(two["pages"] / two["wall_seconds"])
            j2_cpu.append(1000 * two["cpu_seconds"] / two["pages"])
            print(f"round {n + 1}: decode {decode_rate[-1]:.1f} pages/s, scan --jobs 1 {j1_rate[-1]:.1f}, "
                  f"--jobs 2 {j2_rate[-1]:.1f} ({one['pages']} pages)", file=sys.stderr)
    total = {k: statistics.median(s.get(k, 0.0) for s in stages) for k in sorted({k for s in stages for k in s})}
    whole = sum(total.values()) or 1.0
    cpu_total = {k: statistics.median(s.get(k, 0.0) for s in cpu_stages)
                 for k in sorted({k for s in cpu_stages for k in s})}
    cpu_whole = sum(cpu_total.values()) or 1.0
    result = {
        "pages": pages, "rounds": args.rounds,
        "decode_pages_per_s": round(statistics.median(decode_rate), 1),
        "jobs1_pages_per_s": round(statistics.median(j1_rate), 1),
        "jobs2_pages_per_s": round(statistics.median(j2_rate), 1),
        "jobs1_over_decode": round(statistics.median(a / b for a, b in zip(j1_rate, decode_rate, strict=True)), 3),
        "jobs2_over_jobs1": round(statistics.median(a / b for a, b in zip(j2_rate, j1_rate, strict=True)), 3),
        "reclassify_over_scan_jobs1": round(statistics.median(retune), 3),
        # CPU ms per page (start-up included) and the ratio to decoding alone: what the load moves least
        "decode_cpu_ms_per_page": round(statistics.median(decode_cpu), 1),
        "jobs1_cpu_ms_per_page": round(statistics.median(j1_cpu), 1),
        "jobs2_cpu_ms_per_page": round(statistics.median(j2_cpu), 1),
        "jobs1_over_decode_cpu": round(statistics.median(d / a for a, d in zip(j1_cpu, decode_cpu, strict=True)), 3),
        "jobs1_stage_share_pct": {k: round(100 * v / whole, 1) for k, v in total.items()},
        "jobs1_stage_ms_per_page": {k: round(1000 * v / max(1, pages), 2) for k, v in total.items()},
        "jobs1_stage_cpu_share_pct": {k: round(100 * v / cpu_whole, 1) for k, v in cpu_total.items()},
        "jobs1_stage_cpu_ms_per_page": {k: round(1000 * v / max(1, pages), 2) for k, v in cpu_total.items()},
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
