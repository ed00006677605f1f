"""Multi-page TIFF speed: one N-page G4 TIFF against ten N/10-page files of the same pages.

The reader's cost must be linear in pages: a 1,000-page stack may take no longer than the same 1,000 pages
in ten files, with one process (`--jobs 1`) and with the process pool (`--jobs 2`).  The pages are blank A4
sheets at 200 dpi with a few specks each (every page different, so no file repeats another), which makes
the loader's share of the time as large as it can be: a blank page is read in a few milliseconds.

The runs are interleaved (one big, one ten-file, for each --jobs, for each repeat) so that a shared,
busy machine slows both alike; the ratio big / ten is the figure to read.  Each run is a real
`papervoice scan` in its own process, into a fresh ledger.

    python -m bench.tiff_pages [--pages 1000] [--repeats 1] [--jobs 1 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

A4_PX_AT_200_DPI = (1654, 2339)


def _page(number: int) -> Image.Image:
    rng = np.random.default_rng([number, 41])
    page = np.ones(A4_PX_AT_200_DPI[::-1], dtype=bool)
    for y, x in zip(rng.integers(0, page.shape[0] - 4, 12), rng.integers(0, page.shape[1] - 4, 12), strict=True):
        page[y:y + 3, x:x + 3] = False  # a few specks of dust: every page differs
    return Image.fromarray(page)


def _write_tiff(path: Path, numbers: range) -> None:
    """Pages made one at a time as they are written (a list of 1,000 A4 pages would hold gigabytes)."""
    first, *rest = numbers
    _page(first).save(path, save_all=True, append_images=(_page(n) for n in rest), compression="group4",
                      dpi=(200, 200))


def build(folder: Path, pages: int) -> tuple[Path, Path]:
    """One `pages`-page TIFF, and a folder of ten files holding the same pages."""
    big, ten = folder / "big", folder / "ten"
    big.mkdir()
    ten.mkdir()
    _write_tiff(big / "stack.tif", range(pages))
    step = pages // 10
    for k in range(10):
        _write_tiff(ten / f"part-{k:02d}.tif", range(k * step, (k + 1) * step))
    return big, ten


def run_scan(inputs: Path, jobs: int, db: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline", "scan", str(inputs), "--db", str(db), "--jobs",
                           str(jobs), "-q"], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def takeout_seconds(path: Path, indexes: list[int]) -> dict[str, float]:
    """The loader's own cost, apart from reading: the coordinator walking every frame (`open_pages`), and a
    worker that sees the file taking out page k (`page_job`, as `--jobs 2` does) for a few k.  Linear means
    the walk grows with the pages and the take-out does not grow with k."""
    from pipeline.scan.loading import open_pages, page_job

    started = time.perf_counter()
    count, jobs = open_pages(path)
    offsets = getattr(jobs, "frame_offsets", None)
    for _ in jobs:
        pass
    figures = {"walk_all_s": round(time.perf_counter() - started, 3), "pages": count}
    for k in indexes:
        started = time.perf_counter()
        for _ in range(3):
            page_job(path, k, offsets[k]) if offsets is not None else page_job(path, k)
        figures[f"take_out_page_{k + 1}_ms"] = round((time.perf_counter() - started) / 3 * 1000, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000, help="pages in the big file (a multiple of 10)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--takeout-only", action="store_true",
                    help="measure only the loader's walk and take-out on the big file (no scans)")
    args = ap.parse_args(argv)
    if args.pages < 10 or args.pages % 10:
        ap.error("--pages must be a multiple of 10")
    with tempfile.TemporaryDirectory(prefix="pv-tiff-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        big, ten = build(folder, args.pages)
        print(f"built {args.pages} G4 pages in {time.perf_counter() - started:.1f} s "
              f"(big file {(big / 'stack.tif').stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
        loader = takeout_seconds(big / "stack.tif", [0, args.pages // 2, args.pages - 1])
        print("loader alone: " + ", ".join(f"{k} {v}" for k, v in loader.items()))
        rows = []
        if args.takeout_only:
            args.jobs, args.repeats = [], 0
        run = 0
        for repeat in range(args.repeats):
            for jobs in args.jobs:
                order = [("big", big), ("ten", ten)] if repeat % 2 == 0 else [("ten", ten), ("big", big)]
                times = {}
                for label, inputs in order:
                    run += 1
                    times[label] = run_scan(inputs, jobs, folder / f"run-{run}.db")
                    print(f"  --jobs {jobs} {label:>3}: {times[label]:7.1f} s", file=sys.stderr)
                rows.append({"jobs": jobs, "repeat": repeat, "big_s": round(times["big"], 2),
                             "ten_s": round(times["ten"], 2), "ratio": round(times["big"] / times["ten"], 3)})
    print(f"{'jobs':>4} {'repeat':>6} {'1 x ' + str(args.pages):>10} {'10 x ' + str(args.pages // 10):>10} "
          f"{'ratio':>6}")
    for row in rows:
        print(f"{row['jobs']:>4} {row['repeat']:>6} {row['big_s']:>9.1f}s {row['ten_s']:>9.1f}s {row['ratio']:>6.2f}")
    print("(ratio = one big file / ten files of the same pages; 1.0 or less is linear. Shared machine: "
          "absolute seconds vary with the load, the ratio of interleaved runs much less.)")
    if args.json:
        args.json.write_text(json.dumps({"pages": args.pages, "loader": loader, "runs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
