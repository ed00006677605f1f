"""The same returns give the same ledger however the pages are read: inline, a process pool, or Dask."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipeline.form.definition import FormRegistry
from pipeline.ledger.store import content_snapshot
from pipeline.options import ScanOptions
from pipeline.scan.coordinator import scan
from pipeline.simulate.returns import SimulationSpec, simulate_returns


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    tmp = tmp_path_factory.mktemp("batch")
    spec = SimulationSpec(forms=("care-planning-person",), copies=2, seed=5, db=tmp / "issued.db",
                          output_dir=tmp / "returns", styles=("standard", "large-print"), comment_rate=0.5)
    truth = simulate_returns(spec, FormRegistry.from_dirs())
    return tmp / "issued.db", sorted(truth.files)


def scan_with(tmp: Path, issued: Path, files: list[Path], name: str, **options: object) -> Path:
    db = tmp / f"{name}.db"
    with sqlite3.connect(issued) as src, sqlite3.connect(db) as dst:  # the issuing ledger itself: same serials
        src.backup(dst)  # and the same survey id, which the simulated pages carry as generate's prints do
    summary = scan(files, ScanOptions(db=db, quiet=True, ocr="tesseract", **options))  # type: ignore[arg-type]
    assert summary.files_failed == 0
    return db


def test_jobs_1_jobs_2_and_dask_give_identical_ledgers(batch: tuple[Path, list[Path]], tmp_path: Path) -> None:
    issued, files = batch
    one = content_snapshot(scan_with(tmp_path, issued, files, "one", jobs=1))
    two = content_snapshot(scan_with(tmp_path, issued, files, "two", jobs=2))
    dask = content_snapshot(scan_with(tmp_path, issued, files, "dask", jobs=2, dask_scheduler="local"))
    assert one["pages"] and one["answers"]
    for table in one:
        assert one[table] == two[table], table
        assert one[table] == dask[table], table


def test_dask_with_shared_storage_reads_by_path(batch: tuple[Path, list[Path]], tmp_path: Path) -> None:
    issued, files = batch
    inline = content_snapshot(scan_with(tmp_path, issued, files[:2], "inline", jobs=1))
    shared = content_snapshot(scan_with(tmp_path, issued, files[:2], "shared", jobs=2, dask_scheduler="local",
                                        shared_storage=True))
    assert inline == shared


def test_pages_are_committed_in_input_order(batch: tuple[Path, list[Path]], tmp_path: Path) -> None:
    issued, files = batch
    db = scan_with(tmp_path, issued, files, "order", jobs=2)
    con = sqlite3.connect(db)
    order = [Path(p).name for (p,) in con.execute("SELECT path FROM files ORDER BY id")]
    assert order == [f.name for f in files]
