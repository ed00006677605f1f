"""The office app against `papervoice scan`: speed on the same files in the same run, and memory under upload.

    python -m bench.app_speed [--copies 6] [--jobs 2] [--rounds 2] [--upload-pages 500]

1. Simulated returns (both person and practitioner forms, standard print, comments handwritten as usual)
   are scanned by the command into one copy of the freshly issued ledger, and read by a running
   `papervoice app` from its watched folder into another, in alternating order over `--rounds` rounds, so
   the machine's other load falls on both alike.  The app's time runs from the files landing in the folder
   to `/api/status` counting every page ("end to end", which includes the wait that makes sure the scanner
   has finished a file: complete by its content and still for APP_WATCH_SETTLE_S), and from its batch
   starting to the last page ("reading").
2. `--upload-pages` pages (copies of the simulated PDFs, each with its own document id) are sent to the
   app in one upload, as a browser would, while the app's whole process tree is sampled: memory before,
   during the upload, and while it reads them.

Prints the figures and writes bench/results/app.json.  Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.memory import make_batch
from bench.run import PeakMemory, log, machine
from pipeline.atomic import atomic_write
from pipeline.form.definition import FormRegistry
from pipeline.simulate.returns import SimulationSpec, simulate_returns

ROOT = Path(__file__).resolve().parents[1]
FORMS = ("care-planning-person", "care-planning-practitioner")
MB = 1024 * 1024


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy(db: Path, dest: Path) -> Path:
    with sqlite3.connect(db) as a, sqlite3.connect(dest) as b:
        a.backup(b)
    return dest


def _get(port: int, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path)
    body = conn.getresponse().read()
    conn.close()
    return body


class App:
    """`papervoice app` in its own process, as the office starts it."""

    def __init__(self, db: Path, watch: Path, jobs: int) -> None:
        self.port = _port()
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline", "app", "--db", str(db), "--watch", str(watch),
                                      "--port", str(self.port), "--no-browser", "--jobs", str(jobs)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                _get(self.port, "/api/status")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the app did not start: " + (self.proc.stderr.read() if self.proc.stderr else ""))

    def status(self) -> dict[str, Any]:
        got: dict[str, Any] = json.loads(_get(self.port, "/api/status"))
        return got

    def progress(self) -> dict[str, Any]:
        got: dict[str, Any] = json.loads(_get(self.port, "/scan/progress.json"))
        return got

    def wait_pages(self, pages: int, timeout_s: float = 3600) -> tuple[float, float | None]:
        """Seconds until /api/status counts `pages`, and when (on the same clock) the batch was first seen."""
        batch_seen = None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # as lightly as a browser on the Scan page: a small JSON, twice a second
            progress = self.progress()
            if batch_seen is None and progress["state"] == "reading":
                batch_seen = time.perf_counter()
            if (progress["pages_in_ledger"] or 0) >= pages and progress["state"] == "idle":
                return time.perf_counter(), batch_seen
            time.sleep(0.5)
        raise RuntimeError(f"the app did not read {pages} pages in {timeout_s:.0f} s")

    def upload(self, files: list[Path]) -> float:
        """One multipart POST of every file, streamed from a body file on disk; returns its seconds."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("GET", "/scan")
        resp = conn.getresponse()
        page = resp.read().decode()
        cookie = (resp.getheader("Set-Cookie") or "").split(";", 1)[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on the Scan page"
        boundary = uuid.uuid4().hex
        with tempfile.TemporaryFile() as body:
            body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                       f"{token.group(1)}\r\n".encode())
            for f in files:
                body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{f.name}"\r\n'
                           f"Content-Type: application/pdf\r\n\r\n".encode())
                with open(f, "rb") as src:
                    shutil.copyfileobj(src, body)
                body.write(b"\r\n")
            body.write(f"--{boundary}--\r\n".encode())
            size = body.tell()
            body.seek(0)
            started = time.perf_counter()
            conn.request("POST", "/scan/upload", body=body, headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(size),
                "Cookie": cookie, "Origin": f"http://127.0.0.1:{self.port}"})
            answer = conn.getresponse()
            answer.read()
            assert answer.status in (200, 302), f"upload refused: {answer.status}"
        conn.close()
        return time.perf_counter() - started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


class OwnMemory(PeakMemory):
    """The app's own process only (the web server and the coordinator), without the scan's worker processes:
    what receiving the upload costs, while reading may already have started in the workers."""

    def _sample(self) -> tuple[int, int]:
        import psutil

        try:
            rss = int(psutil.Process(self.pid).memory_info().rss)
        except psutil.Error:
            return 0, 0
        return rss, rss


def speed(issued: Path, files: list[Path], pages: int, work: Path, jobs: int, rounds: int) -> dict[str, Any]:
    cli_s: list[float] = []
    app_s: list[float] = []
    app_read_s: list[float] = []
    for n in range(rounds):
        for which in (("cli", "app") if n % 2 == 0 else ("app", "cli")):
            db = _copy(issued, work / f"{which}-{n}.db")
            if which == "cli":
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "pipeline", "scan", "-q", "--jobs", str(jobs), "--db", str(db),
                                *map(str, files)], check=False, capture_output=True)
                cli_s.append(time.perf_counter() - started)
                log(f"  round {n + 1}: scan command {cli_s[-1]:.1f} s")
                continue
            watch = work / f"watch-{n}"
            watch.mkdir()
            app = App(db, watch, jobs)
            try:
                started = time.perf_counter()
                for f in files:
                    shutil.copy(f, watch / f.name)
                done, batch = app.wait_pages(pages)
            finally:
                app.stop()
            app_s.append(done - started)
            app_read_s.append(done - (batch or started))
            log(f"  round {n + 1}: app {app_s[-1]:.1f} s end to end, {app_read_s[-1]:.1f} s reading")
    cli, end, read = min(cli_s), min(app_s), min(app_read_s)
    return {"pages": pages, "jobs": jobs, "rounds": rounds, "scan_command_s": cli_s, "app_end_to_end_s": app_s,
            "app_reading_s": app_read_s, "pages_per_s_command": round(pages / cli, 2),
            "pages_per_s_app_end_to_end": round(pages / end, 2), "pages_per_s_app_reading": round(pages / read, 2),
            "app_vs_command_end_to_end": round(cli / end, 3), "app_vs_command_reading": round(cli / read, 3)}


def upload_memory(issued: Path, sources: list[Path], target_pages: int, work: Path, jobs: int) -> dict[str, Any]:
    from pikepdf import open as open_pdf

    counts = []
    for src in sources:
        with open_pdf(src) as pdf:
            counts.append(len(pdf.pages))
    batch_dir = work / "upload-batch"
    pages = make_batch(sources, counts, target_pages, batch_dir)
    files = sorted(batch_dir.glob("*.pdf"))
    db = _copy(issued, work / "upload.db")
    watch = work / "upload-watch"
    watch.mkdir()
    app = App(db, watch, jobs)
    try:
        before = PeakMemory(app.proc.pid)._sample()
        with PeakMemory(app.proc.pid, interval_s=0.05) as during_upload, OwnMemory(app.proc.pid) as own:
            seconds = app.upload(files)
        with PeakMemory(app.proc.pid, interval_s=0.2) as during_reading:
            started = time.perf_counter()
            app.wait_pages(pages)
            reading = time.perf_counter() - started
    finally:
        app.stop()
    size = sum(f.stat().st_size for f in files)
    return {"pages": pages, "files": len(files), "upload_mb": round(size / MB, 1), "upload_s": round(seconds, 2),
            "rss_before_mb": round(before[0] / MB), "peak_rss_upload_mb": round(during_upload.peak / MB),
            "peak_rss_upload_app_process_mb": round(own.peak / MB),
            "peak_pss_upload_mb": round(during_upload.peak_pss / MB),
            "peak_rss_reading_mb": round(during_reading.peak / MB),
            "peak_pss_reading_mb": round(during_reading.peak_pss / MB), "reading_s": round(reading, 1)}


def _print_speed(s: dict[str, Any]) -> None:
    print(f"app vs scan command, {s['pages']} pages, --jobs {s['jobs']} (best of {s['rounds']}):")
    print(f"  scan command        {s['pages_per_s_command']:6.2f} pages/s")
    print(f"  app, reading        {s['pages_per_s_app_reading']:6.2f} pages/s  ({s['app_vs_command_reading']:.2f}x)")
    print(f"  app, end to end     {s['pages_per_s_app_end_to_end']:6.2f} pages/s  "
          f"({s['app_vs_command_end_to_end']:.2f}x; includes the wait for the scanner to finish each file)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=6, help="simulated copies per form")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--upload-pages", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    parser.add_argument("--no-speed", action="store_true", help="only the upload's memory")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pv-app-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        log("simulating returns ...")
        issued = work / "issued.db"
        truth = simulate_returns(SimulationSpec(forms=FORMS, copies=args.copies, seed=21, db=issued,
                                                output_dir=work / "returns", styles=("standard",), junk=False,
                                                jobs=args.jobs), FormRegistry.from_dirs([]))
        files = sorted(truth.files)
        log(f"{truth.pages} pages in {len(files)} files; scan command vs app, {args.rounds} rounds, "
            f"--jobs {args.jobs}")
        result: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
        if not args.no_speed:
            result["speed"] = speed(issued, files, truth.pages, work, args.jobs, args.rounds)
        pdfs = [f for f in files if f.suffix == ".pdf"]
        if args.upload_pages and pdfs:
            log(f"uploading {args.upload_pages} pages at once ...")
            result["upload"] = upload_memory(issued, pdfs, args.upload_pages, work, args.jobs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if result.get("speed"):
        _print_speed(result["speed"])
    if "upload" in result:
        u = result["upload"]
        print(f"upload of {u['pages']} pages ({u['files']} files, {u['upload_mb']} MB) in {u['upload_s']} s:")
        print(f"  the app's own process (web server, coordinator) peaked at {u['peak_rss_upload_app_process_mb']} MB "
              "RSS while receiving it (reading starts as the first file lands)")
        print(f"  app memory before {u['rss_before_mb']} MB RSS; during the upload peak {u['peak_rss_upload_mb']} MB "
              f"RSS ({u['peak_pss_upload_mb']} MB PSS); while reading them peak {u['peak_rss_reading_mb']} MB RSS "
              f"({u['peak_pss_reading_mb']} MB PSS, workers included), {u['reading_s']} s")
    out = ROOT / "bench" / "results" / "app.json"
    atomic_write(out, (json.dumps(result, indent=2) + "\n").encode())
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
