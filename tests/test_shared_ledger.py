"""Several stations, one survey: the issue's "done when", run with the real commands on a real server.

A station's SQLite ledger (copies issued, nothing scanned) is copied into PostgreSQL with `papervoice
ledger copy`; two `papervoice scan` processes read the two halves of the batch into it at the same time,
one of them is SIGKILLed part-way and run again; the export's Responses and `status --json` are then the
same as those of one SQLite scan of the whole batch.  Also: two stations scanning the same files at once
count every page once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import pytest
from fixtures_returns import (
    ROOT,
    Reference,
    Returns,
    check,
    child_env,
    content_dump,
    count,
    export,
    papervoice_cmd,
    run,
    scan_cmd,
    workbook_cells,
)

pytestmark = pytest.mark.postgres


def _start(db: str, inputs: list[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen(scan_cmd(db, inputs, jobs=1), cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _finish(proc: subprocess.Popen[str]) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def _pages_of(db: str, names: list[str]) -> int:
    listed = ", ".join(f"'{n}'" for n in names)
    return count(db, f"pages p JOIN files f ON f.id = p.file_id WHERE f.sha256 IN ({listed})")


def _status(db: str | Path) -> dict[str, object]:
    done = run(papervoice_cmd("status", "--db", db, "--json"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    report.pop("ledger")  # where it is: the only difference allowed
    return report


def _assert_each_page_once(db: str, returns: Returns) -> None:
    checked = check(db)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert count(db, "files") == len(returns.inputs)
    assert count(db, "pages") == returns.pages
    assert count(db, "(SELECT serial, form_page FROM pages WHERE status IN ('form', 'duplicate', 'conflict')"
                     " GROUP BY serial, form_page HAVING COUNT(*) > 1) AS twice") == 0


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_stations_one_killed_into_a_copied_postgres_ledger(
        returns: Returns, reference: Reference, pg_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    station = returns.fresh_ledger(tmp_path / "station")
    shared = pg_server.new_database("two_stations")
    copied = run(papervoice_cmd("ledger", "copy", station, shared))
    assert copied.returncode == 0, copied.stderr

    first, second = returns.inputs[: len(returns.inputs) // 2], returns.inputs[len(returns.inputs) // 2:]
    first_sha = [_sha(p) for p in first]
    a, b = _start(shared, first), _start(shared, second)
    deadline = time.monotonic() + 120
    try:  # kill station A once it has committed some of its pages, not all
        while _pages_of(shared, first_sha) < 3:
            assert a.poll() is None, a.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "station A never committed a page"
            time.sleep(0.01)
    finally:
        os.kill(a.pid, signal.SIGKILL)
        a.wait(timeout=30)
        with suppress(ProcessLookupError):  # the session started above: only our own processes
            os.killpg(a.pid, signal.SIGKILL)
        a.communicate(timeout=30)
    assert a.returncode == -signal.SIGKILL
    assert 0 < _pages_of(shared, first_sha) < 5 * len(first)  # killed part-way
    _finish(_start(shared, first))  # station A runs the same scan again
    _finish(b)

    _assert_each_page_once(shared, returns)
    assert content_dump(shared) == content_dump(reference.db)
    book = tmp_path / "shared.xlsx"
    exported = export(shared, book)
    assert exported.returncode == 0, exported.stderr
    mine, theirs = workbook_cells(book), workbook_cells(reference.workbook)
    responses = [name for name in theirs if name.startswith("Responses")]
    assert responses and all(mine[name] == theirs[name] for name in responses)
    assert mine == theirs  # and every other sheet too
    assert _status(shared) == _status(reference.db)


def test_two_stations_scanning_the_same_files_count_each_page_once(
        returns: Returns, reference: Reference, pg_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    station = returns.fresh_ledger(tmp_path / "station")
    shared = pg_server.new_database("same_files")
    assert run(papervoice_cmd("ledger", "copy", station, shared)).returncode == 0
    procs = [_start(shared, returns.inputs), _start(shared, returns.inputs[::-1])]
    for proc in procs:
        _finish(proc)
    _assert_each_page_once(shared, returns)
    assert content_dump(shared) == content_dump(reference.db)
