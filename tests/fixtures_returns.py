"""A small batch of filled-in returns, built in code, for the "nothing lost" tests.

`build_returns` issues copies of one form in a fresh ledger, marks answers with
the simulator's pen, scans each page cleanly at a low resolution and packs the
pages into several PDFs.  The result is cached under pytest's base temp folder,
so the crash, concurrency and storage-fault tests share one build per session.

Also here: running the real `papervoice` command as a subprocess, and reading a
ledger or a workbook back in a form that two runs can be compared by.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.ledger.store import content_snapshot

ROOT = Path(__file__).resolve().parents[1]
FORM = "care-planning-person"


@dataclass(frozen=True)
class Returns:
    base_db: Path  # a ledger with the copies issued and nothing scanned; copy it, never write it
    inputs: list[Path]  # the PDFs, in the order `scan` reads them
    pages: int

    def fresh_ledger(self, where: Path) -> Path:
        """A private copy of the issued-but-unscanned ledger."""
        where.mkdir(parents=True, exist_ok=True)
        db = where / "ledger.db"
        shutil.copyfile(self.base_db, db)
        return db


def build_returns(cache: Path, files: int = 8, pages_per_file: int = 5, dpi: int = 150, seed: int = 7) -> Returns:
    """`files` PDFs of `pages_per_file` pages: copies of a 3-page form, cut across files, plus blank sheets."""
    out = cache / f"returns-{files}x{pages_per_file}-{dpi}-{seed}"
    done = out / "done.json"
    if done.exists():
        meta = json.loads(done.read_text())
        return Returns(out / "base.db", [out / name for name in meta["inputs"]], int(meta["pages"]))
    from pipeline.form.definition import FormRegistry
    from pipeline.form.generate import render_pdf
    from pipeline.form.layout import compute_layout
    from pipeline.ledger.store import Ledger
    from pipeline.simulate import returns as sim

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    total = files * pages_per_file
    copies = total // 3
    form = FormRegistry.from_dirs().get(FORM)
    layout = compute_layout(form, "a4", "standard")
    base = out / "base.db"
    with Ledger(base) as ledger:
        serials = ledger.issue_serials(form.id, form.version, "standard", "a4", layout.page_count, copies, None)
    _checkpoint(base)
    printed = sim.render_pdf_pages(render_pdf(form, layout, serials), 1, copies * layout.page_count)
    rng = np.random.default_rng(seed)
    pen = sim.Pen("black ballpoint", 40, 0.5)
    for c in range(copies):
        for item in form.items:
            if not any(page.boxes_of(item.id) for page in layout.pages):
                continue  # a comment field
            value = int(rng.integers(1, 6))
            for n, page in enumerate(layout.pages):
                boxes = [b for b in page.boxes_of(item.id) if b.value == value]
                if boxes:
                    kind = ("tick", "cross", "dot", "slash")[int(rng.integers(0, 4))]
                    sim.draw_mark(printed[c * layout.page_count + n], sim.rect_px(boxes[0]), kind, rng, pen)
                    break
    sheets = list(printed)
    while len(sheets) < total:
        sheets.append(sim.blank_page(printed[0].shape[::-1], rng))
    clean = sim.DegradeParams.none()
    scanned = [sim.degrade(p, rng, clean, out_dpi=dpi).image for p in sheets]
    from PIL import Image

    names = []
    for f in range(files):
        path = out / f"scan-{f + 1:02d}.pdf"
        pil = [Image.fromarray(i) for i in scanned[f * pages_per_file:(f + 1) * pages_per_file]]
        pil[0].save(path, "PDF", save_all=True, append_images=pil[1:], resolution=dpi)
        names.append(path.name)
    done.write_text(json.dumps({"inputs": names, "pages": total}))
    return Returns(base, [out / n for n in names], total)


def _checkpoint(db: Path) -> None:
    """Fold the WAL into the main file so a plain file copy is the whole ledger."""
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


# --- running the command ------------------------------------------------------------------------


def papervoice_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", *(str(a) for a in args)]


def scan_cmd(db: Path | str, inputs: Sequence[Path], jobs: int = 1) -> list[str]:
    return papervoice_cmd("scan", *inputs, "--db", db, "--jobs", str(jobs), "--ocr", "none", "-q")


def run(args: Sequence[str], timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=child_env(),
                          **kw)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("COVERAGE_PROCESS_START", None)
    return env


# --- reading results back -----------------------------------------------------------------------


def integrity(db: Path | str) -> str:
    """'ok', or the database's own word on what is damaged: SQLite's integrity_check read straight from the file
    (no PaperVoice code in the way), the backend's own check for a server ledger."""
    from pipeline.ledger.url import parse_url

    if parse_url(db).path is None:
        from pipeline.ledger.store import Ledger

        with Ledger(db, readonly=True) as ledger:
            return "; ".join(ledger.db.damage()) or "ok"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def count(db: Path | str, table: str) -> int:
    """Rows of `table` (or of a FROM clause with a WHERE), in a ledger of either backend."""
    from pipeline.ledger.store import Ledger

    with Ledger(db, readonly=True) as ledger:
        return int(ledger.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def ledger_dump(db: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows without timestamps and paths (the package's own snapshot); blobs as their sha256."""
    return {table: sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
            for table, rows in content_snapshot(db).items()}


def content_dump(db: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """What was read, keyed by content (file hash and page index), not by row ids: for runs in any order."""
    from pipeline.ledger.store import Ledger

    with Ledger(db, readonly=True) as con:
        page = ("SELECT f.sha256, p.page_index, p.status, p.reason, p.serial, p.form_page,"
                " CASE WHEN p.duplicate_of IS NULL THEN 1 ELSE 0 END,"
                " i.data FROM pages p JOIN files f ON f.id = p.file_id LEFT JOIN images i ON i.id = p.image_id")
        answer = ("SELECT f.sha256, p.page_index, a.item, a.value, a.state, a.reason, a.confidence, i.data"
                  " FROM answers a JOIN pages p ON p.id = a.page_id JOIN files f ON f.id = p.file_id"
                  " LEFT JOIN images i ON i.id = a.crop_id")
        box = ("SELECT f.sha256, p.page_index, b.item, b.value, b.state, b.coverage FROM box_measurements b"
               " JOIN pages p ON p.id = b.page_id JOIN files f ON f.id = p.file_id")
        out = {}
        for name, sql in (("files", "SELECT sha256, path, size_bytes, pages, outcome, error FROM files"),
                          ("pages", page), ("answers", answer), ("boxes", box)):
            out[name] = sorted((tuple(_plain(v) for v in row) for row in con.execute(sql)), key=repr)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    return value


def workbook_cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cell values; cells that hold a time (a timestamp string or datetime) become '<time>'."""
    import datetime as dt
    import re

    from openpyxl import load_workbook

    stamp = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
    book = load_workbook(path, read_only=True)
    try:
        cells: dict[str, list[tuple[Any, ...]]] = {}
        for sheet in book.worksheets:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(tuple("<time>" if isinstance(v, dt.datetime) or (isinstance(v, str) and stamp.match(v))
                                  else v for v in row))
            cells[sheet.title] = rows
        return cells
    finally:
        book.close()


@dataclass(frozen=True)
class Reference:
    """An uninterrupted scan of the returns, and its workbook: what every disturbed run must end up as."""

    db: Path
    workbook: Path


def reference_run(returns: Returns, cache: Path) -> Reference:
    out = cache / ("reference-" + returns.base_db.parent.name)
    db, book = out / "ledger.db", out / "results.xlsx"
    if not book.exists():
        if out.exists():
            shutil.rmtree(out)
        fresh = returns.fresh_ledger(out)
        done = run(scan_cmd(fresh, returns.inputs))
        assert done.returncode == 0, done.stderr
        exported = export(fresh, out / "partial.xlsx")
        assert exported.returncode == 0, exported.stderr
        (out / "partial.xlsx").rename(book)
    return Reference(db, book)


def export(db: Path | str, workbook: Path) -> subprocess.CompletedProcess[str]:
    return run(papervoice_cmd("export", "-o", workbook, "--db", db))


def check(db: Path | str) -> subprocess.CompletedProcess[str]:
    return run(papervoice_cmd("check", "--db", db))


@pytest.fixture(scope="module")
def returns(tmp_path_factory: pytest.TempPathFactory) -> Returns:
    """The batch, built once per session under pytest's base temp folder."""
    return build_returns(tmp_path_factory.getbasetemp() / "nothing-lost")


@pytest.fixture(scope="module")
def reference(returns: Returns, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The same batch scanned once without interruption: what every other run must end up equal to."""
    return reference_run(returns, tmp_path_factory.getbasetemp() / "nothing-lost")


@contextmanager
def small_tmpfs(where: Path, size: str, why: str = "") -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "512k") mounted at `where`, for a test of a really full disk; unmounted after.
    Needs root and mount rights, else the test skips, its reason ending with `why`."""
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip(f"mounting a small tmpfs needs root{why}")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "papervoice-test", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}){why}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True, check=False)
