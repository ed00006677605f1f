"""Reading the ledger's kept images by id from another process (the export's crop workers).

Each worker opens the ledger read-only itself, by its address (a SQLite file or a PostgreSQL server), so only
image ids cross process boundaries, never bytes.
"""

from __future__ import annotations

from pipeline.ledger.store import Ledger


class ImageReader:
    """A read-only connection that only fetches image bytes by id."""

    def __init__(self, location: str) -> None:
        self._ledger = Ledger(location, readonly=True)

    def read(self, image_id: int) -> bytes | None:
        found = self._ledger.image(image_id)
        return None if found is None else found[1]

    def close(self) -> None:
        self._ledger.close()
