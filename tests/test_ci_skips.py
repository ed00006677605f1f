"""The CI skip check (tests/ci_skips.py) run on small test files of its own, in a pytest of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

SAMPLE = '''
import pytest

@pytest.mark.browser
def test_needs_a_browser():
    pytest.skip("no Chromium here")

@pytest.mark.realdata
@pytest.mark.skipif(True, reason="no real scans beside the repository")
def test_needs_real_scans():
    pass

@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_backends(backend):
    if backend == "postgres":
        pytest.skip("no PostgreSQL server")

@pytest.mark.realdata
def test_real_and_present():
    pass

def test_optional_tool():
    pytest.skip("an optional program is missing")
'''


def run_pytest(tmp_path: Path, source: str, ci: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(source)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    browser\n    postgres\n    realdata\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(HERE)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "ci_skips", "-p", "no:cacheprovider", "-rs",
                           *args, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_on_ci_each_skipped_must_run_test_is_named_and_fails_the_run(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, SAMPLE, "true")
    assert done.returncode == 1, done.stdout
    out = done.stdout
    assert "test_sample.py::test_needs_a_browser [browser]: no Chromium here" in out
    assert "test_sample.py::test_needs_real_scans [realdata]: no real scans beside the repository" in out
    assert "test_sample.py::test_backends[postgres] [postgres]: no PostgreSQL server" in out
    assert "3 test(s) that CI must run were skipped" in out
    assert "test_optional_tool" not in out.split("tests CI must run")[1].split("short test summary")[0]
    assert "1 ran, 3 skipped; CI=true: 3 unexpected skips" in out  # the real data that is present ran


def test_on_ci_skips_on_parallel_workers_fail_the_run_too(tmp_path: Path) -> None:
    """`make test` runs the tests on two workers (pytest-xdist): the skips happen there, and the run that
    collects their reports still names each one and fails."""
    done = run_pytest(tmp_path, SAMPLE, "true", "-n", "2", "--dist", "loadfile")
    assert done.returncode == 1, done.stdout
    assert "test_sample.py::test_needs_a_browser [browser]: no Chromium here" in done.stdout
    assert "1 ran, 3 skipped; CI=true: 3 unexpected skips" in done.stdout


def test_off_ci_the_skips_are_a_note_only(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, SAMPLE, None)
    assert done.returncode == 0, done.stdout
    assert "skipped (would fail on CI): test_sample.py::test_needs_a_browser" in done.stdout
    assert "not on CI: 0 unexpected skips" in done.stdout


@pytest.mark.parametrize("source", ["def test_plain():\n    pass\n",
                                    "import pytest\n\ndef test_other_skip():\n    pytest.skip('not needed here')\n"])
def test_on_ci_without_such_tests_the_run_passes(tmp_path: Path, source: str) -> None:
    done = run_pytest(tmp_path, source, "true")
    assert done.returncode == 0, done.stdout
    assert "0 ran, 0 skipped; CI=true: 0 unexpected skips" in done.stdout


def test_a_failure_keeps_its_own_exit_status(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, SAMPLE + "\ndef test_broken():\n    assert False\n", "true")
    assert done.returncode == 1 and "UNEXPECTED SKIP on CI" in done.stdout and "1 failed" in done.stdout
    interrupted = run_pytest(tmp_path, SAMPLE, "true", "-k", "nothing_matches")
    assert interrupted.returncode == 5  # no tests collected: pytest's own status is left alone
