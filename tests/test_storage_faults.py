"""The ledger's storage fails: a read-only place, a full disk.

The command must stop with exit code 4 and a message that names the ledger and
says what to do - never a traceback - and leave the ledger sound: the files
finished before the fault stay, the rest is not half-written, and running the
same command again once the fault is gone finishes the job.

The tests run as root in CI, where file permissions stop nobody.  So as root the
command runs with the capabilities that override permissions dropped from its
bounding set (prctl PR_CAPBSET_DROP before exec): it is still root, but a mode
0444 file or 0555 folder now stops it exactly as it stops an ordinary user.
About a ledger file on a failing disk: SQLite only.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtures_returns import (
    ROOT,
    Reference,
    Returns,
    check,
    child_env,
    count,
    integrity,
    ledger_dump,
    run,
    scan_cmd,
    small_tmpfs,
)

LEDGER_EXIT = 4
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _drop_override_caps() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def permissions_bind() -> Callable[[], None] | None:
    """What makes file modes apply to the child: nothing for a normal user; the capability drop for root."""
    if os.geteuid() != 0:
        return None
    probe = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=_drop_override_caps,
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("running as root without CAP_SETPCAP: cannot drop CAP_DAC_OVERRIDE, so no file or folder "
                    "is read-only to this process")
    return _drop_override_caps


def assert_clean_ledger_error(done: subprocess.CompletedProcess[str], db: Path, *words: str) -> None:
    assert done.returncode == LEDGER_EXIT, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert str(db) in done.stderr
    assert "What to do:" in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


@pytest.fixture
def writable_again(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths made read-only by a test; their write bits come back afterwards so the temp folder can be removed."""
    changed: list[Path] = []
    yield changed
    for path in changed:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.mark.parametrize("what", ["ledger-file", "ledger-folder", "both"])
def test_read_only_ledger(what: str, returns: Returns, tmp_path: Path, writable_again: list[Path]) -> None:
    bind = permissions_bind()
    db = returns.fresh_ledger(tmp_path / "ledger")
    before = db.read_bytes()
    if what in ("ledger-file", "both"):
        db.chmod(0o444)
        writable_again.append(db)
    if what in ("ledger-folder", "both"):
        db.parent.chmod(0o555)
        writable_again.append(db.parent)
    done = subprocess.run(scan_cmd(db, returns.inputs[:2]), cwd=ROOT, env=child_env(), capture_output=True,
                          text=True, timeout=120, preexec_fn=bind)
    assert_clean_ledger_error(done, db, "read-only")
    assert "Files:" not in done.stderr  # it stopped before reading anything
    assert db.read_bytes() == before
    wal = Path(f"{db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert integrity(db) == "ok"


def test_ledger_where_no_file_can_be_created(returns: Returns) -> None:
    """/proc takes no new files, not even from root: the message names the ledger and what to check."""
    db = Path("/proc/papervoice-test/ledger.db")
    done = run(scan_cmd(db, returns.inputs[:1]))
    assert_clean_ledger_error(done, db, "cannot open the ledger")
    db = Path("/proc/papervoice-test.db")
    done = run(scan_cmd(db, returns.inputs[:1]))
    assert_clean_ledger_error(done, db, "cannot open the ledger")


#: run the command with SQLite told the ledger may not grow past a few files' worth of pages
LIMITED = """
import sys
import pipeline.ledger.store as ledger
opened = ledger.Ledger.__init__
def init(self, *args, **kwargs):
    opened(self, *args, **kwargs)
    if not self.readonly:
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count = {pages + int(sys.argv[1])}")
ledger.Ledger.__init__ = init
from pipeline.cli import main
sys.exit(main(sys.argv[2:]))
"""


def assert_stopped_when_full(db: Path, done: subprocess.CompletedProcess[str], returns: Returns) -> None:
    assert_clean_ledger_error(done, db, "full", "free some space")
    committed = count(db, "files WHERE complete = 1")
    pages = count(db, "pages")
    assert pages > 0 and committed < len(returns.inputs), "the fault should come part-way through the batch"
    assert integrity(db) == "ok"
    # pages are committed one by one: the file in hand keeps the pages written before the disk filled
    assert committed * 5 <= pages <= (committed + 1) * 5
    checked = check(db)
    assert checked.returncode == 0, checked.stdout


def assert_rerun_finishes(db: Path, returns: Returns, reference: Reference) -> None:
    again = run(scan_cmd(db, returns.inputs, jobs=2))
    assert again.returncode == 0, again.stderr
    got, want = ledger_dump(db), ledger_dump(reference.db)
    for table in want:
        assert got[table] == want[table], f"table {table} differs from an uninterrupted run"


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.slow
def test_ledger_cannot_grow(jobs: int, returns: Returns, reference: Reference, tmp_path: Path) -> None:
    """SQLite's own limit on the file's size: 'database or disk is full', the same error a full disk gives."""
    db = returns.fresh_ledger(tmp_path)
    command = [sys.executable, "-c", LIMITED, "100", *scan_cmd(db, returns.inputs, jobs)[3:]]
    assert_stopped_when_full(db, run(command), returns)
    assert_rerun_finishes(db, returns, reference)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs: room for the empty ledger and a few files' pages.  Needs root and mount rights."""
    with small_tmpfs(tmp_path / "disk", "512k", "; the ledger-cannot-grow test covers this case") as where:
        yield where


@pytest.mark.slow
def test_disk_full(small_disk: Path, returns: Returns, reference: Reference) -> None:
    db = small_disk / "ledger.db"
    shutil.copyfile(returns.base_db, db)
    done = run(scan_cmd(db, returns.inputs, jobs=2))
    assert f"the disk holding {db} is full" in done.stderr, done.stderr
    assert_stopped_when_full(db, done, returns)
    # free some space, then the same command again
    grown = subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], capture_output=True, text=True,
                           check=False)
    assert grown.returncode == 0, grown.stderr
    assert_rerun_finishes(db, returns, reference)
