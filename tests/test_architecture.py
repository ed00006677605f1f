"""The package's shape holds: who may import whom, and where the ledger's SQL lives.

Read from the source with `ast`, so a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipeline"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute names (relative imports resolved), wherever the import stands."""
    found: set[str] = set()
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _importers_of(prefix: str) -> set[str]:
    return {name for name, imported in MODULES.items() if not name.startswith(prefix)
            and any(i == prefix or i.startswith(prefix + ".") for i in imported)}


def test_the_graph_was_read() -> None:
    """Guards the guards: the walk finds the modules and imports the rules below are about."""
    assert "pipeline.cli" in MODULES and "pipeline.scan.reader" in MODULES
    assert "pipeline.cli" in _importers_of("pipeline.simulate")
    assert "pipeline.ledger.store" in MODULES["pipeline.scan.coordinator"]
    assert "pipeline.scan.marks" in MODULES["pipeline.scan.reader"]


def test_only_the_cli_imports_simulate() -> None:
    assert _importers_of("pipeline.simulate") == {"pipeline.cli"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("pipeline.scan.")
                                          and m != "pipeline.scan.coordinator"))
def test_nothing_below_scan_imports_the_ledger(module: str) -> None:
    """The per-page reader stays pure: only the coordinator (which writes it) may import the ledger."""
    assert not any(i.startswith("pipeline.ledger") for i in MODULES[module]), f"{module} imports the ledger"


SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")


def test_sql_lives_in_the_ledger_package() -> None:
    outside = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py"))
               if "ledger" not in p.relative_to(PACKAGE).parts[:1] and SQL.search(p.read_text(encoding="utf-8"))]
    assert outside == []
