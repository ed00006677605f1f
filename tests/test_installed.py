"""The installed-version check of the handwriting engines reads the package's METADATA itself, and gives
the answer `importlib.metadata` gives, without the scan importing it."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from pipeline.tools.installed import installed_version

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("distribution", "module"), [("faster-paddle", "faster_paddle"), ("rapidocr", "rapidocr"),
                                                      ("numpy", "numpy"), ("pytest-timeout", "pytest_timeout"),
                                                      ("PyYAML", "yaml")])
def test_the_version_is_the_one_importlib_metadata_gives(distribution: str, module: str) -> None:
    assert installed_version(distribution, module) == metadata.version(distribution)


def test_a_package_beside_its_dist_info_is_read_from_its_metadata(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A package and its dist-info folder as pip lays them out (the name spelt another way), and a package
    that is not installed at all."""
    (tmp_path / "odd_pkg").mkdir()
    (tmp_path / "odd_pkg" / "__init__.py").write_text("", encoding="utf-8")
    info = tmp_path / "Odd.Pkg-7.1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Odd.Pkg\nVersion: 7.1.2\n\nVersion: 0.0 (prose)\n",
                                   encoding="utf-8")
    (tmp_path / "bare_pkg.py").write_text("", encoding="utf-8")  # importable, no dist-info: metadata says None
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_version("odd-pkg", "odd_pkg") == "7.1.2"
    assert installed_version("bare-pkg", "bare_pkg") is None
    assert installed_version("no-such-package", "no_such_package_here") is None


def test_a_scan_checks_its_engine_without_importlib_metadata() -> None:
    """The check runs at start-up and in every worker: importing importlib.metadata (a tenth of a second of
    CPU) for one version string is what it avoids."""
    code = ("import sys, pipeline.cli, pipeline.scan.coordinator, pipeline.scan.reader\n"
            "from pipeline.scan.ocr import DEFAULT_ENGINE, check_engine\n"
            "try:\n    check_engine(DEFAULT_ENGINE)\n"
            "except Exception:\n    pass  # where the engine cannot run, its check has still run\n"
            "print(sorted(m for m in sys.modules if m.startswith('importlib.metadata')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "[]"
