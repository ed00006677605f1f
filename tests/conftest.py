"""Shared pytest fixtures, kept small and generic so every test file can rely on them."""

from __future__ import annotations

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


@pytest.fixture
def tmp_db(tmp_path: Path) -> Path:
    """A ledger path in a fresh folder; the file itself is created by whoever opens it first."""
    return tmp_path / "papervoice.db"


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


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh, empty ledger address: a file in tmp_path, or a new database on the test server."""
    if request.param == "sqlite":
        yield str(tmp_path / "papervoice.db")
        return
    server = request.getfixturevalue("pg_server")
    url = server.new_database(request.node.name)
    yield url
    server.admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def ledger_rows(url: str | Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of a query on a ledger of either backend, as plain tuples (for assertions)."""
    from pipeline.ledger.store import Ledger

    with Ledger(url, readonly=True) as ledger:
        return [tuple(r) for r in ledger.execute(sql, params).fetchall()]
