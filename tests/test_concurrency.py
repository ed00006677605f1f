"""Two `papervoice scan` processes writing one ledger at the same time, on each backend.

Each is the real command in its own process.  Whatever the overlap of their
inputs, both finish, the ledger is sound, every file is in it once and every
page once, and what was read is the same as one scan of everything.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import NewLedger, ledger_rows
from fixtures_returns import (
    ROOT,
    Reference,
    Returns,
    check,
    child_env,
    content_dump,
    count,
    integrity,
    run,
    scan_cmd,
)


def scan_together(db: Path | str, *batches: list[Path]) -> list[dict[str, object]]:
    """Start one scan per batch at once; wait for all; each must succeed.  Returns their JSON summaries."""
    procs = [subprocess.Popen([*scan_cmd(db, batch, jobs=1), "--json"], cwd=ROOT, env=child_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for batch in batches]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        summaries.append(json.loads(out))
    return summaries


def assert_each_once(db: Path | str, returns: Returns) -> None:
    assert integrity(db) == "ok"
    checked = check(db)
    assert checked.returncode == 0, checked.stdout
    assert count(db, "files") == len(returns.inputs)
    assert count(db, "pages") == returns.pages
    per_file = ledger_rows(db, "SELECT f.path, COUNT(p.id) FROM files f LEFT JOIN pages p ON p.file_id = f.id"
                               " GROUP BY f.id, f.path")
    twice = ledger_rows(db, "SELECT serial, form_page, COUNT(*) FROM pages WHERE status IN ('form', 'duplicate',"
                            " 'conflict') GROUP BY serial, form_page HAVING COUNT(*) > 1")
    assert sorted(Path(str(p)).name for p, _ in per_file) == [p.name for p in returns.inputs]
    assert {n for _, n in per_file} == {5}
    assert twice == []  # no copy's page was recorded twice (as a duplicate or a conflict)


@pytest.mark.parametrize("overlap", ["overlapping", "identical"])
@pytest.mark.slow
def test_two_scans_on_one_ledger(overlap: str, returns: Returns, reference: Reference,
                                 new_ledger: NewLedger) -> None:
    db = new_ledger.like(returns.base_db, "ledger")
    files = returns.inputs
    # overlapping: files 3-6 are in both, the second scan reaches them first and the first finds them done;
    # identical: both read every file at the same moment, and the slower one's write must add nothing
    batches = [files[:6], files[2:]] if overlap == "overlapping" else [files, files]
    summaries = scan_together(db, *batches)
    assert_each_once(db, returns)
    assert content_dump(db) == content_dump(reference.db)
    assert sum(int(s["files"]) for s in summaries) == sum(len(b) for b in batches)  # type: ignore[call-overload]


@pytest.mark.slow
def test_two_scans_create_a_new_ledger_together(returns: Returns, tmp_path: Path, new_ledger: NewLedger) -> None:
    """No ledger yet (no file, its folder neither; an empty database): both processes race to create its tables."""
    db = new_ledger("new") if new_ledger.is_postgres else tmp_path / "new" / "ledger.db"
    files = returns.inputs
    scan_together(db, files[0::2], files[1::2] + files[:1])
    assert_each_once(db, returns)
    alone = new_ledger("alone")
    done = run(scan_cmd(alone, files))
    assert done.returncode == 0, done.stderr
    assert content_dump(db) == content_dump(alone)
