"""Which comments a person marked in review as fine to share in the printed summary (default: none).

Kept apart from the transcription decisions: sharing is a separate judgement (is it kind, is anyone
recognisable?) and saying no later must not change what the comment says.
"""

from __future__ import annotations

from pipeline.ledger.store import Ledger, now


def set_shared(ledger: Ledger, page_id: int, item: str, shared: bool, by: str = "") -> None:
    """Mark (or unmark) one comment as fine to share; the latest choice stands."""
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO shared_comments (page_id, item, shared, decided_at, decided_by) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (page_id, item) DO UPDATE SET shared = excluded.shared, decided_at = excluded.decided_at,"
            " decided_by = excluded.decided_by", (page_id, item, 1 if shared else 0, now(), by))


def shared_comments(ledger: Ledger) -> set[tuple[int, str]]:
    """(page id, field) of every comment marked fine to share (none in a ledger older than the mark)."""
    if not ledger.has_column("shared_comments", "shared"):
        return set()
    return {(int(r[0]), str(r[1])) for r in ledger.execute(
        "SELECT page_id, item FROM shared_comments WHERE shared = 1")}
