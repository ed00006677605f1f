"""The same returns give the same ledger however the pages are read: inline, a process pool, or Dask.

About the executors (only the coordinator writes, the same way on either backend): SQLite only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
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


def truth_of(files: list[Path]) -> tuple[dict, list[dict]]:
    """The simulator's truth, and its pages that lie in `files`."""
    truth = json.loads((files[0].parent.parent / "truth.json").read_text())
    names = {f.name for f in files}
    return truth, [t for t in truth["pages"] if Path(t["file"]).name in names]


def assert_matches_truth(db: Path, files: list[Path]) -> None:
    """Absolute outcomes, from the simulator's truth rather than another run: every page of every file is in the
    ledger (the last page of each file included), each form page under the serial and page number printed on it,
    one copy per person, and no answer read as a value the person did not mark."""
    truth, pages = truth_of(files)
    con = sqlite3.connect(db)
    got = {(Path(path).name, index): (status, serial, form_page) for path, index, status, serial, form_page in
           con.execute("SELECT f.path, p.page_index, p.status, p.serial, p.form_page FROM pages p"
                       " JOIN files f ON f.id = p.file_id")}
    per_file = Counter(name for name, _ in got)
    assert per_file == Counter(Path(t["file"]).name for t in pages), "pages per file"
    for t in pages:
        if t["kind"] == "form":
            assert got[(Path(t["file"]).name, t["index"])] == ("form", t["serial"], t["form_page"]), t
    copies = {t["serial"] for t in pages if t["kind"] == "form"}
    answers: dict[tuple[str, str], tuple[int | None, str]] = {
        (serial, item): (value, state) for serial, item, value, state in
        con.execute("SELECT p.serial, a.item, a.value, a.state FROM answers a JOIN pages p ON p.id = a.page_id"
                    " WHERE p.status = 'form'")}
    con.close()
    assert {serial for serial, _ in answers} == copies, "rows per form: one per copy returned"
    for copy in truth["copies"]:
        if copy["serial"] not in copies:
            continue
        for item, value in copy["answers"].items():
            read, state = answers[(copy["serial"], item)]
            assert state == "flagged" or read == value, (copy["serial"], item, read, value)


@pytest.mark.slow
def test_jobs_1_jobs_2_and_dask_give_identical_ledgers(batch: tuple[Path, list[Path]], tmp_path: Path) -> None:
    issued, files = batch
    one = content_snapshot(scan_with(tmp_path, issued, files, "one", jobs=1))
    two = content_snapshot(scan_with(tmp_path, issued, files, "two", jobs=2))
    dask_db = scan_with(tmp_path, issued, files, "dask", jobs=2, dask_scheduler="local")
    dask = content_snapshot(dask_db)
    assert one["pages"] and one["answers"]
    for table in one:
        assert one[table] == two[table], table
        assert one[table] == dask[table], table
    assert_matches_truth(dask_db, files)


@pytest.fixture(scope="module")
def process_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Dask cluster whose workers are processes of their own, each in a folder of its own: a path that the
    coordinator can open (relative to its folder) names nothing there, as on a machine without the share."""
    distributed = pytest.importorskip("distributed", reason="Dask is not installed (pip install 'papervoice[dask]')")
    elsewhere = tmp_path_factory.mktemp("worker-cwd")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        client.run(os.chdir, str(elsewhere))
        assert set(client.run(os.getcwd).values()) == {str(elsewhere)}
        yield cluster.scheduler_address


@pytest.mark.slow
def test_dask_workers_without_the_files_are_sent_the_pages(batch: tuple[Path, list[Path]], tmp_path: Path,
                                                            process_cluster: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`shared_storage=False` (the default for a remote scheduler): the coordinator sends each page's bytes, so
    workers that cannot see the files read every page anyway, and the ledger is the one a single process makes."""
    issued, files = batch
    inline = content_snapshot(scan_with(tmp_path, issued, files[:2], "inline", jobs=1))
    monkeypatch.chdir(files[0].parent.parent)
    relative = [Path(f.parent.name) / f.name for f in files[:2]]
    assert all(p.is_file() for p in relative)
    sent_db = scan_with(tmp_path, issued, relative, "sent", dask_scheduler=process_cluster, shared_storage=False)
    assert content_snapshot(sent_db) == inline
    assert_matches_truth(sent_db, files[:2])
    # the same workers told they share the files (`--shared-storage`) open the paths themselves, and here they
    # cannot: so the run above really sent bytes, and this flag really reads by path
    db = tmp_path / "by-path.db"
    summary = scan(relative, ScanOptions(db=db, quiet=True, ocr="tesseract", dask_scheduler=process_cluster,
                                         shared_storage=True))
    assert dict(summary.page_status) == {"unreadable": len(truth_of(files[:2])[1])} and int(summary.exit_code) == 1
    assert all("the file was not found" in p for p in summary.problems)


def test_pages_are_committed_in_input_order(batch: tuple[Path, list[Path]], tmp_path: Path) -> None:
    issued, files = batch
    db = scan_with(tmp_path, issued, files, "order", jobs=2)
    con = sqlite3.connect(db)
    order = [Path(p).name for (p,) in con.execute("SELECT path FROM files ORDER BY id")]
    assert order == [f.name for f in files]
