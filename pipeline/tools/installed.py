"""Which version of a package is installed, read without importing `importlib.metadata`.

Every scan checks that its handwriting engine is the version whose models were measured, at start-up and in
each worker.  `importlib.metadata` (with the email parser it pulls in) costs about a tenth of a second of CPU
to import, more than the rest of the check, and nothing else on the scan's path needs it.  An installed
package's version sits in the `Version:` header of the METADATA file in its `.dist-info` folder beside the
package itself, so that file is read directly; where it is not found there (an unusual installer, a zip
import), `importlib.metadata` answers as before.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

_VERSION_LINE = re.compile(r"^Version:[ \t]*(\S+)", re.MULTILINE)


def _normal(name: str) -> str:
    """A distribution name as dist-info folders spell it (PEP 503 normalised, with underscores)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def installed_version(distribution: str, module: str) -> str | None:
    """The installed version of `distribution` (whose import name is `module`), or None when it is absent."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        return None
    roots = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
    wanted = _normal(distribution)
    for root in roots:
        folder = Path(root).parent
        for info in sorted(folder.glob("*.dist-info")):
            name = info.name.removesuffix(".dist-info").rsplit("-", 1)[0]
            if _normal(name) != wanted:
                continue
            try:
                found = _VERSION_LINE.search((info / "METADATA").read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            if found:
                return found.group(1)
    from importlib import metadata  # the slow, general answer

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
