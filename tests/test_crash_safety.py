"""Nothing lost, on each backend: a scan killed outright (SIGKILL, as a power cut or the OOM killer would) and run again
ends with exactly the ledger and workbook of a scan that was never interrupted.

Each test runs the real `papervoice scan` as a subprocess on 8 PDFs of 5 pages, kills it at a chosen
point by watching the ledger from outside, checks the ledger as the crash left it, runs the same
command again and compares table by table (timestamps aside) and sheet by sheet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import NewLedger
from fixtures_returns import (
    ROOT,
    Reference,
    Returns,
    check,
    child_env,
    content_dump,
    count,
    export,
    integrity,
    ledger_dump,
    run,
    scan_cmd,
    workbook_cells,
)


def start_scan(db: Path | str, inputs: list[Path], jobs: int) -> subprocess.Popen[str]:
    # a session of its own, so the pool workers left behind by the kill can be cleaned up by group id
    return subprocess.Popen(scan_cmd(db, inputs, jobs), cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_hard(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the coordinator only, as a crash would; then reap it and any workers it left."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with suppress(ProcessLookupError):  # the group of the session started above: only our own processes
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def is_server(db: Path | str) -> bool:
    return "://" in str(db)


_WATCHERS: dict[str, Any] = {}


def _watch(db: str, sql: str) -> int:
    """One query on a server ledger through a connection kept open for the test's polling: opening a ledger
    each time (milliseconds, far more on a loaded machine) would let the scan run past the kill point."""
    import psycopg

    conn = _WATCHERS.get(db)
    if conn is None or conn.closed:
        conn = _WATCHERS[db] = psycopg.connect(db, autocommit=True)
    return int(conn.execute(sql).fetchone()[0])


def files_committed(db: Path | str) -> int:
    if is_server(db):
        return _watch(str(db), "SELECT COUNT(*) FROM files WHERE complete = 1")
    return count(db, "files WHERE complete = 1") if Path(f"{db}-wal").exists() else 0


def wal_size(db: Path | str) -> int:
    """SQLite: the size of the ledger's write-ahead log (-1: none, the ledger is not open).  A server ledger has no
    file to watch: -1 until the scan has connected, then what it has committed (pages, so 0 until the first)."""
    if is_server(db):
        return _watch(str(db), "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname ="
                               " current_database() AND pid <> pg_backend_pid()) THEN (SELECT COUNT(*) FROM pages)"
                               " ELSE -1 END")
    try:
        return Path(f"{db}-wal").stat().st_size
    except FileNotFoundError:
        return -1


def scan_until(db: Path | str, inputs: list[Path], jobs: int, ready: Callable[[], bool], timeout: float = 60) -> int:
    """Run a scan, SIGKILL it as soon as `ready()`; returns how many whole files the ledger holds after the kill."""
    proc = start_scan(db, inputs, jobs)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if proc.poll() is not None:
                _, err = proc.communicate()
                pytest.fail(f"the scan ended (exit {proc.returncode}) before the kill point: {err[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the kill point was never reached")
            time.sleep(0.003)
    finally:
        if proc.poll() is None:
            kill_hard(proc)
    assert proc.returncode == -signal.SIGKILL
    return count(db, "files WHERE complete = 1")


def assert_sound_after_crash(db: Path | str) -> None:
    """Straight after the kill, before anything else opens it for writing."""
    assert integrity(db) == "ok"
    checked = check(db)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ledger OK" in checked.stdout


def assert_same_as_reference(db: Path | str, reference: Reference, tmp: Path) -> None:
    checked = check(db)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # SQLite: row for row, ids included.  A server ledger: by content (file hash, page index), ids aside, since a
    # PostgreSQL sequence never gives back the ids a killed transaction drew (its ids may have gaps)
    dump = content_dump if is_server(db) else ledger_dump
    got, want = dump(db), dump(reference.db)
    assert got.keys() == want.keys()
    for table in want:
        assert got[table] == want[table], f"table {table} differs from an uninterrupted run"
    book = tmp / "results.xlsx"
    exported = export(db, book)
    assert exported.returncode == 0, exported.stderr
    assert workbook_cells(book) == workbook_cells(reference.workbook)


def rerun(db: Path | str, returns: Returns, jobs: int = 2) -> dict[str, object]:
    done = run([*scan_cmd(db, returns.inputs, jobs), "--json"])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# kill point -> (jobs, ready(db), files the ledger may hold once the scan is dead)
KILL_POINTS: dict[str, tuple[int, Callable[[Path | str], bool], tuple[int, int]]] = {
    # the ledger is open (its WAL exists; the scan is connected to the server) but no file is finished yet
    "ledger-just-opened": (2, lambda db: wal_size(db) >= 0, (0, 0)),
    # the first file's pages start to reach the WAL (the server: the first page is committed): the kill lands
    # during or just after that commit
    "during-first-commit": (1, lambda db: wal_size(db) > 0, (0, 1)),
    "after-first-file": (1, lambda db: files_committed(db) >= 1, (1, 7)),
    "about-half-way": (2, lambda db: files_committed(db) >= 4, (4, 7)),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
@pytest.mark.slow
def test_killed_scan_then_rerun_equals_uninterrupted(point: str, returns: Returns, reference: Reference,
                                                      tmp_path: Path, new_ledger: NewLedger) -> None:
    jobs, ready, (low, high) = KILL_POINTS[point]
    db = new_ledger.like(returns.base_db, "ledger")
    committed = scan_until(db, returns.inputs, jobs, lambda: ready(db))
    assert low <= committed <= high, f"killed with {committed} files in the ledger"
    assert_sound_after_crash(db)
    kept = count(db, "pages")  # pages are committed one by one: a file cut off part-way keeps what was read
    assert committed * 5 <= kept <= (committed + 1) * 5
    summary = rerun(db, returns)
    assert summary["files_already_in_ledger"] == committed
    assert summary["files_read"] == len(returns.inputs) - committed
    assert summary["pages"] == returns.pages - kept  # the re-run reads only the pages not yet committed
    assert_same_as_reference(db, reference, tmp_path)


@pytest.mark.slow
def test_killed_again_and_again(returns: Returns, reference: Reference, tmp_path: Path,
                                new_ledger: NewLedger) -> None:
    """Each run gets one more file in, then dies at an arbitrary moment - reading pages, writing a file."""
    db = new_ledger.like(returns.base_db, "ledger")
    rng = np.random.default_rng(11)
    history: list[tuple[int | None, int]] = []
    for attempt in range(4):
        before, pages_before = count(db, "files WHERE complete = 1"), count(db, "pages")
        if before == len(returns.inputs):
            break
        proc = start_scan(db, returns.inputs, 1 + attempt % 2)
        deadline = time.monotonic() + 60
        while count(db, "files WHERE complete = 1") == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(float(rng.uniform(0.0, 0.6)))  # about one file's reading time: anywhere in the cycle
        if proc.poll() is None:
            kill_hard(proc)
        else:
            proc.communicate()
        whole = count(db, "files WHERE complete = 1")
        history.append((proc.returncode, whole))
        assert integrity(db) == "ok", history
        # pages are committed one by one, in order: at most one file is part-way through
        assert whole * 5 <= count(db, "pages") <= (whole + 1) * 5, history
        assert whole > before and count(db, "pages") >= pages_before, history  # committed stays committed
    assert any(code == -signal.SIGKILL for code, _ in history), history
    rerun(db, returns, jobs=1)
    assert_same_as_reference(db, reference, tmp_path)
