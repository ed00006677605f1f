"""On CI, a test that must run there and was skipped fails the run.

A test marked `browser` (Chromium), `postgres` (a real PostgreSQL server) or `realdata` (the real scans in
`../shared`) skips, with its reason, where that thing is missing: fine on a laptop, but on CI (environment
`CI=true`) such a skip hides exactly what CI is there to run.  This plugin (named in conftest.py's
`pytest_plugins`) notes every such skip while the tests run, names each one with its reason at the end, and on CI
makes the run fail.  Elsewhere the same lines are a note and the exit status is left alone.

It sees skips of tests (in a fixture, a `skipif` mark or the test body), which is how every such test skips.  A
whole module skipped while it is imported (`pytest.importorskip` at module level) is reported by pytest before
its marks are known: put that check inside a fixture instead, so this one can see it.
"""

from __future__ import annotations

import os

import pytest

#: markers whose tests CI must run, not skip
MUST_RUN_ON_CI = ("browser", "postgres", "realdata")


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


class SkipCheck:
    """What ran and what skipped among the tests CI must run."""

    def __init__(self) -> None:
        self.ran: set[str] = set()
        self.skipped: dict[str, tuple[str, str]] = {}  # nodeid -> (its markers, the skip's reason)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        markers = [m for m in MUST_RUN_ON_CI if m in report.keywords]
        if not markers:
            return
        if report.skipped:
            self.skipped[report.nodeid] = (", ".join(markers), _reason(report))
        elif report.when == "call":
            self.ran.add(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if on_ci() and self.skipped and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        ci = on_ci()
        terminalreporter.write_sep("-", "tests CI must run (marked " + ", ".join(MUST_RUN_ON_CI) + ")")
        unexpected = len(self.skipped) if ci else 0
        terminalreporter.write_line(f"{len(self.ran)} ran, {len(self.skipped)} skipped; "
                                    f"{'CI=true' if ci else 'not on CI'}: {unexpected} unexpected skips")
        for nodeid, (markers, reason) in sorted(self.skipped.items()):
            lead = "UNEXPECTED SKIP on CI" if ci else "skipped (would fail on CI)"
            terminalreporter.write_line(f"{lead}: {nodeid} [{markers}]: {reason}", red=ci, yellow=not ci)
        if unexpected:
            terminalreporter.write_line(f"{unexpected} test(s) that CI must run were skipped, so the run fails: "
                                        "provide what each reason names (make test installs it when run as root).",
                                        red=True)


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipCheck(), "papervoice-ci-skips")
