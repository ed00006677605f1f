"""Benchmark the two ledger backends in one run: SQLite (the default) against PostgreSQL (shared by stations).

Three figures per backend, measured alternately in the same run so that a busy machine weighs on both alike:

* **record pages/s**: the ledger's side of scanning, N synthetic returns of the care-planning forms (three
  pages each, a crop per item, a handwritten comment on every return: `bench.export_bench.build_ledger`)
  recorded page by page as the scanner's coordinator does;
* **export seconds** of that ledger (the workbook with every crop, in a child process);
* **scan pages/s, one station against two**: the real `papervoice scan --ocr none` of a batch of rendered,
  filled-in returns, once by one process and once split between two processes at the same moment.

The PostgreSQL server is a throw-away cluster started here as the tests start theirs (tests/pg.py).

    python -m bench.ledger_bench [--returns 10000] [--scan-files 8]

Prints one line per figure and writes bench/results/ledger.json.  Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ledger.json"
sys.path.insert(0, str(ROOT / "tests"))  # the test server and the returns builder, one implementation each


def _record(db: str, returns: int) -> dict[str, float]:
    from bench.export_bench import build_ledger

    started = time.perf_counter()
    counts = build_ledger(db, returns)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    return {"pages": counts["pages"], "record_seconds": seconds, "record_pages_per_s": counts["pages"] / seconds}


def _export(db: str, out: Path) -> dict[str, float]:
    from bench.export_bench import run_export

    figures = run_export(db, out)  # type: ignore[arg-type]
    return {"export_seconds": figures["seconds"], "export_peak_rss_mb": figures["peak_rss_all_processes_mb"]}


def _scan(db: str, batches: list[list[Path]]) -> float:
    """Seconds for all `batches` scanned at once, one `papervoice scan` process each."""
    from fixtures_returns import child_env, scan_cmd

    started = time.perf_counter()
    procs = [subprocess.Popen(scan_cmd(db, batch, jobs=1), cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for batch in batches]
    for proc in procs:
        _, err = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(f"scan failed: {err[-2000:]}")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--returns", type=int, default=10_000, help="synthetic returns recorded and exported")
    parser.add_argument("--scan-files", type=int, default=8, help="PDFs of 5 pages for the scan figures")
    args = parser.parse_args(argv)
    from fixtures_returns import build_returns
    from pg import start_server

    from pipeline.ledger.copy import copy_ledger

    server = start_server()
    result: dict[str, object] = {"returns": args.returns}
    try:
        with tempfile.TemporaryDirectory(prefix="papervoice-ledger-bench-") as scratch:
            work = Path(scratch)
            ledgers = {"sqlite": str(work / "bench.db"), "postgresql": server.new_database("bench")}
            figures: dict[str, dict[str, float]] = {name: {} for name in ledgers}
            for name, db in ledgers.items():  # alternately: SQLite, then PostgreSQL, for each figure
                figures[name] |= _record(db, args.returns)
            for name, db in ledgers.items():
                figures[name] |= _export(db, work / f"{name}.xlsx")
            batch = build_returns(work / "returns", files=args.scan_files)
            issued = batch.base_db
            for name in ledgers:
                for stations in (1, 2):
                    target = (str(work / f"scan-{stations}.db") if name == "sqlite"
                              else server.new_database(f"scan{stations}"))
                    station = work / f"station-{name}-{stations}.db"  # the same issued serials everywhere
                    shutil.copyfile(issued, station)
                    if name == "sqlite":
                        station.rename(target)
                    else:
                        copy_ledger(station, target)
                    files = batch.inputs
                    batches = [files] if stations == 1 else [files[0::2], files[1::2]]
                    seconds = _scan(target, batches)
                    figures[name][f"scan_pages_per_s_{stations}_station{'s' if stations > 1 else ''}"] = (
                        batch.pages / seconds)
            result |= {"backends": figures}
    finally:
        server.stop()
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                         "platform": platform.platform(), "load_average_after": os.getloadavg()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, f in figures.items():
        print(f"{name:10}: record {f['record_pages_per_s']:6.0f} pages/s ({f['pages']:.0f} pages), export "
              f"{f['export_seconds']:6.1f} s, scan {f['scan_pages_per_s_1_station']:5.1f} pages/s with one station,"
              f" {f['scan_pages_per_s_2_stations']:5.1f} with two at once")
    sq, pg = figures["sqlite"], figures["postgresql"]
    print(f"PostgreSQL / SQLite: record x{pg['record_pages_per_s'] / sq['record_pages_per_s']:.2f}, export "
          f"x{pg['export_seconds'] / sq['export_seconds']:.2f} (time), two stations x"
          f"{pg['scan_pages_per_s_2_stations'] / sq['scan_pages_per_s_2_stations']:.2f} (pages/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
