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
