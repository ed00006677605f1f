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


#: the scan stage's whole-ledger tools: the coordinator (it writes the scans), and re-deciding every box from the
#: stored measures (`reclassify`) and its gallery; the per-page reader stays pure
LEDGER_USERS_IN_SCAN = {"pipeline.scan.coordinator", "pipeline.scan.reclassify", "pipeline.scan.gallery"}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("pipeline.scan.")
                                          and m not in LEDGER_USERS_IN_SCAN))
def test_nothing_below_scan_imports_the_ledger(module: str) -> None:
    """The per-page reader stays pure: only the coordinator (which writes it) and the whole-ledger tools of the
    scan stage may import the ledger."""
    assert not any(i.startswith("pipeline.ledger") for i in MODULES[module]), f"{module} imports the ledger"


SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")


def test_sql_lives_in_the_ledger_package() -> None:
    outside = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py"))
               if "ledger" not in p.relative_to(PACKAGE).parts[:1] and SQL.search(p.read_text(encoding="utf-8"))]
    assert outside == []


LEDGER = PACKAGE / "ledger"
BACKEND_MODULES = {"sqlite_backend.py", "postgres_backend.py"}
#: What only a backend may say: one database's dialect, catalogue or driver.
DIALECT = re.compile(r"\bPRAGMA\b|sqlite_master|GROUP_CONCAT|\blastrowid\b|\browid\b|INSERT OR (REPLACE|IGNORE)"
                     r"|\bIS NOT (?!NULL)|information_schema|pg_[a-z_]+\(|RETURNING\b|import (sqlite3|psycopg)"
                     r"|from (sqlite3|psycopg)")


def test_the_ledger_does_not_import_the_scanner() -> None:
    """The ledger records its own record types (ledger.records); the scanner's results merely fit them."""
    ledger = {name: imported for name, imported in MODULES.items() if name.startswith("pipeline.ledger")}
    assert len(ledger) > 10
    offenders = {name for name, imported in ledger.items() if any(i.startswith("pipeline.scan") for i in imported)}
    assert offenders == set()


def test_the_ledger_has_its_interface_both_backends_and_the_read_model() -> None:
    for module in ("backend", "sqlite_backend", "postgres_backend", "store", "queries", "listings", "url"):
        assert (LEDGER / f"{module}.py").is_file(), module


def test_no_ledger_module_is_over_500_lines() -> None:
    long = {p.name: n for p in LEDGER.glob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}


def test_dialect_stays_in_its_backend() -> None:
    """No SQLite- or PostgreSQL-only SQL, catalogue or driver in shared code: only the two backend modules."""
    found = {str(p.relative_to(PACKAGE.parent)): sorted({m.group(0) for m in DIALECT.finditer(p.read_text("utf-8"))})
             for p in sorted(PACKAGE.rglob("*.py")) if p.name not in BACKEND_MODULES or p.parent != LEDGER}
    assert {path: hits for path, hits in found.items() if hits} == {}


def test_status_and_check_write_no_sql() -> None:
    """They say in words what the read model and the integrity queries find."""
    for name in ("status.py", "check.py"):
        assert not SQL.search((LEDGER / name).read_text(encoding="utf-8")), name


def test_everyone_opens_the_ledger_through_open_ledger() -> None:
    outside = [str(p.relative_to(PACKAGE.parent)) for p in sorted(PACKAGE.rglob("*.py"))
               if LEDGER not in p.parents and re.search(r"\bLedger\(", p.read_text(encoding="utf-8"))]
    assert outside == []
