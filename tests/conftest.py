"""Shared pytest fixtures, kept small and generic so every test file can rely on them."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from pipeline.form.definition import FormRegistry

#: the "nothing lost" tests share one batch of returns and one reference scan (fixtures `returns`, `reference`);
#: ci_skips: on CI (CI=true) a skipped `browser`, `postgres` or `realdata` test fails the run
pytest_plugins = ("fixtures_returns", "ci_skips")


@pytest.fixture(scope="session")
def registry() -> FormRegistry:
    """The bundled forms, loaded once: loading validates every shipped YAML file."""
    return FormRegistry.from_dirs()


# --- ledger backends: every ledger test runs on SQLite and on a real PostgreSQL server --------------------------

@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """One throw-away PostgreSQL cluster for the whole session (tests/pg.py); skipped, with the reason, where it
    cannot be started (on CI that skip fails the run)."""
    from pg import start_server

    try:
        server = start_server()
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    yield server
    server.stop()


def _backends() -> list[object]:
    """sqlite and postgres; PAPERVOICE_TEST_LEDGER=sqlite or =postgresql runs the ledger tests on that one only."""
    both: list[object] = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
    only = os.environ.get("PAPERVOICE_TEST_LEDGER", "").strip().lower()
    if only in ("", "both", "all"):
        return both
    if only in ("sqlite", "sqlite3"):
        from ci_skips import on_ci

        if on_ci():  # CI must run the PostgreSQL tests (tests/ci_skips.py): leaving them out is not allowed there
            raise pytest.UsageError("PAPERVOICE_TEST_LEDGER=sqlite would leave out the PostgreSQL tests on CI")
        return both[:1]
    if only in ("postgres", "postgresql", "pg"):
        return both[1:]
    raise pytest.UsageError(f"PAPERVOICE_TEST_LEDGER={only!r}: use sqlite, postgresql or both")


BACKENDS = _backends()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this run of a ledger test uses: every test that takes it (or `new_ledger`, `ledger_url`,
    `module_ledger`) runs once on SQLite and once on the PostgreSQL test server.  Module-scoped, so a module's
    expensive fixtures are built once per backend (or once for both, where they do not take it) and pytest runs a
    module's SQLite tests, then its PostgreSQL ones."""
    return str(request.param)


class NewLedger:
    """Fresh ledger addresses in the test's backend: `new_ledger("a")` is an empty ledger, `new_ledger.like(base)`
    a private writable copy of a ready-made SQLite ledger (scanned fixtures are built once, on SQLite, and each
    backend gets its own copy, so only the ledger differs between the two runs)."""

    def __init__(self, backend: str, request: pytest.FixtureRequest, folder: Path) -> None:
        self.backend, self._request, self._folder = backend, request, folder
        self._made: list[str] = []

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgres"

    def __call__(self, name: str = "papervoice") -> str:
        if self.backend == "sqlite":
            self._folder.mkdir(parents=True, exist_ok=True)
            return str(self._folder / f"{name}.db")
        server = self._request.getfixturevalue("pg_server")
        url = str(server.new_database(f"{name}_{self._request.node.name}"))
        self._made.append(url)
        return url

    def like(self, base: str | Path, name: str = "papervoice") -> str:
        """A writable copy of the ledger `base` (left untouched) with all it holds, in this backend."""
        import shutil

        from pipeline.ledger.copy import copy_ledger
        from pipeline.ledger.stations import claim
        from pipeline.ledger.store import Ledger
        from pipeline.ledger.url import parse_url

        url = self(name)
        source = parse_url(base).path
        if self.backend == "sqlite" and source is not None:
            con = sqlite3.connect(source)
            try:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # so the file alone is the whole ledger
            finally:
                con.close()
            shutil.copyfile(source, url)
        else:
            copy_ledger(base, url, backup=True)  # backup: the shared base stays as it is ...
        with Ledger(url) as ledger, ledger.transaction() as db:
            claim(db)  # ... and the copy is the live one (a twin made on purpose: it may print, on both backends)
        return url

    def drop(self) -> None:
        if self._made:
            server = self._request.getfixturevalue("pg_server")
            for url in self._made:
                server.admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture
def new_ledger(backend: str, request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The one way a test gets ledgers: a factory of fresh ones in this run's backend (see `NewLedger`)."""
    made = NewLedger(backend, request, tmp_path)
    if made.is_postgres:  # a server ledger keeps its side files (prints, uploads) in the current folder
        request.getfixturevalue("monkeypatch").chdir(tmp_path)
    yield made
    made.drop()


@pytest.fixture(scope="module")
def module_ledger(backend: str, request: pytest.FixtureRequest,  # type: ignore[no-untyped-def]
                  tmp_path_factory: pytest.TempPathFactory):
    """`new_ledger` for module-scoped fixtures: ledgers that live until the module's tests are done."""
    made = NewLedger(backend, request, tmp_path_factory.mktemp("ledgers"))
    yield made
    made.drop()


@pytest.fixture
def ledger_url(new_ledger: NewLedger) -> str:
    """A fresh, empty ledger address: a file in tmp_path, or a new database on the test server."""
    return new_ledger("papervoice")


def ledger_rows(url: str | Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of a query on a ledger of either backend, as plain tuples (for assertions)."""
    from pipeline.ledger.store import Ledger

    with Ledger(url, readonly=True) as ledger:
        return [tuple(r) for r in ledger.execute(sql, params).fetchall()]
