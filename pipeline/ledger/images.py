"""Reading the ledger's kept images by id from another process (the export's crop workers).

Each worker opens the ledger read-only itself, so only image ids cross process boundaries, never bytes.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.ledger.readonly import open_readonly


class ImageReader:
    """A read-only connection that only fetches image bytes by id."""

    def __init__(self, db_path: Path | str) -> None:
        self._db = open_readonly(db_path)

    def read(self, image_id: int) -> bytes | None:
        row = self._db.execute("SELECT data FROM images WHERE id = ?", (image_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        self._db.close()
